//! The core story end to end: Alice initialises and commits, Bob clones and
//! unlocks, both work, CI unlocks from stdin, and lock restores ciphertext.

use crate::harness::*;

const ENV: &[u8] = b"DATABASE_URL=postgres://alice:hunter2@db/prod\n";

/// Alice's repository with one committed secret and one ordinary file.
fn alice(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets(
        "alice",
        &[
            ("secrets/prod.env", ENV),
            ("deploy.key", b"-----BEGIN PRIVATE KEY-----\nabc\n"),
        ],
    )
}

#[test]
fn alice_commits_ciphertext_and_keeps_plaintext() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let blob = repo.stored("HEAD:secrets/prod.env");
    assert!(is_encrypted(&blob), "committed blob must be ciphertext");
    assert!(!contains(&blob, b"hunter2"));
    assert!(is_encrypted(&repo.stored("HEAD:deploy.key")));
    assert_eq!(
        repo.stored("HEAD:README"),
        b"hello\n",
        "unmarked files are untouched"
    );
    assert_eq!(
        repo.read("secrets/prod.env"),
        ENV,
        "work tree stays plaintext"
    );
    assert_eq!(repo.status(), "");
    // Touching changes stat data only: git re-cleans and still sees no change.
    let file = repo.dir.join("secrets/prod.env");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(repo.status(), "");
    // Deterministic: re-adding the same content stores the same blob.
    let before = repo.git(&["rev-parse", "HEAD:secrets/prod.env"]);
    repo.git(&["add", "--renormalize", "."]);
    assert_eq!(repo.git(&["rev-parse", ":secrets/prod.env"]), before);
}

#[test]
fn diff_and_log_show_plaintext() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.write(
        "secrets/prod.env",
        "DATABASE_URL=postgres://alice:correct-horse@db/prod\n",
    );
    let diff = repo.git(&["diff"]);
    assert!(
        diff.contains("-DATABASE_URL=postgres://alice:hunter2@db/prod"),
        "{diff}"
    );
    assert!(
        diff.contains("+DATABASE_URL=postgres://alice:correct-horse@db/prod"),
        "{diff}"
    );
    repo.git(&["commit", "-qam", "rotate db password"]);
    let log = repo.git(&["log", "-p", "-n", "1"]);
    assert!(
        log.contains("+DATABASE_URL=postgres://alice:correct-horse@db/prod"),
        "{log}"
    );
}

#[test]
fn export_clone_unlock_edit_and_pull() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let key_file = sandbox.path().join("team.key");
    alice.secret_ok(&["export-key", key_file.to_str().unwrap()]);
    assert_eq!(mode(&key_file), 0o600);

    let bob = sandbox.clone_repo(&alice, "bob");
    assert!(
        is_encrypted(&bob.read("secrets/prod.env")),
        "a fresh clone holds ciphertext"
    );
    assert_eq!(bob.status(), "");
    bob.secret_ok(&["unlock", key_file.to_str().unwrap()]);
    assert_eq!(bob.read("secrets/prod.env"), ENV);
    assert_eq!(bob.status(), "");

    bob.write("secrets/prod.env", "DATABASE_URL=changed-by-bob\n");
    bob.git(&["commit", "-qam", "bob edits"]);
    assert!(is_encrypted(&bob.stored("HEAD:secrets/prod.env")));
    bob.git(&["push", "-q", "origin", "HEAD:refs/heads/bob"]);
    alice.git(&["merge", "-q", "--ff-only", "bob"]);
    assert_eq!(
        alice.read("secrets/prod.env"),
        b"DATABASE_URL=changed-by-bob\n"
    );
    assert_eq!(alice.status(), "");
}

#[test]
fn ci_unlocks_from_stdin() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let key = alice.secret_ok(&["export-key", "-"]);
    let ci = sandbox.clone_repo(&alice, "ci");
    let out = ci.secret_stdin(&["unlock", "-"], key.as_bytes());
    assert_success(&out, "unlock -");
    assert_eq!(ci.read("secrets/prod.env"), ENV);
}

#[test]
fn lock_restores_ciphertext_and_removes_the_key() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.keep_key(); // lock keeps a key that exists nowhere else
    repo.secret_ok(&["lock"]);
    let work = repo.read("secrets/prod.env");
    assert!(is_encrypted(&work), "work tree holds ciphertext after lock");
    assert_eq!(work, repo.stored("HEAD:secrets/prod.env"));
    assert_eq!(repo.status(), "");
    let key_dir = repo.key_dir();
    assert!(
        !key_dir.exists() || std::fs::read_dir(&key_dir).unwrap().next().is_none(),
        "no key left"
    );
}
