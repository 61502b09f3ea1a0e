//! The repository, read and written through the git CLI only: discovery
//! (`git rev-parse`, so `GIT_DIR`/`GIT_WORK_TREE`, linked worktrees, bare
//! repositories, reftable and SHA-256 repositories resolve exactly as git
//! resolves them), object and index reads through one long-running
//! `git cat-file --batch-command` (which fetches promised objects on demand
//! in partial clones), blob writes through `git hash-object`, and one runner
//! for every other git command. libgit2 cannot open reftable or SHA-256
//! repositories and does not fetch promised objects, so it is not used.
//!
//! Marked paths live in `attrs.rs`, the crash-safe rewrite of the work tree
//! in `checkout.rs`, driver names and config in `drivers.rs`.

use crate::format::Stored;
use crate::keyring::KeyStore;
use crate::path::GitPath;
use anyhow::{bail, Context, Result};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A git object id: SHA-1 (20 bytes) or SHA-256 (32 bytes), shown in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid {
    len: u8,
    bytes: [u8; 32],
}

impl Oid {
    /// Parses a full hex object id (40 or 64 characters).
    pub fn from_hex(hex: &str) -> Result<Oid> {
        let len = match hex.len() {
            40 => 20,
            64 => 32,
            _ => bail!("not a git object id: {hex:?}"),
        };
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().take(len).enumerate() {
            let pair = hex.get(2 * i..2 * i + 2);
            *byte = pair
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .with_context(|| format!("not a git object id: {hex:?}"))?;
        }
        Ok(Oid {
            len: len as u8,
            bytes,
        })
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.bytes[..self.len as usize] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

/// The key store under common git dir `common_dir`.
pub fn key_store_in(common_dir: &Path) -> KeyStore {
    KeyStore::new(common_dir.join("git-secret"))
}

/// The common git dir of the repository around the current directory,
/// found without running git where that is certain (see [`Repo::discover_here`]).
pub fn common_dir_here() -> Option<PathBuf> {
    let (_, common_dir) = git_dirs_here()?;
    Some(common_dir)
}

/// The git dir and common git dir named by `./.git`, read without running
/// git, when that is certainly the repository git is running us in: none of
/// the variables that move a repository is set, and the current directory
/// holds `.git`. Git runs filters and textconvs at the top of the work tree,
/// and exports `GIT_DIR` whenever the repository is not the `.git` found
/// there (`--git-dir`, `core.worktree`; checked with git 2.47). A `.git`
/// file (linked worktree, submodule) is followed, then its `commondir`.
/// Paths are relative to the current directory. `None` means: ask git.
fn git_dirs_here() -> Option<(PathBuf, PathBuf)> {
    const MOVERS: [&str; 3] = ["GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE"];
    if MOVERS.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    let dot_git = Path::new(".git");
    let meta = std::fs::symlink_metadata(dot_git).ok()?;
    let git_dir = if meta.is_dir() {
        dot_git.to_path_buf()
    } else if meta.is_file() {
        let text = std::fs::read_to_string(dot_git).ok()?;
        let target = text
            .strip_prefix("gitdir: ")?
            .trim_end_matches(['\n', '\r']);
        if target.is_empty() {
            return None;
        }
        PathBuf::from(target) // relative to the work tree's top: the current directory
    } else {
        return None; // a symlink or anything odd: git knows best
    };
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => {
            let common = text.trim_end_matches(['\n', '\r']);
            // join keeps an absolute one as it is
            (!common.is_empty()).then(|| (git_dir.clone(), git_dir.join(common)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((git_dir.clone(), git_dir)),
        Err(_) => None,
    }
}

/// git subcommands that may write the index: object reads by path (`:PATH`)
/// start a fresh `cat-file` after them, which reads the new index.
const INDEX_WRITERS: &[&str] = &[
    "add",
    "checkout",
    "commit",
    "merge",
    "reset",
    "restore",
    "rm",
    "stash",
    "switch",
    "update-index",
    "sparse-checkout",
    "read-tree",
];

pub struct Repo {
    git_dir: PathBuf,
    common_dir: PathBuf,
    /// The work tree's top, or the git dir of a bare repository.
    top: PathBuf,
    bare: bool,
    /// `GIT_DIR`/`GIT_WORK_TREE` were set: every git we run gets absolute ones.
    pinned: bool,
    objects: RefCell<Option<CatFile>>,
}

impl Repo {
    /// Finds a repository, bare ones included (for history checks in server hooks).
    pub fn discover_any() -> Result<Repo> {
        Repo::open(None).map_err(|e| {
            anyhow::anyhow!("not inside a git repository ({e}); run this inside a git repository")
        })
    }

    /// Finds the repository the way git does (cwd, `GIT_DIR`, `GIT_WORK_TREE`).
    pub fn discover() -> Result<Repo> {
        let repo = Repo::open(None).map_err(|e| {
            anyhow::anyhow!("not inside a git repository ({e}); run this inside a git work tree")
        })?;
        repo.require_work_tree()?;
        Ok(repo)
    }

    /// The repository git runs a filter process in, found without running
    /// `git rev-parse` where that is certain ([`git_dirs_here`]: one process
    /// less at the start of every git command that filters); otherwise
    /// [`Repo::discover`].
    pub fn discover_here() -> Result<Repo> {
        let Some((git_dir, common_dir)) = git_dirs_here() else {
            return Repo::discover();
        };
        let top = std::env::current_dir().context("cannot read the current directory")?;
        let absolute = |dir: PathBuf| {
            let dir = top.join(dir);
            // `..` from a submodule's relative git dir, resolved as git does
            dir.canonicalize().unwrap_or(dir)
        };
        Ok(Repo {
            git_dir: absolute(git_dir),
            common_dir: absolute(common_dir),
            top,
            bare: false,
            pinned: false,
            objects: RefCell::new(None),
        })
    }

    /// Fails for a bare repository, as [`Repo::discover`] does.
    pub fn require_work_tree(&self) -> Result<()> {
        if self.bare {
            bail!(
                "{} is a bare repository; git-secret needs a work tree",
                self.git_dir.display()
            );
        }
        Ok(())
    }

    /// Asks `git rev-parse` where the repository is: from the environment and
    /// the current directory, or (for another worktree) from `dir` alone.
    fn open(dir: Option<&Path>) -> std::result::Result<Repo, String> {
        let mut cmd = Command::new("git");
        cmd.args([
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
            "--is-bare-repository",
            "--show-toplevel",
        ]);
        if let Some(dir) = dir {
            cmd.current_dir(dir)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE");
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run git: {e}; is it installed and on PATH?"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        // In a bare repository --show-toplevel fails after the other answers.
        let (git_dir, common_dir, bare) = match lines[..] {
            [git_dir, common_dir, bare, ..] => (git_dir, common_dir, bare == "true"),
            _ => return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        };
        let top = match lines.get(3) {
            Some(top) if out.status.success() && !bare => PathBuf::from(top),
            _ => PathBuf::from(git_dir),
        };
        Ok(Repo {
            git_dir: PathBuf::from(git_dir),
            common_dir: PathBuf::from(common_dir),
            bare: bare || !out.status.success(),
            top,
            pinned: dir.is_none()
                && (std::env::var_os("GIT_DIR").is_some()
                    || std::env::var_os("GIT_WORK_TREE").is_some()),
            objects: RefCell::new(None),
        })
    }

    /// Every work tree of this repository (main and linked), this one first.
    /// Other work trees are opened by path; ones that no longer exist are skipped.
    pub fn worktrees(&self) -> Result<Vec<Repo>> {
        let listing = self.run_git(&["worktree", "list", "--porcelain", "-z"], None)?;
        let here = self.top.canonicalize().unwrap_or_else(|_| self.top.clone());
        let mut all = vec![Repo {
            git_dir: self.git_dir.clone(),
            common_dir: self.common_dir.clone(),
            top: self.top.clone(),
            bare: self.bare,
            pinned: self.pinned,
            objects: RefCell::new(None),
        }];
        for line in listing.split(|&b| b == 0) {
            let Some(path) = line.strip_prefix(b"worktree ") else {
                continue;
            };
            let path = PathBuf::from(String::from_utf8_lossy(path).into_owned());
            if path.canonicalize().ok().as_ref() == Some(&here) || !path.is_dir() {
                continue;
            }
            if let Ok(repo) = Repo::open(Some(&path)) {
                if !repo.bare {
                    all.push(repo);
                }
            }
        }
        Ok(all)
    }

    /// The top of the work tree.
    pub fn top(&self) -> &Path {
        &self.top
    }

    /// This work tree's git dir (`.git`, or `.git/worktrees/NAME` in a linked one).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The git dir that linked worktrees share (`.git` of the main one).
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// Where keys live: shared by every linked worktree.
    pub fn key_store(&self) -> KeyStore {
        key_store_in(&self.common_dir)
    }

    /// A `git` command run at the top of the work tree, pinned to this repository
    /// even when `GIT_DIR`/`GIT_WORK_TREE` were given relative to another directory.
    pub fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.top);
        if self.pinned {
            cmd.env("GIT_DIR", &self.git_dir);
            if !self.bare {
                cmd.env("GIT_WORK_TREE", &self.top);
            }
        }
        cmd.env_remove("GIT_PREFIX");
        cmd
    }

    /// Runs git, feeding `input` on stdin; returns stdout, or an error quoting git's stderr.
    pub fn run_git(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        self.run_git_os(&args, input)
    }

    /// [`Repo::run_git`] with arguments that need not be UTF-8 (paths).
    pub fn run_git_os(&self, args: &[&OsStr], input: Option<&[u8]>) -> Result<Vec<u8>> {
        let output = self.spawn_git(args, input)?;
        if !output.status.success() {
            let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
            bail!(
                "`git {}` failed: {}",
                shown.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output.stdout)
    }

    fn spawn_git(&self, args: &[&OsStr], input: Option<&[u8]>) -> Result<std::process::Output> {
        let subcommand = args
            .iter()
            .find(|a| !a.as_encoded_bytes().starts_with(b"-"));
        if subcommand.is_some_and(|s| INDEX_WRITERS.iter().any(|w| OsStr::new(w) == *s)) {
            self.objects.borrow_mut().take();
        }
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

    /// Runs `f` with the object reader, started on first use.
    fn with_objects<T>(&self, f: impl FnOnce(&mut CatFile) -> Result<T>) -> Result<T> {
        let mut slot = self.objects.borrow_mut();
        if slot.is_none() {
            *slot = Some(CatFile::start(self.git())?);
        }
        let result = f(slot.as_mut().expect("started above"));
        if result.is_err() {
            slot.take(); // a broken conversation is not reused
        }
        result
    }

    /// The blob `spec` names (an id, `:PATH`, `REV:PATH`), or None when it
    /// names nothing or something other than a blob.
    fn blob(&self, spec: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with_objects(|objects| objects.contents(spec))
    }

    /// The id of the blob `spec` names, if it names one.
    fn blob_id(&self, spec: &[u8]) -> Result<Option<Oid>> {
        self.with_objects(|objects| objects.info(spec))
    }

    /// Classifies a stored blob by its header.
    pub fn stored(&self, oid: Oid) -> Result<Stored> {
        Ok(Stored::classify(&self.read_blob(oid)?))
    }

    /// The content of blob `oid`.
    pub fn read_blob(&self, oid: Oid) -> Result<Vec<u8>> {
        self.blob(oid.to_string().as_bytes())?
            .with_context(|| format!("cannot read blob {oid}: object not found"))
    }

    /// The content of the stage-0 index entry at `path` as the index is on
    /// disk now; None if there is none.
    pub fn index_blob(&self, path: &GitPath) -> Option<Vec<u8>> {
        self.blob(&[b":", path.as_bytes()].concat()).ok().flatten()
    }

    /// The content of the blob at `path` in HEAD, if there is one.
    pub fn head_blob(&self, path: &GitPath) -> Option<Vec<u8>> {
        self.blob(&[b"HEAD:", path.as_bytes()].concat())
            .ok()
            .flatten()
    }

    /// The blob at `path` in commit `rev`, if it has one there.
    pub fn rev_blob(&self, rev: &str, path: &GitPath) -> Result<Option<Vec<u8>>> {
        self.blob(&[rev.as_bytes(), b":", path.as_bytes()].concat())
    }

    /// The blob at `path` in HEAD, if HEAD exists and has one there.
    pub fn head_oid(&self, path: &GitPath) -> Option<Oid> {
        self.blob_id(&[b"HEAD:", path.as_bytes()].concat())
            .ok()
            .flatten()
    }

    /// `git diff --quiet` semantics for the given paths, content-based (git
    /// re-cleans stat-dirty files): the paths among `paths` whose work tree or
    /// index differs. A failing clean (e.g. plaintext in a locked repo) is an error.
    pub fn changed_paths(&self, paths: &[&GitPath]) -> Result<Vec<GitPath>> {
        let mut changed = Vec::new();
        for cached in [false, true] {
            let mut args: Vec<&OsStr> = [
                "--literal-pathspecs",
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
            ]
            .map(OsStr::new)
            .to_vec();
            if cached {
                args.push(OsStr::new("--cached"));
            }
            // An empty pathspec list would mean "everything".
            for batch in paths.chunks(1000) {
                let mut batch_args = args.clone();
                batch_args.push(OsStr::new("--"));
                batch_args.extend(batch.iter().map(|p| p.as_os_str()));
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
                    let path = GitPath::from_bytes(path);
                    if !changed.contains(&path) {
                        changed.push(path);
                    }
                }
            }
        }
        Ok(changed)
    }

    /// True while a merge, rebase, cherry-pick or revert is in progress
    /// (the state files git leaves in the git dir, read as git reads them).
    pub fn operation_in_progress(&self) -> Option<&'static str> {
        let has = |name: &str| self.git_dir.join(name).exists();
        if has("rebase-merge") {
            Some("a rebase")
        } else if has("rebase-apply") {
            Some(if has("rebase-apply/applying") {
                "a `git am`"
            } else {
                "a rebase"
            })
        } else if has("MERGE_HEAD") {
            Some("a merge")
        } else if has("REVERT_HEAD") {
            Some("a revert")
        } else if has("CHERRY_PICK_HEAD") {
            Some("a cherry-pick")
        } else {
            None
        }
    }

    /// Sets a value in the repository's local config (`.git/config`, shared by worktrees).
    pub fn set_config(&self, name: &str, value: &str) -> Result<()> {
        self.run_git(&["config", "--local", "--replace-all", name, value], None)?;
        Ok(())
    }

    /// A config value as git reads it (every config file), if set.
    pub fn config_string(&self, name: &str) -> Option<String> {
        let out = self.run_git(&["config", "--get", name], None).ok()?;
        Some(
            String::from_utf8_lossy(&out)
                .trim_end_matches('\n')
                .to_owned(),
        )
    }

    /// Writes each `(path, content)` as a blob and points the stage-0 index
    /// entry at it in one `git update-index`, keeping each entry's mode.
    /// Returns how many entries were staged.
    pub fn stage_blobs(&self, blobs: &[(&GitPath, Vec<u8>)]) -> Result<usize> {
        if blobs.is_empty() {
            return Ok(0);
        }
        let contents: Vec<&[u8]> = blobs.iter().map(|(_, c)| c.as_slice()).collect();
        let oids = self.write_blobs(&contents)?;
        let modes = self.index_modes()?;
        let mut index_info = Vec::new();
        for ((path, _), oid) in blobs.iter().zip(oids) {
            let mode = modes.get(*path).map_or("100644", String::as_str);
            index_info.extend_from_slice(format!("{mode} {oid}\t").as_bytes());
            index_info.extend_from_slice(path.as_bytes());
            index_info.push(0);
        }
        self.run_git(&["update-index", "-z", "--index-info"], Some(&index_info))?;
        Ok(blobs.len())
    }

    /// Stores `contents` as blobs (no filters: they are stored as they are)
    /// with one `git hash-object`, through files in a private temp dir.
    pub fn write_blobs(&self, contents: &[&[u8]]) -> Result<Vec<Oid>> {
        let dir = tempfile::Builder::new()
            .prefix("git-secret-blobs")
            .tempdir()
            .context("cannot create a private temp dir")?;
        let mut paths = Vec::new();
        for (i, content) in contents.iter().enumerate() {
            let path = dir.path().join(i.to_string());
            std::fs::write(&path, content)
                .with_context(|| format!("cannot write {}", path.display()))?;
            paths.extend_from_slice(path.as_os_str().as_encoded_bytes());
            paths.push(b'\n');
        }
        let out = self.run_git(
            &["hash-object", "-w", "--no-filters", "--stdin-paths"],
            Some(&paths),
        )?;
        let oids = String::from_utf8_lossy(&out)
            .lines()
            .map(Oid::from_hex)
            .collect::<Result<Vec<_>>>()?;
        if oids.len() != contents.len() {
            bail!(
                "`git hash-object` stored {} of {} blobs",
                oids.len(),
                contents.len()
            );
        }
        Ok(oids)
    }

    /// The mode of every stage-0 index entry, by path.
    fn index_modes(&self) -> Result<HashMap<GitPath, String>> {
        let listing = self.run_git(&["ls-files", "-s", "-z"], None)?;
        let mut modes = HashMap::new();
        for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let Some(tab) = record.iter().position(|&b| b == b'\t') else {
                continue;
            };
            let mode = String::from_utf8_lossy(&record[..tab]);
            if let Some(mode) = mode.split(' ').next() {
                modes.insert(GitPath::from_bytes(&record[tab + 1..]), mode.to_owned());
            }
        }
        Ok(modes)
    }
}

/// One `git cat-file --batch-command` conversation: `info` and `contents`
/// requests, answered in order, flushed after each (no `--buffer`).
struct CatFile {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CatFile {
    fn start(mut cmd: Command) -> Result<CatFile> {
        let mut child = cmd
            .args(["cat-file", "--batch-command"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run git cat-file; is git (2.36 or later) installed and on PATH?")?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout was piped"));
        Ok(CatFile {
            child,
            stdin,
            stdout,
        })
    }

    /// Sends one request; returns the object's id, type and size, or None
    /// when git says it names nothing.
    fn ask(&mut self, command: &str, spec: &[u8]) -> Result<Option<(Oid, String, usize)>> {
        if spec.contains(&b'\n') {
            bail!(
                "a path with a line break cannot be looked up: {:?}",
                String::from_utf8_lossy(spec)
            );
        }
        let line = [command.as_bytes(), b" ", spec, b"\n"].concat();
        self.stdin
            .write_all(&line)
            .and_then(|()| self.stdin.flush())
            .context("git cat-file stopped")?;
        // "<spec> missing" repeats the spec, which need not be UTF-8.
        let mut line = Vec::new();
        self.stdout
            .read_until(b'\n', &mut line)
            .context("git cat-file stopped")?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\n');
        if line.is_empty() {
            bail!("git cat-file stopped");
        }
        let mut words = line.rsplitn(3, ' ');
        let (size, kind, oid) = (words.next(), words.next(), words.next());
        match (oid, kind, size.and_then(|s| s.parse::<usize>().ok())) {
            (Some(oid), Some(kind), Some(size)) => {
                Ok(Some((Oid::from_hex(oid)?, kind.to_owned(), size)))
            }
            // "<spec> missing", "<spec> ambiguous", …
            _ => Ok(None),
        }
    }

    fn info(&mut self, spec: &[u8]) -> Result<Option<Oid>> {
        Ok(self
            .ask("info", spec)?
            .filter(|(_, kind, _)| kind == "blob")
            .map(|(oid, _, _)| oid))
    }

    fn contents(&mut self, spec: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some((_, kind, size)) = self.ask("contents", spec)? else {
            return Ok(None);
        };
        let mut data = vec![0u8; size + 1]; // the content, then a newline
        self.stdout
            .read_exact(&mut data)
            .context("git cat-file stopped")?;
        data.pop();
        Ok((kind == "blob").then_some(data))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // Closing stdin ends the conversation; git exits.
        let _ = self.stdin.flush();
        let (_, _) = (self.child.kill(), self.child.wait());
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

#[cfg(test)]
mod tests {
    use super::Oid;

    #[test]
    fn object_ids_of_both_hashes_round_trip() {
        for hex in [
            "d00491fd7e5bb6fa28c517a0bb32b8b506539d4d",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        ] {
            assert_eq!(Oid::from_hex(hex).unwrap().to_string(), hex);
        }
        for bad in ["", "d00491", &"g".repeat(40), &"a".repeat(41)] {
            assert!(Oid::from_hex(bad).is_err(), "{bad:?}");
        }
    }
}
