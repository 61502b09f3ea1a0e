//! The merge driver: git hands it ciphertext, and what it leaves in %A is
//! stored as a blob without cleaning, so it must be ciphertext on success and
//! on conflict alike.

use crate::harness::*;

const BASE: &str = "one\ntwo\nthree\nfour\nfive\n";

/// An unlocked repo with `secrets/s.env` = BASE on main and a branch `other`.
fn repo_with_branch(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/s.env", BASE);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "base"]);
    repo.git(&["branch", "other"]);
    repo
}

fn commit_change(repo: &Repo, branch: &str, content: &str) {
    repo.git(&["checkout", "-q", branch]);
    repo.write("secrets/s.env", content);
    repo.git(&["commit", "-qam", &format!("change on {branch}")]);
}

/// Every stage and the HEAD blob of the secret are ciphertext: nothing in
/// the object store is plaintext.
fn assert_no_plaintext_objects(repo: &Repo, needle: &str) {
    let out = repo.git_stdin(&["cat-file", "--batch-all-objects", "--batch"], b"");
    assert_success(&out, "cat-file --batch-all-objects");
    assert!(
        !contains(&out.stdout, needle.as_bytes()),
        "plaintext {needle:?} found in the object store"
    );
}

#[test]
fn clean_merge_commits_ciphertext() {
    let sandbox = Sandbox::new();
    let repo = repo_with_branch(&sandbox);
    commit_change(&repo, "main", "ONE-main\ntwo\nthree\nfour\nfive\n");
    commit_change(&repo, "other", "one\ntwo\nthree\nfour\nFIVE-other\n");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-edit", "other"]);
    assert_eq!(
        repo.read("secrets/s.env"),
        b"ONE-main\ntwo\nthree\nfour\nFIVE-other\n"
    );
    assert!(is_encrypted(&repo.stored("HEAD:secrets/s.env")));
    assert_eq!(repo.status(), "");
    assert_no_plaintext_objects(&repo, "FIVE-other");
}

#[test]
fn conflict_shows_plaintext_markers_and_stores_ciphertext() {
    let sandbox = Sandbox::new();
    let repo = repo_with_branch(&sandbox);
    commit_change(&repo, "main", "one\ntwo\nTHREE-main\nfour\nfive\n");
    commit_change(&repo, "other", "one\ntwo\nTHREE-other\nfour\nfive\n");
    repo.git(&["checkout", "-q", "main"]);
    let out = repo.git_output(&["merge", "--no-edit", "other"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "conflict expected: {}",
        stderr(&out)
    );
    let work = String::from_utf8(repo.read("secrets/s.env")).unwrap();
    assert!(
        work.contains("<<<<<<< HEAD\nTHREE-main\n=======\nTHREE-other\n>>>>>>> other\n"),
        "{work}"
    );
    assert!(repo.status().contains("UU secrets/s.env"));
    assert_no_plaintext_objects(&repo, "THREE-other");
    // Resolve and commit: ciphertext again.
    repo.write("secrets/s.env", "one\ntwo\nTHREE-both\nfour\nfive\n");
    repo.git(&["add", "secrets/s.env"]);
    repo.git(&["commit", "-qm", "resolved"]);
    assert!(is_encrypted(&repo.stored("HEAD:secrets/s.env")));
}

#[test]
fn marker_size_and_diff3_style_follow_git() {
    let sandbox = Sandbox::new();
    let repo = repo_with_branch(&sandbox);
    repo.write(
        ".gitattributes",
        "secrets/** filter=git-secret diff=git-secret merge=git-secret -text conflict-marker-size=10\n",
    );
    repo.git(&["commit", "-qam", "bigger markers"]);
    repo.git(&["branch", "-f", "other"]);
    repo.git(&["config", "merge.conflictStyle", "diff3"]);
    commit_change(&repo, "main", "one\ntwo\nTHREE-main\nfour\nfive\n");
    commit_change(&repo, "other", "one\ntwo\nTHREE-other\nfour\nfive\n");
    repo.git(&["checkout", "-q", "main"]);
    let out = repo.git_output(&["merge", "--no-edit", "other"]);
    assert_eq!(out.status.code(), Some(1));
    let work = String::from_utf8(repo.read("secrets/s.env")).unwrap();
    assert!(work.contains("<<<<<<<<<< HEAD\n"), "{work}");
    assert!(
        work.contains("||||||||||"),
        "diff3 base section expected: {work}"
    );
    assert!(work.contains("\nthree\n"), "{work}");
}

#[test]
fn rebase_cherry_pick_and_stash_pop_merge_through_the_driver() {
    let sandbox = Sandbox::new();
    let repo = repo_with_branch(&sandbox);
    commit_change(&repo, "main", "ONE-main\ntwo\nthree\nfour\nfive\n");
    commit_change(&repo, "other", "one\ntwo\nthree\nfour\nFIVE-other\n");
    // Rebase other onto main: a true 3-way content merge of the secret.
    repo.git(&["rebase", "-q", "main"]);
    assert_eq!(
        repo.read("secrets/s.env"),
        b"ONE-main\ntwo\nthree\nfour\nFIVE-other\n"
    );
    assert!(is_encrypted(&repo.stored("HEAD:secrets/s.env")));
    assert_eq!(repo.status(), "");

    // Cherry-pick a change to another line back onto main.
    repo.write(
        "secrets/s.env",
        "ONE-main\ntwo\nTHREE-picked\nfour\nFIVE-other\n",
    );
    repo.git(&["commit", "-qam", "pick me"]);
    let picked = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write(
        "secrets/s.env",
        "ONE-main\ntwo\nthree\nfour\nfive\nsix-main\n",
    );
    repo.git(&["commit", "-qam", "main adds a line"]);
    repo.git(&["cherry-pick", picked.trim()]);
    assert_eq!(
        repo.read("secrets/s.env"),
        b"ONE-main\ntwo\nTHREE-picked\nfour\nfive\nsix-main\n"
    );
    assert!(is_encrypted(&repo.stored("HEAD:secrets/s.env")));

    // Stash a change, commit another line, pop: merged through the driver.
    repo.write(
        "secrets/s.env",
        "ONE-stashed\ntwo\nTHREE-picked\nfour\nfive\nsix-main\n",
    );
    repo.git(&["stash", "-q"]);
    repo.write(
        "secrets/s.env",
        "ONE-main\ntwo\nTHREE-picked\nfour\nfive\nSIX-committed\n",
    );
    repo.git(&["commit", "-qam", "while stashed"]);
    repo.git(&["stash", "pop", "-q"]);
    assert_eq!(
        repo.read("secrets/s.env"),
        b"ONE-stashed\ntwo\nTHREE-picked\nfour\nfive\nSIX-committed\n"
    );
    assert_no_plaintext_objects(&repo, "ONE-stashed");
}

#[test]
fn binary_content_conflicts_keeping_ours() {
    let sandbox = Sandbox::new();
    let repo = repo_with_branch(&sandbox);
    commit_change(&repo, "main", "main\0binary\n");
    commit_change(&repo, "other", "other\0binary\n");
    repo.git(&["checkout", "-q", "main"]);
    let out = repo.git_output(&["merge", "--no-edit", "other"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("binary"), "{}", stderr(&out));
    assert_eq!(
        repo.read("secrets/s.env"),
        b"main\0binary\n",
        "ours is kept"
    );
}

#[test]
fn locked_repo_conflicts_keeping_ours() {
    let sandbox = Sandbox::new();
    let repo = repo_with_branch(&sandbox);
    commit_change(&repo, "main", "ONE-main\ntwo\nthree\nfour\nfive\n");
    commit_change(&repo, "other", "one\ntwo\nthree\nfour\nFIVE-other\n");
    repo.git(&["checkout", "-q", "main"]);
    repo.keep_key(); // lock keeps a key that exists nowhere else
    repo.secret_ok(&["lock"]);
    let ours = repo.read("secrets/s.env");
    let out = repo.git_output(&["merge", "--no-edit", "other"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("unlock"), "{}", stderr(&out));
    assert_eq!(
        repo.read("secrets/s.env"),
        ours,
        "ours (ciphertext) is kept"
    );
}
