//! The personal key ring: keys a user keeps outside any repository, in
//! `<data dir>/git-secret/ring/` (`$XDG_DATA_HOME`, usually
//! `~/.local/share`; directory 0700, files 0600), so `git-secret unlock` with
//! no argument can find the keys a repository needs.
//!
//! Each file holds one key *family*: every generation of one key, in the key
//! file format, named after the id of its oldest generation. Names like
//! `default` repeat across repositories, so families are matched by id.

use crate::crypto::KeyId;
use crate::files::{create_private_dir, list_dir, write_secret_file};
use crate::key::{format_key_file, parse_key_file, Key};
use crate::report::Reporter;
use anyhow::{Context, Result};
use std::fs;
use std::path::PathBuf;

pub struct Ring {
    dir: PathBuf,
}

/// One ring file: all generations of a key, oldest first.
pub struct Family {
    pub path: PathBuf,
    pub keys: Vec<Key>,
}

impl Family {
    pub fn holds(&self, id: &KeyId) -> bool {
        self.keys.iter().any(|k| k.id() == *id)
    }
}

impl Ring {
    /// The user's ring; fails only when no home directory can be determined.
    pub fn open() -> Result<Ring> {
        let base = directories::BaseDirs::new()
            .context("cannot find your home directory for the key ring")?;
        Ok(Ring {
            dir: base.data_dir().join("git-secret").join("ring"),
        })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Every family in the ring. Unreadable files are reported and skipped.
    pub fn families(&self, reporter: &Reporter) -> Result<Vec<Family>> {
        let paths =
            list_dir(&self.dir).with_context(|| format!("cannot read {}", self.dir.display()))?;
        let mut families = Vec::new();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "key"))
        {
            let bytes = zeroize::Zeroizing::new(
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
            );
            match parse_key_file(&bytes, &path.display().to_string()) {
                Ok(mut keys) => {
                    keys.sort_by_key(|k| k.generation());
                    families.push(Family { path, keys });
                }
                Err(e) => reporter.warn(format_args!("skipping {}: {e:#}", path.display())),
            }
        }
        Ok(families)
    }

    /// Adds `keys` (generations of one key) to the ring, merging them into the
    /// family that already holds one of their ids. Returns true if anything was new.
    pub fn store(&self, keys: &[&Key], reporter: &Reporter) -> Result<bool> {
        let Some(first) = keys.first() else {
            return Ok(false);
        };
        let families = self.families(reporter)?;
        let existing = families
            .iter()
            .find(|f| keys.iter().any(|k| f.holds(&k.id())));
        let mut merged: Vec<&Key> = existing
            .map(|f| f.keys.iter().collect())
            .unwrap_or_default();
        let before = merged.len();
        for key in keys {
            if !merged.iter().any(|k| k.id() == key.id()) {
                merged.push(key);
            }
        }
        if merged.len() == before {
            return Ok(false);
        }
        merged.sort_by_key(|k| k.generation());
        let path = match existing {
            Some(family) => family.path.clone(),
            None => self
                .dir
                .join(format!("{}.key", merged.first().unwrap_or(first).id())),
        };
        create_private_dir(&self.dir)?;
        write_secret_file(&path, format_key_file(&merged).as_bytes(), true)?;
        Ok(true)
    }
}
