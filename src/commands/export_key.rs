//! `git-secret export-key`: the key file a teammate or CI unlocks with.

use crate::key::{format_key_file_all, validate_name, write_secret_file};
use crate::repo::Repo;
use anyhow::{bail, Result};
use std::io::Write;
use std::path::Path;

pub fn run(
    name: &str,
    file: Option<&str>,
    force: bool,
    current: bool,
    to_ring: bool,
) -> Result<()> {
    validate_name(name)?;
    let repo = Repo::discover()?;
    let stored = repo.key_store().load_file(name)?;
    let keys = stored.keys;
    if keys.is_empty() {
        bail!("this repository holds no key '{name}'; run `git-secret init` to create one, or `git-secret unlock KEYFILE`");
    }
    let newest = keys.last().expect("checked non-empty");
    let exported: Vec<_> = if current {
        vec![newest]
    } else {
        keys.iter().collect()
    };
    if to_ring {
        let saved = crate::ring::Ring::open()?.store(&exported)?;
        eprintln!(
            "{} key '{name}' (id {}) in your key ring.",
            if saved { "Saved" } else { "Already had" },
            newest.id()
        );
    }
    let Some(file) = file else { return Ok(()) };
    // Read-only git-crypt keys (from import-git-crypt) go along, so history stays readable.
    let legacy: Vec<_> = if current {
        Vec::new()
    } else {
        stored.git_crypt.iter().collect()
    };
    let text = format_key_file_all(&exported, &legacy);
    if file == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        return Ok(());
    }
    let path = Path::new(file);
    if !force && path.symlink_metadata().is_ok() {
        bail!("{file} already exists; choose another file name, or pass --force to overwrite it");
    }
    write_secret_file(path, text.as_bytes(), force)?;
    eprintln!(
        "Exported key '{name}' (id {}) to {file} (mode 0600). Anyone holding this file can decrypt the \
         repository's secrets: hand it over privately; they run `git-secret unlock {file}`.",
        newest.id()
    );
    Ok(())
}
