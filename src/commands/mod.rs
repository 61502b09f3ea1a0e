//! One module per porcelain command, plus the git configuration they share.

pub mod check;
pub mod export_key;
pub mod hook;
pub mod import_git_crypt;
pub mod init;
pub mod keys;
pub mod lock;
pub mod plumbing;
pub mod rotate;
pub mod status;
pub mod unlock;
pub mod users;

use crate::cli::{Cli, Command};
use crate::repo::{driver_name, Marked, Repo};
use anyhow::{Context, Result};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init { key } => init::run(&key.name),
        Command::Unlock { files, no_ring } => unlock::run(&files, !no_ring),
        Command::Lock { key, all, force } => lock::run(&key.name, all, force),
        Command::ExportKey {
            key,
            file,
            force,
            current,
            to_ring,
        } => export_key::run(&key.name, file.as_deref(), force, current, to_ring),
        Command::Keys => keys::run(),
        Command::AddUser { recipient } => users::add(&recipient),
        Command::ListUsers => users::list(),
        Command::RemoveUser { recipient } => users::remove(&recipient),
        Command::ImportGitCrypt { files } => import_git_crypt::run(&files),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "git-secret", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Status { paths, fix } => status::run(&paths, fix),
        Command::Check { staged: true, .. } => check::staged(),
        Command::Check { range, .. } => check::range(range.as_deref().unwrap_or_default()),
        Command::Audit { range } => check::audit(&range),
        Command::Rotate { key } => rotate::run(&key.name),
        Command::Clean(args) => plumbing::clean(&args),
        Command::Smudge(args) => plumbing::smudge(&args),
        Command::FilterProcess { key } => plumbing::filter_process(&key.name),
        Command::Textconv { file } => plumbing::textconv(&file),
        Command::Merge {
            key,
            base,
            ours,
            theirs,
            marker_size,
            path,
            labels,
        } => plumbing::merge(
            &key.name,
            &base,
            &ours,
            &theirs,
            marker_size.as_deref(),
            path.as_deref(),
            &labels,
        ),
    }
}

/// Quotes a word for the POSIX shell git runs filter commands with.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The git config entries that route marked files of key `name` through us.
/// `required` makes any filter failure stop git instead of storing plaintext;
/// textconv output is never cached (it would keep plaintext in notes refs).
pub fn config_entries(name: &str) -> Result<Vec<(String, String)>> {
    config_entries_for(name, &driver_name(name))
}

/// The config entries that make driver `driver` run git-secret with key `name`
/// (also used to point git-crypt's driver at git-secret after an import).
pub fn config_entries_for(name: &str, driver: &str) -> Result<Vec<(String, String)>> {
    let exe = std::env::current_exe().context("cannot find the path of the git-secret binary")?;
    let exe = shell_quote(
        exe.to_str()
            .context("the path of the git-secret binary is not valid UTF-8")?,
    );
    let key_arg = if name == crate::key::DEFAULT_NAME {
        String::new()
    } else {
        format!(" -k {name}")
    };
    Ok(vec![
        (
            format!("filter.{driver}.clean"),
            format!("{exe} clean{key_arg} -- %f"),
        ),
        (
            format!("filter.{driver}.smudge"),
            format!("{exe} smudge{key_arg} -- %f"),
        ),
        (
            format!("filter.{driver}.process"),
            format!("{exe} filter-process{key_arg}"),
        ),
        (format!("filter.{driver}.required"), "true".to_owned()),
        (
            format!("diff.{driver}.textconv"),
            format!("{exe} textconv --"),
        ),
        (format!("diff.{driver}.cachetextconv"), "false".to_owned()),
        (
            format!("merge.{driver}.name"),
            format!("git-secret merge driver (key {name})"),
        ),
        (
            format!("merge.{driver}.driver"),
            format!("{exe} merge{key_arg} -- %O %A %B %L %P %X %S %Y"),
        ),
    ])
}

/// Writes the filter configuration for key `name` into the repository's local config.
pub fn configure(repo: &Repo, name: &str) -> Result<()> {
    for (key, value) in config_entries(name)? {
        repo.set_config(&key, &value)?;
    }
    Ok(())
}

/// Points git-crypt's driver for key `name` at git-secret, so commits made
/// with git-crypt (marked `filter=git-crypt[-NAME]`) check out through us.
pub fn configure_git_crypt_driver(repo: &Repo, name: &str) -> Result<()> {
    for (key, value) in config_entries_for(name, &crate::repo::git_crypt_driver(name))? {
        repo.set_config(&key, &value)?;
    }
    Ok(())
}

/// Whether filter `driver` (ours or git-crypt's) is configured (in any config git reads).
pub fn is_driver_configured(repo: &Repo, driver: &str) -> bool {
    let key = format!("filter.{driver}.clean");
    repo.git2()
        .config()
        .and_then(|c| c.get_string(&key))
        .is_ok()
}

/// Removes the local configuration of filter `driver` that `configure` or
/// `configure_git_crypt_driver` wrote (used to undo a failed unlock).
pub fn unconfigure_driver(repo: &Repo, driver: &str) {
    for section in [
        format!("filter.{driver}"),
        format!("diff.{driver}"),
        format!("merge.{driver}"),
    ] {
        let _ = repo.run_git(&["config", "--local", "--remove-section", &section], None);
    }
}

/// Merged (stage 0) paths of `marked` whose key is one of `names`.
pub fn paths_for<'a>(marked: &'a [Marked], names: &[String]) -> Vec<&'a str> {
    marked
        .iter()
        .filter(|m| m.index_oid.is_some() && names.contains(&m.key_name))
        .map(|m| m.path.as_str())
        .collect()
}

/// "a, b and 3 more" — keeps messages about many files readable.
pub fn list_paths(paths: &[impl AsRef<str>]) -> String {
    const SHOWN: usize = 10;
    let mut text = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("\n  {}", p.as_ref()))
        .collect::<String>();
    if paths.len() > SHOWN {
        text.push_str(&format!("\n  … and {} more", paths.len() - SHOWN));
    }
    text
}
