//! `git-secret view` (issue 13): the plaintext of marked files on stdout,
//! from the work tree, the index or a commit, in a locked clone, with the key
//! from the store, the ring or `--key`; or of a ciphertext file outside any
//! repository. Never written anywhere but stdout.

use crate::harness::*;

const ENV: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";

fn alice(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)])
}

#[test]
fn view_prints_plaintext_from_the_work_tree_the_index_and_a_commit() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let first = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.write("secrets/a.env", "API_TOKEN=changed\n");
    repo.git(&["add", "secrets/a.env"]);
    repo.write("secrets/a.env", "API_TOKEN=in-work-tree\n");
    assert_eq!(
        repo.secret_ok(&["view", "secrets/a.env"]),
        "API_TOKEN=in-work-tree\n"
    );
    assert_eq!(
        repo.secret_ok(&["view", "--cached", "secrets/a.env"]),
        "API_TOKEN=changed\n"
    );
    assert_eq!(
        repo.secret_ok(&["view", "--rev", &first, "secrets/a.env"]),
        "API_TOKEN=s3cr3t-alpha\n"
    );
}

#[test]
fn view_in_a_locked_clone_with_a_key_file_writes_nothing_to_disk() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let clone = sandbox.clone_repo(&repo, "locked");
    assert!(is_encrypted(&clone.read("secrets/a.env")));
    let before = clone.snapshot();
    let out = clone.secret(&["view", "--key", key.to_str().unwrap(), "secrets/a.env"]);
    assert_success(&out, "view --key");
    assert_eq!(stdout(&out).as_bytes(), ENV);
    assert!(before == clone.snapshot(), "view changed the clone");
    // From standard input too.
    let text = std::fs::read(&key).unwrap();
    let out = clone.secret_stdin(&["view", "--key", "-", "secrets/a.env"], &text);
    assert_eq!(stdout(&out).as_bytes(), ENV);
}

#[test]
fn view_refuses_an_unmarked_path_and_a_missing_key() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let out = repo.secret(&["view", "README"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: README is not marked for encryption in .gitattributes; \
         view shows only marked files (read others with cat or git show)\n"
    );
    assert_eq!(stdout(&out), "", "nothing printed");
    let clone = sandbox.clone_repo(&repo, "locked");
    let out = clone.secret(&["view", "README", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "", "no partial output before a refusal");
    let out = clone.secret(&["view", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(1));
    let id = repo
        .secret_ok(&["keys"])
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: no key held here opens secrets/a.env (key id {id}); \
             pass the key file with --key FILE (or - for standard input), or unlock\n"
        )
    );
}

#[test]
fn view_reads_a_ciphertext_file_outside_any_repository() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let artifact = sandbox.path().join("outside").join("a.env.enc");
    std::fs::create_dir_all(artifact.parent().unwrap()).unwrap();
    std::fs::write(&artifact, repo.stored("HEAD:secrets/a.env")).unwrap();
    let out = sandbox
        .command(BIN, artifact.parent().unwrap())
        .args(["view", "--key", key.to_str().unwrap(), "a.env.enc"])
        .output()
        .unwrap();
    assert_success(&out, "view outside a repository");
    assert_eq!(stdout(&out).as_bytes(), ENV);
}

/// The personal ring counts as a key held here, for this repository's own
/// clones only: a key saved by an unlock elsewhere opens a new locked clone
/// of the same origin, and is not offered to a stranger's repository that
/// holds a copy of the same blob.
#[test]
fn view_uses_the_ring_for_clones_of_the_same_repository_only() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let first = sandbox.clone_repo(&repo, "first");
    first.secret_ok(&["unlock", key.to_str().unwrap()]);
    std::fs::remove_file(&key).unwrap();

    let locked = sandbox.clone_repo(&repo, "second");
    assert!(is_encrypted(&locked.read("secrets/a.env")));
    let before = locked.snapshot();
    let out = locked.secret(&["view", "secrets/a.env"]);
    assert_success(&out, "view with the ring key");
    assert_eq!(stdout(&out).as_bytes(), ENV);
    assert!(before == locked.snapshot(), "view changed the clone");

    let stranger = sandbox.init_repo("stranger");
    stranger.write("README", "hello\n");
    stranger.git(&["add", "README"]);
    stranger.git(&["commit", "-qm", "hello"]);
    stranger.mark_default();
    stranger.stage_raw("secrets/a.env", &repo.stored("HEAD:secrets/a.env"));
    let out = stranger.secret(&["view", "--cached", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(stdout(&out), "", "no plaintext for a stranger's repository");
    assert!(
        stderr(&out).starts_with("git-secret: error: no key held here opens secrets/a.env"),
        "{}",
        stderr(&out)
    );
}
