//! `git-secret view`: the plaintext of marked files on standard output —
//! from the work tree, the index (`--cached`) or a commit (`--rev`) — also in
//! a locked clone, so one secret can be read without unlocking everything
//! (`ansible-vault view`). Keys: the ones installed here, the personal ring's
//! families saved from this repository, and `--key FILE|-`. Outside any
//! repository, each PATH is a ciphertext file (a release artifact) opened
//! with `--key`. Every file is opened before anything is printed, so a
//! refusal prints no plaintext at all; nothing is written anywhere else.

use crate::attrs::{key_names, AttrSource};
use crate::cli::ViewArgs;
use crate::format::{self, FormatError, Header};
use crate::gitcrypt;
use crate::key::Key;
use crate::keyring::{read_key_file, ring::Provenance, Keyring, Ring};
use crate::path::{self, GitPath, NotInTree};
use crate::repo::Repo;
use crate::session::Session;
use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(session: &Session, args: &ViewArgs) -> Result<ExitCode> {
    let keyring = keys_without_unlocking(session, args.key.as_deref())?;
    let texts = match session.repo() {
        Ok(repo) => in_repository(repo, args, &keyring)?,
        Err(_) if args.key.is_some() && args.rev.is_none() && !args.cached => {
            outside(args, &keyring)?
        }
        Err(e) => return Err(e),
    };
    let mut out = std::io::stdout().lock();
    for text in texts {
        out.write_all(&text)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The keys that open files without unlocking (view, edit, exec): `--key
/// FILE|-` if given, the keys installed in this repository, and the personal
/// ring's families saved from it. Outside a repository, only `--key`.
pub fn keys_without_unlocking(session: &Session, key: Option<&str>) -> Result<Keyring> {
    let reporter = session.reporter();
    let mut keyring = Keyring::default();
    if let Some(file) = key {
        keyring.extend(read_key_file(file, reporter)?);
    }
    if let Ok(repo) = session.repo() {
        keyring.merge(Keyring::load(&repo.key_store())?);
        add_ring_keys(repo, &mut keyring, reporter)?;
    }
    Ok(keyring)
}

/// Command-line paths (relative to the current directory) as paths from the
/// top of the work tree (see [`path::from_cwd`]), for view, edit and exec;
/// one that leads outside the work tree is refused.
pub fn tree_paths(repo: &Repo, paths: &[std::ffi::OsString]) -> Result<Vec<GitPath>> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    paths
        .iter()
        .map(|arg| {
            path::from_cwd(repo.top(), &cwd, arg).map_err(|why| {
                let shown = Path::new(arg).display();
                match why {
                    NotInTree::Outside => anyhow!(
                        "{shown} is outside the repository's work tree; name a marked file of this \
                         work tree (a ciphertext file elsewhere is read with --key from outside \
                         any repository)"
                    ),
                    NotInTree::Top => {
                        anyhow!("{shown} is the top of the work tree; name a marked file")
                    }
                }
            })
        })
        .collect()
}

/// Ring families saved from this repository (or from before provenance was
/// recorded), as a plain `unlock` would use them; others are not asked for.
fn add_ring_keys(
    repo: &Repo,
    keyring: &mut Keyring,
    reporter: &crate::report::Reporter,
) -> Result<()> {
    let Ok(ring) = Ring::open() else {
        return Ok(());
    };
    let here = Provenance::of(repo);
    for family in ring.families(reporter)? {
        if family.from.is_empty() || family.from.matches(&here) {
            for key in family.keys {
                keyring.insert(key);
            }
        }
    }
    Ok(())
}

fn in_repository(repo: &Repo, args: &ViewArgs, keyring: &Keyring) -> Result<Vec<Vec<u8>>> {
    let paths = tree_paths(repo, &args.paths)?;
    let refs: Vec<&GitPath> = paths.iter().collect();
    let source = match &args.rev {
        Some(rev) => AttrSource::Tree(rev.clone()),
        None if args.cached => AttrSource::Index,
        None => AttrSource::WorkTree,
    };
    let names = key_names(repo, &refs, &source)?;
    let mut texts = Vec::new();
    for (path, name) in paths.iter().zip(names) {
        if name.is_none() {
            bail!(
                "{path} is not marked for encryption in .gitattributes; \
                 view shows only marked files (read others with cat or git show)"
            );
        };
        let data = match &args.rev {
            Some(rev) => repo
                .rev_blob(rev, path)?
                .with_context(|| format!("{path} is not in {rev}"))?,
            None if args.cached => repo
                .index_blob(path)
                .with_context(|| format!("{path} is not in the index"))?,
            None => std::fs::read(path.in_tree(repo.top()))
                .with_context(|| format!("cannot read {path}"))?,
        };
        texts.push(open(&data, keyring, &path.to_string(), args.key.is_some())?);
    }
    Ok(texts)
}

fn outside(args: &ViewArgs, keyring: &Keyring) -> Result<Vec<Vec<u8>>> {
    let mut texts = Vec::new();
    for path in &args.paths {
        let (shown, data) = ciphertext_outside(path)?;
        texts.push(open(&data, keyring, &shown, args.key.is_some())?);
    }
    Ok(texts)
}

/// A file named outside any repository (view, exec): git-secret ciphertext
/// only, since nothing there marks a plaintext file as secret. Returns the
/// path as messages show it, and the file's bytes.
pub fn ciphertext_outside(path: &OsStr) -> Result<(String, Vec<u8>)> {
    let shown = Path::new(path).display().to_string();
    let data = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
    if !matches!(Header::parse(&data), Ok(Some(_))) {
        bail!("{shown} is not a git-secret encrypted file");
    }
    Ok((shown, data))
}

/// The plaintext of one file: decrypted, or as it is when it holds plaintext
/// already (an unlocked work tree). `key_given`: the keyring holds a key file
/// given with `--key` (so a refusal does not ask for one).
pub fn open(data: &[u8], keyring: &Keyring, shown: &str, key_given: bool) -> Result<Vec<u8>> {
    if gitcrypt::is_blob(data) {
        if keyring.git_crypt().is_empty() {
            bail!(
                "{shown} is encrypted with git-crypt and no git-crypt key is held here; pass the key \
                 file with --key FILE, or unlock"
            );
        }
        return gitcrypt::decrypt(keyring.git_crypt(), data)
            .with_context(|| format!("cannot decrypt {shown}"));
    }
    match format::decrypt_bytes(data, |id| keyring.find(id).map(Key::subkeys)) {
        Ok(Some(plaintext)) => Ok(plaintext),
        Ok(None) => Ok(data.to_vec()),
        Err(FormatError::UnknownKey(id)) if key_given => bail!(
            "the key file given with --key does not open {shown} (key id {id}), and no key held \
             here does; pass the key file that holds key id {id}, or unlock"
        ),
        Err(FormatError::UnknownKey(id)) => bail!(
            "no key held here opens {shown} (key id {id}); pass the key file with --key FILE \
             (or - for standard input), or unlock"
        ),
        Err(e) => bail!("cannot decrypt {shown}: {e}"),
    }
}
