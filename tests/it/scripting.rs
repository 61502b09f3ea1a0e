//! Output that scripts read (issue 14): `status --porcelain` / `-z` / `-k`,
//! git-style path quoting in the human form, and a diff placeholder in a
//! locked clone that tells versions apart.

use crate::harness::*;
use sha2::{Digest, Sha256};

const A1: &[u8] = b"API_TOKEN=s3cr3t-one\n";
const A2: &[u8] = b"API_TOKEN=s3cr3t-two\n";

/// The key id (full hex) of the repository's default key, from `keys`.
fn default_key_id(repo: &Repo) -> String {
    repo.secret_ok(&["keys"])
        .lines()
        .find(|l| l.starts_with("default"))
        .and_then(|l| l.split_whitespace().nth(3))
        .expect("default key in `keys`")
        .to_owned()
}

/// The placeholder textconv prints for a blob it cannot open, as FORMAT.md
/// and README describe it: key id, and the first 12 hex digits of the
/// SHA-256 of the stored blob.
fn placeholder(key_id: &str, blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    let content: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "[git-secret: encrypted with key {key_id}, content {content}; \
         run `git-secret unlock` to see the contents]"
    )
}

#[test]
fn locked_diff_placeholder_tells_versions_apart() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", A1)]);
    repo.write("secrets/a.env", A2);
    repo.git(&["commit", "-qam", "change a"]);
    repo.write("README", "unrelated\n");
    repo.git(&["commit", "-qam", "unrelated"]);
    let id = default_key_id(&repo);
    repo.keep_key();
    repo.secret_ok(&["lock"]);
    assert!(is_encrypted(&repo.read("secrets/a.env")), "locked");

    let old = placeholder(&id, &repo.stored("HEAD~2:secrets/a.env"));
    let new = placeholder(&id, &repo.stored("HEAD~1:secrets/a.env"));
    assert_ne!(old, new);

    // A real change: exit 1 and two different placeholder lines.
    let out = repo.git_output(&[
        "diff",
        "--exit-code",
        "HEAD~2",
        "HEAD~1",
        "--",
        "secrets/a.env",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff = stdout(&out);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(changed, [format!("-{old}"), format!("+{new}")], "{diff}");
    assert!(
        !diff.contains("s3cr3t"),
        "no plaintext while locked:\n{diff}"
    );

    // A commit that does not change the file: nothing, exit 0.
    let out = repo.git_output(&[
        "diff",
        "--exit-code",
        "HEAD~1",
        "HEAD",
        "--",
        "secrets/a.env",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "");

    // `git log -p` shows the change in the commit that made it.
    let log = repo.git(&["log", "-p", "--format=commit %s", "--", "secrets/a.env"]);
    let change = log
        .split("commit ")
        .find(|c| c.starts_with("change a"))
        .unwrap_or_else(|| panic!("no commit 'change a' in log -p:\n{log}"));
    assert!(change.contains(&format!("-{old}\n")), "{log}");
    assert!(change.contains(&format!("+{new}\n")), "{log}");
    assert!(!log.contains("s3cr3t"), "{log}");
}
