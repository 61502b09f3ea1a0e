//! `git-secret exec --env FILE... -- CMD [ARG]...`: runs CMD with the
//! variables of encrypted dotenv files added to its environment, as a
//! secret manager injects runtime secrets (`sops exec-env`). The files are
//! decrypted in memory and parsed as python-dotenv parses them
//! (`crate::dotenv`), each like one `load_dotenv(FILE, override=…)` in the
//! order given; the plaintext is never written anywhere. CMD then replaces
//! this process, so its exit status and signals are its own.

use super::view::{ciphertext_outside, keys_without_unlocking, open, tree_paths};
use crate::attrs::{key_names, AttrSource};
use crate::cli::ExecArgs;
use crate::dotenv::{self, Environment};
use crate::path::GitPath;
use crate::repo::Repo;
use crate::session::Session;
use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use zeroize::Zeroizing;

/// A shell's status for a command it cannot find, and for one it found but
/// cannot run.
const NOT_FOUND: u8 = 127;
const NOT_EXECUTABLE: u8 = 126;

pub fn run(session: &Session, args: &ExecArgs) -> Result<ExitCode> {
    let keyring = keys_without_unlocking(session, args.key.as_deref())?;
    let files = match session.repo() {
        Ok(repo) => files_in_repo(repo, args)?,
        // A deploy artifact or a CI job: ciphertext files and a key, no repository.
        Err(_) if args.key.is_some() => files_outside(args)?,
        Err(e) => return Err(e),
    };
    // Every file is opened before any is parsed: a refusal runs nothing.
    let mut texts = Vec::with_capacity(files.len());
    for (path, data) in &files {
        let plaintext = Zeroizing::new(open(data, &keyring, path, args.key.is_some())?);
        let text = dotenv::decode(&plaintext).map_err(|e| {
            anyhow::anyhow!(
                "{path} is not UTF-8 text (line {}); python-dotenv cannot read it either",
                e.line
            )
        })?;
        texts.push(text);
    }
    let paths: Vec<&String> = files.iter().map(|(path, _)| path).collect();
    let mut env = Environment::new(std::env::vars_os());
    for (path, text) in paths.iter().zip(&texts) {
        let bindings = Zeroizing::new(dotenv::parse(text));
        // The line's content may be a secret: only where it is.
        for bad in bindings.iter().filter(|b| b.error) {
            session.reporter().warn(format_args!(
                "{path}, line {}: python-dotenv cannot parse this statement; skipped",
                bad.line
            ));
        }
        if let Err((line, problem)) = env.load(&bindings, args.override_env) {
            bail!(
                "{path}, line {line}: {problem}; {} was not run",
                shown(args)
            );
        }
    }
    drop(texts);
    let mut command = Command::new(&args.command[0]);
    command
        .args(&args.command[1..])
        .env_clear()
        .envs(env.vars());
    drop(env);
    // Only returns on failure.
    let error = command.exec();
    let (status, why) = match error.kind() {
        std::io::ErrorKind::NotFound => (NOT_FOUND, "command not found".to_owned()),
        _ => (NOT_EXECUTABLE, error.to_string()),
    };
    session
        .reporter()
        .fail(format_args!("cannot run {}: {why}", shown(args)));
    Ok(ExitCode::from(status))
}

/// The `--env` files of a repository (each must be marked), as shown in
/// messages, with what the work tree holds.
fn files_in_repo(repo: &Repo, args: &ExecArgs) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let paths = tree_paths(repo, &args.env)?;
    let refs: Vec<&GitPath> = paths.iter().collect();
    let names = key_names(repo, &refs, &AttrSource::WorkTree)?;
    let mut files = Vec::with_capacity(paths.len());
    for (path, name) in paths.iter().zip(names) {
        if name.is_none() {
            bail!(
                "{path} is not marked for encryption in .gitattributes; \
                 exec reads only marked files"
            );
        }
        let data = std::fs::read(path.in_tree(repo.top()))
            .with_context(|| format!("cannot read {path}"))?;
        files.push((path.to_string(), Zeroizing::new(data)));
    }
    Ok(files)
}

/// The `--env` files outside any repository, read as `view` reads them there.
fn files_outside(args: &ExecArgs) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let mut files = Vec::with_capacity(args.env.len());
    for path in &args.env {
        let (shown, data) = ciphertext_outside(path)?;
        files.push((shown, Zeroizing::new(data)));
    }
    Ok(files)
}

fn shown(args: &ExecArgs) -> String {
    args.command[0].to_string_lossy().into_owned()
}
