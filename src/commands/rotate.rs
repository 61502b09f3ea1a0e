//! `git-secret rotate`: a new key generation; every covered file is
//! re-encrypted with it and staged. Older generations stay installed (and in
//! exported key files), so every older commit still checks out: smudge picks
//! the generation by the key id in each blob's header.

use super::{list_paths, paths_for};
use crate::format::{self, HEADER_LEN};
use crate::key::{validate_name, Key};
use crate::repo::Repo;
use anyhow::{bail, Context, Result};

pub fn run(name: &str) -> Result<()> {
    validate_name(name)?;
    let repo = Repo::discover()?;
    if let Some(operation) = repo.operation_in_progress() {
        bail!("{operation} is in progress; finish or abort it, then rotate");
    }
    let store = repo.key_store();
    let ring = store.load(name)?;
    let Some(newest) = ring.last() else {
        bail!("key '{name}' is not unlocked here; unlock it first (`git-secret unlock KEYFILE`)");
    };
    let marked = repo.marked_files()?;
    let names = [name.to_owned()];
    let paths = paths_for(&marked, &names);
    let changed = repo.changed_paths(&paths)?;
    if !changed.is_empty() {
        bail!(
            "these marked files have uncommitted changes:{}\ncommit or stash them, then rotate",
            list_paths(&changed)
        );
    }

    let next = Key::generate(name, newest.generation() + 1)?;
    // Re-encrypt every stage-0 blob of this key into the object store, then
    // point the index at the new blobs in one `git update-index`.
    let mut index_info = Vec::new();
    for file in marked.iter().filter(|m| m.key_name == name) {
        let Some(oid) = file.index_oid else { continue };
        let blob = repo
            .git2()
            .find_blob(oid)
            .with_context(|| format!("cannot read {}", file.path))?;
        let plaintext = match format::decrypt_bytes(blob.content(), |id| {
            ring.iter().find(|k| k.id() == *id).map(Key::subkeys)
        }) {
            Ok(Some(plaintext)) => plaintext,
            Ok(None) => blob.content().to_vec(), // stored in plaintext: rotation encrypts it
            Err(e) => bail!("{}: {e}; nothing was changed", file.path),
        };
        let sealed = format::encrypt_bytes(next.subkeys(), &plaintext);
        debug_assert!(sealed.len() >= HEADER_LEN);
        let new_oid = repo
            .git2()
            .blob(&sealed)
            .with_context(|| format!("cannot store {}", file.path))?;
        let mode = repo.index_mode(&file.path).unwrap_or(0o100644);
        index_info.extend_from_slice(format!("{mode:o} {new_oid}\t{}", file.path).as_bytes());
        index_info.push(0);
    }
    let mut new_ring: Vec<&Key> = ring.iter().collect();
    new_ring.push(&next);
    store.save(name, &new_ring)?;
    if !index_info.is_empty() {
        if let Err(e) = repo.run_git(&["update-index", "-z", "--index-info"], Some(&index_info)) {
            // Undo: the new generation was never used.
            let _ = store.save(name, &ring.iter().collect::<Vec<_>>());
            return Err(e.context("rotate failed; the key and the index are unchanged"));
        }
        // Refresh stat data so `git status` does not re-clean every file.
        let _ = repo.run_git(&["update-index", "-q", "--refresh"], None);
    }
    let count = index_info.iter().filter(|&&b| b == 0).count();
    eprintln!(
        "Rotated key '{name}' to generation {} (id {}): {count} file(s) re-encrypted and staged.\n\
         Next: commit, then share the new key file (`git-secret export-key FILE`; it holds every generation,\n\
         so older commits stay readable). Removing someone? Their old key still opens every commit made\n\
         before the rotation: change the secrets themselves too.",
        next.generation(),
        next.id()
    );
    Ok(())
}
