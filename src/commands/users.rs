//! `add-user`, `list-users`, `remove-user`: who can unlock with their own
//! age or SSH key (see src/recipients.rs for the files under `.git-secret/`).

use super::rotate;
use crate::cli::{AddUserArgs, RemoveUserArgs};
use crate::crypto::KeyId;
use crate::recipients::{self, Recipient};
use crate::repo::Repo;
use crate::session::Session;
use anyhow::{bail, Result};
use std::io::Write;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Every key this repository holds, as one key file, and their ids.
fn key_file(session: &Session) -> Result<(Zeroizing<String>, Vec<KeyId>)> {
    let keyring = session.keyring()?;
    if keyring.is_empty() {
        bail!("this repository holds no key to share; unlock it first (`git-secret unlock`)");
    }
    let ids = keyring.keys().iter().map(|k| k.id()).collect();
    Ok((keyring.to_key_file(), ids))
}

fn stage(repo: &Repo) -> Result<()> {
    repo.run_git(&["add", "-A", "--", recipients::DIR], None)?;
    Ok(())
}

/// The recipients a re-wrap of `.git-secret/keys.age` is for; refuses a
/// list it cannot trust (a duplicate entry).
pub fn rewrap_list(session: &Session) -> Result<Vec<Recipient>> {
    recipients::read_list(session.repo()?.top())
}

/// Re-wraps `.git-secret/keys.age` with every key this repository holds for
/// the current recipients and stages it (after a rotation, so they can open
/// the new generation). Returns how many recipients there are; with none,
/// nothing is written.
pub fn rewrap(session: &Session) -> Result<usize> {
    let repo = session.repo()?;
    let list = rewrap_list(session)?;
    if list.is_empty() {
        return Ok(0);
    }
    let (keys, ids) = key_file(session)?;
    recipients::write(repo.top(), &list, keys.as_bytes())?;
    stage(repo)?;
    // Wrapped for a recipient: no longer the only copy.
    repo.key_store().mark_saved(&ids)?;
    Ok(list.len())
}

pub fn add(session: &Session, args: &AddUserArgs) -> Result<ExitCode> {
    let repo = session.repo()?;
    let recipient = Recipient::parse(&args.recipient)?;
    let mut list = recipients::read_list(repo.top())?;
    if list.iter().any(|r| r.same_key(&recipient)) {
        bail!(
            "{} is already a recipient (fingerprint {})",
            recipient.kind(),
            recipient.fingerprint()
        );
    }
    let (keys, ids) = key_file(session)?;
    list.push(recipient.clone());
    recipients::write(repo.top(), &list, keys.as_bytes())?;
    stage(repo)?;
    // Wrapped for a recipient: no longer the only copy.
    repo.key_store().mark_saved(&ids)?;
    session.reporter().note(format_args!(
        "Added {} recipient {}{}; staged {} and {}. Commit them: the new user then runs `git-secret unlock`\n\
         (with their age identity in GIT_SECRET_IDENTITY, or their SSH key in ~/.ssh).",
        recipient.kind(),
        recipient.fingerprint(),
        if recipient.comment.is_empty() { String::new() } else { format!(" ({})", recipient.comment) },
        recipients::LIST,
        recipients::WRAPPED
    ));
    Ok(ExitCode::SUCCESS)
}

pub fn list(session: &Session) -> Result<ExitCode> {
    let repo = session.repo()?;
    let list = recipients::read_list(repo.top())?;
    let mut out = std::io::stdout().lock();
    for r in &list {
        writeln!(out, "{}", r.shown())?;
    }
    if list.is_empty() {
        session
            .reporter()
            .note("No recipients: add one with `git-secret add-user <age or SSH public key>`.");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn remove(session: &Session, args: &RemoveUserArgs) -> Result<ExitCode> {
    let arg = args.recipient.as_str();
    let repo = session.repo()?;
    // Every entry, duplicates included: each one is removed.
    let entries = recipients::read_entries(repo.top())?;
    let wanted = Recipient::parse(arg).ok();
    let Some(removed) = entries
        .iter()
        .map(|e| &e.recipient)
        .find(|r| r.fingerprint() == arg || wanted.as_ref().is_some_and(|w| w.same_key(r)))
        .cloned()
    else {
        bail!("{arg} is not a recipient of this repository (see `git-secret list-users`)");
    };
    let (gone, kept): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .map(|e| e.recipient)
        .partition(|r| r.same_key(&removed));
    let list = kept;
    {
        let rest: Vec<recipients::Entry> = list
            .iter()
            .enumerate()
            .map(|(line, r)| recipients::Entry {
                line,
                recipient: r.clone(),
            })
            .collect();
        recipients::refuse_duplicates(&rest)?;
    }
    // New key generations, so the removed user's copy opens nothing committed from now on.
    for name in repo.key_store().names()? {
        let rotated = rotate::rotate(session, &name)?;
        rotate::report(session.reporter(), &rotated);
    }
    if list.is_empty() {
        for file in [recipients::LIST, recipients::WRAPPED] {
            let _ = std::fs::remove_file(repo.top().join(file));
        }
    } else {
        let (keys, ids) = key_file(session)?;
        recipients::write(repo.top(), &list, keys.as_bytes())?;
        repo.key_store().mark_saved(&ids)?;
    }
    stage(repo)?;
    session.reporter().note(format_args!(
        "Removed recipient {} ({} in {}) and rotated the keys; the remaining recipients can unlock the new ones. \
         Commit.\n\
         They can still read everything committed before, and hold the old keys: change the secrets themselves.",
        removed.fingerprint(),
        if gone.len() == 1 { "1 entry".to_owned() } else { format!("{} entries", gone.len()) },
        recipients::LIST
    ));
    Ok(ExitCode::SUCCESS)
}
