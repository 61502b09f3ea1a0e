//! Recipients: sharing the keys with age and SSH public keys instead of a
//! key file (add, unlock with an SSH key, list, remove, rotate).

use crate::harness::*;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ssh")
        .join(name)
}

/// Puts Bob's test SSH key where `unlock` looks for it (~/.ssh/id_ed25519).
fn install_bob_ssh_key(sandbox: &Sandbox) {
    let ssh = sandbox.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::copy(fixture("bob_ed25519"), ssh.join("id_ed25519")).unwrap();
}

/// An age identity file for Carol; returns (identity path, public key).
fn carol_age_identity(sandbox: &Sandbox) -> (String, String) {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let path = sandbox.path().join("carol.agekey");
    std::fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    (
        path.to_str().unwrap().to_owned(),
        identity.to_public().to_string(),
    )
}

fn alice(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.init_repo("alice");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/app.env", "TOKEN=shared\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "secret"]);
    repo
}

/// A fresh clone, unlocked with no key file (the identities decide).
fn clone_and_unlock<'s>(
    sandbox: &'s Sandbox,
    from: &Repo,
    name: &str,
    identity: Option<&str>,
) -> (Repo<'s>, std::process::Output) {
    let repo = sandbox.clone_repo(from, name);
    let mut cmd = sandbox.command(BIN, &repo.dir);
    cmd.args(["unlock", "--no-ring"]);
    if let Some(identity) = identity {
        cmd.env("GIT_SECRET_IDENTITY", identity);
    }
    let out = cmd.output().unwrap();
    (repo, out)
}

#[test]
fn two_users_add_unlock_with_ssh_and_age_remove_and_rotate() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let bob_pub = fixture("bob_ed25519.pub");
    let out = alice.secret(&["add-user", bob_pub.to_str().unwrap()]);
    assert_success(&out, "add-user (SSH public key file)");
    let (carol_identity, carol_pub) = carol_age_identity(&sandbox);
    alice.secret_ok(&["add-user", &carol_pub]);
    let staged = alice.git(&["diff", "--cached", "--name-only"]);
    assert_eq!(staged, ".git-secret/keys.age\n.git-secret/recipients.txt\n");
    alice.git(&["commit", "-qm", "share with bob and carol"]);
    let wrapped = alice.read(".git-secret/keys.age");
    assert!(wrapped.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));

    let users = alice.secret_ok(&["list-users"]);
    assert_eq!(users.lines().count(), 2, "{users}");
    assert!(
        users.contains("ssh-ed25519") && users.contains("bob@example.com"),
        "{users}"
    );
    assert!(users.contains("age"), "{users}");
    assert_refused(
        &alice.secret(&["add-user", &carol_pub]),
        "already a recipient",
    );

    // Bob unlocks with his SSH key; Carol with her age identity.
    install_bob_ssh_key(&sandbox);
    let (bob, out) = clone_and_unlock(&sandbox, &alice, "bob", None);
    assert_success(&out, "bob unlocks with his SSH key");
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
    std::fs::remove_dir_all(sandbox.home().join(".ssh")).unwrap();
    let (carol, out) = clone_and_unlock(&sandbox, &alice, "carol", Some(&carol_identity));
    assert_success(&out, "carol unlocks with her age identity");
    assert_eq!(carol.read("secrets/app.env"), b"TOKEN=shared\n");

    // Alice removes Bob: the keys rotate and are re-wrapped for Carol only.
    let bob_fingerprint = users
        .lines()
        .find(|l| l.contains("bob@"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let out = alice.secret(&["remove-user", &bob_fingerprint]);
    assert_success(&out, "remove-user");
    assert!(
        stderr(&out).contains("change the secrets"),
        "{}",
        stderr(&out)
    );
    alice.git(&["commit", "-qm", "remove bob"]);
    assert_eq!(alice.secret_ok(&["list-users"]).lines().count(), 1);
    assert!(
        alice
            .secret_ok(&["export-key", "-"])
            .contains("generation: 2"),
        "keys rotated"
    );

    // Bob's SSH key no longer opens the new commits; Carol's identity does.
    install_bob_ssh_key(&sandbox);
    let (_, out) = clone_and_unlock(&sandbox, &alice, "bob-again", None);
    assert_refused(&out, "is a recipient of this repository");
    std::fs::remove_dir_all(sandbox.home().join(".ssh")).unwrap();
    let (carol2, out) = clone_and_unlock(&sandbox, &alice, "carol-again", Some(&carol_identity));
    assert_success(&out, "carol unlocks after the rotation");
    assert_eq!(carol2.read("secrets/app.env"), b"TOKEN=shared\n");
    assert_eq!(carol2.status(), "");
}

#[test]
fn add_user_refuses_a_bad_recipient_and_a_locked_repo() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let before = repo.snapshot();
    assert_refused(
        &repo.secret(&["add-user", "ssh-dss AAAAnotakey"]),
        "is not a public key: expected an age recipient",
    );
    assert_eq!(repo.snapshot(), before);
    repo.keep_key(); // lock keeps a key that exists nowhere else
    repo.secret_ok(&["lock"]);
    let before = repo.snapshot();
    let (_, carol_pub) = carol_age_identity(&sandbox);
    assert_refused(&repo.secret(&["add-user", &carol_pub]), "unlock it first");
    assert_eq!(repo.snapshot(), before);
}

/// A passphrase-protected SSH key is asked for its passphrase, as OpenSSH
/// asks: here through SSH_ASKPASS (forced, so a developer's terminal is never
/// prompted). A wrong or cancelled passphrase is named and changes nothing.
#[test]
fn unlock_with_a_passphrase_protected_ssh_key() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    alice.secret_ok(&["add-user", fixture("dave_ed25519.pub").to_str().unwrap()]);
    alice.git(&["commit", "-qm", "share with dave"]);
    let askpass = |name: &str, body: &str| {
        let path = sandbox.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let cases = [
        (
            "wrong",
            askpass("wrong.sh", "echo 'not it'"),
            "wrong passphrase",
        ),
        (
            "cancel",
            askpass("cancel.sh", "exit 1"),
            "no passphrase given",
        ),
        (
            "right",
            askpass("right.sh", "echo 'correct horse battery'"),
            "",
        ),
    ];
    for (name, program, refusal) in cases {
        let dave = sandbox.clone_repo(&alice, &format!("dave-{name}"));
        let before = dave.snapshot();
        let out = sandbox
            .command(BIN, &dave.dir)
            .args(["unlock", "--no-ring"])
            .env("GIT_SECRET_IDENTITY", fixture("dave_ed25519"))
            .env("SSH_ASKPASS", &program)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .output()
            .unwrap();
        if refusal.is_empty() {
            assert_success(&out, "unlock with the right passphrase");
            assert_eq!(dave.read("secrets/app.env"), b"TOKEN=shared\n");
        } else {
            assert_refused(&out, refusal);
            assert_eq!(dave.snapshot(), before, "{name}");
        }
    }
}
