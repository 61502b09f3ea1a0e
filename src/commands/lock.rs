//! `git-secret lock`: turn the marked files back into ciphertext and remove the key.
//!
//! The filters stay configured in locked mode: clean passes ciphertext through
//! and refuses plaintext, smudge passes ciphertext through.

use super::{list_paths, paths_for};
use crate::key::{validate_name, Key};
use crate::repo::Repo;
use anyhow::{bail, Result};

pub fn run(name: &str, all: bool, force: bool) -> Result<()> {
    validate_name(name)?;
    let repo = Repo::discover()?;
    if let Some(operation) = repo.operation_in_progress() {
        bail!("{operation} is in progress; finish or abort it, then lock");
    }
    let store = repo.key_store();
    let names: Vec<String> = if all {
        store.names()?
    } else {
        vec![name.to_owned()]
    };
    let held: Vec<(String, Vec<Key>)> = names
        .iter()
        .map(|n| Ok((n.clone(), store.load(n)?)))
        .collect::<Result<Vec<_>>>()?;
    let held: Vec<(String, Vec<Key>)> = held
        .into_iter()
        .filter(|(_, keys)| !keys.is_empty())
        .collect();
    if held.is_empty() {
        eprintln!(
            "{} already locked; nothing to do.",
            if all {
                "Every key is".to_owned()
            } else {
                format!("Key '{name}' is")
            }
        );
        return Ok(());
    }
    let names: Vec<String> = held.iter().map(|(n, _)| n.clone()).collect();
    let marked = repo.marked_files()?;
    let paths = paths_for(&marked, &names);
    let changed = repo.changed_paths(&paths)?;
    if !changed.is_empty() {
        if !force {
            bail!(
                "these marked files have uncommitted changes:{}\ncommit or stash them first, \
                 or pass --force to discard the work-tree changes",
                list_paths(&changed)
            );
        }
        eprintln!(
            "Discarding uncommitted work-tree changes to:{}\n(staged changes stay in the index, encrypted)",
            list_paths(&changed)
        );
    }

    for name in &names {
        store.remove(name)?;
    }
    if let Err(e) = repo.force_checkout(&paths) {
        // Put the keys back so the work tree can be restored as plaintext.
        for (name, keys) in &held {
            let _ = store.save(name, &keys.iter().collect::<Vec<_>>());
        }
        let _ = repo.force_checkout(&paths);
        return Err(
            e.context("lock failed; the key was put back and the repository stays unlocked")
        );
    }
    for name in &names {
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        eprintln!("Locked key '{name}': {count} marked file(s) are ciphertext in the work tree and the key was removed.");
    }
    Ok(())
}
