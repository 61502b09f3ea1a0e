//! `git-secret lock`: turn the marked files back into ciphertext and remove the key.
//!
//! The filters stay configured in locked mode: clean passes ciphertext through
//! and refuses plaintext, smudge passes ciphertext through. The key is removed
//! only after the work tree holds ciphertext, so an interrupted lock loses no
//! key; rerunning it finishes the job.

use super::{list_paths, paths_for};
use crate::key::validate_name;
use crate::repo::Repo;
use anyhow::{bail, Result};

pub fn run(name: &str, all: bool, force: bool) -> Result<()> {
    validate_name(name)?;
    let repo = Repo::discover()?;
    if let Some(operation) = repo.operation_in_progress() {
        bail!("{operation} is in progress; finish or abort it, then lock");
    }
    let store = repo.key_store();
    let candidates: Vec<String> = if all {
        store.names()?
    } else {
        vec![name.to_owned()]
    };
    let mut names = Vec::new();
    for candidate in candidates {
        if !store.load(&candidate)?.is_empty() {
            names.push(candidate);
        }
    }
    let marked = repo.marked_files()?;
    if names.is_empty() {
        // An interrupted run may have left files to restore.
        let pending = repo.pending();
        if !pending.is_empty() {
            let paths: Vec<&str> = pending.iter().map(String::as_str).collect();
            repo.force_checkout(&paths, "lock", &[])?;
            eprintln!(
                "Finished an interrupted lock: {} file(s) checked out as ciphertext.",
                paths.len()
            );
            return Ok(());
        }
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
    // The key is shared by every linked work tree: all of them go back to
    // ciphertext, or none does.
    let worktrees = repo.worktrees()?;
    let mut plans = Vec::new();
    let mut changed = Vec::new();
    for tree in &worktrees {
        let marked = if std::ptr::eq(tree, &worktrees[0]) {
            marked.clone()
        } else {
            tree.marked_files()?
        };
        let paths: Vec<String> = paths_for(&marked, &names)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        for path in tree.user_changes(&refs)? {
            changed.push(if std::ptr::eq(tree, &worktrees[0]) {
                path
            } else {
                format!("{} (in {})", path, tree.top().display())
            });
        }
        plans.push((tree, paths));
    }
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

    for (tree, paths) in &plans {
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        tree.force_checkout(&refs, "lock", &names).map_err(|e| {
            e.context("lock failed; the key is still installed, so nothing is lost: fix the cause and run lock again")
        })?;
    }
    crate::fault::crash_point("lock:checked-out");
    for name in &names {
        store.remove(name)?;
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        eprintln!(
            "Locked key '{name}': {count} marked file(s) are ciphertext in the work tree and the key was removed."
        );
    }
    Ok(())
}
