//! `git-secret rotate`: a new key generation; every covered file is
//! re-encrypted with it and staged. Older generations stay installed (and in
//! exported key files), so every older commit still checks out: smudge picks
//! the generation by the key id in each blob's header.

use super::preflight::{no_operation_in_progress, no_uncommitted_changes};
use crate::attrs::{marked_files, paths_for};
use crate::cli::RotateArgs;
use crate::format;
use crate::key::{validate_name, Key, MAX_GENERATION};
use crate::recipients;
use crate::report::Reporter;
use crate::session::Session;
use anyhow::{bail, Context, Result};
use std::process::ExitCode;

/// What a rotation did.
pub struct Rotated {
    pub name: String,
    pub generation: u32,
    pub id: crate::crypto::KeyId,
    /// Files re-encrypted and staged.
    pub staged: usize,
}

pub fn run(session: &Session, args: &RotateArgs) -> Result<ExitCode> {
    // Refused before anything changes: the re-wrap below needs a list it can trust.
    let list = super::users::rewrap_list(session, args.accept_recipients)?;
    let rotated = rotate(session, &args.key.name)?;
    report(session.reporter(), &rotated);
    // The recipients must be able to open the new generation too.
    let wrapped = super::users::rewrap(session, &list).map_err(|e| {
        e.context(format!(
            "the rotation is staged, but {} could not be re-wrapped for the recipients; \
             fix the cause and run `git-secret rotate` again (an extra generation does no harm)",
            recipients::WRAPPED
        ))
    })?;
    if wrapped > 0 {
        session.reporter().note(format_args!(
            "Re-wrapped {} for {wrapped} recipient(s) with the new generation and staged it.",
            recipients::WRAPPED
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Makes generation N+1 of key `name`, re-encrypts every stage-0 blob of
/// that key with it and points the index at the new blobs. The key and the
/// index change together or not at all.
pub fn rotate(session: &Session, name: &str) -> Result<Rotated> {
    validate_name(name)?;
    let repo = session.repo()?;
    no_operation_in_progress(repo, "rotate")?;
    let _transaction = crate::checkout::begin(repo, session.reporter())?;
    let store = repo.key_store();
    let ring = store.load(name)?;
    let Some(newest) = ring.last() else {
        bail!("key '{name}' is not unlocked here; unlock it first (`git-secret unlock KEYFILE`)");
    };
    let marked = marked_files(repo)?;
    let names = [name.to_owned()];
    no_uncommitted_changes(repo, &paths_for(&marked, &names), ", then rotate")?;

    let Some(generation) = newest
        .generation()
        .checked_add(1)
        .filter(|g| *g <= MAX_GENERATION)
    else {
        bail!(
            "key '{name}' is at generation {}, the highest there may be; \
             make a new key name instead (`git-secret init -k NAME`)",
            newest.generation()
        );
    };
    let mut next = Key::generate(name, generation)?;
    // The current generation vouches for the next, so teammates' clones
    // accept it from keys.age or a key file (FORMAT.md §4.2).
    next.vouch_with(newest);
    let mut sealed = Vec::new();
    for file in marked.iter().filter(|m| m.key_name == name) {
        let Some(oid) = file.index_oid else { continue };
        let blob = repo
            .read_blob(oid)
            .with_context(|| format!("cannot read {}", file.path))?;
        if blob.is_empty() {
            continue; // git's empty blob: nothing to re-encrypt
        }
        let plaintext = match format::decrypt_bytes(&blob, |id| {
            ring.iter().find(|k| k.id() == *id).map(Key::subkeys)
        }) {
            Ok(Some(plaintext)) => plaintext,
            Ok(None) => blob, // stored in plaintext: rotation encrypts it
            Err(e) => bail!("{}: {e}; nothing was changed", file.path),
        };
        sealed.push((
            &file.path,
            crate::filter::blob_for(next.subkeys(), &plaintext),
        ));
    }
    let mut new_ring: Vec<&Key> = ring.iter().collect();
    new_ring.push(&next);
    // Recorded as unsaved before it exists, so no crash leaves a new key that
    // lock would delete without asking.
    store.mark_unsaved(&[next.id()])?;
    store.save(name, &new_ring)?;
    crate::fault::crash_point("rotate:key-saved");
    if let Err(e) = repo.stage_blobs(&sealed) {
        // Undo: the new generation was never used.
        let _ = store.save(name, &ring.iter().collect::<Vec<_>>());
        let _ = store.mark_saved(&[next.id()]);
        return Err(e.context("rotate failed; the key and the index are unchanged"));
    }
    if !sealed.is_empty() {
        // Refresh stat data so `git status` does not re-clean every file.
        let _ = repo.run_git(&["update-index", "-q", "--refresh"], None);
    }
    Ok(Rotated {
        name: name.to_owned(),
        generation: next.generation(),
        id: next.id(),
        staged: sealed.len(),
    })
}

/// The message after a rotation: what happened and what to do next.
pub fn report(reporter: &Reporter, rotated: &Rotated) {
    let Rotated {
        name,
        generation,
        id,
        staged,
    } = rotated;
    reporter.note(format_args!(
        "Rotated key '{name}' to generation {generation} (id {id}): {staged} file(s) re-encrypted and staged.\n\
         Next: commit, then share the new key file (`git-secret export-key FILE`; it holds every generation,\n\
         so older commits stay readable). Removing someone? Their old key still opens every commit made\n\
         before the rotation: change the secrets themselves too."
    ));
}
