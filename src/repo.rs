//! Repository access: git2 for reads (discovery, config, blobs, trees), and one
//! runner for the git CLI wherever git itself must do the work (anything that
//! runs our filter, and content-based "is it clean" checks).

use crate::format::{Header, HEADER_LEN};
use crate::key::{KeyStore, DEFAULT_NAME};
use anyhow::{bail, Context, Result};
use git2::{Oid, Repository};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The attribute value prefix that marks a file: `filter=git-secret[-NAME]`.
pub const DRIVER: &str = "git-secret";
/// git-crypt's driver name, configured to run git-secret after an import.
pub const GIT_CRYPT_DRIVER: &str = "git-crypt";

/// The filter/diff/merge driver name for a key name.
pub fn driver_name(key_name: &str) -> String {
    if key_name == DEFAULT_NAME {
        DRIVER.to_owned()
    } else {
        format!("{DRIVER}-{key_name}")
    }
}

/// git-crypt's driver name for a key name.
pub fn git_crypt_driver(key_name: &str) -> String {
    if key_name == DEFAULT_NAME {
        GIT_CRYPT_DRIVER.to_owned()
    } else {
        format!("{GIT_CRYPT_DRIVER}-{key_name}")
    }
}

/// The key name a `filter` attribute value refers to, if it is one of ours.
/// git-crypt's drivers count too: after `import-git-crypt`, commits made with
/// git-crypt still mark their files `filter=git-crypt[-NAME]`.
pub fn key_name_of_driver(value: &str) -> Option<&str> {
    let rest = value
        .strip_prefix(DRIVER)
        .or_else(|| value.strip_prefix(GIT_CRYPT_DRIVER))?;
    match rest {
        "" => Some(DEFAULT_NAME),
        rest => rest.strip_prefix('-').filter(|n| !n.is_empty()),
    }
}

/// Work tree files removed by [`Repo::remove_for_checkout`], NUL-separated.
pub struct Removed(Vec<u8>);

pub struct Repo {
    repo: Repository,
    /// The work tree's top, or the git dir of a bare repository.
    top: PathBuf,
}

/// A tracked file whose `filter` attribute names one of our drivers.
#[derive(Debug, Clone)]
pub struct Marked {
    pub path: String,
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

/// How a stored blob looks from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Encrypted(crate::crypto::KeyId),
    /// Carries the magic but the header is unusable (e.g. unknown version).
    Damaged,
    /// Encrypted by git-crypt (history from before `import-git-crypt`).
    GitCrypt,
    Plaintext,
}

impl Repo {
    /// Finds a repository, bare ones included (for history checks in server hooks).
    pub fn discover_any() -> Result<Repo> {
        let repo = Repository::open_from_env().map_err(|e| {
            anyhow::anyhow!(
                "not inside a git repository ({}); run this inside a git repository",
                e.message()
            )
        })?;
        let top = repo.workdir().unwrap_or(repo.path()).to_path_buf();
        Ok(Repo { repo, top })
    }

    /// Every work tree of this repository (main and linked), this one first.
    /// Other work trees are opened by path; ones that no longer exist are skipped.
    pub fn worktrees(&self) -> Result<Vec<Repo>> {
        let listing = self.run_git(&["worktree", "list", "--porcelain", "-z"], None)?;
        let here = self.top.canonicalize().unwrap_or_else(|_| self.top.clone());
        let mut others = Vec::new();
        for line in listing.split(|&b| b == 0) {
            let Some(path) = line.strip_prefix(b"worktree ") else {
                continue;
            };
            let path = PathBuf::from(String::from_utf8_lossy(path).into_owned());
            if path.canonicalize().ok().as_ref() == Some(&here) || !path.is_dir() {
                continue;
            }
            if let Ok(repo) = Repository::open(&path) {
                if let Some(top) = repo.workdir().map(Path::to_path_buf) {
                    others.push(Repo { repo, top });
                }
            }
        }
        let mut all = vec![Repo {
            repo: Repository::open(self.repo.path())?,
            top: self.top.clone(),
        }];
        all.extend(others);
        Ok(all)
    }

    /// Finds the repository the way git does (cwd, `GIT_DIR`, `GIT_WORK_TREE`).
    pub fn discover() -> Result<Repo> {
        let repo = Repository::open_from_env().map_err(|e| {
            anyhow::anyhow!(
                "not inside a git repository ({}); run this inside a git work tree",
                e.message()
            )
        })?;
        let top = match repo.workdir() {
            Some(dir) => dir.to_path_buf(),
            None => bail!(
                "{} is a bare repository; git-secret needs a work tree",
                repo.path().display()
            ),
        };
        Ok(Repo { repo, top })
    }

    pub fn git2(&self) -> &Repository {
        &self.repo
    }

    /// The top of the work tree.
    pub fn top(&self) -> &Path {
        &self.top
    }

    /// Where keys live: shared by every linked worktree.
    pub fn key_store(&self) -> KeyStore {
        KeyStore::new(self.repo.commondir().join("git-secret"))
    }

    /// A `git` command run at the top of the work tree, pinned to this repository
    /// even when `GIT_DIR`/`GIT_WORK_TREE` were given relative to another directory.
    pub fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.top);
        if std::env::var_os("GIT_DIR").is_some() {
            cmd.env("GIT_DIR", self.repo.path());
        }
        if std::env::var_os("GIT_WORK_TREE").is_some() && self.repo.workdir().is_some() {
            cmd.env("GIT_WORK_TREE", &self.top);
        }
        cmd.env_remove("GIT_PREFIX");
        cmd
    }

    /// Runs git, feeding `input` on stdin; returns stdout, or an error quoting git's stderr.
    pub fn run_git(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
        let output = self.spawn_git(args, input)?;
        if !output.status.success() {
            bail!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output.stdout)
    }

    fn spawn_git(&self, args: &[&str], input: Option<&[u8]>) -> Result<std::process::Output> {
        let mut cmd = self.git();
        cmd.args(args);
        match input {
            Some(input) => run_with_input(cmd, input),
            None => Ok(cmd
                .stdin(Stdio::null())
                .output()
                .context("cannot run git; is it installed and on PATH?")?),
        }
    }

    /// Tracked files marked with one of our filter drivers, with their key names.
    pub fn marked_files(&self) -> Result<Vec<Marked>> {
        let listing = self.run_git(&["ls-files", "-s", "-z"], None)?;
        self.marked_in_listing(&listing, &[AttrSource::WorkTree])
    }

    /// Parses `git ls-files -s -z` output and keeps the paths whose `filter`
    /// attribute names one of our drivers in any of `sources`.
    pub fn marked_in_listing(&self, listing: &[u8], sources: &[AttrSource]) -> Result<Vec<Marked>> {
        let mut entries: Vec<(String, Option<Oid>)> = Vec::new();
        for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let record =
                String::from_utf8(record.to_vec()).context("a tracked path is not valid UTF-8")?;
            let (meta, path) = record
                .split_once('\t')
                .context("unexpected `git ls-files -s` output")?;
            let mut fields = meta.split(' ');
            let (_mode, oid, stage) = (fields.next(), fields.next(), fields.next());
            let oid = oid.and_then(|o| Oid::from_str(o).ok());
            match entries.last_mut() {
                Some((last, slot)) if *last == path => {
                    // Unmerged: several stages of one path.
                    *slot = None;
                }
                _ => entries.push((path.to_owned(), if stage == Some("0") { oid } else { None })),
            }
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let paths: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
        let mut drivers: Vec<Option<String>> = vec![None; paths.len()];
        for source in sources {
            for (slot, found) in drivers.iter_mut().zip(self.key_names(&paths, source)?) {
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
    pub fn key_names(&self, paths: &[&str], source: &AttrSource) -> Result<Vec<Option<String>>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
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
        args.push("filter");
        let attrs = self.run_git(&args, Some(&input))?;
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

    /// Classifies a stored blob by its header.
    pub fn stored(&self, oid: Oid) -> Result<Stored> {
        let blob = self
            .repo
            .find_blob(oid)
            .with_context(|| format!("cannot read blob {oid}"))?;
        let content = blob.content();
        Ok(
            match Header::parse(&content[..content.len().min(HEADER_LEN)]) {
                Ok(Some(header)) => Stored::Encrypted(header.key_id),
                Ok(None) if crate::gitcrypt::is_blob(content) => Stored::GitCrypt,
                Ok(None) => Stored::Plaintext,
                Err(_) => Stored::Damaged,
            },
        )
    }

    /// The content of the stage-0 index entry at `path`, re-reading the index
    /// from disk; None if there is none or the index cannot be read by libgit2.
    pub fn index_blob(&self, path: &str) -> Option<Vec<u8>> {
        let mut index = self.repo.index().ok()?;
        index.read(false).ok()?;
        let entry = index.get_path(Path::new(path), 0)?;
        Some(self.repo.find_blob(entry.id).ok()?.content().to_vec())
    }

    /// The file mode of the stage-0 index entry at `path`.
    pub fn index_mode(&self, path: &str) -> Option<u32> {
        let index = self.repo.index().ok()?;
        index.get_path(Path::new(path), 0).map(|e| e.mode)
    }

    /// The blob at `path` in HEAD, if HEAD exists and has it.
    pub fn head_oid(&self, path: &str) -> Option<Oid> {
        let tree = self.repo.head().ok()?.peel_to_tree().ok()?;
        tree.get_path(Path::new(path)).ok().map(|entry| entry.id())
    }

    /// `git diff --quiet` semantics for the given paths, content-based (git
    /// re-cleans stat-dirty files): the paths among `paths` whose work tree or
    /// index differs. A failing clean (e.g. plaintext in a locked repo) is an error.
    pub fn changed_paths(&self, paths: &[&str]) -> Result<Vec<String>> {
        let mut changed = Vec::new();
        for cached in [false, true] {
            let mut args = vec![
                "--literal-pathspecs",
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
            ];
            if cached {
                args.push("--cached");
            }
            // An empty pathspec list would mean "everything".
            for batch in paths.chunks(1000) {
                let mut batch_args = args.clone();
                batch_args.push("--");
                batch_args.extend_from_slice(batch);
                let out = self.spawn_git(&batch_args, None)?;
                if !out.status.success() {
                    bail!(
                        "git cannot compare the marked files with the index ({}). In a locked repository \
                         this means a marked file holds new plaintext: restore it with `git checkout -- PATH`, \
                         or unlock first",
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                for path in out.stdout.split(|&b| b == 0).filter(|p| !p.is_empty()) {
                    let path = String::from_utf8_lossy(path).into_owned();
                    if !changed.contains(&path) {
                        changed.push(path);
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Re-checks out `paths` from the index through git (so our filter runs).
    /// git skips files whose stat data match the index, so each file is removed
    /// first; a marker under the git dir lists them until git has written them
    /// back, so a rerun after a crash knows the missing files are ours to
    /// restore, not the user's deletions. `locking` names keys the filter must
    /// treat as locked for this checkout (lock removes the key only afterwards).
    pub fn force_checkout(&self, paths: &[&str], op: &str, locking: &[String]) -> Result<()> {
        let removed = self.remove_for_checkout(paths, op)?;
        self.check_out_removed(removed, locking)
    }

    /// The first half of [`Repo::force_checkout`]: records `paths` as pending
    /// and removes them from the work tree. A caller may change the index
    /// between the halves (import does), and a crash there is still completed
    /// by a rerun.
    pub fn remove_for_checkout(&self, paths: &[&str], op: &str) -> Result<Removed> {
        if paths.is_empty() {
            self.clear_pending()?;
            return Ok(Removed(Vec::new()));
        }
        crate::fault::io_point("checkout").context("cannot check the files out again")?;
        let mut list = Vec::new();
        for path in paths {
            list.extend_from_slice(path.as_bytes());
            list.push(0);
        }
        std::fs::write(self.pending_path(), &list)
            .context("cannot record the files being re-checked out")?;
        for path in paths {
            let file = self.top.join(path);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot replace {}", file.display()))
                }
            }
        }
        crate::fault::crash_point(&format!("{op}:files-removed"));
        Ok(Removed(list))
    }

    /// The second half of [`Repo::force_checkout`]: git writes the removed
    /// files back from the index, then the marker goes.
    pub fn check_out_removed(&self, removed: Removed, locking: &[String]) -> Result<()> {
        if removed.0.is_empty() {
            return Ok(());
        }
        let args = [
            "--literal-pathspecs",
            "checkout",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            "--",
        ];
        let mut cmd = self.git();
        cmd.args(args)
            .env(crate::filter::LOCKING_ENV, locking.join(","));
        let output = run_with_input(cmd, &removed.0)?;
        if !output.status.success() {
            bail!(
                "git could not check the marked files out again: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        self.clear_pending()
    }

    fn pending_path(&self) -> PathBuf {
        self.repo.path().join("git-secret-pending")
    }

    /// Files an interrupted unlock/lock removed and had not yet checked out again.
    pub fn pending(&self) -> Vec<String> {
        std::fs::read(self.pending_path())
            .map(|bytes| {
                bytes
                    .split(|&b| b == 0)
                    .filter(|p| !p.is_empty())
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn clear_pending(&self) -> Result<()> {
        match std::fs::remove_file(self.pending_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).context("cannot remove the re-checkout marker")
            }
            _ => Ok(()),
        }
    }

    /// Content changes to `paths` (see [`Repo::changed_paths`]), not counting
    /// files an interrupted unlock/lock removed and is about to restore.
    pub fn user_changes(&self, paths: &[&str]) -> Result<Vec<String>> {
        let pending = self.pending();
        let mut changed = self.changed_paths(paths)?;
        changed.retain(|p| !pending.contains(p) || self.top.join(p).exists());
        Ok(changed)
    }

    /// True while a merge, rebase, cherry-pick or revert is in progress.
    pub fn operation_in_progress(&self) -> Option<&'static str> {
        use git2::RepositoryState::*;
        match self.repo.state() {
            Clean => None,
            Merge => Some("a merge"),
            Revert | RevertSequence => Some("a revert"),
            CherryPick | CherryPickSequence => Some("a cherry-pick"),
            Bisect => None,
            Rebase | RebaseInteractive | RebaseMerge => Some("a rebase"),
            ApplyMailbox | ApplyMailboxOrRebase => Some("a `git am`"),
        }
    }

    /// Sets a value in the repository's local config (`.git/config`, shared by worktrees).
    pub fn set_config(&self, name: &str, value: &str) -> Result<()> {
        self.run_git(&["config", "--local", "--replace-all", name, value], None)?;
        Ok(())
    }
}

/// Runs `cmd` feeding `input` on stdin, capturing stdout and stderr.
fn run_with_input(mut cmd: Command, input: &[u8]) -> Result<std::process::Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git; is it installed and on PATH?")?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = input.to_vec();
    // Write on a thread so a large input cannot deadlock against git's output.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    let _ = writer.join();
    Ok(output)
}
