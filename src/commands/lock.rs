//! `git-secret lock`: turn the marked files back into ciphertext and remove the key.
//!
//! The filters stay configured in locked mode: clean passes ciphertext through
//! and refuses plaintext, smudge passes ciphertext through. The key is removed
//! only after the work tree holds ciphertext, so an interrupted lock loses no
//! key; rerunning it finishes the job.
//!
//! Nothing destroys the last copy of a key: a key born in this clone (`init`,
//! `rotate`, a `remove-user` rotation) that was never exported, saved to the
//! personal ring or wrapped for a recipient is kept, and lock refuses, unless
//! `--discard-key` says that losing it is meant (see `KeyStore::unsaved`).

use super::preflight::{no_operation_in_progress, refuse_changes};
use crate::attrs::Marked;
use crate::attrs::{marked_files, paths_for};
use crate::checkout::{self, rewrite, user_changes};
use crate::cli::LockArgs;
use crate::crypto::KeyId;
use crate::drivers;
use crate::key::validate_name;
use crate::keyring::KeyStore;
use crate::repo::Repo;
use crate::report::list_paths;
use crate::session::Session;
use anyhow::{bail, Result};
use std::process::ExitCode;

pub fn run(session: &Session, args: &LockArgs) -> Result<ExitCode> {
    let (name, all, force) = (args.key.name.as_str(), args.all, args.force);
    let reporter = session.reporter();
    validate_name(name)?;
    let repo = session.repo()?;
    never_used(repo)?;
    no_operation_in_progress(repo, "lock")?;
    let _transaction = checkout::begin(repo, reporter)?;
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
    let marked = marked_files(repo)?;
    let doomed = only_copies(&store, &names)?;
    if !doomed.is_empty() && !args.discard_key {
        refuse_key_loss(&doomed)?;
    }
    if names.is_empty() {
        reporter.note(format_args!(
            "{} already locked; nothing to do.",
            if all {
                "Every key is".to_owned()
            } else {
                format!("Key '{name}' is")
            }
        ));
        return Ok(ExitCode::SUCCESS);
    }
    // The key is shared by every linked work tree: all of them go back to
    // ciphertext, or none does.
    let worktrees = repo.worktrees()?;
    let mut plans = Vec::new();
    let mut changed = Vec::new();
    for (i, tree) in worktrees.iter().enumerate() {
        let marked = if i == 0 {
            marked.clone()
        } else {
            marked_files(tree)?
        };
        let refs = paths_for(&marked, &names);
        for path in user_changes(tree, &refs)? {
            changed.push(if i == 0 {
                path.to_string()
            } else {
                format!("{} (in {})", path, tree.top().display())
            });
        }
        let files: Vec<Marked> = marked
            .into_iter()
            .filter(|m| m.index_oid.is_some() && names.contains(&m.key_name))
            .collect();
        plans.push((tree, files));
    }
    if !force {
        refuse_changes(
            &changed,
            " first, or pass --force to discard the work-tree changes",
        )?;
    } else if !changed.is_empty() {
        reporter.note(format_args!(
            "Discarding uncommitted work-tree changes to:{}\n(staged changes stay in the index, encrypted)",
            list_paths(&changed)
        ));
    }

    for (tree, files) in &plans {
        let files: Vec<&Marked> = files.iter().collect();
        rewrite(tree, &files, &names, "lock", reporter).map_err(|e| {
            e.context("lock failed; the key is still installed, so nothing is lost: fix the cause and run lock again")
        })?;
    }
    crate::fault::crash_point("lock:checked-out");
    for name in &names {
        store.remove(name)?;
        let ids: Vec<KeyId> = doomed
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .collect();
        if !ids.is_empty() {
            store.mark_saved(&ids)?;
            reporter.note(format_args!(
                "Discarded key '{name}' (id {}): it existed nowhere else; what it encrypted cannot be decrypted any more.",
                ids.iter().map(KeyId::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        reporter.note(format_args!(
            "Locked key '{name}': {count} marked file(s) are ciphertext in the work tree and the key was removed."
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses in a repository that never used git-secret (no key installed, no
/// driver in its config, nothing marked): "already locked" would suggest
/// there was something to lock. Checked before anything is written.
fn never_used(repo: &Repo) -> Result<()> {
    if repo.key_store().names()?.is_empty()
        && drivers::configured_locally(repo).is_empty()
        && marked_files(repo)?.is_empty()
    {
        bail!(
            "nothing to lock: this repository has no git-secret key, no git-secret driver in its config \
             and no file marked for git-secret. To start using git-secret here, run `git-secret init`"
        );
    }
    Ok(())
}

/// The generations of `names` whose only copy is this clone's store.
fn only_copies(store: &KeyStore, names: &[String]) -> Result<Vec<(String, KeyId)>> {
    let unsaved = store.unsaved();
    let mut doomed = Vec::new();
    if unsaved.is_empty() {
        return Ok(doomed);
    }
    for name in names {
        for key in store.load(name)? {
            if unsaved.contains(&key.id()) {
                doomed.push((name.clone(), key.id()));
            }
        }
    }
    Ok(doomed)
}

/// Refuses to delete the only copy of a key, and says how to keep one.
fn refuse_key_loss(doomed: &[(String, KeyId)]) -> Result<()> {
    let keys: Vec<String> = doomed
        .iter()
        .map(|(name, id)| format!("'{name}' (id {id})"))
        .collect();
    bail!(
        "lock would delete the only copy of key {}: it was made in this clone and never exported, \
         so every file it encrypted could never be read again. Keep a copy first: \
         `git-secret export-key FILE` (or `-` for standard output), `git-secret export-key --to-ring`, \
         or `git-secret add-user PUBLIC-KEY`; then lock again. To delete it anyway, pass --discard-key",
        keys.join(", ")
    )
}
