//! Never leak: the pre-commit guard, the push gate, the history audit and status --fix.

use crate::harness::*;

fn unlocked(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/ok.env", "OK=1\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "ok"]);
    repo
}

#[test]
fn pre_commit_hook_refuses_plaintext_staged_behind_the_filters_back() {
    let sandbox = Sandbox::new();
    let repo = unlocked(&sandbox);
    repo.stage_raw("secrets/raw.env", b"RAW=leak\n");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.git_output(&["commit", "-qm", "leak"]);
    assert!(!out.status.success(), "the hook must refuse the commit");
    assert!(stderr(&out).contains("secrets/raw.env"), "{}", stderr(&out));
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    // check --staged directly, without a key: a fresh clone, never unlocked.
    let clone = sandbox.clone_repo(&repo, "clone");
    clone.stage_raw("secrets/raw.env", b"RAW=leak\n");
    assert_refused(&clone.secret(&["check", "--staged"]), "secrets/raw.env");
    // Encrypted staged files pass.
    clone.git(&["rm", "-q", "--cached", "secrets/raw.env"]);
    clone.secret_ok(&["check", "--staged"]);
}

#[test]
fn hook_honours_core_hooks_path_and_chains_an_existing_hook() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    // A hooks path inside the work tree: neither init nor unlock writes
    // there; both print the line to add.
    repo.git(&["config", "core.hooksPath", "my-hooks"]);
    repo.write("my-hooks/pre-commit", "#!/bin/sh\ntrue\n");
    let out = repo.secret(&["init"]);
    assert_success(&out, "init");
    assert!(stderr(&out).contains("core.hooksPath"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("git-secret check --staged"),
        "{}",
        stderr(&out)
    );
    let key = repo.secret_ok(&["export-key", "-"]);
    repo.secret_ok(&["lock"]);
    let out = repo.secret_stdin(&["unlock", "-"], key.as_bytes());
    assert_success(&out, "unlock");
    assert!(
        stderr(&out).contains("git-secret check --staged"),
        "{}",
        stderr(&out)
    );
    assert!(!repo.exists("my-hooks/pre-commit.git-secret-chained"));
    assert_eq!(repo.read("my-hooks/pre-commit"), b"#!/bin/sh\ntrue\n");

    // A hooks path outside the work tree: unlock installs the guard there,
    // chaining the existing hook.
    let hooks = sandbox.path().join("shared-hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(
        hooks.join("pre-commit"),
        "#!/bin/sh\necho existing-hook-ran >> \"$(git rev-parse --git-dir)/hook.log\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        hooks.join("pre-commit"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    repo.git(&["config", "core.hooksPath", hooks.to_str().unwrap()]);
    repo.secret_ok(&["lock"]);
    assert_success(
        &repo.secret_stdin(&["unlock", "-"], key.as_bytes()),
        "unlock",
    );
    let hook = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(hook.contains("check --staged"), "{hook}");
    assert!(hooks.join("pre-commit.git-secret-chained").exists());
    repo.mark_default();
    let log = std::fs::read_to_string(repo.dir.join(".git/hook.log")).unwrap();
    assert!(
        log.contains("existing-hook-ran"),
        "the chained hook still runs"
    );
    // Reinstalling keeps a single chain.
    repo.secret_ok(&["lock"]);
    assert_success(
        &repo.secret_stdin(&["unlock", "-"], key.as_bytes()),
        "unlock again",
    );
    let chained = std::fs::read_to_string(hooks.join("pre-commit.git-secret-chained")).unwrap();
    assert!(chained.contains("existing-hook-ran"));
}

/// A pre-commit hook that is a symlink is moved aside as the chained hook
/// (the link itself, not its target) and never written through.
#[test]
fn a_symlinked_hook_is_never_written_through() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    let target = sandbox.path().join("elsewhere.sh");
    std::fs::write(&target, "#!/bin/sh\ntrue\n").unwrap();
    let hooks = repo.dir.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::os::unix::fs::symlink(&target, hooks.join("pre-commit")).unwrap();
    repo.secret_ok(&["init"]);
    assert_eq!(std::fs::read(&target).unwrap(), b"#!/bin/sh\ntrue\n");
    let chained = hooks.join("pre-commit.git-secret-chained");
    assert!(chained.symlink_metadata().unwrap().file_type().is_symlink());
    let hook = hooks.join("pre-commit");
    assert!(hook.symlink_metadata().unwrap().file_type().is_file());
    assert!(std::fs::read_to_string(hook)
        .unwrap()
        .contains("check --staged"));
}

#[test]
fn push_gate_and_audit_find_plaintext_in_history() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    // A secret committed before it was marked.
    repo.write("secrets/early.env", "EARLY=plaintext\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "early"]);
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.secret_ok(&["init"]);
    repo.write(
        ".gitattributes",
        "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n",
    );
    repo.git(&["add", ".gitattributes"]);
    // The installed hook refuses this commit (early.env is now a marked
    // plaintext blob); --no-verify stands for a tool that skips hooks.
    let out = repo.git_output(&["commit", "-qm", "mark"]);
    assert!(
        !out.status.success(),
        "the pre-commit guard catches marking an already committed secret"
    );
    repo.git(&["commit", "-q", "--no-verify", "-m", "mark"]);
    let tip = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();

    let out = repo.secret(&["audit"]);
    assert_refused(&out, "change those secrets");
    assert!(
        stdout(&out).contains("secrets/early.env"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains(&tip[..12]),
        "reported at the commit that marks it: {}",
        stdout(&out)
    );

    // The push gate, as a pre-receive hook runs it (no key, bare repo).
    let bare = sandbox.path().join("server.git");
    let out = sandbox
        .command("git", sandbox.path())
        .args(["clone", "-q", "--bare"])
        .arg(&repo.dir)
        .arg(&bare)
        .output()
        .unwrap();
    assert_success(&out, "clone --bare");
    let server = sandbox.open(bare);
    let zero = "0".repeat(40);
    assert_refused(
        &server.secret(&["check", "--range", &format!("{base}..{tip}")]),
        "plaintext",
    );
    // A new branch: pre-receive sees OLD = zeros and the commits on no ref yet.
    server.git(&["update-ref", "-d", "refs/heads/main"]);
    assert_refused(
        &server.secret(&["check", "--range", &format!("{zero}..{tip}")]),
        "plaintext",
    );

    // Fix: re-stage encrypted, commit; the new range is clean, the audit still
    // reports the old commit (history keeps it).
    repo.secret_ok(&["status", "--fix"]);
    repo.git(&["commit", "-qm", "encrypt early.env"]);
    assert!(is_encrypted(&repo.stored("HEAD:secrets/early.env")));
    repo.secret_ok(&["status"]);
    let fixed = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.secret_ok(&["check", "--range", &format!("{tip}..{fixed}")]);
    assert_refused(&repo.secret(&["audit"]), "plaintext");
}

#[test]
fn audit_is_quiet_on_a_clean_history() {
    let sandbox = Sandbox::new();
    let repo = unlocked(&sandbox);
    let out = repo.secret(&["audit"]);
    assert_success(&out, "audit");
    assert_eq!(stdout(&out), "");
}
