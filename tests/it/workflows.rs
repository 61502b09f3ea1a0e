//! Everyday git keeps working on an unlocked repository with encrypted files:
//! the work tree holds plaintext, commits hold ciphertext, status stays clean.

use crate::harness::*;
use std::fs;
use std::path::PathBuf;

const A: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";
const B: &[u8] = b"DB_PASSWORD=s3cr3t-beta\n";

/// A repository with the default key, two committed secrets and one ordinary file.
fn alice(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets("alice", &[("secrets/a.env", A), ("secrets/b.env", B)])
}

/// Asserts `path` is `plain` in the work tree and ciphertext in `rev`.
fn assert_secret(repo: &Repo, rev: &str, path: &str, plain: &[u8]) {
    assert_eq!(
        repo.read(path),
        plain,
        "{path}: work tree holds plaintext ({})",
        repo.dir.display()
    );
    let blob = repo.stored(&format!("{rev}:{path}"));
    assert!(is_encrypted(&blob), "{rev}:{path} is stored encrypted");
    assert!(!contains(&blob, b"s3cr3t"), "{rev}:{path} leaks plaintext");
}

fn export(repo: &Repo, file: &str) -> String {
    let path = repo.sandbox.path().join(file);
    let path = path.to_str().unwrap().to_owned();
    repo.secret_ok(&["export-key", &path]);
    path
}

#[test]
fn git_mv_commit_and_checkout_back_and_forth() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let blob = repo.git(&["rev-parse", "HEAD:secrets/a.env"]);
    repo.git(&["mv", "secrets/a.env", "secrets/moved.env"]);
    repo.git(&["commit", "-q", "-m", "rename"]);
    assert_eq!(repo.status(), "");
    assert_secret(&repo, "HEAD", "secrets/moved.env", A);
    assert_eq!(
        repo.git(&["rev-parse", "HEAD:secrets/moved.env"]),
        blob,
        "same content, same blob"
    );
    assert!(!repo.exists("secrets/a.env"));

    repo.git(&["checkout", "-q", "HEAD~1"]);
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    assert!(!repo.exists("secrets/moved.env"));
    assert_eq!(repo.status(), "");
    repo.git(&["checkout", "-q", "main"]);
    assert_secret(&repo, "HEAD", "secrets/moved.env", A);
    assert_eq!(repo.status(), "");
    // `git log --follow` finds the rename (identical blobs).
    let log = repo.git(&["log", "--follow", "--oneline", "--", "secrets/moved.env"]);
    assert_eq!(log.lines().count(), 2, "{log}");
}

#[test]
fn stash_and_stash_pop_of_a_changed_secret() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.write("secrets/a.env", "API_TOKEN=s3cr3t-stashed\n");
    repo.git(&["stash", "-q"]);
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    assert_eq!(repo.status(), "");
    let stashed = repo.stored("stash@{0}:secrets/a.env");
    assert!(is_encrypted(&stashed), "the stash stores ciphertext");
    assert!(!contains(&stashed, b"s3cr3t"));
    repo.git(&["stash", "pop", "-q"]);
    assert_eq!(repo.read("secrets/a.env"), b"API_TOKEN=s3cr3t-stashed\n");
    assert_eq!(repo.status(), " M secrets/a.env\n");
    let diff = repo.git(&["diff"]);
    assert!(diff.contains("+API_TOKEN=s3cr3t-stashed"), "{diff}");
}

#[test]
fn rebase_and_cherry_pick_of_commits_changing_secrets() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("secrets/a.env", "API_TOKEN=s3cr3t-feature\n");
    repo.git(&["commit", "-qam", "feature changes a secret"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README", "hello from main\n");
    repo.git(&["commit", "-qam", "main changes README"]);
    repo.git(&["checkout", "-q", "feature"]);
    repo.git(&["rebase", "-q", "main"]);
    assert_secret(
        &repo,
        "HEAD",
        "secrets/a.env",
        b"API_TOKEN=s3cr3t-feature\n",
    );
    assert_eq!(repo.read("README"), b"hello from main\n");
    assert_eq!(
        repo.git(&["rev-parse", "HEAD~1"]),
        repo.git(&["rev-parse", "main"])
    );
    assert_eq!(repo.status(), "");

    repo.git(&["checkout", "-q", "-b", "topic", "main"]);
    repo.write("secrets/b.env", "DB_PASSWORD=s3cr3t-picked\n");
    repo.git(&["commit", "-qam", "topic changes b"]);
    repo.git(&["checkout", "-q", "feature"]);
    repo.git(&["cherry-pick", "topic"]);
    assert_secret(
        &repo,
        "HEAD",
        "secrets/b.env",
        b"DB_PASSWORD=s3cr3t-picked\n",
    );
    assert_secret(
        &repo,
        "HEAD",
        "secrets/a.env",
        b"API_TOKEN=s3cr3t-feature\n",
    );
    assert_eq!(
        repo.git(&["rev-parse", "HEAD:secrets/b.env"]),
        repo.git(&["rev-parse", "topic:secrets/b.env"])
    );
    assert_eq!(repo.status(), "");
}

#[test]
fn linked_worktree_shares_the_key_and_the_filter() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.git(&["worktree", "add", "-q", "../wt"]);
    let wt = sandbox.open(sandbox.path().join("wt"));
    assert_secret(&wt, "HEAD", "secrets/a.env", A);
    assert_eq!(wt.status(), "");
    assert_eq!(wt.key_dir(), repo.key_dir(), "one key store for both");

    // Commands work from inside the linked worktree.
    let status = wt.secret_ok(&["status"]);
    assert_eq!(status.lines().count(), 2, "{status}");
    assert!(
        status.lines().all(|l| l.starts_with("encrypted")),
        "{status}"
    );
    let out = wt.secret_in("secrets", &["status", "b.env"]);
    assert_success(&out, "status in the worktree's subdir");
    assert_eq!(stdout(&out).lines().count(), 1);

    // Commit from the linked worktree: ciphertext, visible from the main one.
    wt.write("secrets/a.env", "API_TOKEN=s3cr3t-from-wt\n");
    wt.git(&["commit", "-qam", "edit in wt"]);
    assert_secret(&wt, "HEAD", "secrets/a.env", b"API_TOKEN=s3cr3t-from-wt\n");
    assert_eq!(wt.status(), "");
    assert!(is_encrypted(&repo.stored("wt:secrets/a.env")));
    let shown = repo.git(&["show", "wt", "--", "secrets/a.env"]);
    assert!(shown.contains("+API_TOKEN=s3cr3t-from-wt"), "{shown}");
}

#[test]
fn unlock_in_the_main_worktree_applies_to_a_linked_one() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = export(&repo, "team.key");
    repo.secret_ok(&["lock"]);
    repo.git(&["worktree", "add", "-q", "../wt"]);
    let wt = sandbox.open(sandbox.path().join("wt"));
    assert!(
        is_encrypted(&wt.read("secrets/a.env")),
        "locked: ciphertext"
    );
    assert_eq!(wt.status(), "");

    repo.secret_ok(&["unlock", &key]);
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    // The linked worktree's filter now has the key: a fresh checkout decrypts.
    fs::remove_file(wt.dir.join("secrets/a.env")).unwrap();
    wt.git(&["checkout", "--", "secrets/a.env"]);
    assert_secret(&wt, "HEAD", "secrets/a.env", A);
    // unlock run inside the linked worktree finishes the job for its other files.
    let out = wt.secret(&["unlock", &key]);
    assert_success(&out, "unlock in the linked worktree");
    assert_secret(&wt, "HEAD", "secrets/b.env", B);
    assert_eq!(wt.status(), "");
    assert_eq!(repo.status(), "");

    // lock from inside the linked worktree removes the shared key.
    wt.secret_ok(&["lock"]);
    assert!(is_encrypted(&wt.read("secrets/a.env")));
    assert!(is_encrypted(&wt.read("secrets/b.env")));
    assert_eq!(wt.status(), "");
    assert!(
        !repo.key_dir().exists() || fs::read_dir(repo.key_dir()).unwrap().count() == 0,
        "the shared key is gone"
    );
}

#[test]
fn lock_in_a_linked_worktree_leaves_every_worktree_usable() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.git(&["worktree", "add", "-q", "../wt"]);
    let wt = sandbox.open(sandbox.path().join("wt"));
    wt.keep_key(); // lock keeps a key that exists nowhere else
    wt.secret_ok(&["lock"]);
    // The key is shared, so lock must not leave plaintext behind elsewhere...
    assert!(
        is_encrypted(&repo.read("secrets/a.env")),
        "the main worktree still holds plaintext after lock"
    );
    // ...and the main worktree must keep working in locked mode.
    let out = repo.git_output(&["status", "--porcelain"]);
    assert_success(&out, "git status in the main worktree after a linked lock");
    assert_eq!(stdout(&out), "");
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
}

#[test]
fn commands_work_from_a_subdirectory() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    export(&repo, "team.key");
    let out = repo.secret_in("secrets", &["lock"]);
    assert_success(&out, "lock in subdir");
    assert!(is_encrypted(&repo.read("secrets/a.env")));
    // A relative key file path is relative to the cwd.
    let out = repo.secret_in("secrets", &["unlock", "../../team.key"]);
    assert_success(&out, "unlock in subdir");
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    assert_secret(&repo, "HEAD", "secrets/b.env", B);
    assert_eq!(repo.status(), "");
    let out = repo.secret_in("secrets", &["export-key", "-"]);
    assert_success(&out, "export-key in subdir");
    assert!(stdout(&out).contains("BEGIN GIT-SECRET KEY"));
    let out = repo.secret_in("secrets", &["export-key", "local.key"]);
    assert_success(&out, "export-key FILE in subdir");
    assert!(
        repo.exists("secrets/local.key"),
        "FILE is relative to the cwd"
    );
    fs::remove_file(repo.dir.join("secrets/local.key")).unwrap();
}

#[test]
fn commands_honour_git_dir_and_git_work_tree() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = export(&repo, "team.key");
    let outside = sandbox.path().join("elsewhere");
    fs::create_dir_all(&outside).unwrap();
    let run = |args: &[&str]| {
        sandbox
            .command(BIN, &outside)
            .env("GIT_DIR", repo.dir.join(".git"))
            .env("GIT_WORK_TREE", &repo.dir)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["status"]);
    assert_success(&out, "status with GIT_DIR");
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    let out = run(&["lock"]);
    assert_success(&out, "lock with GIT_DIR");
    assert!(is_encrypted(&repo.read("secrets/a.env")));
    assert_eq!(repo.status(), "");
    let out = run(&["unlock", &key]);
    assert_success(&out, "unlock with GIT_DIR");
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    assert_secret(&repo, "HEAD", "secrets/b.env", B);
    assert_eq!(repo.status(), "");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written in the cwd"
    );
}

#[test]
fn git_dispatches_git_secret_from_path() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let bin = sandbox.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("git-secret")).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = sandbox
        .command("git", &repo.dir)
        .env("PATH", path)
        .args(["secret", "status"])
        .output()
        .unwrap();
    assert_success(&out, "git secret status");
    assert_eq!(stdout(&out), repo.secret_ok(&["status"]));
}

#[test]
fn binary_at_a_path_with_a_space_and_a_quote() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("my tools").join("it's");
    fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("git-secret");
    fs::copy(BIN, &exe).unwrap();
    let repo = sandbox.init_repo("r");
    let out = sandbox
        .command(&exe, &repo.dir)
        .arg("init")
        .output()
        .unwrap();
    assert_success(&out, "init with the odd path");
    let clean = repo.git(&["config", "filter.git-secret.clean"]);
    assert!(clean.contains("my tools/it'\\''s/git-secret"), "{clean}");
    repo.mark_default();
    repo.write("secrets/a.env", A);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "secret"]);
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    fs::remove_file(repo.dir.join("secrets/a.env")).unwrap();
    repo.git(&["checkout", "--", "secrets/a.env"]);
    assert_secret(&repo, "HEAD", "secrets/a.env", A);
    repo.write("secrets/a.env", "API_TOKEN=s3cr3t-changed\n");
    let diff = repo.git(&["diff"]);
    assert!(
        diff.contains("+API_TOKEN=s3cr3t-changed"),
        "textconv runs: {diff}"
    );
    repo.git(&["commit", "-qam", "change"]);
    assert_eq!(repo.status(), "");
}

fn sized_files() -> Vec<(String, Vec<u8>)> {
    let pattern = |len: usize, seed: u8| -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(167).wrapping_add(seed))
            .collect()
    };
    let mut binary = pattern(200 * 1024 + 13, 7);
    for i in (0..binary.len()).step_by(97) {
        binary[i] = 0;
    }
    vec![
        ("secrets/empty".to_owned(), Vec::new()),
        ("secrets/one".to_owned(), b"x".to_vec()),
        ("secrets/chunk".to_owned(), pattern(65536, 1)),
        ("secrets/chunk-plus-one".to_owned(), pattern(65537, 2)),
        ("secrets/blob.bin".to_owned(), binary),
    ]
}

#[test]
fn sizes_round_trip_through_commit_checkout_and_clone() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = export(&repo, "team.key");
    let files = sized_files();
    for (path, data) in &files {
        repo.write(path, data);
    }
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "sizes"]);
    assert_eq!(repo.status(), "");
    for (path, data) in &files {
        let blob = repo.stored(&format!("HEAD:{path}"));
        if data.is_empty() {
            assert!(blob.is_empty(), "{path} is stored as git's empty blob");
        } else {
            assert!(is_encrypted(&blob), "{path} is stored encrypted");
            assert!(blob.len() > data.len(), "{path}");
        }
        fs::remove_file(repo.dir.join(path)).unwrap();
    }
    repo.git(&["checkout", "--", "secrets"]);
    for (path, data) in &files {
        assert!(repo.read(path) == *data, "{path}: checkout round-trip");
    }
    assert_eq!(repo.status(), "");

    let bob = sandbox.clone_repo(&repo, "bob");
    for (path, data) in &files {
        if data.is_empty() {
            assert!(bob.read(path).is_empty(), "{path} empty before unlock");
        } else {
            assert!(
                is_encrypted(&bob.read(path)),
                "{path} ciphertext before unlock"
            );
        }
    }
    bob.secret_ok(&["unlock", &key]);
    for (path, data) in &files {
        assert!(bob.read(path) == *data, "{path}: clone + unlock round-trip");
    }
    assert_eq!(bob.status(), "");
}

#[test]
fn many_files_in_one_add_use_one_filter_process() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    for i in 0..200 {
        repo.write(
            &format!("secrets/many/{i:03}.env"),
            format!("S{i}=s3cr3t\n"),
        );
    }
    let trace: PathBuf = sandbox.path().join("add.trace");
    let out = sandbox
        .command("git", &repo.dir)
        .env("GIT_TRACE", &trace)
        .args(["add", "secrets/many"])
        .output()
        .unwrap();
    assert_success(&out, "git add");
    let log = fs::read_to_string(&trace).unwrap();
    let starts = log
        .lines()
        .filter(|l| l.contains("run_command") && l.contains("filter-process"))
        .count();
    assert_eq!(starts, 1, "one filter process for 200 files:\n{log}");
    repo.git(&["commit", "-qm", "many"]);
    for i in [0, 99, 199] {
        let path = format!("secrets/many/{i:03}.env");
        assert_secret(&repo, "HEAD", &path, format!("S{i}=s3cr3t\n").as_bytes());
    }
    assert_eq!(repo.status(), "");
}

#[test]
fn plaintext_committed_before_marking_passes_through_smudge_with_a_warning() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.write("secrets/old.env", "OLD=committed-in-clear\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "before marking"]);
    repo.mark_default();
    repo.secret_ok(&["init"]);
    fs::remove_file(repo.dir.join("secrets/old.env")).unwrap();
    let out = repo.git_output(&["checkout", "--", "secrets/old.env"]);
    assert_success(&out, "checkout of a plaintext blob");
    assert_eq!(repo.read("secrets/old.env"), b"OLD=committed-in-clear\n");
    let err = stderr(&out);
    assert!(
        err.contains("secrets/old.env") && err.contains("unencrypted"),
        "warning names the file: {err}"
    );
    assert_eq!(
        repo.stored("HEAD:secrets/old.env"),
        b"OLD=committed-in-clear\n"
    );
}
