//! Issue 12, "Trust nothing that anyone can push": attacks on marking,
//! re-keying, pass-through and history, played end to end with real git.
//! Push access = commits to a shared bare origin, without the key.

use crate::harness::*;

/// Alice's repository (default key for `secrets/**`, `prod` key for
/// `prod/**`), pushed to a bare origin. Returns (origin, alice, key files).
fn team(sandbox: &Sandbox) -> (Repo<'_>, Repo<'_>, String, String) {
    let alice = sandbox.init_repo("alice");
    alice.secret_ok(&["init"]);
    alice.secret_ok(&["init", "-k", "prod"]);
    alice.write(
        ".gitattributes",
        "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n\
         prod/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n\
         .gitattributes !filter !diff !merge\n",
    );
    alice.write("secrets/a.env", "A=dev-secret\n");
    alice.write("prod/db.txt", "DB=prod-password\n");
    alice.git(&["add", "."]);
    alice.git(&["commit", "-qm", "secrets"]);
    let default_key = alice.secret_ok(&["export-key", "-"]);
    let prod_key = alice.secret_ok(&["export-key", "-k", "prod", "-"]);
    let bare = sandbox.path().join("origin.git");
    let out = sandbox
        .command("git", sandbox.path())
        .args(["clone", "-q", "--bare"])
        .arg(&alice.dir)
        .arg(&bare)
        .output()
        .unwrap();
    assert_success(&out, "clone --bare");
    alice.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    alice.git(&["fetch", "-q", "origin"]);
    alice.git(&["branch", "-q", "-u", "origin/main"]);
    (sandbox.open(bare), alice, default_key, prod_key)
}

/// A clone in locked mode: the drivers are configured, no key installed
/// (unlocked once with `key`, then locked).
fn locked_clone<'s>(repo: Repo<'s>, key: &str) -> Repo<'s> {
    assert_success(
        &repo.secret_stdin(&["unlock", "-"], key.as_bytes()),
        "unlock",
    );
    repo.secret_ok(&["lock"]);
    repo
}

fn head(repo: &Repo) -> String {
    repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// Attack 8: content that merely starts with a magic is not "already encrypted".
#[test]
fn content_that_starts_with_a_magic_is_encrypted_not_stored_as_is() {
    let sandbox = Sandbox::new();
    let (_origin, alice, key, _) = team(&sandbox);
    let real = alice.stored("HEAD:secrets/a.env");
    let mut forged_known_id = real[..59].to_vec();
    forged_known_id.extend_from_slice(b"API_TOKEN=forged-under-a-known-id\n");
    let mut forged_unknown_id = b"\0GITSECRET\x01".to_vec();
    forged_unknown_id.extend_from_slice(&[7u8; 48]);
    forged_unknown_id.extend_from_slice(b"API_TOKEN=unknown-id\n");
    let cases: [(&str, &[u8]); 3] = [
        (
            "secrets/gitcrypt.env",
            b"\0GITCRYPT\0API_TOKEN=never-used-git-crypt\n",
        ),
        ("secrets/known.env", &forged_known_id),
        ("secrets/unknown.env", &forged_unknown_id),
    ];
    for (path, content) in cases {
        alice.write(path, content);
    }
    alice.git(&["add", "."]);
    alice.git(&["commit", "-qm", "magic-looking secrets"]);
    let status = alice.secret_ok(&["status"]);
    for (path, content) in cases {
        let blob = alice.stored(&format!("HEAD:{path}"));
        assert!(is_encrypted(&blob), "{path} stored as-is");
        assert_ne!(blob, content, "{path} stored as-is");
        let line = status.lines().find(|l| l.contains(path)).unwrap();
        assert!(line.contains("key 'default'"), "{line}");
        assert!(!line.contains("git-crypt"), "{line}");
        // And it round-trips to the exact content.
        std::fs::remove_file(alice.dir.join(path)).unwrap();
        alice.git(&["checkout", "--", path]);
        assert_eq!(alice.read(path), content);
    }
    // A locked clone refuses such content like any plaintext.
    let dev = locked_clone(sandbox.clone_repo(&alice, "dev"), &key);
    dev.write("secrets/new.env", b"\0GITCRYPT\0API_TOKEN=x\n");
    let before = dev.git(&["ls-files", "-s"]);
    let out = dev.git_output(&["add", "secrets/new.env"]);
    assert!(!out.status.success(), "locked clean refuses it");
    assert!(
        stderr(&out).contains("refusing to store plaintext"),
        "{}",
        stderr(&out)
    );
    assert_eq!(dev.git(&["ls-files", "-s"]), before, "nothing staged");
}

/// Attack 7: a locked clone appends to a file's ciphertext and commits.
#[test]
fn a_locked_clone_cannot_store_damaged_ciphertext() {
    let sandbox = Sandbox::new();
    let (origin, alice, key, _) = team(&sandbox);
    let mallory = locked_clone(sandbox.clone_repo(&origin, "mallory"), &key);
    let mut damaged = mallory.read("secrets/a.env");
    assert!(is_encrypted(&damaged), "locked clone holds ciphertext");
    damaged.extend_from_slice(b"EXTRA=line\n");
    mallory.write("secrets/a.env", &damaged);
    let before = mallory.snapshot();
    let out = mallory.git_output(&["add", "secrets/a.env"]);
    assert!(!out.status.success(), "clean must refuse");
    assert_eq!(
        stderr(&out),
        "git-secret: secrets/a.env: refusing to store ciphertext that differs from the stored \
         version: key 'default' is locked in this repository, and changing an encrypted file needs \
         its key. Run `git-secret unlock KEYFILE` and edit the plaintext, or `git checkout -- \
         secrets/a.env` to restore the stored file\n\
         fatal: secrets/a.env: clean filter 'git-secret' failed\n",
    );
    assert_eq!(mallory.snapshot(), before, "nothing changed");
    // The unchanged ciphertext still passes (status, checkouts keep working).
    mallory.git(&["checkout", "--", "secrets/a.env"]);
    assert_eq!(mallory.status(), "");

    // Behind the filter's back (a tool that skips filters and hooks), pushed.
    let old = head(&mallory);
    mallory.stage_raw("secrets/a.env", &damaged);
    let mut unknown = b"\0GITSECRET\x01".to_vec();
    unknown.extend_from_slice(&[9u8; 48]);
    unknown.extend_from_slice(&[1u8; 40]);
    mallory.stage_raw("secrets/unknown.env", &unknown);
    mallory.git(&["commit", "-q", "--no-verify", "-m", "append"]);
    let new = head(&mallory);
    mallory.git(&["push", "-q", "origin", "main"]);
    let range = format!("{old}..{new}");
    // The keyless gate on the server: the unknown key id is refused.
    let out = origin.secret(&["check", "--range", &range]);
    assert_refused(&out, "damaged or under a key id");
    let listed = stdout(&out);
    assert!(
        listed.contains("secrets/unknown.env") && listed.contains("unknown key id 09090909"),
        "{listed}"
    );
    // Where the key is held, the damaged blob fails authentication.
    alice.git(&["fetch", "-q", "origin"]);
    let out = alice.secret(&["check", "--range", &range]);
    assert_refused(&out, "damaged");
    let listed = stdout(&out);
    assert!(
        listed.contains("secrets/a.env") && listed.contains("chunk 0 failed authentication"),
        "{listed}"
    );
    // audit too.
    assert_refused(&alice.secret(&["audit"]), "damaged");
}

/// Attack 3a: un-marking a path makes the next commit plaintext.
#[test]
fn unmarking_an_encrypted_path_is_flagged_everywhere() {
    let sandbox = Sandbox::new();
    let (origin, _alice, key, _) = team(&sandbox);
    let mallory = sandbox.clone_repo(&origin, "mallory");
    let mut attrs = mallory.read(".gitattributes");
    attrs.extend_from_slice(b"secrets/a.env -filter -diff -merge\n");
    mallory.write(".gitattributes", &attrs);
    mallory.git(&["commit", "-qam", "tidy attributes"]);
    mallory.git(&["push", "-q", "origin", "main"]);

    let bob = sandbox.clone_repo(&origin, "bob");
    assert_success(
        &bob.secret_stdin(&["unlock", "-"], key.as_bytes()),
        "unlock",
    );
    bob.write("secrets/a.env", "A=new-dev-secret\n");
    bob.git(&["add", "secrets/a.env"]);
    let before = head(&bob);
    let out = bob.git_output(&["commit", "-qm", "rotate a"]);
    assert!(!out.status.success(), "the hook must refuse");
    assert_eq!(head(&bob), before, "nothing committed");
    let out = bob.secret(&["check", "--staged"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: these files were stored encrypted in HEAD and are now staged in plaintext \
         (their .gitattributes line no longer marks them?):\n  \
         secrets/a.env: -filter, set by .gitattributes:4 (secrets/a.env -filter -diff -merge)\n\
         Nothing was committed. Restore the marking in .gitattributes and `git add --renormalize -- PATH`; \
         to stop encrypting a file on purpose, `git rm --cached -- PATH` and commit that first\n"
    );
    let status = bob.secret(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("secrets/a.env"),
        "{}",
        stdout(&status)
    );
    // Pushed anyway (--no-verify): the gate and audit refuse it.
    let old = head(&bob);
    bob.git(&["commit", "-q", "--no-verify", "-m", "leak"]);
    let new = head(&bob);
    let out = bob.secret(&["check", "--range", &format!("{old}..{new}")]);
    assert_refused(&out, "plaintext");
    assert!(stdout(&out).contains("secrets/a.env"), "{}", stdout(&out));
}

/// Attack 3b: holding only the default key, re-mark a prod path for it.
#[test]
fn re_keying_a_path_is_refused_by_clean_and_flagged() {
    let sandbox = Sandbox::new();
    let (origin, alice, default_key, _) = team(&sandbox);
    let mallory = sandbox.clone_repo(&origin, "mallory");
    assert_success(
        &mallory.secret_stdin(&["unlock", "-"], default_key.as_bytes()),
        "unlock",
    );
    let mut attrs = mallory.read(".gitattributes");
    attrs.extend_from_slice(
        b"prod/db.txt filter=git-secret diff=git-secret merge=git-secret -text\n",
    );
    mallory.write(".gitattributes", &attrs);
    mallory.git(&["commit", "-qam", "tidy attributes"]);
    mallory.git(&["push", "-q", "origin", "main"]);

    alice.git(&["pull", "-q"]);
    // Smudge warns when the blob's key does not belong to the path's driver.
    std::fs::remove_file(alice.dir.join("prod/db.txt")).unwrap();
    let out = alice.git_output(&["checkout", "--", "prod/db.txt"]);
    assert_success(&out, "checkout");
    assert!(
        stderr(&out).contains(
            "git-secret: warning: prod/db.txt is encrypted with key 'prod' but .gitattributes marks it for key 'default'"
        ),
        "{}",
        stderr(&out)
    );
    alice.write("prod/db.txt", "DB=new-prod-password\n");
    let before = alice.snapshot();
    let out = alice.git_output(&["add", "prod/db.txt"]);
    assert!(!out.status.success(), "clean must refuse the re-keying");
    assert_eq!(
        stderr(&out),
        "git-secret: prod/db.txt: refusing to change its key from 'prod' (the stored version) to \
         'default' (what .gitattributes says now). If that is not a mistake or an attack on \
         .gitattributes, move it deliberately: `git update-index --force-remove -- prod/db.txt`, then \
         `git add prod/db.txt`\n\
         fatal: prod/db.txt: clean filter 'git-secret' failed\n",
    );
    assert_eq!(alice.snapshot(), before, "nothing changed");
    // status names the mismatch.
    let out = alice.secret(&["status"]);
    let line = stdout(&out)
        .lines()
        .find(|l| l.contains("prod/db.txt"))
        .unwrap()
        .to_owned();
    assert!(line.contains("stored under key 'prod'"), "{line}");
    // The deliberate move works, and the hook warns about it.
    alice.git(&["rm", "-q", "--cached", "--", "prod/db.txt"]);
    alice.git(&["add", "prod/db.txt"]);
    let out = alice.secret(&["check", "--staged"]);
    assert_success(&out, "check --staged");
    assert!(
        stderr(&out).contains("prod/db.txt: its key changes from 'prod' (HEAD) to 'default'"),
        "{}",
        stderr(&out)
    );
}

/// Attack 10: a secret committed before it was marked, then encrypted.
#[test]
fn audit_finds_a_secret_committed_before_it_was_marked() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.write("config/prod.env", "PASSWORD=hunter2\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "config"]);
    repo.secret_ok(&["init"]);
    repo.write(
        ".gitattributes",
        "config/*.env filter=git-secret diff=git-secret merge=git-secret -text\n",
    );
    repo.git(&["add", ".gitattributes"]);
    repo.git(&["add", "--renormalize", "config/prod.env"]);
    repo.git(&["commit", "-qm", "encrypt config"]);
    assert!(is_encrypted(&repo.stored("HEAD:config/prod.env")));
    repo.secret_ok(&["status"]);
    let out = repo.secret(&["audit"]);
    assert_refused(&out, "rotat");
    assert!(stdout(&out).contains("config/prod.env"), "{}", stdout(&out));
}

/// Deterministic encryption lets a writer confirm a guess: Mallory (no key)
/// commits her guess of Alice's secret in plaintext at the marked path, and
/// waits for Alice's `status --fix` to re-stage it encrypted: if the new blob
/// equals the stored one, the guess was right. `--fix` must not re-stage
/// plaintext someone else committed without asking (no terminal: refused).
#[test]
fn status_fix_does_not_restage_someone_elses_plaintext_without_asking() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    repo.stage_raw("secrets/guess.env", b"A=1\n");
    let out = repo
        .sandbox
        .command("git", &repo.dir)
        .args([
            "-c",
            "user.name=Mallory",
            "-c",
            "user.email=mallory@example.com",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "a guess",
        ])
        .output()
        .unwrap();
    assert_success(&out, "mallory's commit");
    repo.git(&["checkout", "-q", "--", "secrets/guess.env"]);
    let before = repo.snapshot();
    let out = repo.secret(&["status", "--fix"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "git-secret: error: not re-staged: these were committed in plaintext by someone else:\n  \
         secrets/guess.env (by mallory@example.com)\n\
         Encrypting someone else's plaintext under your key shows them whether it matches a stored secret \
         (a guess confirmed). Review each file; to encrypt it anyway: `git add --renormalize -- PATH`\n"
    );
    assert!(
        before == repo.snapshot(),
        "a refused --fix changed something"
    );
}

/// A keyless push gate checks the chunk framing: a pushed blob cut so that
/// its last chunk is shorter than a tag cannot be anything an encoder wrote,
/// even under a key id the server knows from earlier blobs.
#[test]
fn a_keyless_gate_refuses_ciphertext_with_broken_chunk_framing() {
    let sandbox = Sandbox::new();
    let (origin, alice, key, _) = team(&sandbox);
    let big: Vec<u8> = (0..70_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    alice.write("secrets/big.env", &big);
    alice.git(&["add", "secrets/big.env"]);
    alice.git(&["commit", "-qm", "big"]);
    alice.git(&["push", "-q", "origin", "main"]);
    let mallory = locked_clone(sandbox.clone_repo(&origin, "mallory"), &key);
    let old = head(&mallory);
    let mut cut = mallory.stored("HEAD:secrets/big.env");
    // 59-byte header, one full chunk (65536 + 16), then the last chunk: keep 5 bytes of it.
    cut.truncate(59 + 65_552 + 5);
    mallory.stage_raw("secrets/big.env", &cut);
    mallory.git(&["commit", "-q", "--no-verify", "-m", "cut"]);
    let new = head(&mallory);
    mallory.git(&["push", "-q", "origin", "main"]);
    let out = origin.secret(&["check", "--range", &format!("{old}..{new}")]);
    assert_refused(&out, "damaged or under a key id");
    let listed = stdout(&out);
    assert!(
        listed.contains("secrets/big.env") && listed.contains("chunk framing"),
        "{listed}"
    );
}
