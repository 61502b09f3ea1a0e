//! Test harness: real `git` in isolated temporary repositories, with the
//! `git-secret` binary cargo just built as the filter.
//!
//! Isolation: HOME, XDG dirs and GIT_CONFIG_GLOBAL point into the temp dir,
//! system config is off, and every GIT_* variable of the caller is removed.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-secret");

/// A temporary home with a fixed git identity; repositories live inside it.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("git-secret-test")
            .tempdir()
            .expect("temp dir");
        let sandbox = Sandbox { dir };
        fs::create_dir_all(sandbox.home()).unwrap();
        fs::write(
            sandbox.home().join(".gitconfig"),
            "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n\
             [advice]\n\tdetachedHead = false\n[protocol \"file\"]\n\tallow = always\n",
        )
        .unwrap();
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `git-secret install`: the default driver in this sandbox's global config.
    pub fn install(&self) {
        let out = self
            .command(BIN, self.path())
            .arg("install")
            .output()
            .unwrap();
        assert_success(&out, "install");
    }

    /// A command with the isolated environment, run in `cwd`.
    pub fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GIT_") {
                cmd.env_remove(&name);
            }
        }
        cmd.env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home().join(".gitconfig"))
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }

    /// `git init` of a new repository named `name` inside the sandbox.
    pub fn init_repo(&self, name: &str) -> Repo<'_> {
        let dir = self.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        let repo = Repo { sandbox: self, dir };
        repo.git(&["init", "-q"]);
        repo
    }

    /// `git clone` of `from` into `name`.
    pub fn clone_repo(&self, from: &Repo, name: &str) -> Repo<'_> {
        let out = self
            .command("git", self.path())
            .args(["clone", "-q"])
            .arg(&from.dir)
            .arg(name)
            .output()
            .unwrap();
        assert_success(&out, "git clone");
        Repo {
            sandbox: self,
            dir: self.path().join(name),
        }
    }

    /// A repository with a committed README, the default key (`init`),
    /// `secrets/**` and `*.key` marked, and `secrets` committed encrypted.
    pub fn repo_with_secrets(&self, name: &str, secrets: &[(&str, &[u8])]) -> Repo<'_> {
        let repo = self.init_repo(name);
        repo.write("README", "hello\n");
        repo.git(&["add", "README"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo.secret_ok(&["init"]);
        repo.mark_default();
        for (path, content) in secrets {
            repo.write(path, content);
        }
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "add secrets"]);
        repo
    }

    /// A repository handle for an existing directory (e.g. a linked worktree).
    pub fn open(&self, dir: PathBuf) -> Repo<'_> {
        Repo { sandbox: self, dir }
    }
}

pub struct Repo<'s> {
    pub sandbox: &'s Sandbox,
    pub dir: PathBuf,
}

impl Repo<'_> {
    /// Runs git and returns its output, whatever the exit code.
    pub fn git_output(&self, args: &[&str]) -> Output {
        self.sandbox
            .command("git", &self.dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs git, asserts success, returns stdout as text.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert_success(&out, &format!("git {}", args.join(" ")));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs git with stdin, asserts success.
    pub fn git_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_stdin(self.sandbox.command("git", &self.dir).args(args), input)
    }

    /// Stores `content` as a blob without filters (as a libgit2 GUI would) and
    /// stages it at `path`; returns the blob id.
    pub fn stage_raw(&self, path: &str, content: &[u8]) -> String {
        let out = self.git_stdin(&["hash-object", "-w", "--no-filters", "--stdin"], content);
        assert_success(&out, "hash-object");
        let oid = stdout(&out).trim().to_owned();
        self.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{oid},{path}"),
        ]);
        oid
    }

    /// Raw bytes git stores for `rev:path` (no filters).
    pub fn stored(&self, spec: &str) -> Vec<u8> {
        let out = self.git_output(&["cat-file", "blob", spec]);
        assert_success(&out, &format!("git cat-file blob {spec}"));
        out.stdout
    }

    /// Runs our binary with `args` in this repo.
    pub fn secret(&self, args: &[&str]) -> Output {
        self.sandbox
            .command(BIN, &self.dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs our binary in `cwd` (relative to the repo).
    pub fn secret_in(&self, cwd: &str, args: &[&str]) -> Output {
        self.sandbox
            .command(BIN, &self.dir.join(cwd))
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs our binary with stdin.
    pub fn secret_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_stdin(self.sandbox.command(BIN, &self.dir).args(args), input)
    }

    /// Runs our binary and asserts success; returns stdout.
    pub fn secret_ok(&self, args: &[&str]) -> String {
        let out = self.secret(args);
        assert_success(&out, &format!("git-secret {}", args.join(" ")));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Exports every key of this repository to a file beside it, as a team
    /// shares its key, so `lock` may remove the key from the clone.
    pub fn keep_key(&self) -> PathBuf {
        let file = self.dir.with_extension("kept.key");
        let _ = fs::remove_file(&file);
        for name in self
            .secret_ok(&["keys"])
            .lines()
            .filter(|l| l.ends_with("repository"))
        {
            let name = name.split_whitespace().next().unwrap();
            let text = self.secret_ok(&["export-key", "-k", name, "-"]);
            let mut all = fs::read_to_string(&file).unwrap_or_default();
            all.push_str(&text);
            fs::write(&file, all).unwrap();
        }
        file
    }

    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let file = self.dir.join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, content).unwrap();
    }

    pub fn read(&self, path: &str) -> Vec<u8> {
        fs::read(self.dir.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.dir.join(path).exists()
    }

    /// Porcelain status, untracked files included.
    pub fn status(&self) -> String {
        self.git(&["status", "--porcelain"])
    }

    /// The common git dir's key store.
    pub fn key_dir(&self) -> PathBuf {
        let common = self.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
        PathBuf::from(common.trim()).join("git-secret")
    }

    /// Marks `secrets/**` and `*.key` for the default key and commits `.gitattributes`.
    pub fn mark_default(&self) {
        self.write(
            ".gitattributes",
            "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n\
             *.key filter=git-secret diff=git-secret merge=git-secret -text\n\
             .gitattributes !filter !diff !merge\n",
        );
        self.git(&["add", ".gitattributes"]);
        self.git(&["commit", "-q", "-m", "mark secrets"]);
    }

    /// A snapshot of everything a refused command must leave alone: work tree
    /// files (outside .git), the index, HEAD, local config and the key store.
    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = self.snapshot_without_keys();
        let key_dir = self.key_dir();
        if key_dir.exists() {
            collect_files(&key_dir, &key_dir, &mut snapshot.keys);
        }
        snapshot
    }
}

impl Repo<'_> {
    /// Like `snapshot`, for a repository whose key location is not a directory.
    pub fn snapshot_without_keys(&self) -> Snapshot {
        let mut files = Vec::new();
        collect_files(&self.dir, &self.dir, &mut files);
        Snapshot {
            files,
            index: self.git(&["ls-files", "-s"]),
            head: self
                .git_output(&["rev-parse", "-q", "--verify", "HEAD"])
                .stdout,
            config: self.git(&["config", "--local", "--list"]),
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    files: Vec<(String, Vec<u8>)>,
    index: String,
    head: Vec<u8>,
    config: String,
    keys: Vec<(String, Vec<u8>)>,
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.file_name() == Some(OsStr::new(".git")) {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((name, fs::read(&path).unwrap_or_default()));
        }
    }
}

/// Starts `cmd` with all three standard streams piped.
pub fn spawn_piped(cmd: &mut Command) -> std::process::Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = spawn_piped(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts a refusal: exit code 1 and a message on stderr containing `needle`.
pub fn assert_refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, got {}; stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains(needle),
        "stderr should mention {needle:?}: {stderr}"
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when `data` is a git-secret blob (starts with the magic).
pub fn is_encrypted(data: &[u8]) -> bool {
    data.starts_with(b"\0GITSECRET")
}

pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The venv that holds the real python-dotenv and ansible-core the parity and
/// deploy tests compare against. `.ci/run` makes it first; a local
/// `cargo test` makes it here on first use (same script, so the same pins).
pub fn test_venv() -> &'static Path {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = std::env::var_os("GIT_SECRET_TEST_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/test-venv"));
        let out = Command::new(root.join("scripts/test-venv.sh"))
            .env("GIT_SECRET_TEST_VENV", &venv)
            .output()
            .expect("run scripts/test-venv.sh");
        assert!(
            out.status.success(),
            "scripts/test-venv.sh failed (python3 with venv and pip, and PyPI, are needed):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        venv
    })
}

/// The test-only age plugin `examples/age-plugin-gstest.rs`, which a plain
/// `cargo test` builds beside our binary (examples are built for tests;
/// `cargo test --test it` alone does not rebuild it).
pub fn test_plugin_exe() -> PathBuf {
    let exe = Path::new(BIN)
        .parent()
        .expect("the binary has a directory")
        .join("examples/age-plugin-gstest");
    assert!(
        exe.is_file(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --example age-plugin-gstest`",
        exe.display()
    );
    exe
}

impl Sandbox {
    /// PATH with the test plugin on it as `age-plugin-gstest`, for commands
    /// that should find the plugin (`.env("PATH", …)`).
    pub fn path_with_test_plugin(&self) -> std::ffi::OsString {
        let bin = self.path().join("plugin-bin");
        if !bin.exists() {
            fs::create_dir_all(&bin).unwrap();
            std::os::unix::fs::symlink(test_plugin_exe(), bin.join("age-plugin-gstest")).unwrap();
        }
        let mut dirs = vec![bin];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).unwrap()
    }
}
