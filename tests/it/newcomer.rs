//! What README tells a newcomer (issue 14), checked against real git: moving
//! a file to another key, what a clone without drivers commits, and what git
//! itself does with marked files that no filter can change.

use crate::harness::*;
use std::fs;
use std::time::{Duration, SystemTime};

const A: &[u8] = b"A=1\nB=s3cr3t-two\nC=3\n";
const A2: &[u8] = b"A=1\nB=s3cr3t-changed\nC=3\n";

const DEFAULT_LINE: &str = "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n";
const PROD: &str = "filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text";
const KEY_LINE: &str = "*.key filter=git-secret diff=git-secret merge=git-secret -text\n";
const SELF_LINE: &str = ".gitattributes !filter !diff !merge\n";

fn key_id(repo: &Repo, name: &str) -> String {
    repo.secret_ok(&["keys"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or_else(|| panic!("key {name} in `keys`"))
        .to_owned()
}

/// The key id a stored git-secret blob names (FORMAT.md: after the 10-byte
/// magic and the version byte, 16 bytes).
fn blob_key_id(blob: &[u8]) -> String {
    assert!(is_encrypted(blob), "not a git-secret blob");
    blob[11..27].iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives `path` an mtime far in the past, so git's stat data no longer match
/// and its next look at the file runs the clean filter (what a checkout,
/// an editor that rewrites the file, or a same-second write leads to).
fn make_stat_dirty(repo: &Repo, path: &str) {
    let file = fs::File::options()
        .write(true)
        .open(repo.dir.join(path))
        .unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .unwrap();
}

#[test]
fn moving_a_file_to_another_key_the_way_readme_says() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/prod.env", A), ("secrets/prod-db.env", A)],
    );
    let default_id = key_id(&repo, "default");
    repo.secret_ok(&["init", "-k", "prod"]);
    let prod_id = key_id(&repo, "prod");
    assert_eq!(
        blob_key_id(&repo.stored("HEAD:secrets/prod.env")),
        default_id
    );
    make_stat_dirty(&repo, "secrets/prod.env");

    // README: first take the file out of the index, then change its line
    // in .gitattributes, then add both and commit.
    repo.git(&["rm", "-q", "--cached", "--", "secrets/prod.env"]);
    let one = format!("{DEFAULT_LINE}secrets/prod.env {PROD}\n{KEY_LINE}{SELF_LINE}");
    repo.write(".gitattributes", &one);
    repo.git(&["add", ".gitattributes", "secrets/prod.env"]);
    repo.git(&["commit", "-qm", "move prod.env to the prod key"]);
    let blob = repo.stored("HEAD:secrets/prod.env");
    assert_eq!(blob_key_id(&blob), prod_id, "stored under the prod key");
    assert!(!contains(&blob, b"s3cr3t"));
    assert_eq!(
        repo.read("secrets/prod.env"),
        A,
        "work tree keeps plaintext"
    );

    // The other file's line changed first: git's own `rm --cached` (and
    // `status`, `commit`) now run the clean filter, which refuses the key
    // change…
    repo.write(
        ".gitattributes",
        format!("{one}secrets/prod-db.env {PROD}\n"),
    );
    make_stat_dirty(&repo, "secrets/prod-db.env");
    let before = repo.snapshot();
    let out = repo.git_output(&["rm", "-q", "--cached", "--", "secrets/prod-db.env"]);
    assert_eq!(out.status.code(), Some(128), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "git-secret: secrets/prod-db.env: refusing to change its key from 'default' (the stored \
         version) to 'prod' (what .gitattributes says now). If that is not a mistake or an attack \
         on .gitattributes, move it deliberately: `git update-index --force-remove -- \
         secrets/prod-db.env`, then `git add secrets/prod-db.env`\n\
         fatal: secrets/prod-db.env: clean filter 'git-secret-prod' failed\n"
    );
    assert!(before == repo.snapshot(), "the refusal changed nothing");
    // … and README's way out for that case works.
    repo.git(&[
        "update-index",
        "--force-remove",
        "--",
        "secrets/prod-db.env",
    ]);
    repo.git(&["add", ".gitattributes", "secrets/prod-db.env"]);
    repo.git(&["commit", "-qm", "move prod-db.env to the prod key"]);
    assert_eq!(
        blob_key_id(&repo.stored("HEAD:secrets/prod-db.env")),
        prod_id
    );
    assert_eq!(repo.status(), "");
    assert_eq!(
        repo.secret_ok(&["status", "--porcelain", "-k", "prod"]),
        format!(
            "encrypted prod {prod_id} secrets/prod-db.env\n\
             encrypted prod {prod_id} secrets/prod.env\n"
        )
    );
}

#[test]
fn a_clone_without_drivers_commits_plaintext_and_check_range_catches_it() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", A)]);
    // No `install`, no `unlock`: git has no driver for filter=git-secret.
    let clone = sandbox.clone_repo(&repo, "fresh");
    assert!(
        is_encrypted(&clone.read("secrets/a.env")),
        "ciphertext checked out"
    );
    assert_eq!(clone.status(), "");
    clone.write("secrets/a.env", "B=typed-in-a-fresh-clone\n");
    clone.git(&["commit", "-qam", "edit in a fresh clone"]);
    assert_eq!(
        clone.stored("HEAD:secrets/a.env"),
        b"B=typed-in-a-fresh-clone\n",
        "git stored the plaintext: no filter, no hook"
    );
    let out = clone.secret(&["status", "--porcelain"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "plaintext default - secrets/a.env\n");
    // The server-side net: no key needed.
    let out = clone.secret(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("secrets/a.env"), "{}", stdout(&out));
}

/// An unlocked repository with one marked file changed in the last commit.
fn changed_secret(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", A)]);
    repo.write("secrets/a.env", A2);
    repo.git(&["commit", "-qam", "change B"]);
    repo
}

#[test]
fn blame_needs_a_revision_to_show_plaintext() {
    let sandbox = Sandbox::new();
    let repo = changed_secret(&sandbox);
    let work_tree = repo.git_output(&["blame", "secrets/a.env"]);
    assert_success(&work_tree, "git blame FILE");
    assert!(
        contains(&work_tree.stdout, b"\0GITSECRET"),
        "git blame FILE shows ciphertext"
    );
    let head = repo.git(&["blame", "-s", "HEAD", "--", "secrets/a.env"]);
    let lines: Vec<&str> = head
        .lines()
        .map(|l| l.split_once(") ").unwrap().1)
        .collect();
    assert_eq!(lines, ["A=1", "B=s3cr3t-changed", "C=3"]);
}

#[test]
fn add_stash_and_restore_patch_mode_skip_marked_files() {
    let sandbox = Sandbox::new();
    let repo = changed_secret(&sandbox);
    repo.write("secrets/a.env", "A=11\nB=s3cr3t-changed\nC=33\n");
    let index = repo.git(&["ls-files", "-s"]);
    for args in [
        &["add", "-p", "--", "secrets/a.env"][..],
        &["stash", "push", "-p", "--", "secrets/a.env"],
        &["restore", "-p", "--", "secrets/a.env"],
    ] {
        let out = repo.git_stdin(args, b"y\ny\ny\n");
        assert!(
            stdout(&out).contains("Only binary files changed.")
                || stderr(&out).contains("Only binary files changed."),
            "git {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(repo.git(&["ls-files", "-s"]), index, "git {args:?}");
    }
    // The whole-file forms work.
    repo.git(&["add", "--", "secrets/a.env"]);
    assert_eq!(
        repo.git(&["diff", "--cached", "--name-only"]),
        "secrets/a.env\n"
    );
}

#[test]
fn only_binary_patches_of_marked_files_apply() {
    let sandbox = Sandbox::new();
    let repo = changed_secret(&sandbox);
    let text = repo.git_output(&["diff", "HEAD~1", "HEAD"]).stdout;
    let binary = repo
        .git_output(&["diff", "--no-textconv", "--binary", "HEAD~1", "HEAD"])
        .stdout;
    assert!(contains(&text, b"+B=s3cr3t-changed"), "textconv diff");
    assert!(
        !contains(&binary, b"s3cr3t"),
        "the binary patch is ciphertext"
    );
    repo.git(&["checkout", "-q", "HEAD~1"]);
    let out = repo.git_stdin(&["apply", "--check"], &text);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("patch does not apply"),
        "{}",
        stderr(&out)
    );
    let out = repo.git_stdin(&["apply"], &binary);
    assert_success(&out, "git apply of the --no-textconv --binary patch");
    assert_eq!(repo.read("secrets/a.env"), A2);
    // format-patch never uses textconv: `git am` applies it.
    repo.git(&["checkout", "-q", "--", "."]);
    let mail = repo
        .git_output(&["format-patch", "-1", "--stdout", "main"])
        .stdout;
    let out = repo.git_stdin(&["am", "-q"], &mail);
    assert_success(&out, "git am");
    assert_eq!(repo.read("secrets/a.env"), A2);
    assert_eq!(
        repo.git(&["rev-parse", "HEAD:secrets/a.env"]),
        repo.git(&["rev-parse", "main:secrets/a.env"])
    );
}

#[test]
fn archive_of_an_unlocked_clone_holds_plaintext() {
    let sandbox = Sandbox::new();
    let repo = changed_secret(&sandbox);
    let tar = repo
        .git_output(&["archive", "--format=tar", "HEAD", "secrets/a.env"])
        .stdout;
    assert!(
        contains(&tar, A2),
        "git archive smudges: plaintext in the tarball"
    );
}
