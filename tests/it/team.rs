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
    let out = clone.git_output(&["checkout", "-q", "HEAD~1"]);
    assert!(
        !out.status.success(),
        "old generation must not decrypt without its key"
    );
    assert!(stderr(&out).contains("key id"), "{}", stderr(&out));

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
