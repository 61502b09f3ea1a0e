//! The refusals that come before any command changes the work tree: no merge,
//! rebase or similar in progress, and no uncommitted changes to the files the
//! command rewrites. Each says what to do next, in the command's words.

use crate::checkout::user_changes;
use crate::path::GitPath;
use crate::repo::Repo;
use crate::report::list_paths;
use anyhow::{bail, Result};

/// Refuses while git is in the middle of an operation: "… is in progress;
/// finish or abort it, then `verb`".
pub fn no_operation_in_progress(repo: &Repo, verb: &str) -> Result<()> {
    if let Some(operation) = repo.operation_in_progress() {
        bail!("{operation} is in progress; finish or abort it, then {verb}");
    }
    Ok(())
}

/// Refuses when any of `paths` differs from the index or HEAD (files an
/// interrupted unlock/lock is about to restore do not count). `next` is the
/// advice after "commit or stash them".
pub fn no_uncommitted_changes(repo: &Repo, paths: &[&GitPath], next: &str) -> Result<()> {
    refuse_changes(&user_changes(repo, paths)?, next)
}

/// The refusal for `changed` files, if there are any.
pub fn refuse_changes(changed: &[impl std::fmt::Display], next: &str) -> Result<()> {
    if !changed.is_empty() {
        bail!(
            "these marked files have uncommitted changes:{}\ncommit or stash them{next}",
            list_paths(changed)
        );
    }
    Ok(())
}
