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

/// Every key this repository holds, as one key file, their ids and the
/// authenticated copy of `list`.
fn key_file(
    session: &Session,
    list: &[Recipient],
) -> Result<(Zeroizing<String>, Vec<KeyId>, String)> {
    let keyring = session.keyring()?;
    if keyring.is_empty() {
        bail!("this repository holds no key to share; unlock it first (`git-secret unlock`)");
    }
    let ids = keyring.keys().iter().map(|k| k.id()).collect();
    Ok((keyring.to_key_file(), ids, recipients::seal(list, &keyring)))
}

fn stage(repo: &Repo) -> Result<()> {
    repo.run_git(&["add", "-A", "--", recipients::DIR], None)?;
    Ok(())
}

/// The heading of a difference between recipients.txt and the
/// authenticated list, the differences, one per line.
fn differences(why: Option<&str>, changes: &[recipients::Change]) -> String {
    let heading = match why {
        None => format!(
            "{} differs from the authenticated recipient list (the one add-user, remove-user and rotate last \
             wrote with the key)",
            recipients::LIST
        ),
        Some(why) => format!("{} is not authenticated: {why}", recipients::LIST),
    };
    let lines: String = changes.iter().map(|c| format!("\n{c}")).collect();
    format!("{heading}:{lines}")
}

const CHECK: &str = "Someone who can push edited the file: check each line with its owner.";

fn accept_advice() -> String {
    format!(
        "To accept one change, run `git-secret add-user` (an added line) or `git-secret remove-user` (a removed \
         one) with that key; to accept them all, rerun with --accept-recipients; to drop them, restore {} from \
         before the change (`git log -p -- {}`).",
        recipients::LIST,
        recipients::LIST
    )
}

/// Refuses a re-wrap for `worktree` (the list about to be written) when it
/// differs from the authenticated list, apart from changes to `exempt` (the
/// key add-user or remove-user names, which the command accepts). With
/// `accept`, or a yes on a terminal, the differences are accepted.
fn check_changes(
    session: &Session,
    worktree: &[Recipient],
    exempt: Option<&Recipient>,
    accept: bool,
) -> Result<()> {
    let repo = session.repo()?;
    let keyring = session.keyring()?;
    let (authenticated, why) = match recipients::authenticated(repo.top(), &keyring)? {
        recipients::Trust::Verified(list) => (list, None),
        recipients::Trust::Unchecked => return Ok(()), // no key: the command refuses anyway
        recipients::Trust::Not(why) => (Vec::new(), Some(why)),
    };
    let changes: Vec<_> = recipients::changes(&authenticated, worktree)
        .into_iter()
        .filter(|c| exempt.is_none_or(|e| !c.recipient.same_key(e)))
        .collect();
    if changes.is_empty() || accept {
        return Ok(());
    }
    let text = differences(why.as_deref(), &changes);
    if session.reporter().confirm(format_args!(
        "{text}\n{CHECK}\nAccept these changes and re-wrap the keys for the list in {}? [y/N] ",
        recipients::LIST
    )) == Some(true)
    {
        return Ok(());
    }
    bail!("{text}\nNothing was changed. {CHECK}\n{}", accept_advice())
}

/// The recipients a re-wrap of `.git-secret/keys.age` is for; refuses a
/// list it cannot trust: a duplicate entry, or a difference from the
/// authenticated list (unless `accept`).
pub fn rewrap_list(session: &Session, accept: bool) -> Result<Vec<Recipient>> {
    let list = recipients::read_list(session.repo()?.top())?;
    check_changes(session, &list, None, accept)?;
    recipients::check_plugins(&list, session.reporter())?;
    Ok(list)
}

/// Re-wraps `.git-secret/keys.age` with every key this repository holds for
/// the recipients `list` (from [`rewrap_list`]) and stages it (after a
/// rotation, so they can open the new generation). Returns how many
/// recipients there are; with none, nothing is written.
pub fn rewrap(session: &Session, list: &[Recipient]) -> Result<usize> {
    let repo = session.repo()?;
    if list.is_empty() {
        return Ok(0);
    }
    let (keys, ids, auth) = key_file(session, list)?;
    recipients::write(repo.top(), list, keys.as_bytes(), &auth)?;
    stage(repo)?;
    // Wrapped for a recipient: no longer the only copy.
    repo.key_store().mark_saved(&ids)?;
    Ok(list.len())
}

pub fn add(session: &Session, args: &AddUserArgs) -> Result<ExitCode> {
    let repo = session.repo()?;
    let mut list = recipients::read_list(repo.top())?;
    // A passphrase recipient: a key of its own, sealed with the passphrase.
    let mut sealed = None;
    let recipient = match &args.recipient {
        Some(arg) => Recipient::parse(arg)?,
        None => {
            if let Some(existing) = list.iter().find(|r| r.is_passphrase()) {
                bail!(
                    "this repository already has a passphrase recipient ({}); to change the passphrase, \
                     run `git-secret remove-user {}` (which rotates the keys), then add-user --passphrase",
                    existing.fingerprint(),
                    recipients::PASSPHRASE
                );
            }
            // Checked before asking: no passphrase typed for a refusal.
            key_file(session, &list)?;
            check_changes(session, &list, None, args.accept_recipients)?;
            recipients::check_plugins(&list, session.reporter())?;
            let passphrase = crate::passphrase::new(args.passphrase_fd)?;
            let (recipient, bytes) = recipients::new_passphrase_recipient(passphrase, "")?;
            sealed = Some(bytes);
            recipient
        }
    };
    if args.recipient.is_some() && recipient.is_passphrase() {
        bail!("a passphrase recipient is added with `git-secret add-user --passphrase`");
    }
    let keyring = session.keyring()?;
    let trusted = match recipients::authenticated(repo.top(), &keyring)? {
        recipients::Trust::Verified(trusted) => trusted,
        _ => Vec::new(),
    };
    // Already a recipient: listed and authenticated alike, and no new comment given. A pending
    // change to that key's line (a new comment) is accepted by naming the line as it should be.
    let listed = list.iter().find(|r| r.same_key(&recipient));
    let authenticated = trusted.iter().find(|r| r.same_key(&recipient));
    if let (Some(listed), Some(authenticated)) = (listed, authenticated) {
        if listed == authenticated
            && (recipient.comment.is_empty() || recipient.comment == authenticated.comment)
        {
            bail!(
                "{} is already a recipient (fingerprint {})",
                recipient.kind(),
                recipient.fingerprint()
            );
        }
    }
    // Named here: an unauthenticated line of this key is accepted (as given now).
    list.retain(|r| !r.same_key(&recipient));
    list.push(recipient.clone());
    check_changes(session, &list, Some(&recipient), args.accept_recipients)?;
    recipients::check_plugins(&list, session.reporter())?;
    let (keys, ids, auth) = key_file(session, &list)?;
    recipients::write(repo.top(), &list, keys.as_bytes(), &auth)?;
    if let Some(bytes) = &sealed {
        let path = repo.top().join(recipients::PASSPHRASE_FILE);
        std::fs::write(&path, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", recipients::PASSPHRASE_FILE))?;
    }
    stage(repo)?;
    // Wrapped for a recipient: no longer the only copy.
    repo.key_store().mark_saved(&ids)?;
    let how = if recipient.is_passphrase() {
        format!("staged {}, {} and {}. Commit them: anyone who knows the passphrase then runs `git-secret unlock`\n\
                 (asked on the terminal, or --passphrase-fd N).", recipients::LIST, recipients::WRAPPED, recipients::PASSPHRASE_FILE)
    } else {
        format!("staged {} and {}. Commit them: the new user then runs `git-secret unlock`\n\
                 (with their age or plugin identity in GIT_SECRET_IDENTITY, or their SSH key in ~/.ssh).",
                recipients::LIST, recipients::WRAPPED)
    };
    session.reporter().note(format_args!(
        "Added {} recipient {}{}; {how}",
        recipient.kind(),
        recipient.fingerprint(),
        if recipient.comment.is_empty() {
            String::new()
        } else {
            format!(" ({})", recipient.shown_comment())
        },
    ));
    Ok(ExitCode::SUCCESS)
}

/// Prints the authenticated list; exit 1 when recipients.txt differs from
/// it or nothing authenticates it.
pub fn list(session: &Session) -> Result<ExitCode> {
    let repo = session.repo()?;
    let worktree = recipients::read_list(repo.top())?;
    let keyring = session.keyring()?;
    let reporter = session.reporter();
    let (shown, why) = match recipients::authenticated(repo.top(), &keyring)? {
        recipients::Trust::Verified(list) => (list, None),
        recipients::Trust::Unchecked => {
            reporter.warn(format_args!(
                "{} is shown unchecked: this clone holds no key to check its authenticated copy (unlock first)",
                recipients::LIST
            ));
            (worktree.clone(), None)
        }
        recipients::Trust::Not(why) if worktree.is_empty() => {
            let _ = why; // nothing listed, nothing to trust
            (Vec::new(), None)
        }
        recipients::Trust::Not(why) => (Vec::new(), Some(why)),
    };
    let mut out = std::io::stdout().lock();
    for r in &shown {
        writeln!(out, "{}", r.shown())?;
    }
    drop(out);
    let changes = recipients::changes(&shown, &worktree);
    if !changes.is_empty() {
        return Ok(reporter.fail(format_args!(
            "{}\n{CHECK}\n{}",
            differences(why.as_deref(), &changes),
            accept_advice()
        )));
    }
    if shown.is_empty() {
        reporter.note("No recipients: add one with `git-secret add-user <age or SSH public key>`.");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn remove(session: &Session, args: &RemoveUserArgs) -> Result<ExitCode> {
    let arg = args.recipient.as_str();
    let repo = session.repo()?;
    // Every entry, duplicates included: each one is removed.
    let entries = recipients::read_entries(repo.top())?;
    let keyring = session.keyring()?;
    let trusted = match recipients::authenticated(repo.top(), &keyring)? {
        recipients::Trust::Verified(trusted) => trusted,
        _ => Vec::new(),
    };
    let wanted = Recipient::parse(arg).ok();
    let Some(removed) = entries
        .iter()
        .map(|e| &e.recipient)
        .chain(&trusted)
        .find(|r| {
            r.fingerprint() == arg
                || wanted.as_ref().is_some_and(|w| w.same_key(r))
                || (arg == recipients::PASSPHRASE && r.is_passphrase())
        })
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
    check_changes(session, &list, Some(&removed), args.accept_recipients)?;
    // Before the rotation: the re-wrap below runs every remaining plugin.
    recipients::check_plugins(&list, session.reporter())?;
    // New key generations, so the removed user's copy opens nothing committed from now on.
    for name in repo.key_store().names()? {
        let rotated = rotate::rotate(session, &name)?;
        rotate::report(session.reporter(), &rotated);
    }
    if list.is_empty() {
        for file in [
            recipients::LIST,
            recipients::WRAPPED,
            recipients::PASSPHRASE_FILE,
        ] {
            let _ = std::fs::remove_file(repo.top().join(file));
        }
    } else {
        let (keys, ids, auth) = key_file(session, &list)?;
        recipients::write(repo.top(), &list, keys.as_bytes(), &auth)?;
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
