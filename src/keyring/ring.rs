//! The personal key ring: keys a user keeps outside any repository, in
//! `<data dir>/git-secret/ring/` (`$XDG_DATA_HOME`, usually
//! `~/.local/share`; directory 0700, files 0600), so `git-secret unlock` with
//! no argument can find the keys a repository needs.
//!
//! Each file holds one key *family*: every generation of one key, in the key
//! file format, named after the id of its oldest generation. Names like
//! `default` repeat across repositories, so families are matched by id.
//!
//! A family also records the repositories it was saved from ([`Provenance`]),
//! as comment lines at the top of its file (so it stays a valid key file):
//! `# from-repository: root HEX` for each root commit of HEAD (at most 40 hex
//! digits), `# from-repository: origin-sha256 HEX` for the first 16 bytes of
//! SHA-256 of `remote.origin.url` (its user name and password removed). A
//! plain `unlock` uses a family only in a repository that shares one of
//! them; a family with none recorded (saved by an older version) is used
//! anywhere, as before.

use crate::crypto::KeyId;
use crate::files::{create_private_dir, list_dir, write_secret_file};
use crate::key::{format_key_file, parse_key_file, Key};
use crate::report::Reporter;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

const FROM: &str = "# from-repository: ";

/// Where a family's keys were saved from: root commits and origin URLs (hashed).
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Provenance {
    pub roots: BTreeSet<String>,
    pub origins: BTreeSet<String>,
}

impl Provenance {
    /// The repository `repo`: its HEAD's root commits and its origin URL.
    pub fn of(repo: &crate::repo::Repo) -> Provenance {
        let roots = repo
            .run_git(&["rev-list", "--max-parents=0", "HEAD", "--"], None)
            .map(|out| {
                String::from_utf8_lossy(&out)
                    .split_whitespace()
                    .filter(|w| w.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(|w| w[..w.len().min(40)].to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let origins = repo
            .config_string("remote.origin.url")
            .map(|url| origin_hash(&url))
            .into_iter()
            .collect();
        Provenance { roots, origins }
    }

    /// Nothing recorded (a family saved before provenance was kept).
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty() && self.origins.is_empty()
    }

    /// Shares a root commit or an origin URL with `other`.
    pub fn matches(&self, other: &Provenance) -> bool {
        !self.roots.is_disjoint(&other.roots) || !self.origins.is_disjoint(&other.origins)
    }

    /// Adds what `other` records; true if anything was new.
    pub fn merge(&mut self, other: &Provenance) -> bool {
        let before = (self.roots.len(), self.origins.len());
        self.roots.extend(other.roots.iter().cloned());
        self.origins.extend(other.origins.iter().cloned());
        before != (self.roots.len(), self.origins.len())
    }

    fn parse(text: &str) -> Provenance {
        let mut found = Provenance::default();
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix(FROM) else {
                continue;
            };
            let mut words = rest.split_whitespace();
            let (Some(kind), Some(value), None) = (words.next(), words.next(), words.next()) else {
                continue;
            };
            if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            match kind {
                "root" => found.roots.insert(value.to_ascii_lowercase()),
                "origin-sha256" => found.origins.insert(value.to_ascii_lowercase()),
                _ => false,
            };
        }
        found
    }

    fn to_comments(&self) -> String {
        let mut out = String::new();
        for root in &self.roots {
            out.push_str(&format!("{FROM}root {root}\n"));
        }
        for origin in &self.origins {
            out.push_str(&format!("{FROM}origin-sha256 {origin}\n"));
        }
        out
    }
}

/// The first 16 bytes of SHA-256 of `url` without user name or password, in hex.
fn origin_hash(url: &str) -> String {
    let url = url.trim();
    let cleaned = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    };
    Sha256::digest(cleaned.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct Ring {
    dir: PathBuf,
}

/// One ring file: all generations of a key, oldest first.
pub struct Family {
    pub path: PathBuf,
    pub keys: Vec<Key>,
    /// The repositories it was saved from; empty for families saved before
    /// this was recorded.
    pub from: Provenance,
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
                    let from = Provenance::parse(&String::from_utf8_lossy(&bytes));
                    families.push(Family { path, keys, from });
                }
                Err(e) => reporter.warn(format_args!("skipping {}: {e:#}", path.display())),
            }
        }
        Ok(families)
    }

    /// Adds `keys` (generations of one key) to the ring, merging them into the
    /// family that already holds one of their ids, and records that they came
    /// from `from`. Returns true if a key was new.
    pub fn store(&self, keys: &[&Key], from: &Provenance, reporter: &Reporter) -> Result<bool> {
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
        let mut provenance = existing.map(|f| f.from.clone()).unwrap_or_default();
        let new_provenance = provenance.merge(from);
        let new_keys = merged.len() != before;
        if !new_keys && !new_provenance {
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
        let mut text = zeroize::Zeroizing::new(provenance.to_comments());
        text.push_str(&format_key_file(&merged));
        write_secret_file(&path, text.as_bytes(), true)?;
        Ok(new_keys)
    }

    /// Records that `family` may also be used in the repository `from`.
    pub fn record(&self, family: &Family, from: &Provenance, reporter: &Reporter) -> Result<()> {
        let keys: Vec<&Key> = family.keys.iter().collect();
        self.store(&keys, from, reporter).map(|_| ())
    }
}
