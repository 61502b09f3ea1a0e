//! Nothing destroys the last copy of a key (issue 11): `lock` keeps a key
//! born in this clone until it exists somewhere else, and a CI runner that
//! unlocks from standard input keeps no key material after `lock`.

use crate::harness::*;
use std::fs;
use std::path::Path;

const ENV: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";

fn fresh(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)])
}

/// The `id:` values of a key file, in order.
fn ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(str::to_owned)
        .collect()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// `init`, commit, `lock` used to delete the only copy of the key: the
/// committed secrets could never be read again.
#[test]
fn lock_refuses_to_delete_a_key_that_was_never_exported() {
    let sandbox = Sandbox::new();
    let repo = fresh(&sandbox);
    let id = ids(&repo.secret_ok(&["export-key", "--current", "-"]))[0].clone();
    // export-key to stdout counts as kept; make a new clone-born key instead.
    let repo2 = sandbox.repo_with_secrets("bob", &[("secrets/a.env", ENV)]);
    let before = repo2.snapshot();
    let out = repo2.secret(&["lock"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let key2 = repo2.secret_ok(&["keys"]);
    let id2 = key2.split_whitespace().nth(3).unwrap().to_owned();
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: lock would delete the only copy of key 'default' (id {id2}): it was made in this clone \
             and never exported, so every file it encrypted could never be read again. Keep a copy first: \
             `git-secret export-key FILE` (or `-` for standard output), `git-secret export-key --to-ring`, or \
             `git-secret add-user PUBLIC-KEY`; then lock again. To delete it anyway, pass --discard-key\n"
        )
    );
    assert!(
        before == repo2.snapshot(),
        "a refused lock changed something"
    );
    // The first repository exported its key (to stdout): lock goes ahead.
    assert_ne!(id, id2);
    repo.secret_ok(&["lock"]);
    assert!(is_encrypted(&repo.read("secrets/a.env")));
}

/// Each way of keeping a copy lets `lock` remove the key; `--discard-key`
/// deletes an unsaved one and says so.
#[test]
fn export_ring_recipient_or_discard_key_let_lock_go_ahead() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("team.key");
    let file = file.to_str().unwrap();
    for (name, keep) in [
        ("file", vec!["export-key", file]),
        ("ring", vec!["export-key", "--to-ring"]),
        (
            "recipient",
            vec![
                "add-user",
                "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            ],
        ),
    ] {
        let repo = sandbox.repo_with_secrets(name, &[("secrets/a.env", ENV)]);
        repo.secret_ok(&keep);
        let _ = fs::remove_file(file);
        repo.secret_ok(&["lock"]);
        assert!(is_encrypted(&repo.read("secrets/a.env")), "{name}");
    }
    let repo = sandbox.repo_with_secrets("discard", &[("secrets/a.env", ENV)]);
    let out = repo.secret(&["lock", "--discard-key"]);
    assert_success(&out, "lock --discard-key");
    assert!(
        stderr(&out).contains("Discarded key 'default'"),
        "{}",
        stderr(&out)
    );
    assert!(!repo.key_dir().exists() || fs::read_dir(repo.key_dir()).unwrap().next().is_none());
}

/// A generation made by `rotate` is born here too: exporting the old one is
/// not enough.
#[test]
fn lock_refuses_to_delete_a_rotated_generation_that_was_never_exported() {
    let sandbox = Sandbox::new();
    let repo = fresh(&sandbox);
    repo.secret_ok(&["export-key", "-"]);
    repo.secret_ok(&["rotate"]);
    repo.git(&["commit", "-qm", "rotate"]);
    let before = repo.snapshot();
    let out = repo.secret(&["lock"]);
    assert_refused(&out, "only copy of key 'default'");
    assert!(
        before == repo.snapshot(),
        "a refused lock changed something"
    );
    repo.secret_ok(&["export-key", "-"]);
    repo.secret_ok(&["lock"]);
}

/// The README's CI recipe, `printf '%s\n' "$GIT_SECRET_KEY" | git-secret
/// unlock -` then `git-secret lock`, used to leave the key in the runner's
/// personal ring.
#[test]
fn ci_unlock_from_stdin_then_lock_leaves_no_key_material() {
    let sandbox = Sandbox::new();
    let alice = fresh(&sandbox);
    let key = alice.secret_ok(&["export-key", "-"]);
    let material = key
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap()
        .to_owned();
    let ci = sandbox.clone_repo(&alice, "ci");
    let out = ci.secret_stdin(&["unlock", "-"], format!("{key}\n").as_bytes());
    assert_success(&out, "unlock -");
    assert_eq!(ci.read("secrets/a.env"), ENV);
    ci.secret_ok(&["lock"]);
    assert_eq!(
        files_containing(&sandbox.home(), material.as_bytes()),
        Vec::<String>::new(),
        "key material left under HOME"
    );
    assert_eq!(
        files_containing(&ci.dir.join(".git"), material.as_bytes()),
        Vec::<String>::new(),
        "key material left in the clone"
    );
}
