//! The work-tree transaction of unlock, lock and import: every marked file
//! is rewritten in place as plaintext or as ciphertext.
//!
//! Why we write the files ourselves instead of asking `git checkout`: git
//! skips files whose stat data match the index, so each file had to be
//! removed first, and a checkout that failed (another git holding
//! `index.lock`) or was killed left marked files missing. We hold the key and
//! the index blobs, so each file is smudged into a temp file in its own
//! directory and renamed over the old one: at every instant a file holds its
//! old content or its new content, never nothing and never a part. Both
//! states are clean for git (clean maps the plaintext back to the stored blob
//! and passes stored ciphertext through), so a kill at any point leaves a
//! consistent work tree and a plain rerun finishes the job. Afterwards
//! `git update-index --refresh` records the new stat data.
//!
//! Commands that rewrite files hold an exclusive lock on
//! `<common git dir>/git-secret.lock` for their whole run ([`begin`]), so
//! concurrent runs serialize (the kernel drops the lock of a killed process:
//! nothing is left to wedge the repository). A git that holds `index.lock`
//! is respected: the command refuses before changing anything.
//! Entries the work tree does not have (skip-worktree in a sparse checkout),
//! symlinks and submodules are never written.
//!
//! Temp files live in `<git dir>/git-secret-tmp/` (0700, files 0600), so a
//! killed run leaves no plaintext in the work tree and nothing `git status`
//! shows; [`begin`] empties that directory. Where the work tree is on another
//! file system than the git dir, the temp file sits beside the target as
//! `.NAME.git-secret-tmp` instead (a rename cannot cross file systems).

use crate::attrs::Marked;
use crate::filter::Filter;
use crate::keyring::Keyring;
use crate::path::GitPath;
use crate::repo::Repo;
use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Held while a command may rewrite files; dropping it releases the lock.
pub struct Transaction {
    _lock: File,
}

/// The repository's lock file, opened (created if need be) for `flock`.
fn open_lock(repo: &Repo) -> Result<(fs::File, PathBuf)> {
    let path = lock_path(repo);
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    Ok((lock, path))
}

/// Serializes commands that rewrite the work tree and refuses while another
/// git holds this work tree's `index.lock`.
pub fn begin(repo: &Repo, reporter: &Reporter) -> Result<Transaction> {
    use rustix::fs::{flock, FlockOperation};
    let (lock, path) = open_lock(repo)?;
    if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
        reporter.note("Waiting for another git-secret command in this repository to finish…");
        flock(&lock, FlockOperation::LockExclusive)
            .with_context(|| format!("cannot lock {}", path.display()))?;
    }
    let index_lock = repo.git_dir().join("index.lock");
    if index_lock.exists() {
        bail!(
            "another git process is running in this repository ({} exists); nothing was changed. \
             Wait for it to finish (if no git is running, a crashed one left the file: remove it), then run this again",
            index_lock.display()
        );
    }
    // What a killed run left behind (plaintext, possibly).
    let _ = fs::remove_dir_all(temp_dir(repo));
    Ok(Transaction { _lock: lock })
}

/// Takes the lock [`begin`] takes, without waiting: None while another
/// command holds it (then what it left may still be in use). Held until the
/// returned guard drops.
pub fn try_lock(repo: &Repo) -> Result<Option<Transaction>> {
    use rustix::fs::{flock, FlockOperation};
    let (lock, _) = open_lock(repo)?;
    Ok(flock(&lock, FlockOperation::NonBlockingLockExclusive)
        .ok()
        .map(|()| Transaction { _lock: lock }))
}

/// Whether a command holds the lock now (without creating the lock file).
pub fn busy(repo: &Repo) -> bool {
    use rustix::fs::{flock, FlockOperation};
    match File::open(lock_path(repo)) {
        // The lock is released as soon as `file` drops.
        Ok(file) => flock(&file, FlockOperation::NonBlockingLockExclusive).is_err(),
        Err(_) => false,
    }
}

fn lock_path(repo: &Repo) -> PathBuf {
    repo.common_dir().join("git-secret.lock")
}

/// Where temp files are written before they are renamed into the work tree.
pub fn temp_dir(repo: &Repo) -> PathBuf {
    repo.git_dir().join("git-secret-tmp")
}

/// One stage-0 entry the work tree has, as `git ls-files -t -s` lists it.
struct Entry {
    oid: crate::repo::Oid,
    executable: bool,
}

/// The regular-file entries among `paths` that the work tree holds.
fn entries(repo: &Repo, paths: &BTreeSet<&GitPath>) -> Result<BTreeMap<GitPath, Entry>> {
    let listing = repo.run_git(&["ls-files", "-t", "-s", "-z"], None)?;
    let mut found = BTreeMap::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = record.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let path = GitPath::from_bytes(&record[tab + 1..]);
        if !paths.contains(&path) {
            continue;
        }
        let meta = String::from_utf8_lossy(&record[..tab]);
        let fields: Vec<&str> = meta.split(' ').collect();
        let [tag, mode, oid, "0"] = fields[..] else {
            continue; // unmerged
        };
        // "S": skip-worktree (outside a sparse checkout); only regular files.
        if tag == "S" || !(mode == "100644" || mode == "100755") {
            continue;
        }
        let oid = crate::repo::Oid::from_hex(oid).context("unexpected `git ls-files` output")?;
        found.insert(
            path,
            Entry {
                oid,
                executable: mode == "100755",
            },
        );
    }
    Ok(found)
}

/// The paths among `paths` that the work tree should hold as regular files
/// (not outside a sparse checkout, not symlinks or submodules).
pub fn present(repo: &Repo, paths: &[&GitPath]) -> Result<Vec<GitPath>> {
    let wanted: BTreeSet<&GitPath> = paths.iter().copied().collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    Ok(entries(repo, &wanted)?.into_keys().collect())
}

/// Rewrites the marked files among `files` as the filter of each file's key
/// smudges its index blob, with the keys now in the store minus `locking`
/// (the names `lock` is locking: their files become ciphertext while the
/// key stays installed until the work tree holds it). Returns how many files
/// were written.
pub fn rewrite(
    repo: &Repo,
    files: &[&Marked],
    locking: &[String],
    op: &str,
    reporter: &Reporter,
) -> Result<usize> {
    let wanted: BTreeSet<&GitPath> = files.iter().map(|m| &m.path).collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let entries = entries(repo, &wanted)?;
    let locking: Vec<&str> = locking.iter().map(String::as_str).collect();
    let mut filters: BTreeMap<&str, Filter> = BTreeMap::new();
    for file in files {
        if !filters.contains_key(file.key_name.as_str()) {
            let mut keyring = Keyring::load(&repo.key_store())?;
            keyring.remove_names(&locking);
            let filter = Filter::new(&file.key_name, keyring, *reporter);
            filters.insert(&file.key_name, filter);
        }
    }
    crate::fault::io_point("checkout").context("cannot write the marked files")?;
    // git trusts a size change without reading the file, and plaintext and
    // ciphertext differ in size. So before any file changes, the entries are
    // re-added as they are (same blob, no stat data): from then on git
    // compares contents, and a run killed halfway leaves a `git status` that
    // tells the truth. A git holding index.lock makes this fail, before
    // anything changed.
    let mut index_info = Vec::new();
    for (path, entry) in &entries {
        let mode = if entry.executable { "100755" } else { "100644" };
        index_info.extend_from_slice(format!("{mode} {}\t", entry.oid).as_bytes());
        index_info.extend_from_slice(path.as_bytes());
        index_info.push(0);
    }
    repo.run_git(&["update-index", "-z", "--index-info"], Some(&index_info))
        .context("nothing was changed")?;
    let private = temp_dir(repo);
    crate::files::create_private_dir(&private)?;
    let mut written = 0;
    for file in files {
        let Some(entry) = entries.get(&file.path) else {
            continue;
        };
        let filter = &filters[file.key_name.as_str()];
        let blob = repo.read_blob(entry.oid)?;
        let target = file.path.in_tree(repo.top());
        let temp = temp_path(&private, &target, written);
        replace(&target, &temp, entry.executable, |out| {
            filter
                .smudge(&file.path, &mut &blob[..], out)
                .with_context(|| file.path.to_string())
        })?;
        written += 1;
        if written == files.len().div_ceil(2) {
            crate::fault::crash_point(&format!("{op}:half-written"));
        }
    }
    // New stat data. A git that took index.lock meanwhile only delays this.
    let refreshed = repo.run_git(&["update-index", "-q", "--refresh"], None);
    let _ = fs::remove_dir(&private);
    if let Err(e) = refreshed {
        reporter.warn(format_args!(
            "the marked files were rewritten, but git's index could not be refreshed ({e:#}); \
             `git status` will re-read them once"
        ));
    }
    Ok(written)
}

/// Writes `target` atomically: `write` fills a temp file beside it (0600
/// while it is written), which then gets the old file's permissions (or
/// 0644/0755) and is renamed over the target.
fn replace(
    target: &Path,
    temp: &Path,
    executable: bool,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::files::remove_if_exists(temp)
        .with_context(|| format!("cannot remove {}", temp.display()))?;
    let result = (|| -> Result<()> {
        let mut file = private_file(temp)?;
        write(&mut file)?;
        file.flush()?;
        set_mode(&file, target, executable)?;
        drop(file);
        fs::rename(temp, target).with_context(|| format!("cannot replace {}", target.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(temp);
    }
    result
}

/// The temp file for the `n`th target: in the private dir when it is on the
/// target's file system, else `.NAME.git-secret-tmp` beside the target (one
/// fixed name per file, so a rerun after a kill replaces what was left).
fn temp_path(private: &Path, target: &Path, n: usize) -> PathBuf {
    if same_file_system(private, target.parent().unwrap_or(Path::new("."))) {
        return private.join(n.to_string());
    }
    beside(target)
}

/// `.NAME.git-secret-tmp` beside `target`: the temp file of a rewrite
/// across file systems.
pub fn beside(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.git-secret-tmp"))
}

#[cfg(unix)]
fn same_file_system(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file_system(_: &Path, _: &Path) -> bool {
    false
}

fn private_file(path: &Path) -> Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

#[cfg(unix)]
fn set_mode(file: &File, target: &Path, executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let old = fs::metadata(target).map(|m| m.permissions().mode() & 0o777);
    let mode = match old {
        Ok(mode) if executable => mode | ((mode & 0o444) >> 2),
        Ok(mode) => mode & !0o111,
        Err(_) if executable => 0o755,
        Err(_) => 0o644,
    };
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_: &File, _: &Path, _: bool) -> Result<()> {
    Ok(())
}

/// Content changes to `paths` (see [`Repo::changed_paths`]). A marked file
/// that is missing from the work tree does not count: its content is in the
/// index, so rewriting it loses nothing (a smudge that failed on a pull, e.g.
/// before the new key generation was installed, leaves exactly that).
pub fn user_changes(repo: &Repo, paths: &[&GitPath]) -> Result<Vec<GitPath>> {
    let mut changed = repo.changed_paths(paths)?;
    changed.retain(|p| p.in_tree(repo.top()).symlink_metadata().is_ok());
    Ok(changed)
}
