//! `git-secret unlock`: install keys, then decrypt the marked files in the work tree.
//!
//! Everything that can refuse is checked before anything changes; if the
//! re-checkout fails, keys and config are put back as they were.

use super::{configure, is_driver_configured, list_paths, paths_for, unconfigure_driver};
use crate::crypto::KeyId;
use crate::gitcrypt::GitCryptKey;
use crate::key::{read_key_file, Key};
use crate::recipients;
use crate::repo::{driver_name, git_crypt_driver, Marked, Repo, Stored};
use crate::ring::Ring;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Key ids the stored (index and HEAD) blobs of marked files carry, per key name.
fn needed_ids(repo: &Repo, marked: &[Marked]) -> Result<BTreeMap<String, BTreeSet<KeyId>>> {
    let mut needed: BTreeMap<String, BTreeSet<KeyId>> = BTreeMap::new();
    for file in marked {
        for oid in file.index_oid.into_iter().chain(repo.head_oid(&file.path)) {
            if let Stored::Encrypted(id) = repo.stored(oid)? {
                needed.entry(file.key_name.clone()).or_default().insert(id);
            }
        }
    }
    Ok(needed)
}

pub fn run(files: &[String], use_ring: bool) -> Result<()> {
    let mut keys: Vec<Key> = Vec::new();
    // Read-only git-crypt keys travel with an imported repository's key file.
    let mut git_crypt: Vec<GitCryptKey> = Vec::new();
    for file in files {
        let file = read_key_file(file)?;
        for key in file.keys {
            if !keys.iter().any(|k| k.id() == key.id()) {
                keys.push(key);
            }
        }
        git_crypt.extend(file.git_crypt);
    }
    let repo = Repo::discover()?;
    if let Some(operation) = repo.operation_in_progress() {
        bail!("{operation} is in progress; finish or abort it, then unlock");
    }
    let store = repo.key_store();
    let marked = repo.marked_files()?;
    let needed = needed_ids(&repo, &marked)?;
    // No key file: the personal key ring, else the keys wrapped for this
    // repository's recipients (.git-secret/keys.age).
    let mut from_ring = false;
    if files.is_empty() {
        match keys_from_ring(&needed) {
            Ok(found) => {
                keys = found;
                from_ring = true;
            }
            Err(_) if repo.top().join(recipients::WRAPPED).is_file() => {
                let (text, identity) = recipients::unwrap(repo.top())?;
                let file = crate::key::parse_key_file_all(&text, recipients::WRAPPED)?;
                eprintln!(
                    "Opened {} with {}.",
                    recipients::WRAPPED,
                    identity.display()
                );
                keys = file.keys;
                git_crypt.extend(file.git_crypt);
            }
            Err(e) => return Err(e),
        }
    }
    let names: BTreeSet<String> = keys.iter().map(|k| k.name().to_owned()).collect();

    let mut to_install = Vec::new();
    for name in &names {
        let no_ids = BTreeSet::new();
        let needed = needed.get(name).unwrap_or(&no_ids);
        let given = choose_generations(keys.iter().filter(|k| k.name() == name).collect(), needed)?;
        check_key_matches(name, &given, needed)?;
        let installed = store.load(name)?;
        if given
            .iter()
            .all(|k| installed.iter().any(|i| i.id() == k.id()))
            && !needs_checkout(&repo, &marked, name)
        {
            eprintln!(
                "Key '{name}' (id {}) is already unlocked here; nothing to do for it.",
                given[0].id()
            );
            continue;
        }
        to_install.push((name.clone(), installed, given));
    }
    if to_install.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = to_install.iter().map(|(n, _, _)| n.clone()).collect();
    let paths = paths_for(&marked, &names);
    let changed = repo.user_changes(&paths)?;
    if !changed.is_empty() {
        bail!(
            "these marked files have uncommitted changes:{}\ncommit or stash them, then unlock again",
            list_paths(&changed)
        );
    }

    // Change state: keys, then config, then the work tree. Every key name the
    // marked files use gets its filter configured, held or not: an unheld one
    // runs in locked mode and so refuses to store plaintext at its paths.
    let mut to_configure: BTreeSet<String> = marked.iter().map(|m| m.key_name.clone()).collect();
    to_configure.extend(names.iter().cloned());
    // Drivers this unlock configures from scratch, to remove if it fails:
    // ours, and git-crypt's for names whose key file carries git-crypt keys.
    let mut unconfigured: Vec<String> = to_configure.iter().map(|n| driver_name(n)).collect();
    unconfigured.extend(git_crypt.iter().map(|k| git_crypt_driver(k.name())));
    unconfigured.sort();
    unconfigured.dedup();
    unconfigured.retain(|driver| !is_driver_configured(&repo, driver));
    let undo = |repo: &Repo, to_install: &[(String, Vec<Key>, Vec<&Key>)]| {
        for (name, installed, _) in to_install {
            let _ = if installed.is_empty() {
                store.remove(name)
            } else {
                store.save(name, &installed.iter().collect::<Vec<_>>())
            };
        }
        for driver in &unconfigured {
            unconfigure_driver(repo, driver);
        }
    };
    let result = (|| -> Result<()> {
        for (name, installed, given) in &to_install {
            let mut ring: Vec<&Key> = installed.iter().collect();
            ring.extend(
                given
                    .iter()
                    .filter(|k| !installed.iter().any(|i| i.id() == k.id())),
            );
            ring.sort_by_key(|k| k.generation());
            store.save(name, &ring)?;
            let legacy: Vec<&GitCryptKey> = git_crypt.iter().filter(|k| k.name() == name).collect();
            if !legacy.is_empty() {
                store.add_git_crypt(name, &legacy)?;
                super::configure_git_crypt_driver(&repo, name)?;
            }
        }
        for name in &to_configure {
            configure(&repo, name)?;
        }
        crate::fault::crash_point("unlock:key-installed");
        repo.force_checkout(&paths, "unlock", &[])
    })();
    if let Err(e) = result {
        undo(&repo, &to_install);
        let _ = repo.force_checkout(&paths, "unlock", &[]);
        return Err(e.context("unlock failed; the repository was left locked as it was"));
    }
    super::init::install_hook(&repo, false);
    if use_ring && !from_ring {
        for (_, _, given) in &to_install {
            match Ring::open().and_then(|ring| ring.store(given)) {
                Ok(true) => eprintln!(
                    "Saved the key in your key ring; next time `git-secret unlock` needs no file."
                ),
                Ok(false) => {}
                Err(e) => {
                    eprintln!("git-secret: warning: could not save the key in your key ring: {e:#}")
                }
            }
        }
    }
    for (name, _, given) in &to_install {
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        let newest = given
            .iter()
            .max_by_key(|k| k.generation())
            .expect("at least one key per name");
        eprintln!(
            "Unlocked key '{name}' (id {}): {count} marked file(s) decrypted in the work tree.",
            newest.id()
        );
        if count == 0 {
            eprintln!(
                "Note: no tracked file is marked filter={} in .gitattributes yet.",
                crate::repo::driver_name(name)
            );
        }
    }
    Ok(())
}

/// Whether files of key `name` still await decryption in the work tree (an
/// interrupted unlock): removed and pending, or still ciphertext.
fn needs_checkout(repo: &Repo, marked: &[Marked], name: &str) -> bool {
    let pending = repo.pending();
    marked
        .iter()
        .filter(|m| m.key_name == name && m.index_oid.is_some())
        .any(|m| {
            let file = repo.top().join(&m.path);
            let mut magic = [0u8; crate::format::MAGIC.len()];
            match std::fs::File::open(&file) {
                Ok(mut f) => crate::format::read_full(&mut f, &mut magic)
                    .is_ok_and(|n| magic[..n] == crate::format::MAGIC[..]),
                Err(_) => pending.contains(&m.path),
            }
        })
}

/// Refuses a key that none of the stored files of its name were encrypted with.
fn check_key_matches(name: &str, given: &[&Key], needed: &BTreeSet<KeyId>) -> Result<()> {
    if needed.is_empty() || given.iter().any(|k| needed.contains(&k.id())) {
        return Ok(());
    }
    let first = needed.iter().next().expect("checked non-empty");
    bail!(
        "this key is not the one this repository's files were encrypted with: key '{name}' has id {}, \
         the files need {first}{}. Ask a teammate for the right key file (git-secret export-key)",
        given[0].id(),
        if needed.len() > 1 { format!(" (and {} other id(s))", needed.len() - 1) } else { String::new() }
    );
}

/// Concatenated key files from several repositories may hold different keys
/// with the same name and generation; keep the ones this repository uses.
fn choose_generations<'k>(
    mut given: Vec<&'k Key>,
    needed: &BTreeSet<KeyId>,
) -> Result<Vec<&'k Key>> {
    given.sort_by_key(|k| (k.generation(), !needed.contains(&k.id())));
    let mut chosen: Vec<&Key> = Vec::new();
    for key in given {
        match chosen.last() {
            Some(last) if last.generation() == key.generation() => {
                eprintln!(
                    "git-secret: ignoring key '{}' generation {} id {}: another key with that name and generation is used here",
                    key.name(),
                    key.generation(),
                    key.id()
                );
            }
            _ => chosen.push(key),
        }
    }
    Ok(chosen)
}

/// With no key file given: the ring families holding an id the repository needs.
fn keys_from_ring(needed: &BTreeMap<String, BTreeSet<KeyId>>) -> Result<Vec<Key>> {
    let ring = Ring::open()?;
    let all: BTreeSet<&KeyId> = needed.values().flatten().collect();
    if all.is_empty() {
        bail!("no key file given, and this repository has no encrypted files to match a key from your ring against; pass the key file: `git-secret unlock KEYFILE`");
    }
    let mut keys = Vec::new();
    for family in ring.families()? {
        if all.iter().any(|id| family.holds(id)) {
            keys.extend(family.keys);
        }
    }
    if keys.is_empty() {
        let ids: Vec<String> = all.iter().map(|id| id.to_string()).collect();
        bail!(
            "no key file given, and your key ring ({}) holds none of the keys this repository needs ({}); \
             pass the key file: `git-secret unlock KEYFILE`",
            ring.dir().display(),
            ids.join(", ")
        );
    }
    Ok(keys)
}
