//! `git-secret export-key`: the key file a teammate or CI unlocks with.

use crate::cli::ExportKeyArgs;
use crate::files::write_secret_file;
use crate::key::{format_key_file_all, validate_name};
use crate::keyring::Ring;
use crate::session::Session;
use anyhow::{bail, Result};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(session: &Session, args: &ExportKeyArgs) -> Result<ExitCode> {
    let name = args.key.name.as_str();
    let reporter = session.reporter();
    validate_name(name)?;
    let stored = session.store()?.load_file(name)?;
    let keys = stored.keys;
    if keys.is_empty() {
        bail!("this repository holds no key '{name}'; run `git-secret init` to create one, or `git-secret unlock KEYFILE`");
    }
    let newest = keys.last().expect("checked non-empty");
    let exported: Vec<_> = if args.current {
        vec![newest]
    } else {
        keys.iter().collect()
    };
    let ids: Vec<_> = exported.iter().map(|k| k.id()).collect();
    let store = session.store()?;
    if args.to_ring {
        let from = crate::keyring::ring::Provenance::of(session.repo()?);
        let saved = Ring::open()?.store(&exported, &from, reporter)?;
        store.mark_saved(&ids)?;
        reporter.note(format_args!(
            "{} key '{name}' (id {}) in your key ring.",
            if saved { "Saved" } else { "Already had" },
            newest.id()
        ));
    }
    let Some(file) = args.file.as_deref() else {
        return Ok(ExitCode::SUCCESS);
    };
    // Read-only git-crypt keys (from import-git-crypt) go along, so history stays readable.
    let legacy: Vec<_> = if args.current {
        Vec::new()
    } else {
        stored.git_crypt.iter().collect()
    };
    let text = format_key_file_all(&exported, &legacy);
    if file == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        store.mark_saved(&ids)?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = Path::new(file);
    if !args.force && path.symlink_metadata().is_ok() {
        bail!("{file} already exists; choose another file name, or pass --force to overwrite it");
    }
    write_secret_file(path, text.as_bytes(), args.force)?;
    store.mark_saved(&ids)?;
    reporter.note(format_args!(
        "Exported key '{name}' (id {}) to {file} (mode 0600). Anyone holding this file can decrypt the \
         repository's secrets: hand it over privately; they run `git-secret unlock {file}`.",
        newest.id()
    ));
    Ok(ExitCode::SUCCESS)
}
