//! Team workflows: named keys and key rotation.

use crate::harness::*;

fn key_path(sandbox: &Sandbox, name: &str) -> String {
    sandbox.path().join(name).to_str().unwrap().to_owned()
}

/// A repo with a default key for `dev/` and a `prod` key for `prod/`.
fn two_keys(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.init_repo("ops");
    repo.secret_ok(&["init"]);
    repo.secret_ok(&["init", "-k", "prod"]);
    repo.write(
        ".gitattributes",
        "dev/** filter=git-secret diff=git-secret merge=git-secret -text\n\
         prod/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n",
    );
    repo.write("dev/app.env", "DEV_TOKEN=dev-secret\n");
    repo.write("prod/app.env", "PROD_TOKEN=prod-secret\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "two audiences"]);
    repo
}

#[test]
fn named_keys_give_each_audience_its_own_files() {
    let sandbox = Sandbox::new();
    let ops = two_keys(&sandbox);
    let dev_blob = ops.stored("HEAD:dev/app.env");
    let prod_blob = ops.stored("HEAD:prod/app.env");
    assert!(is_encrypted(&dev_blob) && is_encrypted(&prod_blob));
    assert_ne!(
        dev_blob[11..27],
        prod_blob[11..27],
        "different key ids in the headers"
    );
    // Each key's filter process command differs (git shares one process per command string).
    let process = ops.git(&["config", "--get-regexp", r"^filter\..*\.process$"]);
    assert_eq!(process.lines().count(), 2, "{process}");
    assert!(process.contains("filter-process -k prod"), "{process}");

    let dev_key = key_path(&sandbox, "dev.key");
    ops.secret_ok(&["export-key", &dev_key]);
    let exported = std::fs::read_to_string(&dev_key).unwrap();
    assert!(
        exported.contains("name: default") && !exported.contains("name: prod"),
        "only the default key"
    );

    // A developer who holds only the default key.
    let dev = sandbox.clone_repo(&ops, "dev");
    dev.secret_ok(&["unlock", &dev_key]);
    assert_eq!(dev.read("dev/app.env"), b"DEV_TOKEN=dev-secret\n");
    assert_eq!(dev.read("prod/app.env"), prod_blob, "prod stays ciphertext");
    assert_eq!(dev.status(), "");
    let status = dev.secret_ok(&["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.contains("prod/app.env") && l.contains("'prod'") && l.contains("locked")),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.contains("dev/app.env") && l.contains("unlocked")),
        "{status}"
    );
    // The developer cannot commit plaintext under prod/ (its filter is locked... or unconfigured).
    dev.write("prod/new.env", "PROD_TOKEN=leak\n");
    let out = dev.git_output(&["add", "prod/new.env"]);
    let staged = dev.git(&["ls-files", "-s", "prod/new.env"]);
    if out.status.success() && !staged.is_empty() {
        let oid = staged.split_whitespace().nth(1).unwrap();
        let blob = dev.stored(oid);
        assert!(
            !contains(&blob, b"PROD_TOKEN=leak"),
            "plaintext staged under prod/ by a dev"
        );
    }
}

#[test]
fn unlock_installs_every_key_of_a_concatenated_file_and_lock_all_removes_them() {
    let sandbox = Sandbox::new();
    let ops = two_keys(&sandbox);
    let default_key = ops.secret_ok(&["export-key", "-"]);
    let prod_key = ops.secret_ok(&["export-key", "-k", "prod", "-"]);
    let both = key_path(&sandbox, "both.key");
    std::fs::write(&both, format!("{default_key}{prod_key}")).unwrap();

    let ci = sandbox.clone_repo(&ops, "ci");
    ci.secret_ok(&["unlock", &both]);
    assert_eq!(ci.read("dev/app.env"), b"DEV_TOKEN=dev-secret\n");
    assert_eq!(ci.read("prod/app.env"), b"PROD_TOKEN=prod-secret\n");
    assert_eq!(ci.status(), "");

    ci.secret_ok(&["lock", "-k", "prod"]);
    assert!(is_encrypted(&ci.read("prod/app.env")));
    assert_eq!(ci.read("dev/app.env"), b"DEV_TOKEN=dev-secret\n");
    ci.secret_ok(&["lock", "--all"]);
    assert!(is_encrypted(&ci.read("dev/app.env")));
    assert_eq!(ci.status(), "");
    assert!(!ci.key_dir().exists() || std::fs::read_dir(ci.key_dir()).unwrap().next().is_none());
}

#[test]
fn rotation_keeps_history_readable_and_old_checkouts_clean() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/a.env", "A=1\n");
    repo.write("secrets/b.env", "B=1\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "before rotation"]);
    let old_id = repo.stored("HEAD:secrets/a.env")[11..27].to_vec();

    let out = repo.secret(&["rotate"]);
    assert_success(&out, "rotate");
    assert!(stderr(&out).contains("generation 2"), "{}", stderr(&out));
    let staged = repo.git(&["diff", "--cached", "--name-only"]);
    assert_eq!(
        staged, "secrets/a.env\nsecrets/b.env\n",
        "rotate stages every covered file"
    );
    repo.git(&["commit", "-qm", "rotate"]);
    let new_blob = repo.stored("HEAD:secrets/a.env");
    assert_ne!(new_blob[11..27].to_vec(), old_id, "new generation's key id");
    assert_eq!(repo.status(), "");
    assert_eq!(repo.read("secrets/a.env"), b"A=1\n");

    // Check out the pre-rotation commit: plaintext, clean, also after touch; switch back works.
    repo.git(&["checkout", "-q", "HEAD~1"]);
    assert_eq!(repo.read("secrets/a.env"), b"A=1\n");
    assert_eq!(repo.status(), "");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    for f in ["secrets/a.env", "secrets/b.env"] {
        std::fs::File::options()
            .write(true)
            .open(repo.dir.join(f))
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    assert_eq!(
        repo.status(),
        "",
        "old-generation blobs stay clean after touch"
    );
    repo.git(&["switch", "-q", "main"]);
    assert_eq!(repo.status(), "");

    // The exported ring holds both generations; `--current` only the new one.
    let all = repo.secret_ok(&["export-key", "-"]);
    assert!(
        all.contains("generation: 1") && all.contains("generation: 2"),
        "{all}"
    );
    let current = repo.secret_ok(&["export-key", "--current", "-"]);
    assert!(
        !current.contains("generation: 1") && current.contains("generation: 2"),
        "{current}"
    );

    // Someone who only has the new generation reads the new commits but not the old ones.
    let clone = sandbox.clone_repo(&repo, "newcomer");
    clone.secret_stdin(&["unlock", "-"], current.as_bytes());
    assert_eq!(clone.read("secrets/a.env"), b"A=1\n");
    // The old generation does not decrypt without its key: the checkout
    // leaves the ciphertext (never a missing file) and says so.
    let out = clone.git_output(&["checkout", "-q", "HEAD~1"]);
    assert_success(&out, "checkout of a generation this clone lacks");
    assert!(stderr(&out).contains("key id"), "{}", stderr(&out));
    assert_eq!(
        clone.read("secrets/a.env"),
        clone.stored("HEAD:secrets/a.env")
    );
    assert_eq!(clone.status(), "");
    clone.git(&["switch", "-q", "main"]);
    assert_eq!(clone.read("secrets/a.env"), b"A=1\n");

    // Someone with the full ring reads both.
    let full = sandbox.clone_repo(&repo, "veteran");
    assert_success(
        &full.secret_stdin(&["unlock", "-"], all.as_bytes()),
        "unlock ring",
    );
    full.git(&["checkout", "-q", "HEAD~1"]);
    assert_eq!(full.read("secrets/b.env"), b"B=1\n");
}

#[test]
fn rotate_refuses_without_key_or_with_uncommitted_changes() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/a.env", "A=1\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "a"]);
    repo.write("secrets/a.env", "A=2\n");
    let before = repo.snapshot();
    assert_refused(&repo.secret(&["rotate"]), "uncommitted changes");
    assert_eq!(repo.snapshot(), before);
    repo.git(&["checkout", "--", "secrets/a.env"]);
    repo.keep_key(); // lock keeps a key that exists nowhere else
    repo.secret_ok(&["lock"]);
    let before = repo.snapshot();
    assert_refused(&repo.secret(&["rotate"]), "unlock");
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn unlock_without_a_file_uses_the_personal_key_ring() {
    let sandbox = Sandbox::new();
    let alice = sandbox.init_repo("alice");
    alice.secret_ok(&["init"]);
    alice.mark_default();
    alice.write("secrets/a.env", "A=1\n");
    alice.git(&["add", "."]);
    alice.git(&["commit", "-qm", "a"]);
    // init writes nothing into the ring; export-key --to-ring does.
    let ring = sandbox.home().join(".local/share/git-secret/ring");
    assert!(!ring.exists(), "init must not touch the key ring");
    alice.secret_ok(&["export-key", "--to-ring"]);
    let files: Vec<_> = std::fs::read_dir(&ring)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    assert_eq!(mode(&ring), 0o700);

    let clone = sandbox.clone_repo(&alice, "clone");
    let out = clone.secret(&["unlock"]);
    assert_success(&out, "unlock from the ring");
    assert_eq!(clone.read("secrets/a.env"), b"A=1\n");

    // `keys` lists name, generation, id and source, never the material.
    let listing = clone.secret_ok(&["keys"]);
    let exported = alice.secret_ok(&["export-key", "-"]);
    let material = exported
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap();
    assert!(!listing.contains(material));
    assert!(
        listing
            .lines()
            .any(|l| l.contains("default") && l.contains("repository")),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.contains("default") && l.contains("ring")),
        "{listing}"
    );

    // A repo whose key is not in the ring: a clear refusal naming the ring.
    let other = sandbox.init_repo("other");
    other.secret_ok(&["init"]);
    other.mark_default();
    other.write("secrets/b.env", "B=1\n");
    other.git(&["add", "."]);
    other.git(&["commit", "-qm", "b"]);
    let other_clone = sandbox.clone_repo(&other, "other-clone");
    let before = other_clone.snapshot();
    assert_refused(&other_clone.secret(&["unlock"]), "key ring");
    assert_eq!(other_clone.snapshot(), before);
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    for shell in ["bash", "zsh", "fish"] {
        let script = repo.secret_ok(&["completions", shell]);
        assert!(
            script.contains("export-key") && script.contains("unlock"),
            "{shell}"
        );
    }
    let man = repo.secret_ok(&["man"]);
    assert!(
        man.contains(".TH") && man.contains("export\\-key"),
        "{}",
        &man[..200.min(man.len())]
    );
}

/// A ring family saved before provenance was recorded is used anywhere, as
/// before; `export-key --to-ring` in its repository re-saves it with provenance.
#[test]
fn ring_family_without_provenance_still_unlocks_and_is_resaved() {
    let sandbox = Sandbox::new();
    let alice = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    alice.secret_ok(&["export-key", "--to-ring"]);
    let ring = sandbox.home().join(".local/share/git-secret/ring");
    let file = std::fs::read_dir(&ring)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# from-repository: root "), "{text}");
    let legacy: String = text
        .lines()
        .filter(|l| !l.starts_with("# from-repository: "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&file, &legacy).unwrap();
    // Another repository (no root commit in common) holding a copy of the blob.
    let other = sandbox.init_repo("other");
    other.write("README", "other\n");
    other.git(&["add", "README"]);
    other.git(&["commit", "-qm", "other"]);
    other.mark_default();
    other.stage_raw("secrets/a.env", &alice.stored("HEAD:secrets/a.env"));
    other.git(&["commit", "-qm", "copy"]);
    assert_success(&other.secret(&["unlock"]), "legacy ring family");
    assert_eq!(other.read("secrets/a.env"), b"A=1\n");
    alice.secret_ok(&["export-key", "--to-ring"]);
    let resaved = std::fs::read_to_string(&file).unwrap();
    assert!(resaved.contains("# from-repository: root "), "{resaved}");
}

/// The key id (hex) in the header of a stored git-secret blob.
fn blob_key_id(blob: &[u8]) -> String {
    blob[11..27].iter().map(|b| format!("{b:02x}")).collect()
}

/// The warning smudge gives for a file under a generation this clone lacks.
fn left_encrypted(path: &str, id: &str) -> String {
    format!(
        "git-secret: warning: {path} is encrypted with key id {id}, which is not installed here \
         (a newer generation, after a teammate's `git-secret rotate` or `remove-user`?): left \
         encrypted in the work tree. Get the new key and run `git-secret unlock NEWKEYFILE` (or \
         plain `git-secret unlock` when the new key was shared with you) to decrypt it"
    )
}

/// Alice (who rotates) and Bob, unlocked with generation 1 only.
fn alice_and_bob(sandbox: &Sandbox) -> (Repo<'_>, Repo<'_>) {
    let alice = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/a.env", b"A=1\n"), ("secrets/b.env", b"B=1\n")],
    );
    let old = key_path(sandbox, "gen1.key");
    alice.secret_ok(&["export-key", &old]);
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.secret_ok(&["unlock", "--no-ring", &old]);
    alice.secret_ok(&["rotate"]);
    alice.git(&["commit", "-qm", "rotate"]);
    (alice, bob)
}

/// A pull that brought a rotation used to fail in smudge (`filter.required`)
/// after git had removed the old file: the marked file was left deleted.
/// Now the pull completes, each file of the new generation stays in the
/// work tree as its stored ciphertext (clean for git), the warning says
/// what to run, and unlocking the new key decrypts them. Fast-forward, with
/// an unrelated uncommitted change, and as a merge with a local commit.
#[test]
fn a_pull_that_brings_a_rotation_leaves_no_marked_file_missing() {
    for variant in ["fast-forward", "uncommitted change", "merge"] {
        let sandbox = Sandbox::new();
        let (alice, bob) = alice_and_bob(&sandbox);
        match variant {
            "uncommitted change" => bob.write("README", "bob's notes\n"),
            "merge" => {
                bob.write("notes.txt", "bob\n");
                bob.git(&["add", "notes.txt"]);
                bob.git(&["commit", "-qm", "bob's commit"]);
            }
            _ => {}
        }
        let out = bob.git_output(&["pull", "-q", "--no-rebase", "--no-edit"]);
        assert_success(&out, &format!("{variant}: git pull"));
        let id = blob_key_id(&alice.stored("HEAD:secrets/a.env"));
        let warnings: Vec<String> = stderr(&out)
            .lines()
            .filter(|l| l.starts_with("git-secret:"))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            warnings,
            vec![
                left_encrypted("secrets/a.env", &id),
                left_encrypted("secrets/b.env", &id)
            ],
            "{variant}"
        );
        for f in ["secrets/a.env", "secrets/b.env"] {
            assert_eq!(
                bob.read(f),
                bob.stored(&format!("HEAD:{f}")),
                "{variant}: {f} holds its stored ciphertext"
            );
        }
        let expected_status = if variant == "uncommitted change" {
            " M README\n"
        } else {
            ""
        };
        assert_eq!(bob.status(), expected_status, "{variant}");
        let new = key_path(&sandbox, "gen2.key");
        alice.secret_ok(&["export-key", "--force", &new]);
        bob.secret_ok(&["unlock", "--no-ring", &new]);
        assert_eq!(bob.read("secrets/a.env"), b"A=1\n", "{variant}");
        assert_eq!(bob.read("secrets/b.env"), b"B=1\n", "{variant}");
        assert_eq!(bob.status(), expected_status, "{variant}");
    }
}

/// With a change to a marked file, git refuses the pull before it touches
/// the work tree: Bob's edit and every other file stay as they were.
#[test]
fn a_pull_of_a_rotation_over_an_edited_secret_keeps_the_edit() {
    let sandbox = Sandbox::new();
    let (_alice, bob) = alice_and_bob(&sandbox);
    bob.write("secrets/a.env", "A=bob's edit\n");
    let before = bob.snapshot();
    let out = bob.git_output(&["pull", "-q"]);
    assert!(!out.status.success(), "git refuses to overwrite the edit");
    assert!(before == bob.snapshot(), "a refused pull changed something");
    assert_eq!(bob.read("secrets/a.env"), b"A=bob's edit\n");
}

/// Bob committed a change to a secret that Alice's rotation re-encrypted:
/// the merge stops with a conflict, no file goes missing, Bob's version
/// stays, and the merge driver says how to finish: abort, unlock the new
/// key, merge again (which then succeeds).
#[test]
fn a_pull_of_a_rotation_that_conflicts_says_how_to_finish() {
    let sandbox = Sandbox::new();
    let (alice, bob) = alice_and_bob(&sandbox);
    bob.write("secrets/a.env", "A=bob\n");
    bob.git(&["commit", "-qam", "bob's token"]);
    let out = bob.git_output(&["pull", "-q", "--no-rebase", "--no-edit"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let id = blob_key_id(&alice.stored("HEAD:secrets/a.env"));
    let ours: Vec<String> = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("git-secret:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        ours,
        vec![
            format!(
                "git-secret: cannot merge secrets/a.env: theirs version: the file is encrypted with key id \
                 {id}, which is not installed here; unlock with the key that has this id. Keeping ours: \
                 run `git merge --abort` (or `git rebase --abort`), then \
                 `git-secret unlock NEWKEYFILE` with the new key, and merge again"
            ),
            left_encrypted("secrets/b.env", &id),
        ]
    );
    assert_eq!(bob.read("secrets/a.env"), b"A=bob\n");
    assert_eq!(
        bob.read("secrets/b.env"),
        alice.stored("HEAD:secrets/b.env")
    );
    bob.git(&["merge", "--abort"]);
    let new = key_path(&sandbox, "gen2.key");
    alice.secret_ok(&["export-key", "--force", &new]);
    bob.secret_ok(&["unlock", "--no-ring", &new]);
    bob.git(&["pull", "-q", "--no-rebase", "--no-edit"]);
    assert_eq!(bob.read("secrets/a.env"), b"A=bob\n");
    assert_eq!(bob.read("secrets/b.env"), b"B=1\n");
    assert_eq!(bob.status(), "");
}

/// A teammate on a newer git-secret commits a blob of a format version this
/// one cannot read: the pull used to stop in smudge with the file deleted.
/// It completes, the file stays as its stored bytes (clean for git), and
/// the warning says to upgrade.
#[test]
fn a_pull_of_a_newer_format_version_leaves_the_file_encrypted() {
    let sandbox = Sandbox::new();
    let alice = sandbox.repo_with_secrets("alice", &[("secrets/a.env", b"A=1\n")]);
    let key = alice.keep_key();
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.secret_ok(&["unlock", "--no-ring", key.to_str().unwrap()]);
    let mut newer = alice.stored("HEAD:secrets/a.env");
    newer[10] = 2; // the format version byte (FORMAT.md)
    alice.stage_raw("secrets/a.env", &newer);
    // This git-secret's hook refuses the blob; the newer one's would not.
    alice.git(&[
        "commit",
        "-qm",
        "written by a newer git-secret",
        "--no-verify",
    ]);
    let out = bob.git_output(&["pull", "-q"]);
    assert_success(&out, "git pull");
    assert_eq!(
        stderr(&out),
        "git-secret: warning: secrets/a.env uses git-secret format version 2, which this \
         git-secret does not support: left encrypted in the work tree. Upgrade git-secret, then \
         run `git-secret unlock` to decrypt it\n"
    );
    assert_eq!(bob.read("secrets/a.env"), newer);
    assert_eq!(bob.status(), "");
}
