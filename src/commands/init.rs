//! `git-secret init`: a new random key, stored under the common git dir.

use crate::attrs::marked_files;
use crate::cli::InitArgs;
use crate::drivers::{configure, driver_name};
use crate::format::Stored;
use crate::key::{validate_name, Key};
use crate::session::Session;
use anyhow::{bail, Result};
use std::process::ExitCode;

pub fn run(session: &Session, args: &InitArgs) -> Result<ExitCode> {
    let name = args.key.name.as_str();
    validate_name(name)?;
    let repo = session.repo()?;
    let store = repo.key_store();
    if store.has(name) {
        bail!(
            "key '{name}' already exists in this repository ({}); share it with `{}`",
            store.path(name).display(),
            export_command(name)
        );
    }
    // A clone of an encrypted repository needs the team's key, not a new one.
    for marked in marked_files(repo)?.iter().filter(|m| m.key_name == name) {
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
    let mut key = Key::generate(name, 1)?;
    // A new key name in a clone that holds keys is vouched for by one of
    // them (the default key's current generation if held), so teammates'
    // clones accept it from keys.age (FORMAT.md §4.2).
    let held = crate::keyring::Keyring::load(&store).unwrap_or_default();
    let voucher = held
        .current(crate::key::DEFAULT_NAME)
        .or_else(|| held.names().iter().find_map(|n| held.current(n)));
    if let Some(voucher) = voucher {
        key.vouch_with(voucher);
    }
    store.save(name, &[&key])?;
    if let Err(e) = store
        .mark_unsaved(&[key.id()])
        .and_then(|()| configure(repo, name))
    {
        let _ = store.remove(name);
        let _ = store.mark_saved(&[key.id()]);
        return Err(e);
    }
    crate::hook::install_or_warn(repo, session.reporter());
    let driver = driver_name(name);
    session.reporter().note(format_args!(
        "Created key '{name}' (id {}) in {}.\n\
         Next: mark files in .gitattributes, for example\n    \
         secrets/** filter={driver} diff={driver} merge={driver} -text\n\
         then commit them, and share the key with `{}`.",
        key.id(),
        store.path(name).display(),
        export_command(name)
    ));
    Ok(ExitCode::SUCCESS)
}

/// The export command for key `name`: without `-k`, export-key exports the
/// default key, so any other name must be spelt out.
fn export_command(name: &str) -> String {
    if name == crate::key::DEFAULT_NAME {
        "git-secret export-key FILE".to_owned()
    } else {
        format!("git-secret export-key -k {name} FILE")
    }
}
