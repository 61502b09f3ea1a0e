//! Issue 12, "Trust nothing that anyone can push": attacks on the keys, each
//! played end to end by an insider with push access (commits in the shared
//! bare origin) and no key.

use crate::harness::*;
use std::path::Path;
use std::str::FromStr;

/// An age identity file for Bob; returns (identity path, public key).
fn age_identity(sandbox: &Sandbox, who: &str) -> (String, String) {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let path = sandbox.path().join(format!("{who}.agekey"));
    std::fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    (
        path.to_str().unwrap().to_owned(),
        identity.to_public().to_string(),
    )
}

/// A bare origin; Alice's clone with the default key, a committed secret and
/// Bob as a recipient, pushed; Bob's clone unlocked from keys.age.
struct Team<'s> {
    origin: std::path::PathBuf,
    alice: Repo<'s>,
    bob: Repo<'s>,
    bob_identity: String,
}

fn team(sandbox: &Sandbox) -> Team<'_> {
    let origin = sandbox.path().join("origin.git");
    let out = sandbox
        .command("git", sandbox.path())
        .args(["init", "-q", "--bare"])
        .arg(&origin)
        .output()
        .unwrap();
    assert_success(&out, "git init --bare");
    let alice = sandbox.init_repo("alice");
    alice.secret_ok(&["init"]);
    alice.mark_default();
    alice.write("secrets/app.env", "TOKEN=shared\n");
    alice.git(&["add", "."]);
    alice.git(&["commit", "-qm", "secret"]);
    let (bob_identity, bob_pub) = age_identity(sandbox, "bob");
    alice.secret_ok(&["add-user", &bob_pub]);
    alice.git(&["commit", "-qm", "share with bob"]);
    alice.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    alice.git(&["push", "-q", "-u", "origin", "main"]);
    let bob = clone_of(sandbox, &origin, "bob");
    let out = bob_secret(&bob, &bob_identity, &["unlock"]);
    assert_success(&out, "bob unlocks from keys.age");
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
    Team {
        origin,
        alice,
        bob,
        bob_identity,
    }
}

fn clone_of<'s>(sandbox: &'s Sandbox, origin: &Path, name: &str) -> Repo<'s> {
    let out = sandbox
        .command("git", sandbox.path())
        .args(["clone", "-q"])
        .arg(origin)
        .arg(name)
        .output()
        .unwrap();
    assert_success(&out, "git clone");
    sandbox.open(sandbox.path().join(name))
}

fn bob_secret(bob: &Repo, identity: &str, args: &[&str]) -> std::process::Output {
    bob.sandbox
        .command(BIN, &bob.dir)
        .args(args)
        .env("GIT_SECRET_IDENTITY", identity)
        .output()
        .unwrap()
}

/// Wraps `key_file` with age for every age recipient in `recipients.txt`, as
/// anyone who can read the repository can.
fn wrap_for(recipients_txt: &str, key_file: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::str::FromStr;
    let recipients: Vec<age::x25519::Recipient> = recipients_txt
        .lines()
        .filter(|l| l.starts_with("age1"))
        .map(|l| age::x25519::Recipient::from_str(l.split_whitespace().next().unwrap()).unwrap())
        .collect();
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .unwrap();
    let mut wrapped = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut wrapped, age::armor::Format::AsciiArmor)
            .unwrap();
    let mut writer = encryptor.wrap_output(armor).unwrap();
    writer.write_all(key_file).unwrap();
    writer.finish().unwrap().finish().unwrap();
    wrapped
}

/// Mallory (push access, no key) makes a key of her own in a scratch
/// repository, with `generation`; returns (key file text, its id, a blob
/// encrypted with it).
fn mallorys_key(sandbox: &Sandbox, generation: &str) -> (String, String, Vec<u8>) {
    let scratch = sandbox.init_repo("mallory-scratch");
    scratch.secret_ok(&["init"]);
    scratch.mark_default();
    scratch.write("secrets/decoy", "decoy\n");
    scratch.git(&["add", "."]);
    scratch.git(&["commit", "-qm", "decoy"]);
    let blob = scratch.stored("HEAD:secrets/decoy");
    let text = scratch.secret_ok(&["export-key", "-"]);
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .to_owned();
    let text = text.replace("generation: 1\n", &format!("generation: {generation}\n"));
    (text, id, blob)
}

/// Mallory's clone of the origin: she commits `keys.age` wrapping her key
/// for the recipients, plus a decoy blob under her key id at a path marked
/// filter=git-crypt (no driver of that name runs, so pulls do not fail), and pushes.
fn mallory_pushes_her_key(sandbox: &Sandbox, origin: &Path, generation: &str) -> String {
    let (key_file, id, decoy) = mallorys_key(sandbox, generation);
    let mallory = clone_of(sandbox, origin, "mallory");
    let recipients = String::from_utf8(mallory.read(".git-secret/recipients.txt")).unwrap();
    mallory.write(
        ".git-secret/keys.age",
        wrap_for(&recipients, key_file.as_bytes()),
    );
    let mut attributes = String::from_utf8(mallory.read(".gitattributes")).unwrap();
    attributes.insert_str(0, "decoy.bin filter=git-crypt diff=git-crypt\n");
    mallory.write(".gitattributes", attributes);
    mallory.git(&["add", ".gitattributes", ".git-secret/keys.age"]);
    mallory.stage_raw("decoy.bin", &decoy);
    mallory.git(&["commit", "-qm", "tidy up"]);
    mallory.git(&["push", "-q", "origin", "main"]);
    id
}

/// Attack 1: key substitution through keys.age, with an absurd generation
/// that would outrank every future rotation.
#[test]
fn substituted_key_with_absurd_generation_is_refused() {
    let sandbox = Sandbox::new();
    let team = team(&sandbox);
    let bob = &team.bob;
    mallory_pushes_her_key(&sandbox, &team.origin, "4294967295");
    bob.git(&["pull", "-q", "--no-rebase"]);
    let before = bob.snapshot();
    let out = bob_secret(bob, &team.bob_identity, &["unlock"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "git-secret: error: .git-secret/keys.age line 5: generation 4294967295 is out of range: \
         expected a positive decimal number of at most 1000000\n"
    );
    assert_eq!(bob.snapshot(), before, "a refused unlock changes nothing");
    // Bob's next commit is still encrypted with the team's key.
    let alice_id = team.alice.secret_ok(&["export-key", "-"]);
    bob.write("secrets/app.env", "TOKEN=rotated\n");
    bob.git(&["commit", "-qam", "new token"]);
    let header = bob.stored("HEAD:secrets/app.env");
    let id = alice_id
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap();
    assert!(contains(&header, &hex_bytes(id)), "still the team's key");
}

/// Attack 1 with a plausible generation: a key that nothing trusted here vouches for.
#[test]
fn substituted_key_without_a_vouch_is_refused() {
    let sandbox = Sandbox::new();
    let team = team(&sandbox);
    let bob = &team.bob;
    let mallory_id = mallory_pushes_her_key(&sandbox, &team.origin, "2");
    bob.git(&["pull", "-q", "--no-rebase"]);
    let before = bob.snapshot();
    let out = bob_secret(bob, &team.bob_identity, &["unlock"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "Opened .git-secret/keys.age with {}.\n\
             git-secret: error: refusing key 'default' generation 2 (id {mallory_id}): no key trusted here vouches \
             for it, so anyone who can push could have made it. Nothing was changed. If a teammate really \
             rotated the key, ask them for the key file and check its id with them, then run \
             `git-secret lock` and `git-secret unlock KEYFILE`\n",
            team.bob_identity
        )
    );
    assert_eq!(bob.snapshot(), before, "a refused unlock changes nothing");
}

/// The legitimate path still works: Alice rotates, her vouch comes along in
/// keys.age, and Bob's unlock accepts the new generation and names its voucher.
#[test]
fn a_vouched_rotation_is_accepted() {
    let sandbox = Sandbox::new();
    let team = team(&sandbox);
    let alice = &team.alice;
    alice.secret_ok(&["rotate"]);
    alice.git(&["commit", "-qm", "rotate"]);
    alice.git(&["push", "-q"]);
    let keys = alice.secret_ok(&["export-key", "-"]);
    assert!(keys.contains("vouched-by: "), "{keys}");
    let bob = &team.bob;
    // The pull's checkout needs generation 2, which Bob does not hold yet.
    let _ = bob.git_output(&["pull", "-q", "--no-rebase"]);
    let out = bob_secret(bob, &team.bob_identity, &["unlock"]);
    assert_success(&out, "bob unlocks the rotation");
    assert!(
        stderr(&out).contains("generation 2 (id ") && stderr(&out).contains("vouched for by"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
}

/// A first unlock from keys.age (nothing trusted here yet) shows what it trusts.
#[test]
fn first_unlock_from_keys_age_shows_the_key_and_its_chain() {
    let sandbox = Sandbox::new();
    let team = team(&sandbox);
    team.alice.secret_ok(&["rotate"]);
    team.alice.git(&["commit", "-qm", "rotate"]);
    team.alice.git(&["push", "-q"]);
    let carol = clone_of(&sandbox, &team.origin, "carol");
    let out = bob_secret(&carol, &team.bob_identity, &["unlock", "--no-ring"]);
    assert_success(&out, "first unlock");
    let err = stderr(&out);
    assert!(
        err.contains("trusting on first use") && err.contains("generation 1 (id "),
        "{err}"
    );
    assert!(err.contains("vouched for by generation 1"), "{err}");
}

/// Absurd generations cannot be reached by rotating either: at the bound,
/// rotate refuses instead of wrapping.
#[test]
fn rotate_at_the_generation_bound_refuses() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("r", &[("secrets/a", b"a\n")]);
    let key = repo.key_dir().join("default.key");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(
        &key,
        text.replace("generation: 1\n", "generation: 1000000\n"),
    )
    .unwrap();
    let before = repo.snapshot();
    let out = repo.secret(&["rotate"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: key 'default' is at generation 1000000, the highest there may be; \
         make a new key name instead (`git-secret init -k NAME`)\n"
    );
    assert_eq!(repo.snapshot(), before);
}

/// Attack 6: ring keys follow untrusted repositories. Bob's ring holds the
/// team key (saved by his unlock from keys.age). A stranger makes a
/// repository of her own holding a copy of a work blob, and gets Bob to
/// clone it: a plain `git-secret unlock` must not decrypt it with the ring.
#[test]
fn ring_key_is_not_used_for_a_strangers_repository() {
    let sandbox = Sandbox::new();
    let team = team(&sandbox);
    let work_blob = team.alice.stored("HEAD:secrets/app.env");
    let id = team
        .alice
        .secret_ok(&["export-key", "-"])
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .to_owned();
    let stranger = sandbox.init_repo("stranger");
    stranger.write("README", "a tool you should try\n");
    stranger.git(&["add", "README"]);
    stranger.git(&["commit", "-qm", "hello"]);
    stranger.mark_default();
    stranger.stage_raw("secrets/app.env", &work_blob);
    stranger.git(&["commit", "-qm", "look at this"]);
    let victim = sandbox.clone_repo(&stranger, "from-stranger");
    assert!(is_encrypted(&victim.read("secrets/app.env")));
    let before = victim.snapshot();
    let out = bob_secret(&victim, &team.bob_identity, &["unlock"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: your key ring holds key 'default' (id {id}) that this repository's files \
             need, but it was saved from another repository (no root commit or origin URL in common with \
             this one), and anyone can make a repository that holds a copy of an encrypted file. Nothing \
             was changed. If this repository really should be decrypted with that key, pass the key file \
             explicitly: `git-secret unlock KEYFILE`\n"
        )
    );
    assert_eq!(
        victim.snapshot(),
        before,
        "a refused unlock changes nothing"
    );
    assert!(is_encrypted(&victim.read("secrets/app.env")));

    // The team's own repository still unlocks from the ring: a new clone of
    // the origin shares its root commit and its origin URL.
    let carol = clone_of(&sandbox, &team.origin, "carol");
    let out = carol.secret(&["unlock"]);
    assert_success(&out, "unlock a clone of the team's origin from the ring");
    assert_eq!(carol.read("secrets/app.env"), b"TOKEN=shared\n");
}

/// Attack 5: retired generations still write. Alice removes Bob and the
/// rotation moves every file to generation 2; Bob, who kept generation 1 and
/// push access, commits a changed secret under generation 1. The push gate
/// and `status` in Alice's clone name it; history from before the rotation
/// stays fine.
#[test]
fn a_new_blob_under_a_retired_generation_is_flagged() {
    let sandbox = Sandbox::new();
    let team = team(&sandbox);
    let (alice, bob) = (&team.alice, &team.bob);
    let before_rotation = alice.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let bob_pub = std::fs::read_to_string(&team.bob_identity).unwrap();
    let bob_pub = age::x25519::Identity::from_str(bob_pub.trim())
        .unwrap()
        .to_public()
        .to_string();
    alice.secret_ok(&["remove-user", &bob_pub]);
    alice.git(&["commit", "-qm", "remove bob"]);
    alice.git(&["push", "-q"]);
    let rotation = alice.git(&["rev-parse", "HEAD"]).trim().to_owned();

    // Bob encrypts his change with the generation he kept and pushes it on
    // top of the rotation (plumbing: his clone cannot check the rotation out).
    let out = bob.secret_stdin(&["clean", "secrets/app.env"], b"TOKEN=bobs\n");
    assert_success(&out, "bob's clean under generation 1");
    let evil = out.stdout;
    bob.git(&["fetch", "-q"]);
    bob.git(&["read-tree", "origin/main"]);
    bob.stage_raw("secrets/app.env", &evil);
    let tree = bob.git(&["write-tree"]).trim().to_owned();
    let commit = bob
        .git(&[
            "commit-tree",
            &tree,
            "-p",
            "origin/main",
            "-m",
            "update token",
        ])
        .trim()
        .to_owned();
    bob.git(&["push", "-q", "origin", &format!("{commit}:main")]);

    alice.git(&["pull", "-q", "--no-rebase"]);
    assert_eq!(
        alice.read("secrets/app.env"),
        b"TOKEN=bobs\n",
        "decrypted silently"
    );
    let before = alice.snapshot();
    let out = alice.secret(&["check", "--range", &format!("{rotation}..{commit}")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let blob = alice
        .git(&["rev-parse", "HEAD:secrets/app.env"])
        .trim()
        .to_owned();
    assert_eq!(
        stdout(&out),
        format!(
            "BAD {}  secrets/app.env  (blob {blob}: encrypted with key 'default' generation 1, retired: \
             generation 2 was in use in the commit before)\n",
            &commit[..12]
        )
    );
    assert_eq!(alice.snapshot(), before, "check changes nothing");

    let out = alice.secret(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "RETIRED        secrets/app.env  (key 'default' generation 1, retired: generation 2 was in use \
             before commit {}; re-encrypt it with `git add --renormalize -- PATH` and change the secret)",
            &commit[..12]
        )),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out),
        "git-secret: error: 1 marked file(s) were last written under a retired key generation: someone \
         who holds an old generation (a removed member?) wrote them after the rotation. Check who, \
         re-encrypt them (`git add --renormalize -- PATH`, commit) and change those secrets\n"
    );
    assert_eq!(alice.snapshot(), before, "status changes nothing");

    // Blobs from before the rotation are fine: the range up to it passes.
    let out = alice.secret(&[
        "check",
        "--range",
        &format!("{before_rotation}..{rotation}"),
    ]);
    assert_success(&out, "check of the rotation itself");
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
