//! `git-secret doctor [--fix]` (issue 13): every setup problem is created
//! for real, named on stdout with its fix (exit 1), fixed by `--fix` where
//! that is safe (which says what it did), and a second `doctor` passes.
//! What `--fix` must not touch is left exactly as it was.

use crate::harness::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

const ENV: &[u8] = b"API_TOKEN=s3cr3t-doctor\n";
const HEALTHY: &str =
    "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
                       doctor: no problems found\n";
const LOCKED_NOTE: &str = "note: key 'default' is locked (not held here): 1 marked file(s) stay ciphertext; \
                           to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)\n";
const LOCKED: &str = "note: key 'default' is locked (not held here): 1 marked file(s) stay ciphertext; \
                      to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)\n\
                      doctor: no problems found\n";

fn alice(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)])
}

/// This binary's path as the drivers name it.
fn exe() -> String {
    fs::canonicalize(BIN).unwrap().display().to_string()
}

fn git_dir(repo: &Repo) -> PathBuf {
    PathBuf::from(repo.git(&["rev-parse", "--absolute-git-dir"]).trim())
}

/// Every long word of every key file in the sandbox: key material, which
/// no output of doctor may contain.
fn key_words(dir: &Path, words: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if entry.is_dir() && !entry.is_symlink() {
            key_words(&entry, words);
        } else if entry.extension().is_some_and(|e| e == "key") {
            let text = fs::read_to_string(&entry).unwrap_or_default();
            words.extend(
                text.split_whitespace()
                    .filter(|w| w.len() >= 43)
                    .map(str::to_owned),
            );
        }
    }
}

/// Runs doctor; asserts no key material in its output and nothing on stderr.
fn doctor(repo: &Repo, args: &[&str]) -> Output {
    let out = repo.secret(&[&["doctor"], args].concat());
    let mut words = Vec::new();
    key_words(repo.sandbox.path(), &mut words);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    for word in words {
        assert!(!all.contains(&word), "doctor printed key material: {all}");
    }
    out
}

/// Asserts exit `code` and exactly `expected` on stdout, nothing on stderr.
fn assert_doctor(out: &Output, code: i32, expected: &str) {
    assert_eq!(stdout(out), expected, "stderr: {}", stderr(out));
    assert_eq!(stderr(out), "");
    assert_eq!(out.status.code(), Some(code));
}

fn assert_healthy(repo: &Repo, expected: &str) {
    let out = doctor(repo, &[]);
    assert_doctor(&out, 0, expected);
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn doctor_outside_a_repository_says_so() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .command(BIN, sandbox.path())
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "git-secret: error: not inside a git repository (fatal: not a git repository \
         (or any of the parent directories): .git); run doctor inside the git work tree to check\n"
    );
}

#[test]
fn doctor_without_any_setup_says_what_to_run() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("plain");
    repo.write("README", "hello\n");
    repo.git(&["add", "README"]);
    repo.git(&["commit", "-qm", "initial"]);
    let before = repo.snapshot();
    for args in [&[][..], &["--fix"]] {
        let out = doctor(&repo, args);
        assert_doctor(
            &out,
            0,
            "note: git-secret is not set up in this repository: no file is marked for encryption \
             and no key is held; to start: git-secret init, then mark files in .gitattributes \
             (filter=git-secret diff=git-secret merge=git-secret -text)\n\
             doctor: no problems found\n",
        );
    }
    assert!(before == repo.snapshot(), "doctor changed the repository");
    assert!(!git_dir(&repo).join("git-secret.lock").exists());
}

#[test]
fn a_healthy_unlocked_and_a_healthy_locked_clone_pass() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let before = repo.snapshot();
    assert_healthy(&repo, HEALTHY);
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(&out, 0, HEALTHY);
    assert!(before == repo.snapshot(), "--fix changed a healthy clone");
    let key = repo.keep_key();
    repo.secret_ok(&["lock"]);
    assert_healthy(&repo, LOCKED);
    // A teammate's clone, unlocked and locked again.
    let clone = sandbox.clone_repo(&repo, "bob");
    clone.secret_ok(&["unlock", key.to_str().unwrap()]);
    assert_healthy(&clone, HEALTHY);
    clone.secret_ok(&["lock"]);
    assert_healthy(&clone, LOCKED);
}

#[test]
fn a_driver_that_runs_a_missing_binary_is_pointed_at_this_one() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.git(&["config", "filter.git-secret.process", "/nonexistent"]);
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        "problem: driver git-secret runs /nonexistent, which does not exist \
         (filter.git-secret.process); fix: git-secret doctor --fix points it at this binary\n\
         note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n",
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: configured driver git-secret to run this binary ({})\n{HEALTHY}",
            exe()
        ),
    );
    assert_healthy(&repo, HEALTHY);
    assert_eq!(
        repo.git(&["config", "filter.git-secret.process"]),
        format!("{}-filter-process\n", exe())
    );
}

#[test]
fn a_driver_that_runs_another_binary_is_pointed_at_this_one() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let other = sandbox.path().join("old/git-secret");
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    fs::write(&other, "#!/bin/sh\nexit 1\n").unwrap();
    set_mode(&other, 0o755);
    let other = other.display().to_string();
    for key in ["filter.git-secret.clean", "merge.git-secret.driver"] {
        let value = repo.git(&["config", key]).replace(&exe(), &other);
        repo.git(&["config", key, value.trim_end()]);
    }
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "problem: driver git-secret runs another binary, {other} \
             (filter.git-secret.clean, merge.git-secret.driver); \
             fix: git-secret doctor --fix points it at this binary\n\
             note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n"
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: configured driver git-secret to run this binary ({})\n{HEALTHY}",
            exe()
        ),
    );
    assert_healthy(&repo, HEALTHY);
}

#[test]
fn a_partly_configured_driver_gets_its_missing_and_wrong_entries() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.git(&["config", "--unset", "diff.git-secret.textconv"]);
    repo.git(&["config", "--unset", "merge.git-secret.driver"]);
    repo.git(&["config", "filter.git-secret.required", "false"]);
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        "problem: driver git-secret is partly configured: diff.git-secret.textconv, \
         merge.git-secret.driver not set; fix: git-secret doctor --fix adds them\n\
         problem: filter.git-secret.required is \"false\", not \"true\"; \
         fix: git-secret doctor --fix resets it\n\
         note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         doctor: 2 problem(s) found (2 fixable with git-secret doctor --fix)\n",
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: configured driver git-secret to run this binary ({})\n{HEALTHY}",
            exe()
        ),
    );
    assert_healthy(&repo, HEALTHY);
}

/// A fresh clone (no `install`): git knows no driver, so it would commit
/// plaintext at marked paths, and no hook guards commits. `--fix` puts the
/// clone in locked mode: plaintext at a marked path is then refused.
#[test]
fn a_fresh_clone_without_drivers_or_hook_is_put_in_locked_mode() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let clone = sandbox.clone_repo(&repo, "fresh");
    let hook = git_dir(&clone).join("hooks/pre-commit");
    let out = doctor(&clone, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "problem: driver git-secret is not configured, so git would store 1 marked file(s) \
             as the work tree has them, plaintext included; \
             fix: git-secret doctor --fix configures it (in locked mode until you unlock)\n\
             note: key 'default' is locked (not held here): 1 marked file(s) stay ciphertext; \
             to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)\n\
             problem: no pre-commit hook refuses plaintext at marked paths ({} is missing); \
             fix: git-secret doctor --fix installs it\n\
             doctor: 2 problem(s) found (2 fixable with git-secret doctor --fix)\n",
            hook.display()
        ),
    );
    let out = doctor(&clone, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: configured driver git-secret to run this binary ({})\n\
             fixed: installed the pre-commit hook {}\n{LOCKED}",
            exe(),
            hook.display()
        ),
    );
    assert_healthy(&clone, LOCKED);
    clone.write("secrets/new.env", "LEAK=1\n");
    let out = clone.git_output(&["add", "secrets/new.env"]);
    assert!(!out.status.success(), "locked mode refuses plaintext");
}

#[test]
fn a_marked_path_that_git_converts_is_named_and_left_to_the_user() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let mut attributes = String::from_utf8(repo.read(".gitattributes")).unwrap();
    attributes.push_str("secrets/a.env text eol=crlf\n");
    repo.write(".gitattributes", &attributes);
    let expected = "problem: secrets/a.env: text, set by .gitattributes:4 (secrets/a.env text eol=crlf): \
         git converts the ciphertext, which then fails authentication on checkout; \
         fix: mark the path -text and drop text, eol, working-tree-encoding and ident from that line, \
         then git add --renormalize -- secrets/a.env\n\
         problem: secrets/a.env: eol=crlf, set by .gitattributes:4 (secrets/a.env text eol=crlf): \
         git converts the ciphertext, which then fails authentication on checkout; \
         fix: mark the path -text and drop text, eol, working-tree-encoding and ident from that line, \
         then git add --renormalize -- secrets/a.env\n\
         note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         doctor: 2 problem(s) found (0 fixable with git-secret doctor --fix)\n";
    let out = doctor(&repo, &[]);
    assert_doctor(&out, 1, expected);
    let before = repo.snapshot();
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(&out, 1, expected);
    assert!(
        before == repo.snapshot(),
        "--fix must not edit .gitattributes"
    );
}

#[test]
fn a_later_line_that_unmarks_an_encrypted_path_is_named() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let mut attributes = String::from_utf8(repo.read(".gitattributes")).unwrap();
    attributes.push_str("secrets/a.env filter=lfs\n");
    repo.write(".gitattributes", &attributes);
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        "problem: secrets/a.env is stored encrypted, but filter=lfs, set by .gitattributes:4 \
         (secrets/a.env filter=lfs): its next git add stores plaintext; fix: remove or fix that line \
         (to stop encrypting it on purpose: git rm --cached -- secrets/a.env, and commit that first)\n\
         note: key 'default' is unlocked: no file is marked filter=git-secret\n\
         doctor: 1 problem(s) found (0 fixable with git-secret doctor --fix)\n",
    );
    let before = repo.snapshot();
    assert_eq!(doctor(&repo, &["--fix"]).status.code(), Some(1));
    assert!(
        before == repo.snapshot(),
        "--fix must not edit .gitattributes"
    );
}

/// The blob stays under the default key while .gitattributes now gives the
/// path key `prod`.
#[test]
fn a_blob_under_a_key_its_driver_does_not_name_is_named() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.secret_ok(&["init", "-k", "prod"]);
    let id = match stored_id(&repo) {
        Some(id) => id,
        None => panic!("secrets/a.env is not stored encrypted"),
    };
    repo.write(
        ".gitattributes",
        "secrets/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n\
         .gitattributes !filter !diff !merge\n",
    );
    let expected = format!(
        "problem: secrets/a.env is stored under key 'default' (id {id}), but .gitattributes gives it \
         key 'prod' (filter=git-secret-prod); fix: mark it filter=git-secret in .gitattributes, or \
         store it anew under key 'prod' (git rm --cached -- secrets/a.env, then git add -- secrets/a.env)\n\
         note: key 'default' is unlocked: no file is marked filter=git-secret\n\
         note: key 'prod' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         doctor: 1 problem(s) found (0 fixable with git-secret doctor --fix)\n"
    );
    let out = doctor(&repo, &[]);
    assert_doctor(&out, 1, &expected);
    let before = repo.snapshot();
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(&out, 1, &expected);
    assert!(before == repo.snapshot(), "--fix must not re-encrypt");
}

/// The key id in the header of the index blob of secrets/a.env.
fn stored_id(repo: &Repo) -> Option<String> {
    let line = repo.secret_ok(&["status", "secrets/a.env"]);
    line.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 32)
        .map(str::to_owned)
}

/// Bob holds the first generation; Alice rotates, and Bob's branch moves to
/// blobs of a generation he does not hold: a problem, since his unlocked
/// work tree cannot hold their plaintext.
#[test]
fn a_needed_generation_that_is_not_held_is_a_problem() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = repo.keep_key();
    let bob = sandbox.clone_repo(&repo, "bob");
    bob.secret_ok(&["unlock", key.to_str().unwrap()]);
    repo.secret_ok(&["rotate"]);
    repo.git(&["commit", "-qm", "rotate"]);
    let id = stored_id(&repo).expect("encrypted");
    // A pull's checkout would fail on the new generation; moving the branch
    // without a checkout brings the blobs in all the same.
    bob.git(&["fetch", "-q"]);
    bob.git(&["reset", "-q", "--soft", "origin/main"]);
    let expected = format!(
        "problem: 1 marked file(s) of key 'default' are stored under key id {id}, which this clone \
         does not hold (secrets/a.env); fix: git-secret unlock KEYFILE with a key file that holds it \
         (from a teammate: git-secret export-key FILE)\n\
         note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         doctor: 1 problem(s) found (0 fixable with git-secret doctor --fix)\n"
    );
    let out = doctor(&bob, &[]);
    assert_doctor(&out, 1, &expected);
    let before = bob.snapshot();
    assert_eq!(doctor(&bob, &["--fix"]).status.code(), Some(1));
    assert!(before == bob.snapshot(), "--fix must not touch keys");
}

/// A key name this clone does not hold is reported, not a problem.
#[test]
fn a_key_name_this_clone_does_not_hold_is_reported_only() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let default_key = repo.keep_key();
    repo.secret_ok(&["init", "-k", "prod"]);
    let mut attributes = String::from_utf8(repo.read(".gitattributes")).unwrap();
    attributes.push_str(
        "prod/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n",
    );
    repo.write(".gitattributes", &attributes);
    repo.write("prod/db.env", "DB=1\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "prod"]);
    let clone = sandbox.clone_repo(&repo, "bob");
    clone.secret_ok(&["unlock", default_key.to_str().unwrap()]);
    assert_healthy(
        &clone,
        "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         note: key 'prod' is locked (not held here): 1 marked file(s) stay ciphertext; \
         to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)\n\
         doctor: no problems found\n",
    );
}

/// A `lock` killed halfway: its temp dir is left (removed by `--fix`, as
/// no git-secret command holds the lock), and the work tree is half locked
/// (named; rerunning the command finishes it).
#[test]
fn what_a_killed_lock_leaves_is_named_and_the_stale_temp_dir_removed() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/a.env", ENV), ("secrets/b.env", b"B=2\n")],
    );
    repo.keep_key();
    let out = repo
        .sandbox
        .command(BIN, &repo.dir)
        .env("GIT_SECRET_FAULT", "lock:half-written")
        .arg("lock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(99), "{}", stderr(&out));
    let temp = git_dir(&repo).join("git-secret-tmp");
    assert!(temp.is_dir());
    let half = "problem: secrets/a.env holds ciphertext in the work tree though key 'default' is unlocked \
                (an interrupted lock or unlock); fix: run that command again \
                (git-secret lock, or git-secret unlock KEYFILE)\n\
                note: key 'default' is unlocked: 1 of 2 marked file(s) in plaintext in the work tree\n";
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "{half}problem: {} was left by an interrupted git-secret command (it may hold plaintext); \
             fix: git-secret doctor --fix removes it\n\
             doctor: 2 problem(s) found (1 fixable with git-secret doctor --fix)\n",
            temp.display()
        ),
    );
    // While a git-secret command holds the lock, its files are in use: not
    // judged, not removed.
    let mut holder = sandbox
        .command("flock", &repo.dir)
        .args(["-o", ".git/git-secret.lock", "sleep", "60"])
        .spawn()
        .unwrap();
    let lock = git_dir(&repo).join("git-secret.lock");
    while !held(&lock) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = doctor(&repo, &["--fix"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_doctor(
        &out,
        0,
        "note: key 'default' is unlocked: 2 marked file(s) in plaintext in the work tree\n\
         note: another git-secret command is running in this repository; the work tree and its \
         temp files were not checked (run git-secret doctor again when it has finished)\n\
         doctor: no problems found\n",
    );
    assert!(temp.is_dir(), "in use: not removed");
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        1,
        &format!(
            "fixed: removed {}\n{half}doctor: 1 problem(s) found (0 fixable with git-secret doctor --fix)\n",
            temp.display()
        ),
    );
    assert!(!temp.exists());
    repo.secret_ok(&["lock"]);
    assert_healthy(
        &repo,
        "note: key 'default' is locked (not held here): 2 marked file(s) stay ciphertext; \
         to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)\n\
         doctor: no problems found\n",
    );
}

/// Whether some process holds an flock on `path` (a non-blocking try fails).
fn held(path: &Path) -> bool {
    let out = std::process::Command::new("flock")
        .args(["-n", "-E", "7"])
        .arg(path)
        .arg("true")
        .output()
        .unwrap();
    out.status.code() == Some(7)
}

#[test]
fn key_files_and_the_ring_with_loose_modes_are_made_private() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.secret_ok(&["export-key", "--to-ring"]);
    let store = repo.key_dir();
    let key_file = store.join("default.key");
    let ring = sandbox.home().join(".local/share/git-secret/ring");
    let ring_file = fs::read_dir(&ring).unwrap().next().unwrap().unwrap().path();
    set_mode(&key_file, 0o644);
    set_mode(&store, 0o755);
    set_mode(&ring_file, 0o640);
    set_mode(&ring, 0o750);
    let line = |path: &Path, mode: &str, want: &str| {
        format!(
            "problem: {} has mode {mode}, so other users may read it; \
             fix: git-secret doctor --fix runs chmod {want} on it\n",
            path.display()
        )
    };
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             {}{}{}{}doctor: 4 problem(s) found (4 fixable with git-secret doctor --fix)\n",
            line(&store, "0755", "700"),
            line(&key_file, "0644", "600"),
            line(&ring, "0750", "700"),
            line(&ring_file, "0640", "600"),
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: chmod 700 {}\nfixed: chmod 600 {}\nfixed: chmod 700 {}\nfixed: chmod 600 {}\n{HEALTHY}",
            store.display(),
            key_file.display(),
            ring.display(),
            ring_file.display()
        ),
    );
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(&store), 0o700);
    assert_eq!(mode(&ring_file), 0o600);
    assert_eq!(mode(&ring), 0o700);
    assert_healthy(&repo, HEALTHY);
}

#[test]
fn a_missing_or_stale_hook_is_reinstalled() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let hook = git_dir(&repo).join("hooks/pre-commit");
    fs::remove_file(&hook).unwrap();
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             problem: no pre-commit hook refuses plaintext at marked paths ({} is missing); \
             fix: git-secret doctor --fix installs it\n\
             doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n",
            hook.display()
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: installed the pre-commit hook {}\n{HEALTHY}",
            hook.display()
        ),
    );
    assert_healthy(&repo, HEALTHY);
    // Ours, but naming a binary that was moved away.
    let text = fs::read_to_string(&hook)
        .unwrap()
        .replace(&exe(), "/gone/git-secret");
    fs::write(&hook, text).unwrap();
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             problem: the pre-commit hook {} runs /gone/git-secret, which does not exist; \
             fix: git-secret doctor --fix rewrites it\n\
             doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n",
            hook.display()
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: installed the pre-commit hook {}\n{HEALTHY}",
            hook.display()
        ),
    );
}

/// What a kill between writing a key file's temp file and renaming it
/// leaves in the key store, and an unsaved-key record whose key never
/// reached the store (a rotate killed between its two writes).
#[test]
fn leftovers_in_the_key_store_are_removed_and_stale_unsaved_ids_dropped() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let store = repo.key_dir();
    let temp = store.join(".git-secret-tmpAbC123");
    fs::write(&temp, "half a key file\n").unwrap();
    set_mode(&temp, 0o600);
    let unsaved = git_dir(&repo).join("git-secret-unsaved");
    let kept = fs::read_to_string(&unsaved).unwrap();
    let stale = "0123456789abcdef0123456789abcdef";
    fs::write(&unsaved, format!("{kept}{stale}\n")).unwrap();
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             problem: {} was left by an interrupted git-secret command (it may hold key material); \
             fix: git-secret doctor --fix removes it\n\
             problem: {} lists key id(s) {stale} that are not in the key store (left by an \
             interrupted command); fix: git-secret doctor --fix drops them\n\
             doctor: 2 problem(s) found (2 fixable with git-secret doctor --fix)\n",
            temp.display(),
            unsaved.display()
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: removed {}\nfixed: dropped key id(s) {stale} from {}\n{HEALTHY}",
            temp.display(),
            unsaved.display()
        ),
    );
    assert_eq!(
        fs::read_to_string(&unsaved).unwrap(),
        kept,
        "the real record stays"
    );
    assert!(repo.key_dir().join("default.key").exists());
}

/// Someone else's hook: --fix keeps it, chained after the check.
#[test]
fn a_foreign_hook_is_chained_after_the_check() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let hook = git_dir(&repo).join("hooks/pre-commit");
    fs::write(&hook, "#!/bin/sh\necho lint\n").unwrap();
    set_mode(&hook, 0o755);
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             problem: the pre-commit hook {} does not run git-secret check --staged; \
             fix: git-secret doctor --fix keeps it and runs it after the check\n\
             doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n",
            hook.display()
        ),
    );
    let out = repo.secret(&["doctor", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "Kept your existing pre-commit hook; it now runs after git-secret's check ({}).\n",
            hook.with_file_name("pre-commit.git-secret-chained")
                .display()
        )
    );
    assert_eq!(
        stdout(&out),
        format!(
            "fixed: installed the pre-commit hook {}\n{HEALTHY}",
            hook.display()
        )
    );
    assert_eq!(
        fs::read_to_string(hook.with_file_name("pre-commit.git-secret-chained")).unwrap(),
        "#!/bin/sh\necho lint\n"
    );
    assert_healthy(&repo, HEALTHY);
}

/// Hooks kept in the work tree (core.hooksPath) are tracked and shared:
/// doctor names the line to add and writes nothing there.
#[test]
fn a_hook_in_the_work_tree_is_left_to_the_user() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.write("my-hooks/pre-commit", "#!/bin/sh\ntrue\n");
    repo.git(&["config", "core.hooksPath", "my-hooks"]);
    let hook = repo.dir.join("my-hooks/pre-commit");
    let expected = format!(
        "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
         problem: the pre-commit hook {} does not run git-secret check --staged; \
         fix: add this line to it: git-secret check --staged || exit 1\n\
         doctor: 1 problem(s) found (0 fixable with git-secret doctor --fix)\n",
        hook.display()
    );
    assert_doctor(&doctor(&repo, &[]), 1, &expected);
    let before = repo.snapshot();
    assert_doctor(&doctor(&repo, &["--fix"]), 1, &expected);
    assert!(
        before == repo.snapshot(),
        "nothing written into the work tree"
    );
    repo.write(
        "my-hooks/pre-commit",
        "#!/bin/sh\ngit-secret check --staged || exit 1\n",
    );
    assert_healthy(&repo, HEALTHY);
}

/// git-crypt's own driver (a repository that still uses git-crypt beside
/// git-secret) is not ours: neither reported nor rewritten.
#[test]
fn git_crypts_own_driver_is_left_alone() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.git(&["config", "filter.git-crypt.smudge", "\"git-crypt\" smudge"]);
    repo.git(&["config", "filter.git-crypt.clean", "\"git-crypt\" clean"]);
    repo.git(&["config", "filter.git-crypt.required", "true"]);
    let before = repo.snapshot();
    assert_healthy(&repo, HEALTHY);
    assert_doctor(&doctor(&repo, &["--fix"]), 0, HEALTHY);
    assert!(before == repo.snapshot(), "git-crypt's config unchanged");
}

/// A driver that runs this binary with the wrong key name (a hand-copied
/// config section) would encrypt with another key.
#[test]
fn a_driver_command_with_the_wrong_arguments_is_reset() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.secret_ok(&["init", "-k", "prod"]);
    let default_process = repo.git(&["config", "filter.git-secret.process"]);
    let wrong = default_process.trim_end();
    repo.git(&["config", "filter.git-secret-prod.process", wrong]);
    let right = format!("'{}' filter-process -k prod", exe());
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "problem: filter.git-secret-prod.process is {wrong:?}, not {right:?}; \
             fix: git-secret doctor --fix resets it\n\
             note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n\
             note: key 'prod' is unlocked: no file is marked filter=git-secret-prod\n\
             doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n"
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        repo.git(&["config", "filter.git-secret-prod.process"]),
        format!("{right}\n")
    );
}

/// After `install`, a fresh clone has the drivers (from the global config)
/// but no hook: only the hook is missing, and --fix writes no driver into
/// the clone's own config.
#[test]
fn after_install_a_fresh_clone_only_lacks_the_hook() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    sandbox.install();
    let clone = sandbox.clone_repo(&repo, "fresh");
    let hook = git_dir(&clone).join("hooks/pre-commit");
    let locked =
        "note: key 'default' is locked (not held here): 1 marked file(s) stay ciphertext; \
                  to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)\n";
    let out = doctor(&clone, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "{locked}problem: no pre-commit hook refuses plaintext at marked paths ({} is missing); \
             fix: git-secret doctor --fix installs it\n\
             doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n",
            hook.display()
        ),
    );
    let config = clone.git(&["config", "--local", "--list"]);
    let out = doctor(&clone, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: installed the pre-commit hook {}\n{LOCKED}",
            hook.display()
        ),
    );
    assert_eq!(clone.git(&["config", "--local", "--list"]), config);
}

/// A marked file in the index but gone from the work tree (what a pull
/// whose smudge failed used to leave) is a problem; `--fix` restores it
/// from the index. A deliberate `git rm` is not reported.
#[test]
fn a_marked_file_missing_from_the_work_tree_is_restored() {
    let sandbox = Sandbox::new();
    let repo =
        sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV), ("secrets/b.env", ENV)]);
    repo.git(&["rm", "-q", "secrets/b.env"]);
    fs::remove_file(repo.dir.join("secrets/a.env")).unwrap();
    let problem = "problem: secrets/a.env is marked and in the index but missing from the work tree \
                   (a checkout or pull that stopped halfway?); fix: git-secret doctor --fix restores it \
                   from the index (git checkout -- secrets/a.env; git-secret unlock first for its \
                   plaintext); to delete it on purpose: git rm -- secrets/a.env\n";
    let note = "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n";
    let out = doctor(&repo, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "note: key 'default' is unlocked: 0 of 1 marked file(s) in plaintext in the work tree\n\
             {problem}doctor: 1 problem(s) found (1 fixable with git-secret doctor --fix)\n"
        ),
    );
    let out = doctor(&repo, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!("fixed: restored secrets/a.env from the index\n{note}doctor: no problems found\n"),
    );
    assert_eq!(repo.read("secrets/a.env"), ENV);
    assert!(!repo.exists("secrets/b.env"));
    assert_eq!(repo.status(), "D  secrets/b.env\n");
}

/// In a locked clone the restored file is the ciphertext, as checkout writes it.
#[test]
fn a_missing_file_in_a_locked_clone_comes_back_as_ciphertext() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let clone = sandbox.clone_repo(&repo, "locked");
    fs::remove_file(clone.dir.join("secrets/a.env")).unwrap();
    let out = doctor(&clone, &["--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("fixed: restored secrets/a.env from the index\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        clone.read("secrets/a.env"),
        clone.stored("HEAD:secrets/a.env")
    );
    assert_eq!(clone.status(), "");
}

/// A repository that still uses git-crypt (files marked filter=git-crypt,
/// never imported) used to get "driver git-secret is not configured" and a
/// "locked" note: git-secret has nothing to check there yet, so doctor
/// says so and names the import; --fix changes nothing.
#[test]
fn a_git_crypt_repository_is_pointed_at_the_import() {
    let sandbox = Sandbox::new();
    let repo = crate::gitcrypt::locked_clone(&sandbox);
    let before = repo.snapshot_without_keys();
    let expected = "note: this repository uses git-crypt: 5 file(s) are marked filter=git-crypt \
                    (or filter=git-crypt-NAME) in .gitattributes and git-secret has not taken them \
                    over; to move it to git-secret: git-secret import-git-crypt KEYFILE... with the \
                    git-crypt key files (git-crypt export-key), then commit\n\
                    doctor: no problems found\n";
    for args in [&[][..], &["--fix"]] {
        let out = doctor(&repo, args);
        assert_doctor(&out, 0, expected);
    }
    assert!(
        before == repo.snapshot_without_keys(),
        "doctor changed the git-crypt repository"
    );
}

/// `install`'s global driver naming a binary that is gone (moved, upgraded)
/// used to be "fixed" by writing the clone's local config, leaving every
/// other clone broken. The finding now names the global config and
/// `git-secret install`; --fix rewrites the global entries install owns
/// and writes no driver into the clone.
#[test]
fn a_stale_driver_in_the_global_config_is_fixed_there() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    sandbox.install();
    let clone = sandbox.clone_repo(&repo, "fresh");
    let global = |args: &[&str]| {
        let out = sandbox
            .command("git", sandbox.path())
            .args([&["config", "--global"][..], args].concat())
            .output()
            .unwrap();
        stdout(&out)
    };
    clone.secret_ok(&["doctor", "--fix"]); // the hook, so only the driver is left to find
    for key in ["filter.git-secret.process", "diff.git-secret.textconv"] {
        let value = global(&["--get", key]).replace(&exe(), "/gone/git-secret");
        global(&["--replace-all", key, value.trim_end()]);
    }
    let config = clone.git(&["config", "--local", "--list"]);
    let out = doctor(&clone, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "problem: driver git-secret in your global git config (written by git-secret install) \
             runs /gone/git-secret-filter-process, which does not exist (filter.git-secret.process); \
             fix: git-secret install rewrites it (so does git-secret doctor --fix)\n\
             problem: driver git-secret in your global git config (written by git-secret install) \
             runs /gone/git-secret-textconv, which does not exist (diff.git-secret.textconv); fix: \
             git-secret install rewrites it (so does git-secret doctor --fix)\n{LOCKED_NOTE}\
             doctor: 2 problem(s) found (2 fixable with git-secret doctor --fix)\n"
        ),
    );
    let out = doctor(&clone, &["--fix"]);
    assert_doctor(
        &out,
        0,
        &format!(
            "fixed: rewrote driver git-secret in your global git config to run this binary ({}), \
             as git-secret install does\n{LOCKED}",
            exe()
        ),
    );
    assert_eq!(
        clone.git(&["config", "--local", "--list"]),
        config,
        "no local driver"
    );
    assert_eq!(
        global(&["--get", "filter.git-secret.process"]),
        format!("{}-filter-process\n", exe())
    );
    assert!(
        !global(&["--get", "diff.git-secret.textconv"]).contains("/gone/"),
        "the textconv is rewritten too"
    );
}

/// After a pull that brought a generation Bob lacks, the files stay
/// ciphertext: doctor names the missing key id and does not count them as
/// plaintext (it said "2 marked file(s) in plaintext").
#[test]
fn after_a_pulled_rotation_doctor_names_the_missing_generation() {
    let sandbox = Sandbox::new();
    let repo =
        sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV), ("secrets/b.env", ENV)]);
    let key = repo.keep_key();
    let bob = sandbox.clone_repo(&repo, "bob");
    bob.secret_ok(&["unlock", key.to_str().unwrap()]);
    repo.secret_ok(&["rotate"]);
    repo.git(&["commit", "-qm", "rotate"]);
    let id = stored_id(&repo).expect("encrypted");
    bob.git(&["pull", "-q"]);
    let out = doctor(&bob, &[]);
    assert_doctor(
        &out,
        1,
        &format!(
            "problem: 2 marked file(s) of key 'default' are stored under key id {id}, which this \
             clone does not hold (secrets/a.env and 1 more); fix: git-secret unlock KEYFILE with a \
             key file that holds it (from a teammate: git-secret export-key FILE)\n\
             note: key 'default' is unlocked: 0 of 2 marked file(s) in plaintext in the work tree\n\
             doctor: 1 problem(s) found (0 fixable with git-secret doctor --fix)\n"
        ),
    );
}
