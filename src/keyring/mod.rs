//! The keys a command works with. A [`Keyring`] holds every generation of
//! every key name plus the read-only git-crypt keys, whichever source they
//! came from:
//!
//! - the store under the common git dir ([`KeyStore`], `store.rs`): what this
//!   clone has installed;
//! - the personal ring ([`Ring`], `ring.rs`): what the user keeps across clones;
//! - `.git-secret/keys.age`, opened with the user's age or SSH identity
//!   (`crate::recipients`);
//! - key files given on the command line or standard input ([`read_key_file`]).
//!
//! Lookups are by key id (smudge, textconv and merge pick the generation named
//! in a blob's header) and by name (the current generation encrypts).

pub mod ring;
pub mod store;
pub mod trust;

pub use ring::Ring;
pub use store::KeyStore;

use crate::crypto::KeyId;
use crate::gitcrypt::GitCryptKey;
use crate::key::{format_key_file_all, parse_key_file_all, Key, KeyFile, KeyFileError, LineError};
use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use zeroize::Zeroizing;

/// Every generation of every key name, and the read-only git-crypt keys.
/// Keys are kept in the order they were added; a key id appears once.
#[derive(Default)]
pub struct Keyring {
    keys: Vec<Key>,
    git_crypt: Vec<GitCryptKey>,
}

impl Keyring {
    /// The keys of one key file (duplicated ids kept once).
    pub fn from_key_file(file: KeyFile) -> Keyring {
        let mut ring = Keyring::default();
        ring.extend(file);
        ring
    }

    /// Everything installed in `store`, by name, each name oldest generation first.
    pub fn load(store: &KeyStore) -> Result<Keyring> {
        let mut ring = Keyring::default();
        for name in store.names()? {
            ring.extend(store.load_file(&name)?);
        }
        Ok(ring)
    }

    /// Adds the keys of `file`, skipping ids already held.
    pub fn extend(&mut self, file: KeyFile) {
        for key in file.keys {
            self.insert(key);
        }
        self.git_crypt.extend(file.git_crypt);
    }

    /// Adds every key of `other` (ids already held are skipped).
    pub fn merge(&mut self, other: Keyring) {
        for key in other.keys {
            self.insert(key);
        }
        self.git_crypt.extend(other.git_crypt);
    }

    /// Adds `key` unless its id is held already; true if it was new.
    pub fn insert(&mut self, key: Key) -> bool {
        if self.holds(&key.id()) {
            return false;
        }
        self.keys.push(key);
        true
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn git_crypt(&self) -> &[GitCryptKey] {
        &self.git_crypt
    }

    /// The git-crypt keys of key name `name`.
    pub fn git_crypt_named(&self, name: &str) -> Vec<&GitCryptKey> {
        self.git_crypt.iter().filter(|k| k.name() == name).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn holds(&self, id: &KeyId) -> bool {
        self.find(id).is_some()
    }

    /// The key with this id, whatever its name and generation.
    pub fn find(&self, id: &KeyId) -> Option<&Key> {
        self.keys.iter().find(|k| k.id() == *id)
    }

    /// The generations of `name`, in the order they were added.
    pub fn named(&self, name: &str) -> Vec<&Key> {
        self.keys.iter().filter(|k| k.name() == name).collect()
    }

    /// The newest generation of `name`: the one that encrypts.
    pub fn current(&self, name: &str) -> Option<&Key> {
        self.keys
            .iter()
            .filter(|k| k.name() == name)
            .max_by_key(|k| k.generation())
    }

    /// The key names held, sorted.
    pub fn names(&self) -> BTreeSet<String> {
        self.keys.iter().map(|k| k.name().to_owned()).collect()
    }

    /// Drops every key (and git-crypt key) of the names in `names`.
    pub fn remove_names(&mut self, names: &[&str]) {
        self.keys.retain(|k| !names.contains(&k.name()));
        self.git_crypt.retain(|k| !names.contains(&k.name()));
    }

    /// Drops the read-only git-crypt keys.
    pub fn without_git_crypt(mut self) -> Keyring {
        self.git_crypt.clear();
        self
    }

    /// Everything as one key file (the format `export-key` writes).
    pub fn to_key_file(&self) -> Zeroizing<String> {
        format_key_file_all(
            &self.keys.iter().collect::<Vec<_>>(),
            &self.git_crypt.iter().collect::<Vec<_>>(),
        )
    }
}

/// Reads a key file from a path, or from stdin for `-`.
pub fn read_key_file(path: &str, reporter: &Reporter) -> Result<KeyFile> {
    let bytes = Zeroizing::new(if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("cannot read the key from standard input")?;
        buf
    } else {
        let meta = fs::metadata(path).with_context(|| format!("cannot read key file {path}"))?;
        if !meta.is_file() {
            bail!("cannot read key file {path}: it is not a regular file");
        }
        warn_if_shared(Path::new(path), &meta, reporter);
        fs::read(path).with_context(|| format!("cannot read key file {path}"))?
    });
    let source = if path == "-" { "standard input" } else { path };
    let first = match parse_key_file_all(&bytes, source) {
        Ok(file) => return Ok(file),
        Err(e) => e,
    };
    // Not a key file as it is: perhaps one with a byte-order mark, in UTF-16,
    // as base64, or with its line breaks lost (crate::pasted).
    let Some(pasted) = crate::pasted::unwrap(&bytes) else {
        return Err(first.into());
    };
    let named = pasted.source(source);
    match parse_key_file_all(&pasted.bytes, &named) {
        Ok(file) => Ok(file),
        Err(_) if pasted.base64 && !crate::pasted::looks_like_key_file(&pasted.bytes) => bail!(
            "{source} looks like base64, but what it decodes to is not a git-secret key file; \
             pass the key file itself (`git-secret export-key FILE` writes one)"
        ),
        // Line numbers of the rebuilt text would mislead: say what it looks like.
        Err(KeyFileError::Line {
            problem: LineError::Mistyped { id, .. },
            ..
        }) if pasted.reflowed => bail!(
            "{named}: the key file's line breaks look lost (it is all on one line), and with them \
             put back, its key {} was mistyped or damaged: the id does not match the material; \
             copy the key file again from where it was exported, with its line breaks",
            if id { "id" } else { "material" }
        ),
        Err(_) if pasted.reflowed => Err(KeyFileError::Line {
            file: named,
            line: 1,
            problem: LineError::LineBreaksLost,
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path, meta: &fs::Metadata, reporter: &Reporter) {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o077 != 0 {
        reporter.warn(format_args!(
            "key file {} is readable by other users; run: chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &Path, _: &fs::Metadata, _: &Reporter) {}
