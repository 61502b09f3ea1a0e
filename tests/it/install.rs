//! `git-secret install` / `uninstall` (issue 13): the default driver in the
//! user's global git config, so every clone on the machine is in locked
//! mode from its first checkout; `uninstall` removes exactly what `install`
//! wrote.

use crate::harness::*;
use std::fs;

#[test]
fn install_puts_every_clone_in_locked_mode_and_uninstall_removes_exactly_that() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    let global = sandbox.home().join(".gitconfig");
    let before = fs::read(&global).unwrap();
    sandbox.install();
    // A fresh clone: ciphertext in the work tree, plaintext refused.
    let clone = sandbox.clone_repo(&repo, "fresh");
    assert!(is_encrypted(&clone.read("secrets/a.env")));
    assert_eq!(clone.status(), "");
    clone.write("secrets/new.env", "LEAK=1\n");
    let out = clone.git_output(&["add", "secrets/new.env"]);
    assert!(!out.status.success(), "a fresh clone must refuse plaintext");
    assert!(
        stderr(&out).contains("refusing to store plaintext"),
        "{}",
        stderr(&out)
    );
    // Repository-local config still wins.
    assert_eq!(repo.read("secrets/a.env"), b"A=1\n");
    let out = sandbox
        .command(BIN, sandbox.path())
        .arg("uninstall")
        .output()
        .unwrap();
    assert_success(&out, "uninstall");
    assert_eq!(
        String::from_utf8_lossy(&fs::read(&global).unwrap()),
        String::from_utf8_lossy(&before),
        "uninstall leaves the global config as it was"
    );
}
