//! Marked paths: which tracked files a `filter` attribute routes through one
//! of our drivers, and with which key name (`git ls-files -s` + `git
//! check-attr`, so attributes resolve exactly as git resolves them).

use crate::drivers::key_name_of_driver;
use crate::path::GitPath;
use crate::repo::Oid;
use crate::repo::Repo;
use anyhow::{Context, Result};

/// A tracked file whose `filter` attribute names one of our drivers.
#[derive(Debug, Clone)]
pub struct Marked {
    pub path: GitPath,
    pub key_name: String,
    /// The stage-0 index entry, or None while the path is unmerged.
    pub index_oid: Option<Oid>,
}

/// Where `git check-attr` reads `.gitattributes` from.
pub enum AttrSource {
    WorkTree,
    Index,
    /// A commit or tree (`--source`), as in history checks.
    Tree(String),
}

/// Tracked files marked with one of our filter drivers, with their key names.
pub fn marked_files(repo: &Repo) -> Result<Vec<Marked>> {
    let listing = repo.run_git(&["ls-files", "-s", "-z"], None)?;
    marked_in_listing(repo, &only_filtered(&listing), &[AttrSource::WorkTree])
}

/// Parses `git ls-files -s -z` output and keeps the paths whose `filter`
/// attribute names one of our drivers in any of `sources`.
pub fn marked_in_listing(
    repo: &Repo,
    listing: &[u8],
    sources: &[AttrSource],
) -> Result<Vec<Marked>> {
    let mut entries: Vec<(GitPath, Option<Oid>)> = Vec::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let tab = record
            .iter()
            .position(|&b| b == b'\t')
            .context("unexpected `git ls-files -s` output")?;
        let (meta, path) = (String::from_utf8_lossy(&record[..tab]), &record[tab + 1..]);
        let mut fields = meta.split(' ');
        let (_mode, oid, stage) = (fields.next(), fields.next(), fields.next());
        let oid = oid.and_then(|o| Oid::from_hex(o).ok());
        match entries.last_mut() {
            Some((last, slot)) if last.as_bytes() == path => {
                // Unmerged: several stages of one path.
                *slot = None;
            }
            _ => entries.push((
                GitPath::from_bytes(path),
                if stage == Some("0") { oid } else { None },
            )),
        }
    }
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let paths: Vec<&GitPath> = entries.iter().map(|(p, _)| p).collect();
    let mut drivers: Vec<Option<String>> = vec![None; paths.len()];
    for source in sources {
        for (slot, found) in drivers.iter_mut().zip(key_names(repo, &paths, source)?) {
            if slot.is_none() {
                *slot = found;
            }
        }
    }
    Ok(entries
        .into_iter()
        .zip(drivers)
        .filter_map(|((path, index_oid), key_name)| {
            Some(Marked {
                path,
                key_name: key_name?,
                index_oid,
            })
        })
        .collect())
}

/// For each path, the key name its `filter` attribute selects (if ours),
/// reading `.gitattributes` from `source`.
pub fn key_names(
    repo: &Repo,
    paths: &[&GitPath],
    source: &AttrSource,
) -> Result<Vec<Option<String>>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let attrs = check_attr(repo, paths, source, &["filter"])?;
    let fields: Vec<&[u8]> = attrs.split(|&b| b == 0).collect();
    Ok(fields
        .chunks(3)
        .take(paths.len())
        .map(|triple| {
            let value = triple
                .get(2)
                .map(|v| String::from_utf8_lossy(v))
                .unwrap_or_default();
            key_name_of_driver(&value).map(str::to_owned)
        })
        .collect())
}

/// `git check-attr -z` of `attrs` for `paths`, reading `.gitattributes`
/// from `source`: NUL-separated (path, attribute, value) triples, in order.
pub fn check_attr(
    repo: &Repo,
    paths: &[&GitPath],
    source: &AttrSource,
    attrs: &[&str],
) -> Result<Vec<u8>> {
    let mut input = Vec::new();
    for path in paths {
        input.extend_from_slice(path.as_bytes());
        input.push(0);
    }
    let source_arg;
    let mut args = vec!["check-attr", "-z", "--stdin"];
    match source {
        AttrSource::WorkTree => {}
        AttrSource::Index => args.push("--cached"),
        AttrSource::Tree(rev) => {
            source_arg = format!("--source={rev}");
            args.push(&source_arg);
        }
    }
    args.extend_from_slice(attrs);
    repo.run_git(&args, Some(&input))
}

/// Merged (stage 0) paths of `marked` whose key is one of `names`.
pub fn paths_for<'a>(marked: &'a [Marked], names: &[String]) -> Vec<&'a GitPath> {
    marked
        .iter()
        .filter(|m| m.index_oid.is_some() && names.contains(&m.key_name))
        .map(|m| &m.path)
        .collect()
}

/// A `git ls-files -s -z` listing without the entries that are never
/// encrypted: symlinks (mode 120000, stored as their target string) and
/// gitlinks (160000, a submodule's commit id, not a blob), which git never
/// filters, and the tool's own files under `.git-secret/`.
pub fn only_filtered(listing: &[u8]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(listing.len());
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let own = record
            .iter()
            .position(|&b| b == b'\t')
            .is_some_and(|tab| crate::recipients::is_own_file(&record[tab + 1..]));
        if !own && !record.starts_with(b"120000 ") && !record.starts_with(b"160000 ") {
            kept.extend_from_slice(record);
            kept.push(0);
        }
    }
    kept
}
