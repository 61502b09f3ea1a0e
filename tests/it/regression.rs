//! Regression tests for the bugs of issue 11, one test per bug, named after
//! it (ripgrep's tests/regression.rs style). Each was written before the fix
//! and failed on the code it was written against; each was `#[ignore]`d with
//! the issue number until its fix landed (all have landed). They assert the required behaviour (exit codes,
//! file contents, key presence, `git status --porcelain`), not messages,
//! except where the bug is the message.
//!
//! Determinism notes:
//! - Item 4 (two concurrent unlocks) is a race. Two processes are started
//!   together on 200 files, for up to two rounds; on the code this was
//!   written against every round broke the work tree (files missing, or
//!   `.git/config` locked by the other run), so the test fails in round one.
//! - Item 5 has two tests: the crash points of src/fault.rs, and a real
//!   `kill -9` on 400 files (500 made the test take over 3 s here). The kill
//!   is aimed, not timed: the test polls the work tree and the re-checkout
//!   marker every millisecond and kills the whole process group (unlock and
//!   the git it runs) as soon as the rewrite of the files has visibly
//!   started; on the code it was written against, every run left 190–360
//!   files missing. If the rewrite is ever too fast to catch, the test still
//!   checks the invariant on whatever state the kill left.
//! - Items 10 and 17 have two tests each (one per symptom in the tracker).
//! - Item 18's "`git add` them again" advice only fails when git's racy-clean
//!   check does not re-read the file, i.e. when the file's mtime is older than
//!   the index; the test sets it to 2020 so it never depends on timing.
//!   Item 18's second half is its own test.
//!
//! Nothing was skipped. Items 1 and 2 (key loss) are tested in keyloss.rs.

use crate::harness::*;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;

// ---------------------------------------------------------------- helpers

/// Exports `repo`'s default key to `<sandbox>/<file>` (outside HOME); returns the path.
fn export(repo: &Repo, file: &str) -> String {
    let path = repo.sandbox.path().join(file);
    let path = path.to_str().unwrap().to_owned();
    repo.secret_ok(&["export-key", "--force", &path]);
    path
}

/// Runs our binary in `repo` with extra environment variables.
fn secret_env(repo: &Repo, env: &[(&str, &OsStr)], args: &[&str]) -> Output {
    let mut cmd = repo.sandbox.command(BIN, &repo.dir);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.args(args).output().unwrap()
}

/// Runs git in `repo` with arguments that need not be UTF-8.
fn git_os(repo: &Repo, args: &[&OsStr]) -> Output {
    repo.sandbox
        .command("git", &repo.dir)
        .args(args)
        .output()
        .unwrap()
}

/// `git clone ARGS... SOURCE NAME` in the sandbox; asserts success.
fn clone_with<'s>(sandbox: &'s Sandbox, args: &[&str], source: &str, name: &str) -> Repo<'s> {
    let out = sandbox
        .command("git", sandbox.path())
        .args(["clone", "-q"])
        .args(args)
        .arg(source)
        .arg(name)
        .output()
        .unwrap();
    assert_success(&out, &format!("git clone {} {source}", args.join(" ")));
    sandbox.open(sandbox.path().join(name))
}

fn file_url(repo: &Repo) -> String {
    format!("file://{}", repo.dir.display())
}

/// An age identity file `<sandbox>/<name>.agekey`; returns (its path, the public key).
fn age_identity(sandbox: &Sandbox, name: &str) -> (PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let path = sandbox.path().join(format!("{name}.agekey"));
    std::fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    (path, identity.to_public().to_string())
}

/// `unlock --no-ring` with the age identity at `identity` (no key file).
fn unlock_with_identity(repo: &Repo, identity: &Path) -> Output {
    secret_env(
        repo,
        &[("GIT_SECRET_IDENTITY", identity.as_os_str())],
        &["unlock", "--no-ring"],
    )
}

/// A locked repository with `n` committed secrets `secrets/{i}.env` = `S{i}=1\n`,
/// and the path of its exported key file.
fn many_secrets<'s>(sandbox: &'s Sandbox, name: &str, n: usize) -> (Repo<'s>, String) {
    let repo = sandbox.init_repo(name);
    repo.secret_ok(&["init"]);
    repo.mark_default();
    for i in 0..n {
        repo.write(&format!("secrets/{i}.env"), format!("S{i}=1\n"));
    }
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "many secrets"]);
    let key = export(&repo, &format!("{name}.key"));
    repo.secret_ok(&["lock"]);
    (repo, key)
}

fn plaintext_of(i: usize) -> Vec<u8> {
    format!("S{i}=1\n").into_bytes()
}

/// Asserts every `secrets/{i}.env` exists and is whole: its plaintext, or a
/// ciphertext (never missing, empty or anything else).
fn assert_every_file_whole(repo: &Repo, ciphertexts: &[Vec<u8>], when: &str) {
    let n = ciphertexts.len();
    let mut bad = Vec::new();
    for (i, ciphertext) in ciphertexts.iter().enumerate() {
        match std::fs::read(repo.dir.join(format!("secrets/{i}.env"))) {
            Ok(data) if data == plaintext_of(i) || data == *ciphertext => {}
            Ok(data) => bad.push(format!("{i}.env: {} byte(s), neither version", data.len())),
            Err(e) => bad.push(format!("{i}.env: {e}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{when}: {} of {n} marked file(s) missing or partly written, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

fn assert_all_plaintext(repo: &Repo, n: usize, when: &str) {
    for i in 0..n {
        let path = format!("secrets/{i}.env");
        assert!(repo.exists(&path), "{when}: {path} is missing");
        assert_eq!(repo.read(&path), plaintext_of(i), "{when}: {path}");
    }
}

fn assert_all_ciphertext(repo: &Repo, n: usize, when: &str) {
    for i in 0..n {
        let path = format!("secrets/{i}.env");
        assert!(repo.exists(&path), "{when}: {path} is missing");
        assert!(is_encrypted(&repo.read(&path)), "{when}: {path}");
    }
}

fn exit_code(out: &Output) -> Option<i32> {
    out.status.code()
}

// ---------------------------------------------------------------- 1

// ---------------------------------------------------------------- 2

// ---------------------------------------------------------------- 3

/// "unlock while another git holds index.lock: the marked files are deleted."
#[test]
fn a_failed_checkout_deletes_the_marked_files() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/a.env", b"A=1\n"), ("secrets/b.env", b"B=1\n")],
    );
    let key = export(&repo, "alice.key");
    repo.secret_ok(&["lock"]);
    let files = ["secrets/a.env", "secrets/b.env"];
    let ciphertext: Vec<Vec<u8>> = files.iter().map(|f| repo.read(f)).collect();
    let index_lock = repo.dir.join(".git/index.lock");

    // unlock: files keep their ciphertext, the key is not installed.
    std::fs::write(&index_lock, "").unwrap();
    let out = repo.secret(&["unlock", "--no-ring", &key]);
    assert_eq!(exit_code(&out), Some(1), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("index.lock"),
        "says why: {}",
        stderr(&out)
    );
    for (file, old) in files.iter().zip(&ciphertext) {
        assert!(repo.exists(file), "unlock deleted {file}");
        assert_eq!(&repo.read(file), old, "{file} keeps its ciphertext");
    }
    assert!(
        !repo.key_dir().join("default.key").exists(),
        "key not installed"
    );
    std::fs::remove_file(&index_lock).unwrap();
    assert_eq!(repo.status(), "", "git status after the failed unlock");

    // lock: files keep their plaintext, the key stays.
    repo.secret_ok(&["unlock", "--no-ring", &key]);
    std::fs::write(&index_lock, "").unwrap();
    let out = repo.secret(&["lock"]);
    assert_eq!(exit_code(&out), Some(1), "stderr: {}", stderr(&out));
    for (file, plain) in files.iter().zip([b"A=1\n", b"B=1\n"]) {
        assert!(repo.exists(file), "lock deleted {file}");
        assert_eq!(repo.read(file), plain, "{file} keeps its plaintext");
    }
    assert!(repo.key_dir().join("default.key").exists(), "key stays");
    std::fs::remove_file(&index_lock).unwrap();
    assert_eq!(repo.status(), "", "git status after the failed lock");
}

// ---------------------------------------------------------------- 4

/// "Two `unlock`s at once leave marked files deleted and `git status` dirty."
#[test]
fn two_concurrent_unlocks_break_the_work_tree() {
    const N: usize = 200;
    let sandbox = Sandbox::new();
    let (repo, key) = many_secrets(&sandbox, "busy", N);
    for round in 1..=2 {
        let outs: Vec<Output> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| repo.secret(&["unlock", "--no-ring", &key])))
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let why = format!(
            "round {round}; exits {:?}; stderr: {} / {}",
            outs.iter().map(exit_code).collect::<Vec<_>>(),
            stderr(&outs[0]),
            stderr(&outs[1])
        );
        assert!(
            outs.iter().any(|o| o.status.success()),
            "neither unlock succeeded: {why}"
        );
        assert_all_plaintext(&repo, N, &why);
        assert_eq!(repo.status(), "", "{why}");
        let out = repo.secret(&["lock"]);
        assert_success(&out, &format!("lock after round {round}"));
        assert_all_ciphertext(&repo, N, &format!("after lock, round {round}"));
    }
    assert_success(&repo.secret(&["unlock", "--no-ring", &key]), "final unlock");
    assert_all_plaintext(&repo, N, "final unlock");
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- 5

/// "Killed while git writes the files: marked files are missing afterwards" (crash points).
#[test]
fn a_crashed_unlock_or_lock_leaves_marked_files_missing() {
    const N: usize = 40;
    // Crash points (GIT_SECRET_FAULT, src/fault.rs). A fix may drop a point
    // (then the command just runs through); the invariant is the same.
    for (command, point) in [
        ("unlock", "unlock:half-written"),
        ("lock", "lock:half-written"),
    ] {
        let sandbox = Sandbox::new();
        let (repo, key) = many_secrets(&sandbox, "crash", N);
        let ciphertexts: Vec<Vec<u8>> = (0..N)
            .map(|i| repo.read(&format!("secrets/{i}.env")))
            .collect();
        let args: Vec<&str> = if command == "unlock" {
            vec!["unlock", "--no-ring", &key]
        } else {
            repo.secret_ok(&["unlock", "--no-ring", &key]);
            vec!["lock"]
        };
        let out = secret_env(&repo, &[("GIT_SECRET_FAULT", OsStr::new(point))], &args);
        let when = format!("after a crash at {point} (exit {:?})", exit_code(&out));
        assert_every_file_whole(&repo, &ciphertexts, &when);
        assert_success(&repo.secret(&args), &format!("{command} rerun {when}"));
        if command == "unlock" {
            assert_all_plaintext(&repo, N, &when);
        } else {
            assert_all_ciphertext(&repo, N, &when);
        }
        assert_eq!(repo.status(), "", "{when}");
    }
}

/// "Killed while git writes the files: marked files are missing afterwards" (`kill -9`).
#[test]
fn a_killed_unlock_leaves_marked_files_missing() {
    // A real kill -9 of unlock (and the git it runs) while 400 files are rewritten.
    const BIG: usize = 400;
    use std::os::unix::process::CommandExt;
    let sandbox = Sandbox::new();
    let (repo, key) = many_secrets(&sandbox, "kill", BIG);
    let ciphertexts: Vec<Vec<u8>> = (0..BIG)
        .map(|i| repo.read(&format!("secrets/{i}.env")))
        .collect();
    let marker = repo.dir.join(".git/git-secret-pending");
    let watched = [0, BIG / 2, BIG - 1].map(|i| (repo.dir.join(format!("secrets/{i}.env")), i));
    let mut child = repo
        .sandbox
        .command(BIN, &repo.dir)
        .args(["unlock", "--no-ring", &key])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut killed = false;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let rewriting = marker.exists()
            || watched
                .iter()
                .any(|(path, i)| std::fs::read(path).map_or(true, |data| data != ciphertexts[*i]));
        if rewriting || started.elapsed() > std::time::Duration::from_secs(20) {
            let status = std::process::Command::new("kill")
                .args(["-9", "--", &format!("-{}", child.id())])
                .status()
                .unwrap();
            killed = status.success();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = child.wait();
    // Let any orphaned git of the group finish dying before we look.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let when = format!(
        "after kill -9 of unlock ({}) at {:?}",
        if killed {
            "killed"
        } else {
            "it had already exited"
        },
        started.elapsed()
    );
    assert_every_file_whole(&repo, &ciphertexts, &when);
    let _ = std::fs::remove_file(repo.dir.join(".git/index.lock")); // a killed git leaves it
    assert_success(
        &repo.secret(&["unlock", "--no-ring", &key]),
        &format!("unlock rerun {when}"),
    );
    assert_all_plaintext(&repo, BIG, &when);
    assert_eq!(repo.status(), "", "{when}");
}

// ---------------------------------------------------------------- 6

/// Parses `git version X.Y.Z…` into (X, Y).
fn git_version(sandbox: &Sandbox) -> (u32, u32) {
    let out = sandbox
        .command("git", sandbox.path())
        .arg("--version")
        .output()
        .unwrap();
    let text = stdout(&out);
    let version = text.split_whitespace().nth(2).unwrap_or("0.0");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// "In a reftable or SHA-256 repository: `not inside a git repository (unsupported extension …)`."
#[test]
fn reftable_and_sha256_repositories_are_not_recognised() {
    let sandbox = Sandbox::new();
    let version = git_version(&sandbox);
    let formats: [(&str, (u32, u32)); 2] = [
        ("--object-format=sha256", (2, 29)),
        ("--ref-format=reftable", (2, 45)),
    ];
    for (flag, needs) in formats {
        if version < needs {
            eprintln!(
                "note: skipping {flag}: git {}.{} is older than {}.{}",
                version.0, version.1, needs.0, needs.1
            );
            continue;
        }
        let name = flag.trim_start_matches("--").replace(['=', '-'], "_");
        let dir = sandbox.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let repo = sandbox.open(dir);
        repo.git(&["init", "-q", flag]);
        repo.write("README", "hello\n");
        repo.git(&["add", "README"]);
        repo.git(&["commit", "-qm", "initial"]);
        let out = repo.secret(&["init"]);
        assert_success(&out, &format!("init in a {flag} repository"));
        repo.mark_default();
        repo.write("secrets/a.env", "A=1\n");
        repo.git(&["add", "."]);
        repo.git(&["commit", "-qm", "secret"]);
        assert!(is_encrypted(&repo.stored("HEAD:secrets/a.env")), "{flag}");
        assert_success(&repo.secret(&["status"]), &format!("status ({flag})"));
        let key = export(&repo, &format!("{name}.key"));
        assert_success(&repo.secret(&["lock"]), &format!("lock ({flag})"));
        assert!(is_encrypted(&repo.read("secrets/a.env")), "{flag}");
        assert_success(
            &repo.secret(&["unlock", "--no-ring", &key]),
            &format!("unlock ({flag})"),
        );
        assert_eq!(repo.read("secrets/a.env"), b"A=1\n", "{flag}");
        assert_eq!(repo.status(), "", "{flag}");

        let clone_flags: &[&str] = if flag.starts_with("--ref-format") {
            &[flag]
        } else {
            &[]
        };
        let clone = clone_with(
            &sandbox,
            clone_flags,
            repo.dir.to_str().unwrap(),
            &format!("{name}-clone"),
        );
        assert_success(
            &clone.secret(&["unlock", "--no-ring", &key]),
            &format!("unlock in a clone ({flag})"),
        );
        assert_eq!(clone.read("secrets/a.env"), b"A=1\n", "{flag}");
        assert_eq!(clone.status(), "", "{flag}");
    }
}

// ---------------------------------------------------------------- 7

/// "Partial clone: `cannot read blob …: object not found` (no fetch on demand)."
#[test]
fn partial_clones_fail_on_missing_blobs() {
    let sandbox = Sandbox::new();
    let origin = sandbox.init_repo("origin");
    origin.secret_ok(&["init"]);
    origin.mark_default();
    origin.write("secrets/a.env", "A=1\n");
    origin.write("top.key", "T=1\n");
    origin.git(&["add", "."]);
    origin.git(&["commit", "-qm", "c1"]);
    let c1 = origin.git(&["rev-parse", "HEAD"]).trim().to_owned();
    origin.write("secrets/a.env", "A=2\n");
    origin.git(&["commit", "-qam", "c2"]);
    let c2 = origin.git(&["rev-parse", "HEAD"]).trim().to_owned();
    origin.write("secrets/a.env", "A=3\n");
    origin.write("secrets/b.env", "B=1\n");
    origin.git(&["add", "."]);
    origin.git(&["commit", "-qm", "c3"]);
    origin.git(&["config", "uploadpack.allowFilter", "true"]);
    origin.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let key = export(&origin, "origin.key");
    let range = format!("{c1}..{c2}");

    let clones: [(&str, &[&str]); 3] = [
        ("blobless", &["--filter=blob:none"]),
        ("treeless", &["--filter=tree:0"]),
        ("sparse-blobless", &["--sparse", "--filter=blob:none"]),
    ];
    for (name, flags) in clones {
        let clone = clone_with(&sandbox, flags, &file_url(&origin), name);
        let checks: [&[&str]; 4] = [
            &["audit"],
            &["check", "--range", &range],
            &["status"],
            &["check", "--staged"],
        ];
        for args in checks {
            let out = clone.secret(args);
            assert_success(
                &out,
                &format!("git-secret {} in a {name} clone", args.join(" ")),
            );
        }
        let out = clone.secret(&["unlock", "--no-ring", &key]);
        assert_success(&out, &format!("unlock in a {name} clone"));
        assert_eq!(clone.read("top.key"), b"T=1\n", "{name}");
        if clone.exists("secrets/a.env") {
            assert_eq!(clone.read("secrets/a.env"), b"A=3\n", "{name}");
        }
        assert_eq!(clone.status(), "", "{name}");
    }
}

// ---------------------------------------------------------------- 8

/// "Sparse checkout: unlock fails (`pathspec … did not match`) and deletes in-cone files."
#[test]
fn sparse_checkouts_lose_in_cone_files() {
    let sandbox = Sandbox::new();
    let origin = sandbox.repo_with_secrets(
        "origin",
        &[
            ("secrets/in/a.env", b"I=1\n"),
            ("secrets/out/b.env", b"O=1\n"),
            ("top.key", b"T=1\n"),
        ],
    );
    let key = export(&origin, "origin.key");
    let source = origin.dir.to_str().unwrap().to_owned();

    // (name, clone flags, sparse set-up, how b.env is brought in later)
    type Steps<'a> = &'a [&'a [&'a str]];
    let modes: [(&str, &[&str], Steps, Steps); 4] = [
        (
            "cone",
            &[],
            &[&["sparse-checkout", "set", "secrets/in"]],
            &[&["sparse-checkout", "add", "secrets/out"]],
        ),
        (
            "non-cone",
            &[],
            &[&[
                "sparse-checkout",
                "set",
                "--no-cone",
                "/*",
                "!/secrets/out/",
            ]],
            &[&["sparse-checkout", "set", "--no-cone", "/*"]],
        ),
        (
            "sparse-index",
            &[],
            &[&["sparse-checkout", "set", "--sparse-index", "secrets/in"]],
            &[&["sparse-checkout", "disable"]],
        ),
        (
            "clone-sparse",
            &["--sparse"],
            &[&["sparse-checkout", "add", "secrets/in"]],
            &[&["sparse-checkout", "add", "secrets/out"]],
        ),
    ];
    for (name, flags, setup, later) in modes {
        let clone = clone_with(&sandbox, flags, &source, name);
        for args in setup {
            clone.git(args);
        }
        assert!(clone.exists("secrets/in/a.env") && !clone.exists("secrets/out/b.env"));
        let out = clone.secret(&["unlock", "--no-ring", &key]);
        assert_success(&out, &format!("unlock ({name})"));
        assert_eq!(clone.read("secrets/in/a.env"), b"I=1\n", "{name}");
        assert_eq!(clone.read("top.key"), b"T=1\n", "{name}");
        assert_eq!(clone.status(), "", "{name}: status after unlock");
        for args in later {
            clone.git(args);
        }
        assert_eq!(
            clone.read("secrets/out/b.env"),
            b"O=1\n",
            "{name}: a file brought in after unlock is decrypted"
        );
        assert_eq!(clone.status(), "", "{name}: status after widening");
        for args in setup {
            clone.git(args);
        }
        let out = clone.secret(&["lock"]);
        assert_success(&out, &format!("lock ({name})"));
        assert!(
            clone.exists("secrets/in/a.env"),
            "{name}: lock deleted a.env"
        );
        assert!(is_encrypted(&clone.read("secrets/in/a.env")), "{name}");
        assert!(is_encrypted(&clone.read("top.key")), "{name}");
        assert_eq!(clone.status(), "", "{name}: status after lock");
    }
}

// ---------------------------------------------------------------- 9

/// "A tracked path that is not UTF-8: `a tracked path is not valid UTF-8` from every command."
#[test]
fn a_non_utf8_file_name_breaks_every_command() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    let name = OsStr::from_bytes(b"secrets/caf\xe9.env");
    std::fs::write(repo.dir.join(name), "X=1\n").unwrap();
    assert_success(&git_os(&repo, &[OsStr::new("add"), name]), "git add");
    assert_success(
        &repo.git_output(&["commit", "-qm", "non-UTF-8 name"]),
        "git commit (pre-commit hook)",
    );
    let spec = {
        let mut spec = OsString::from("HEAD:");
        spec.push(name);
        spec
    };
    let blob = git_os(&repo, &[OsStr::new("cat-file"), OsStr::new("blob"), &spec]);
    assert!(is_encrypted(&blob.stdout), "the blob is encrypted");
    assert_success(&repo.secret(&["status"]), "status");
    let key = export(&repo, "alice.key");
    assert_success(&repo.secret(&["lock"]), "lock");
    assert!(is_encrypted(&std::fs::read(repo.dir.join(name)).unwrap()));
    assert_success(&repo.secret(&["unlock", "--no-ring", &key]), "unlock");
    assert_eq!(std::fs::read(repo.dir.join(name)).unwrap(), b"X=1\n");
    assert_success(&repo.secret(&["rotate"]), "rotate");
    assert_success(
        &repo.git_output(&["commit", "-qm", "rotate"]),
        "git commit of the rotation",
    );
    std::fs::write(repo.dir.join(name), "X=2\n").unwrap();
    assert_success(
        &repo.git_output(&["commit", "-qam", "change"]),
        "git commit -a (pre-commit hook)",
    );
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- 10

/// Alice's repository with `path` marked (besides `secrets/**` and `*.key`)
/// and committed holding `TOKEN=1`.
fn alice_with<'s>(sandbox: &'s Sandbox, path: &str) -> Repo<'s> {
    let repo = sandbox.init_repo("alice");
    repo.write("README", "hello\n");
    repo.git(&["add", "README"]);
    repo.git(&["commit", "-qm", "initial"]);
    repo.secret_ok(&["init"]);
    repo.write(
        ".gitattributes",
        format!(
            "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n\
             *.key filter=git-secret diff=git-secret merge=git-secret -text\n\
             {path} filter=git-secret diff=git-secret merge=git-secret -text\n\
             .gitattributes !filter !diff !merge\n"
        ),
    );
    repo.write(path, "TOKEN=1\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "secret"]);
    repo
}

/// "After a teammate's rotation, `git pull` leaves ` D .env` and `unlock NEWKEYFILE` refuses: uncommitted changes."
#[test]
fn a_pulled_rotation_cannot_be_unlocked() {
    let sandbox = Sandbox::new();
    let alice = alice_with(&sandbox, ".env");
    let old = export(&alice, "old.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.secret_ok(&["unlock", "--no-ring", &old]);
    alice.secret_ok(&["rotate"]);
    alice.git(&["commit", "-qm", "rotate"]);
    alice.write(".env", "TOKEN=2\n");
    alice.git(&["commit", "-qam", "new token"]);
    let new = export(&alice, "new.key");

    // Fails: the new generation is not installed here (git leaves ` D .env`).
    let _ = bob.git_output(&["pull", "-q"]);
    let out = bob.secret(&["unlock", "--no-ring", &new]);
    assert_success(&out, "unlock NEWKEYFILE after the failed pull");
    let out = bob.git_output(&["pull", "-q"]);
    assert_success(&out, "git pull after unlocking the new generation");
    assert_eq!(bob.read(".env"), b"TOKEN=2\n");
    assert_eq!(bob.status(), "");
    assert_eq!(
        bob.git(&["rev-parse", "HEAD"]),
        alice.git(&["rev-parse", "HEAD"])
    );
}

/// "The rotation arrives in `.git-secret/keys.age`; plain `unlock` says `nothing to do`."
#[test]
fn a_rotation_in_keys_age_is_nothing_to_do_for_unlock() {
    // `.env` sorts before `.git-secret/`, so the failed pull stops before it
    // writes the new keys.age (today: "nothing to do"); `secrets/app.env`
    // sorts after it, so the work tree already has it (today: "uncommitted
    // changes").
    for path in [".env", "secrets/app.env"] {
        let sandbox = Sandbox::new();
        let alice = alice_with(&sandbox, path);
        let (carol_identity, carol) = age_identity(&sandbox, "carol");
        let (_, dave) = age_identity(&sandbox, "dave");
        alice.secret_ok(&["add-user", &carol]);
        alice.secret_ok(&["add-user", &dave]);
        alice.git(&["commit", "-qm", "share with carol and dave"]);
        let carol_repo = sandbox.clone_repo(&alice, "carol");
        assert_success(
            &unlock_with_identity(&carol_repo, &carol_identity),
            "carol unlocks",
        );
        assert_eq!(carol_repo.read(path), b"TOKEN=1\n");
        // remove-user rotates and re-wraps keys.age for the others (rotate alone
        // does not re-wrap it: see rotate_does_not_rewrap_keys_age).
        alice.secret_ok(&["remove-user", &dave]);
        alice.git(&["commit", "-qm", "remove dave"]);
        alice.write(path, "TOKEN=2\n");
        alice.git(&["commit", "-qam", "new token"]);

        // Fails: the new generation is not installed here.
        let _ = carol_repo.git_output(&["pull", "-q"]);
        let out = unlock_with_identity(&carol_repo, &carol_identity);
        assert_success(
            &out,
            &format!("{path}: plain unlock after the rotation arrived"),
        );
        let out = carol_repo.git_output(&["pull", "-q"]);
        assert_success(&out, &format!("{path}: git pull after unlock"));
        assert_eq!(carol_repo.read(path), b"TOKEN=2\n", "{path}");
        assert_eq!(carol_repo.status(), "", "{path}");
    }
}

// ---------------------------------------------------------------- 11

/// "With rerere, a replayed resolution leaves ciphertext in the work tree."
#[test]
fn rerere_replays_ciphertext_into_the_work_tree() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/s.env", b"A=base\n")]);
    repo.git(&["config", "rerere.enabled", "true"]);
    repo.git(&["checkout", "-qb", "other"]);
    repo.write("secrets/s.env", "A=theirs\n");
    repo.git(&["commit", "-qam", "theirs"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("secrets/s.env", "A=ours\n");
    repo.git(&["commit", "-qam", "ours"]);
    assert!(!repo.git_output(&["merge", "other"]).status.success());
    assert!(contains(&repo.read("secrets/s.env"), b"<<<<<<<"));
    repo.write("secrets/s.env", "A=resolved\n");
    repo.git(&["add", "secrets/s.env"]);
    repo.git(&["commit", "-qm", "merged"]);

    // The same merge again: rerere replays the recorded resolution.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let out = repo.git_output(&["merge", "other"]);
    assert!(
        stdout(&out).contains("previous resolution")
            || stderr(&out).contains("previous resolution"),
        "rerere replayed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        repo.read("secrets/s.env"),
        b"A=resolved\n",
        "the replayed resolution is plaintext in the work tree"
    );
    assert_eq!(repo.status(), "UU secrets/s.env\n");
    repo.git(&["add", "secrets/s.env"]);
    assert_eq!(repo.status(), "M  secrets/s.env\n");
    assert!(is_encrypted(&repo.stored(":secrets/s.env")));
    assert_eq!(
        repo.git(&["cat-file", "--filters", ":secrets/s.env"]),
        "A=resolved\n"
    );
    repo.git(&["commit", "-qm", "merged again"]);
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- 12

/// "The binary the drivers name is gone: `unlock` says `nothing to do` and git keeps failing."
#[test]
fn unlock_keeps_drivers_that_name_a_deleted_binary() {
    let sandbox = Sandbox::new();
    let alice = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    let key = export(&alice, "alice.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    let copy = sandbox.path().join("old-bin/git-secret");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(BIN, &copy).unwrap();
    let out = sandbox
        .command(&copy, &bob.dir)
        .args(["unlock", "--no-ring", &key])
        .output()
        .unwrap();
    assert_success(&out, "unlock with the copied binary");
    std::fs::remove_file(&copy).unwrap();

    assert_success(&bob.secret(&["unlock", "--no-ring", &key]), "unlock");
    let config = bob.git(&["config", "--local", "--list"]);
    assert!(
        !config.contains(copy.to_str().unwrap()),
        "config still names the deleted binary:\n{config}"
    );
    assert!(
        bob.git(&["config", "filter.git-secret.process"])
            .contains(BIN),
        "config names the real binary:\n{config}"
    );
    assert_eq!(bob.status(), "");
    bob.write("secrets/a.env", "A=2\n");
    assert_eq!(bob.status(), " M secrets/a.env\n");
    bob.git(&["checkout", "--", "secrets/a.env"]);
    assert_eq!(bob.read("secrets/a.env"), b"A=1\n");
    assert_eq!(bob.status(), "");
}

// ---------------------------------------------------------------- 13

/// "`core.hooksPath=.husky`: unlock rewrites the tracked `.husky/pre-commit`."
#[test]
fn unlock_rewrites_a_tracked_hook() {
    let sandbox = Sandbox::new();
    let alice = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    let hook = "#!/bin/sh\nnpm test\n";
    alice.write(".husky/pre-commit", hook);
    alice.git(&["add", ".husky"]);
    alice.git(&["commit", "-qm", "husky"]);
    let key = export(&alice, "alice.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.git(&["config", "core.hooksPath", ".husky"]);
    let out = bob.secret(&["unlock", "--no-ring", &key]);
    assert_success(&out, "unlock");
    assert_eq!(bob.read("secrets/a.env"), b"A=1\n");
    assert_eq!(
        bob.read(".husky/pre-commit"),
        hook.as_bytes(),
        "tracked hook unchanged"
    );
    let husky: Vec<_> = std::fs::read_dir(bob.dir.join(".husky"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(husky, ["pre-commit"], "no file added to .husky");
    assert_eq!(bob.status(), "", "unlock modified the work tree");
    assert!(
        stderr(&out).contains("git-secret check --staged"),
        "prints the hook line to add: {}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------- 14

/// "A symlink at a marked path: the pre-commit hook refuses the commit; status and audit call it a leak."
#[test]
fn a_symlink_at_a_marked_path_is_called_a_leak() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    std::os::unix::fs::symlink("a.env", repo.dir.join("secrets/link.env")).unwrap();
    repo.git(&["add", "secrets/link.env"]);
    assert_success(&repo.secret(&["check", "--staged"]), "check --staged");
    assert_success(
        &repo.git_output(&["commit", "-qm", "link"]),
        "git commit (pre-commit hook)",
    );
    assert_success(&repo.secret(&["status"]), "status");
    assert!(!stdout(&repo.secret(&["status"])).contains("NOT ENCRYPTED"));
    assert_success(&repo.secret(&["audit"]), "audit");
}

// ---------------------------------------------------------------- 15

/// "A submodule under a marked directory: `cannot read blob …` from check, status and unlock; lock refuses."
#[test]
fn a_submodule_under_a_marked_directory_breaks_the_commands() {
    let sandbox = Sandbox::new();
    let sub = sandbox.init_repo("sub");
    sub.write("f", "s\n");
    sub.git(&["add", "f"]);
    sub.git(&["commit", "-qm", "sub"]);
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    repo.git(&[
        "submodule",
        "add",
        "-q",
        sub.dir.to_str().unwrap(),
        "secrets/vendor",
    ]);
    assert_success(&repo.secret(&["check", "--staged"]), "check --staged");
    assert_success(
        &repo.git_output(&["commit", "-qm", "submodule"]),
        "git commit (pre-commit hook)",
    );
    assert_success(&repo.secret(&["status"]), "status");
    let key = export(&repo, "alice.key");
    assert_success(&repo.secret(&["lock"]), "lock");
    assert!(is_encrypted(&repo.read("secrets/a.env")));
    assert_eq!(repo.read("secrets/vendor/f"), b"s\n");
    assert_eq!(repo.status(), "");
    assert_success(&repo.secret(&["unlock", "--no-ring", &key]), "unlock");
    assert_eq!(repo.read("secrets/a.env"), b"A=1\n");
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- 16

/// "An empty marked file always looks modified: `lock` refuses it without --force."
#[test]
fn an_empty_marked_file_always_looks_modified() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/a.env", b"A=1\n"), ("secrets/empty.env", b"")],
    );
    let quiet = |when: &str| {
        let out = repo.git_output(&["diff-files", "--quiet"]);
        assert_eq!(
            exit_code(&out),
            Some(0),
            "{when}: git diff-files --quiet: {}",
            stdout(&repo.git_output(&["diff-files"]))
        );
    };
    let no_leak = |when: &str| {
        let out = repo.secret(&["status"]);
        assert_success(&out, &format!("status ({when})"));
        assert!(
            !stdout(&out).contains("NOT ENCRYPTED"),
            "{when}: {}",
            stdout(&out)
        );
        assert_success(
            &repo.secret(&["check", "--staged"]),
            &format!("check --staged ({when})"),
        );
        assert_success(&repo.secret(&["audit"]), &format!("audit ({when})"));
    };
    quiet("unlocked");
    no_leak("unlocked");
    let key = export(&repo, "alice.key");
    assert_success(&repo.secret(&["lock"]), "lock without --force");
    assert!(is_encrypted(&repo.read("secrets/a.env")));
    quiet("locked");
    no_leak("locked");
    assert_eq!(repo.status(), "");
    assert_success(&repo.secret(&["unlock", "--no-ring", &key]), "unlock");
    assert_eq!(repo.read("secrets/empty.env"), b"");
    quiet("unlocked again");
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- 17

/// "After add-user, `rotate` leaves keys.age with the old generation: the recipient cannot unlock."
#[test]
fn rotate_does_not_rewrap_keys_age() {
    let sandbox = Sandbox::new();
    let alice = sandbox.repo_with_secrets("alice", &[("secrets/app.env", b"TOKEN=1\n")]);
    let (carol_identity, carol) = age_identity(&sandbox, "carol");
    alice.secret_ok(&["add-user", &carol]);
    alice.git(&["commit", "-qm", "share with carol"]);
    alice.secret_ok(&["rotate"]);
    alice.git(&["commit", "-qm", "rotate"]);
    alice.write("secrets/app.env", "TOKEN=2\n");
    alice.git(&["commit", "-qam", "new token"]);
    let carol_repo = sandbox.clone_repo(&alice, "carol");
    let out = unlock_with_identity(&carol_repo, &carol_identity);
    assert_success(&out, "carol unlocks after the rotation");
    assert_eq!(carol_repo.read("secrets/app.env"), b"TOKEN=2\n");
    assert_eq!(carol_repo.status(), "");
}

/// "`* filter=git-secret`: recipients.txt and keys.age are committed encrypted (`keys.age is damaged`)."
#[test]
fn a_catch_all_pattern_encrypts_the_recipient_files() {
    let sandbox = Sandbox::new();
    let alice = sandbox.init_repo("alice");
    alice.secret_ok(&["init"]);
    alice.write(
        ".gitattributes",
        "* filter=git-secret diff=git-secret merge=git-secret -text\n\
         .gitattributes !filter !diff !merge\n",
    );
    alice.write(".env", "TOKEN=1\n");
    alice.git(&["add", "."]);
    alice.git(&["commit", "-qm", "everything encrypted"]);
    let (carol_identity, carol) = age_identity(&sandbox, "carol");
    alice.secret_ok(&["add-user", &carol]);
    alice.git(&["commit", "-qm", "share with carol"]);
    assert!(is_encrypted(&alice.stored("HEAD:.env")));
    let recipients = alice.stored("HEAD:.git-secret/recipients.txt");
    assert!(
        !is_encrypted(&recipients) && contains(&recipients, carol.as_bytes()),
        "recipients.txt is stored in plaintext"
    );
    assert!(
        alice
            .stored("HEAD:.git-secret/keys.age")
            .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
        "keys.age is stored as age armor"
    );
    let carol_repo = sandbox.clone_repo(&alice, "carol");
    let out = unlock_with_identity(&carol_repo, &carol_identity);
    assert_success(&out, "carol unlocks");
    assert_eq!(carol_repo.read(".env"), b"TOKEN=1\n");
    assert_eq!(carol_repo.status(), "");
}

// ---------------------------------------------------------------- 18

/// "Plaintext staged before marking: following the hook's advice (`git add` them again) still fails the commit."
#[test]
fn the_hook_advice_to_git_add_again_does_not_work() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("alice");
    repo.write("README", "hello\n");
    repo.git(&["add", "README"]);
    repo.git(&["commit", "-qm", "initial"]);
    repo.secret_ok(&["init"]);
    repo.write("secrets/a.env", "A=1\n");
    // An mtime older than the index: git's racy-clean check cannot re-read it.
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800);
    std::fs::File::options()
        .write(true)
        .open(repo.dir.join("secrets/a.env"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    repo.git(&["add", "secrets/a.env"]);
    repo.write(
        ".gitattributes",
        "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n\
         .gitattributes !filter !diff !merge\n",
    );
    repo.git(&["add", ".gitattributes"]);
    let refused = repo.git_output(&["commit", "-qm", "secret"]);
    assert!(!refused.status.success(), "the hook refuses plaintext");
    let advice = stderr(&refused);

    // Follow every `git add …` the advice names, for the listed file.
    let commands: Vec<Vec<String>> = advice
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|snippet| snippet.starts_with("git add"))
        .map(|snippet| {
            let mut words: Vec<String> = snippet
                .split_whitespace()
                .skip(1)
                .map(|w| {
                    if w == "PATH" {
                        "secrets/a.env".to_owned()
                    } else {
                        w.to_owned()
                    }
                })
                .collect();
            if !words.iter().any(|w| w == "secrets/a.env") {
                words.push("secrets/a.env".to_owned());
            }
            words
        })
        .collect();
    assert!(
        !commands.is_empty(),
        "the advice names a `git add`: {advice}"
    );
    for words in &commands {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        repo.git(&words);
    }
    let out = repo.git_output(&["commit", "-qm", "secret"]);
    assert_success(
        &out,
        &format!("commit after following the advice {commands:?} of:\n{advice}"),
    );
    assert!(is_encrypted(&repo.stored("HEAD:secrets/a.env")));
}

/// "`lock` in a repository that never used git-secret says `already locked`" (chosen: exit 1, says no key / nothing to lock).
#[test]
fn lock_without_git_secret_says_already_locked() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("plain");
    repo.write("f", "x\n");
    repo.git(&["add", "f"]);
    repo.git(&["commit", "-qm", "x"]);
    let before = repo.snapshot();
    let out = repo.secret(&["lock"]);
    let message = stderr(&out);
    assert_eq!(exit_code(&out), Some(1), "stderr: {message}");
    let lower = message.to_lowercase();
    assert!(!lower.contains("already locked"), "{message}");
    assert!(
        lower.contains("no key") || lower.contains("nothing to lock"),
        "says there is no key / nothing to lock: {message}"
    );
    assert_eq!(repo.snapshot(), before);
}
