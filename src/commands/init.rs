//! `git-secret init`: a new random key, stored under the common git dir.

use super::configure;
use crate::key::{validate_name, Key};
use crate::repo::{Repo, Stored};
use anyhow::{bail, Result};

pub fn run(name: &str) -> Result<()> {
    validate_name(name)?;
    let repo = Repo::discover()?;
    let store = repo.key_store();
    if store.has(name) {
        bail!(
            "key '{name}' already exists in this repository ({}); share it with `git-secret export-key FILE`",
            store.path(name).display()
        );
    }
    // A clone of an encrypted repository needs the team's key, not a new one.
    for marked in repo.marked_files()?.iter().filter(|m| m.key_name == name) {
        let oids = marked
            .index_oid
            .into_iter()
            .chain(repo.head_oid(&marked.path));
        for oid in oids {
            let stored = repo.stored(oid)?;
            if stored == Stored::GitCrypt {
                bail!(
                    "{} is encrypted with git-crypt; move the repository over with \
                     `git-secret import-git-crypt GIT-CRYPT-KEYFILE` instead",
                    marked.path
                );
            }
            if let Stored::Encrypted(id) = stored {
                bail!(
                    "{} is already encrypted with key id {id}; get that key from a teammate and run \
                     `git-secret unlock KEYFILE` instead of creating a new key",
                    marked.path
                );
            }
        }
    }
    let key = Key::generate(name, 1)?;
    store.save(name, &[&key])?;
    if let Err(e) = configure(&repo, name) {
        let _ = store.remove(name);
        return Err(e);
    }
    install_hook(&repo, true);
    let driver = crate::repo::driver_name(name);
    eprintln!(
        "Created key '{name}' (id {}) in {}.\n\
         Next: mark files in .gitattributes, for example\n    \
         secrets/** filter={driver} diff={driver} merge={driver} -text\n\
         then commit them, and share the key with `git-secret export-key FILE`.",
        key.id(),
        store.path(name).display()
    );
    Ok(())
}

/// The pre-commit guard is a safety net, not a precondition: warn if it cannot be installed.
pub fn install_hook(repo: &Repo, outside_work_tree_only: bool) {
    if let Err(e) = super::hook::install(repo, outside_work_tree_only) {
        eprintln!("git-secret: warning: could not install the pre-commit hook: {e:#}");
    }
}
