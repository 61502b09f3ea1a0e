//! The re-checkout that unlock, lock and import use to turn marked files in
//! the work tree into plaintext or back into ciphertext.
//!
//! git skips files whose stat data match the index, so each file is removed
//! first and git writes it back through our filter. A marker under the git
//! dir lists the removed files until git has written them back, so a rerun
//! after a crash knows the missing files are ours to restore, not the user's
//! deletions.

use crate::repo::Repo;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Key names (comma-separated) that `lock` is locking: the filters it runs
/// during its re-checkout treat them as locked, while the key stays installed
/// until the work tree holds ciphertext (so an interrupted lock loses no key).
pub const LOCKING_ENV: &str = "GIT_SECRET_LOCKING";

/// Work tree files removed by [`remove_for_checkout`], NUL-separated.
pub struct Removed(Vec<u8>);

/// Re-checks out `paths` from the index through git (so our filter runs).
/// `locking` names keys the filter must treat as locked for this checkout
/// (lock removes the key only afterwards).
pub fn force_checkout(repo: &Repo, paths: &[&str], op: &str, locking: &[String]) -> Result<()> {
    let removed = remove_for_checkout(repo, paths, op)?;
    check_out_removed(repo, removed, locking)
}

/// The first half of [`force_checkout`]: records `paths` as pending and
/// removes them from the work tree. A caller may change the index between the
/// halves (import does), and a crash there is still completed by a rerun.
pub fn remove_for_checkout(repo: &Repo, paths: &[&str], op: &str) -> Result<Removed> {
    if paths.is_empty() {
        clear_pending(repo)?;
        return Ok(Removed(Vec::new()));
    }
    crate::fault::io_point("checkout").context("cannot check the files out again")?;
    let mut list = Vec::new();
    for path in paths {
        list.extend_from_slice(path.as_bytes());
        list.push(0);
    }
    std::fs::write(pending_path(repo), &list)
        .context("cannot record the files being re-checked out")?;
    for path in paths {
        let file = repo.top().join(path);
        crate::files::remove_if_exists(&file)
            .with_context(|| format!("cannot replace {}", file.display()))?;
    }
    crate::fault::crash_point(&format!("{op}:files-removed"));
    Ok(Removed(list))
}

/// The second half of [`force_checkout`]: git writes the removed files back
/// from the index, then the marker goes.
pub fn check_out_removed(repo: &Repo, removed: Removed, locking: &[String]) -> Result<()> {
    if removed.0.is_empty() {
        return Ok(());
    }
    let args = [
        "--literal-pathspecs",
        "checkout",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
        "--",
    ];
    let mut cmd = repo.git();
    cmd.args(args).env(LOCKING_ENV, locking.join(","));
    let output = crate::repo::run_with_input(cmd, &removed.0)?;
    if !output.status.success() {
        bail!(
            "git could not check the marked files out again: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    clear_pending(repo)
}

fn pending_path(repo: &Repo) -> PathBuf {
    repo.git_dir().join("git-secret-pending")
}

/// Files an interrupted unlock/lock removed and had not yet checked out again.
pub fn pending(repo: &Repo) -> Vec<String> {
    std::fs::read(pending_path(repo))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn clear_pending(repo: &Repo) -> Result<()> {
    crate::files::remove_if_exists(&pending_path(repo))
        .context("cannot remove the re-checkout marker")
}

/// Content changes to `paths` (see [`Repo::changed_paths`]), not counting
/// files an interrupted unlock/lock removed and is about to restore.
pub fn user_changes(repo: &Repo, paths: &[&str]) -> Result<Vec<String>> {
    let pending = pending(repo);
    let mut changed = repo.changed_paths(paths)?;
    changed.retain(|p| !pending.contains(p) || repo.top().join(p).exists());
    Ok(changed)
}
