//! The key store under `<common git dir>/git-secret/`: one file `<name>.key`
//! per key name, holding every generation of that key (and any read-only
//! git-crypt keys of that name). Shared by every linked worktree.
//!
//! Beside it, `<common git dir>/git-secret-unsaved` lists the ids of keys born
//! in this clone (`init`, `rotate`, a `remove-user` rotation) that exist
//! nowhere else yet: not exported, not in the personal ring, not wrapped for a
//! recipient. `lock` refuses to delete those (the contract keeps the key
//! directory for key files only, so this list lives outside it). Keys from
//! before this list existed are not in it, and so count as saved.

use crate::crypto::KeyId;
use crate::files::{create_private_dir, list_dir, read_if_exists, write_secret_file};
use crate::gitcrypt::GitCryptKey;
use crate::key::{format_key_file_all, parse_key_file_all, validate_name, Key, KeyFile};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use zeroize::Zeroizing;

pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    pub fn new(dir: PathBuf) -> KeyStore {
        KeyStore { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    /// Everything stored for `name`; empty when the key is not installed.
    pub fn load_file(&self, name: &str) -> Result<KeyFile> {
        let path = self.path(name);
        let Some(bytes) =
            read_if_exists(&path).with_context(|| format!("cannot read key {}", path.display()))?
        else {
            return Ok(KeyFile::default());
        };
        let bytes = Zeroizing::new(bytes);
        let mut file = parse_key_file_all(&bytes, &path.display().to_string())?;
        file.keys.retain(|k| k.name() == name);
        file.keys.sort_by_key(|k| k.generation());
        Ok(file)
    }

    /// All generations of `name`, oldest first; empty when the key is not installed.
    pub fn load(&self, name: &str) -> Result<Vec<Key>> {
        Ok(self.load_file(name)?.keys)
    }

    /// Names of the installed keys, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let entries =
            list_dir(&self.dir).with_context(|| format!("cannot read {}", self.dir.display()))?;
        let mut names: Vec<String> = entries
            .iter()
            .filter_map(|p| p.file_name()?.to_str())
            .filter_map(|f| f.strip_suffix(".key").map(str::to_owned))
            .filter(|n| validate_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Replaces the stored generations of `name` with `keys`, keeping its git-crypt keys.
    pub fn save(&self, name: &str, keys: &[&Key]) -> Result<()> {
        let git_crypt = self
            .load_file(name)
            .map(|f| f.git_crypt)
            .unwrap_or_default();
        self.write(name, keys, &git_crypt.iter().collect::<Vec<_>>())
    }

    /// Adds read-only git-crypt keys to `name`'s file.
    pub fn add_git_crypt(&self, name: &str, added: &[&GitCryptKey]) -> Result<()> {
        let file = self.load_file(name)?;
        let mut git_crypt: Vec<&GitCryptKey> = file.git_crypt.iter().collect();
        git_crypt.extend(
            added
                .iter()
                .filter(|k| !file.git_crypt.iter().any(|g| g.id() == k.id())),
        );
        self.write(name, &file.keys.iter().collect::<Vec<_>>(), &git_crypt)
    }

    fn write(&self, name: &str, keys: &[&Key], git_crypt: &[&GitCryptKey]) -> Result<()> {
        let existed = self.dir.exists();
        create_private_dir(&self.dir)?;
        let text = format_key_file_all(keys, git_crypt);
        let result = write_secret_file(&self.path(name), text.as_bytes(), true);
        if result.is_err() && !existed {
            let _ = fs::remove_dir(&self.dir); // leave the git dir as it was
        }
        result
    }

    pub fn unsaved_path(&self) -> PathBuf {
        self.dir.with_file_name("git-secret-unsaved")
    }

    /// Ids of keys born here that exist nowhere else yet.
    pub fn unsaved(&self) -> BTreeSet<KeyId> {
        let Ok(Some(bytes)) = read_if_exists(&self.unsaved_path()) else {
            return BTreeSet::new();
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| KeyId::from_hex(line.trim()))
            .collect()
    }

    /// Records keys born here (their only copy is this store).
    pub fn mark_unsaved(&self, ids: &[KeyId]) -> Result<()> {
        let mut unsaved = self.unsaved();
        unsaved.extend(ids.iter().copied());
        self.write_unsaved(&unsaved)
    }

    /// Records that these keys now exist elsewhere too (exported, in the
    /// ring, wrapped for a recipient), or were deliberately discarded.
    pub fn mark_saved(&self, ids: &[KeyId]) -> Result<()> {
        let mut unsaved = self.unsaved();
        let before = unsaved.len();
        unsaved.retain(|id| !ids.contains(id));
        if unsaved.len() == before {
            return Ok(());
        }
        self.write_unsaved(&unsaved)
    }

    fn write_unsaved(&self, unsaved: &BTreeSet<KeyId>) -> Result<()> {
        let path = self.unsaved_path();
        if unsaved.is_empty() {
            return crate::files::remove_if_exists(&path)
                .with_context(|| format!("cannot remove {}", path.display()));
        }
        let text: String = unsaved.iter().map(|id| format!("{id}\n")).collect();
        write_secret_file(&path, text.as_bytes(), true)
    }

    /// Removes the key `name`, and the store directory once it is empty.
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name);
        crate::files::remove_if_exists(&path)
            .with_context(|| format!("cannot remove {}", path.display()))?;
        let _ = fs::remove_dir(&self.dir); // fails harmlessly while other keys remain
        Ok(())
    }
}
