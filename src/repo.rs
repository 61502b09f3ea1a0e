//! The repository: discovery (the way git finds it, linked worktrees and
//! `GIT_DIR`/`GIT_WORK_TREE` included), one runner for the git CLI wherever
//! git itself must do the work (anything that runs our filter, content-based
//! "is it clean" checks, config writes), and reads of objects and the index.
//!
//! Marked paths live in `attrs.rs`, the crash-safe re-checkout in
//! `checkout.rs`, driver names and config in `drivers.rs`.

use crate::format::Stored;
use crate::keyring::KeyStore;
use anyhow::{bail, Context, Result};
use git2::{Oid, Repository};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Repo {
    repo: Repository,
    /// The work tree's top, or the git dir of a bare repository.
    top: PathBuf,
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

    /// Fails for a bare repository, as [`Repo::discover`] does.
    pub fn require_work_tree(&self) -> Result<()> {
        if self.repo.workdir().is_none() {
            bail!(
                "{} is a bare repository; git-secret needs a work tree",
                self.repo.path().display()
            );
        }
        Ok(())
    }

    pub fn git2(&self) -> &Repository {
        &self.repo
    }

    /// The top of the work tree.
    pub fn top(&self) -> &Path {
        &self.top
    }

    /// This work tree's git dir (`.git`, or `.git/worktrees/NAME` in a linked one).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The git dir that linked worktrees share (`.git` of the main one).
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
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

    /// Classifies a stored blob by its header.
    pub fn stored(&self, oid: Oid) -> Result<Stored> {
        let blob = self
            .repo
            .find_blob(oid)
            .with_context(|| format!("cannot read blob {oid}"))?;
        Ok(Stored::classify(blob.content()))
    }

    /// The content of blob `oid`.
    pub fn read_blob(&self, oid: Oid) -> Result<Vec<u8>> {
        Ok(self
            .repo
            .find_blob(oid)
            .with_context(|| format!("cannot read blob {oid}"))?
            .content()
            .to_vec())
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

    /// A config value as git reads it (every config file), if set.
    pub fn config_string(&self, name: &str) -> Option<String> {
        self.repo.config().and_then(|c| c.get_string(name)).ok()
    }

    /// Writes each `(path, content)` as a blob and points the stage-0 index
    /// entry at it in one `git update-index`, keeping each entry's mode, then
    /// refreshes stat data so `git status` does not re-clean every file.
    /// Returns how many entries were staged.
    pub fn stage_blobs(&self, blobs: &[(&str, Vec<u8>)]) -> Result<usize> {
        let mut index_info = Vec::new();
        for (path, content) in blobs {
            let oid = self
                .repo
                .blob(content)
                .with_context(|| format!("cannot store {path}"))?;
            let mode = self.index_mode(path).unwrap_or(0o100644);
            index_info.extend_from_slice(format!("{mode:o} {oid}\t{path}").as_bytes());
            index_info.push(0);
        }
        if blobs.is_empty() {
            return Ok(0);
        }
        self.run_git(&["update-index", "-z", "--index-info"], Some(&index_info))?;
        Ok(blobs.len())
    }
}

/// Runs `cmd` feeding `input` on stdin, capturing stdout and stderr.
pub(crate) fn run_with_input(mut cmd: Command, input: &[u8]) -> Result<std::process::Output> {
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
