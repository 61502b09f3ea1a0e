//! Faults: a process killed at each step of unlock and lock, a full disk
//! during init/unlock/export-key, and git commands running concurrently.
//! Injection points are named by `GIT_SECRET_FAULT` (debug builds only, see
//! src/fault.rs).

use crate::harness::*;
use std::process::Output;

fn secret_with_fault(repo: &Repo, fault: &str, args: &[&str]) -> Output {
    repo.sandbox
        .command(BIN, &repo.dir)
        .env("GIT_SECRET_FAULT", fault)
        .args(args)
        .output()
        .unwrap()
}

/// Alice's repo (unlocked, two secrets, one unrelated dirty file) and her key file.
fn setup(sandbox: &Sandbox) -> (Repo<'_>, String) {
    let repo = sandbox.init_repo("alice");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/a.env", "A=1\n");
    repo.write("secrets/b.env", "B=1\n");
    repo.write("notes.txt", "committed\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "secrets"]);
    repo.write("notes.txt", "uncommitted work\n");
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    (repo, key.to_str().unwrap().to_owned())
}

fn assert_unlocked(repo: &Repo) {
    assert_eq!(repo.read("secrets/a.env"), b"A=1\n");
    assert_eq!(repo.read("secrets/b.env"), b"B=1\n");
    assert!(repo.key_dir().join("default.key").exists());
}

fn assert_locked(repo: &Repo) {
    assert!(is_encrypted(&repo.read("secrets/a.env")));
    assert!(is_encrypted(&repo.read("secrets/b.env")));
    assert!(!repo.key_dir().join("default.key").exists());
}

#[test]
fn an_interrupted_unlock_is_completed_by_running_it_again() {
    for point in ["unlock:key-installed", "unlock:half-written"] {
        let sandbox = Sandbox::new();
        let (repo, key) = setup(&sandbox);
        repo.secret_ok(&["lock"]);
        let out = secret_with_fault(&repo, point, &["unlock", &key]);
        assert_eq!(out.status.code(), Some(99), "{point}: {}", stderr(&out));
        let out = repo.secret(&["unlock", &key]);
        assert_success(&out, &format!("unlock after a crash at {point}"));
        assert_unlocked(&repo);
        assert_eq!(
            repo.read("notes.txt"),
            b"uncommitted work\n",
            "{point}: unrelated work kept"
        );
        assert_eq!(
            repo.git(&["status", "--porcelain"]),
            " M notes.txt\n",
            "{point}"
        );
    }
}

#[test]
fn an_interrupted_lock_keeps_the_key_and_is_completed_by_running_it_again() {
    for point in ["lock:half-written", "lock:checked-out"] {
        let sandbox = Sandbox::new();
        let (repo, _) = setup(&sandbox);
        let out = secret_with_fault(&repo, point, &["lock"]);
        assert_eq!(out.status.code(), Some(99), "{point}: {}", stderr(&out));
        assert!(
            repo.key_dir().join("default.key").exists(),
            "{point}: the key must survive a crash"
        );
        let out = repo.secret(&["lock"]);
        assert_success(&out, &format!("lock after a crash at {point}"));
        assert_locked(&repo);
        assert_eq!(
            repo.read("notes.txt"),
            b"uncommitted work\n",
            "{point}: unrelated work kept"
        );
        assert_eq!(
            repo.git(&["status", "--porcelain"]),
            " M notes.txt\n",
            "{point}"
        );
    }
}

/// A run killed halfway through writing the files leaves its temp files
/// (plaintext, for unlock) only in a private dir under `.git`, never in the
/// work tree; the rerun removes them.
#[test]
fn a_killed_rewrite_leaves_no_temp_file_in_the_work_tree() {
    let sandbox = Sandbox::new();
    let (repo, key) = setup(&sandbox);
    repo.keep_key();
    repo.secret_ok(&["lock"]);
    let out = secret_with_fault(&repo, "unlock:half-written", &["unlock", &key]);
    assert_eq!(out.status.code(), Some(99), "{}", stderr(&out));
    assert_eq!(
        repo.git(&[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all"
        ]),
        " M notes.txt\n"
    );
    repo.secret_ok(&["unlock", &key]);
    assert!(!repo.dir.join(".git/git-secret-tmp").exists());
    assert_unlocked(&repo);
}

/// A rotation killed after the new generation is saved but before the index
/// points at the re-encrypted blobs: the work tree and `git status` stay as
/// they were, and a rerun rotates (one generation further) and stages.
#[test]
fn an_interrupted_rotate_leaves_a_consistent_repository_and_a_rerun_rotates() {
    let sandbox = Sandbox::new();
    let (repo, _) = setup(&sandbox);
    let out = secret_with_fault(&repo, "rotate:key-saved", &["rotate"]);
    assert_eq!(out.status.code(), Some(99), "{}", stderr(&out));
    assert_unlocked(&repo);
    assert_eq!(repo.git(&["status", "--porcelain"]), " M notes.txt\n");
    repo.secret_ok(&["rotate"]);
    let keys = repo.secret_ok(&["keys"]);
    assert!(keys.contains("gen 3"), "{keys}");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        " M notes.txt\nM  secrets/a.env\nM  secrets/b.env\n"
    );
    assert_unlocked(&repo);
}

#[test]
fn a_full_disk_leaves_the_repository_as_it_was() {
    let sandbox = Sandbox::new();
    // init
    let fresh = sandbox.init_repo("fresh");
    let before = fresh.snapshot();
    assert_refused(
        &secret_with_fault(&fresh, "write-secret-file", &["init"]),
        "no space left",
    );
    assert_eq!(fresh.snapshot(), before);
    assert!(!fresh.key_dir().exists(), "no empty key dir left behind");
    // unlock
    let (repo, key) = setup(&sandbox);
    repo.secret_ok(&["lock"]);
    let before = repo.snapshot();
    assert_refused(
        &secret_with_fault(&repo, "write-secret-file", &["unlock", &key]),
        "no space left",
    );
    assert_eq!(repo.snapshot(), before);
    // export-key
    repo.secret_ok(&["unlock", &key]);
    let target = sandbox.path().join("copy.key");
    let out = secret_with_fault(
        &repo,
        "write-secret-file",
        &["export-key", target.to_str().unwrap()],
    );
    assert_refused(&out, "no space left");
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".git-secret-tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "temp files removed");
}

#[test]
fn concurrent_status_while_adding_gives_correct_results() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("busy");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    for i in 0..60 {
        repo.write(&format!("secrets/{i}.env"), format!("S{i}=1\n"));
    }
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "many"]);
    for i in 0..60 {
        repo.write(&format!("secrets/{i}.env"), format!("S{i}=2\n"));
    }
    std::thread::scope(|scope| {
        let adder = scope.spawn(|| repo.git_output(&["add", "-A"]));
        let statuses: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| repo.git_output(&["status", "--porcelain"])))
            .collect();
        assert_success(&adder.join().unwrap(), "git add");
        for status in statuses {
            let out = status.join().unwrap();
            // Another git may hold index.lock: git then reports without refreshing.
            assert_success(&out, "concurrent git status");
            for line in stdout(&out).lines() {
                assert!(
                    line.starts_with(" M secrets/") || line.starts_with("M  secrets/"),
                    "unexpected status line {line:?}"
                );
            }
        }
    });
    let final_status = repo.status();
    assert_eq!(final_status.lines().count(), 60, "{final_status}");
    assert!(
        final_status.lines().all(|l| l.starts_with("M  secrets/")),
        "{final_status}"
    );
    for i in [0, 59] {
        let blob = repo.stored(&format!(":secrets/{i}.env"));
        assert!(is_encrypted(&blob), "staged blob {i} is ciphertext");
    }
}

/// Root ignores read-only permissions, so an unwritable `.git` is modelled by a
/// file standing where the key directory must be created.
#[test]
fn an_unwritable_git_dir_leaves_the_repository_as_it_was() {
    let sandbox = Sandbox::new();
    let fresh = sandbox.init_repo("fresh");
    std::fs::write(fresh.key_dir(), "in the way\n").unwrap();
    let before = fresh.snapshot_without_keys();
    assert_refused(&fresh.secret(&["init"]), "cannot create");
    assert_eq!(fresh.snapshot_without_keys(), before);
    assert_eq!(std::fs::read(fresh.key_dir()).unwrap(), b"in the way\n");

    let (repo, key) = setup(&sandbox);
    repo.secret_ok(&["lock"]);
    let clone = sandbox.clone_repo(&repo, "clone");
    std::fs::write(clone.key_dir(), "in the way\n").unwrap();
    let before = clone.snapshot_without_keys();
    assert_refused(&clone.secret(&["unlock", &key]), "Not a directory");
    assert_eq!(clone.snapshot_without_keys(), before);
}
