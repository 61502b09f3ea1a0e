//! Age plugin recipients (hardware keys) and the passphrase recipient
//! (issue 16), with the test-only plugin `examples/age-plugin-gstest.rs` on
//! PATH in place of a YubiKey.

use crate::harness::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// PATH as the tests got it: no age-plugin-gstest there.
fn without_plugin() -> OsString {
    std::env::var_os("PATH").unwrap_or_default()
}

/// A new plugin identity file; returns (its path, the recipient).
fn plugin_identity(sandbox: &Sandbox, name: &str) -> (PathBuf, String) {
    let out = Command::new(test_plugin_exe()).output().unwrap();
    assert_success(&out, "age-plugin-gstest (generate)");
    let text = stdout(&out);
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .expect("a recipient comment")
        .to_owned();
    let path = sandbox.path().join(name);
    std::fs::write(&path, &text).unwrap();
    (path, recipient)
}

fn secret_env(repo: &Repo, path: &OsString, args: &[&str], env: &[(&str, &OsString)]) -> Output {
    let mut cmd = repo.sandbox.command(BIN, &repo.dir);
    cmd.env("PATH", path).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
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

fn fingerprint(list: &str, kind: &str) -> String {
    list.lines()
        .find(|l| l.contains(kind))
        .unwrap_or_else(|| panic!("no {kind} in {list}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_plugin_recipient_is_added_listed_and_unlocks_with_its_identity() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let path = sandbox.path_with_test_plugin();
    let (identity, recipient) = plugin_identity(&sandbox, "yubi.txt");
    let out = secret_env(&alice, &path, &["add-user", &recipient], &[]);
    assert_success(&out, "add-user (plugin recipient)");
    let users = stdout(&secret_env(&alice, &path, &["list-users"], &[]));
    let fp = fingerprint(&users, "plugin");
    assert_eq!(users, format!("{fp}  plugin gstest  \n"));
    assert_eq!(
        stderr(&out),
        format!(
            "Added plugin gstest recipient {fp}; staged .git-secret/recipients.txt and .git-secret/keys.age. \
             Commit them: the new user then runs `git-secret unlock`\n(with their age or plugin identity in \
             GIT_SECRET_IDENTITY, or their SSH key in ~/.ssh).\n"
        )
    );
    alice.git(&["commit", "-qm", "share with the yubikey"]);

    // The identity file in the place unlock already searches.
    let config = sandbox.home().join(".config/git-secret");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::copy(&identity, config.join("identity.txt")).unwrap();
    let bob = sandbox.clone_repo(&alice, "bob");
    let out = secret_env(&bob, &path, &["unlock", "--no-ring"], &[]);
    assert_success(&out, "unlock with the plugin identity");
    assert!(
        stderr(&out).starts_with(&format!(
            "Opened .git-secret/keys.age with {}.\n",
            config.join("identity.txt").display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
    assert_eq!(bob.status(), "");
}

#[test]
fn add_user_refuses_a_plugin_recipient_whose_plugin_is_missing() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let (_, recipient) = plugin_identity(&sandbox, "yubi.txt");
    let before = alice.snapshot();
    let out = secret_env(&alice, &without_plugin(), &["add-user", &recipient], &[]);
    let fp = fingerprint_of(&recipient);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: recipient {fp} (plugin gstest) needs the program age-plugin-gstest, which is not \
             on PATH. Install it (see the documentation of age-plugin-gstest; https://github.com/FiloSottile/awesome-age \
             lists plugins) and run the command again. Nothing was changed\n"
        )
    );
    assert_eq!(alice.snapshot(), before);
    // A well-known plugin is named with where to get it.
    let hrp = bech32::Hrp::parse("age1yubikey").unwrap();
    let yubikey = bech32::encode::<bech32::Bech32>(hrp, &[2u8; 33]).unwrap();
    let out = secret_env(&alice, &without_plugin(), &["add-user", &yubikey], &[]);
    assert_refused(
        &out,
        "needs the program age-plugin-yubikey, which is not on PATH. Install it \
         (https://github.com/str4d/age-plugin-yubikey) and run the command again",
    );
    assert_eq!(alice.snapshot(), before);
}

fn fingerprint_of(key: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(key.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn remove_user_rewraps_for_the_plugin_user_and_needs_the_plugin() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let path = sandbox.path_with_test_plugin();
    let (identity, recipient) = plugin_identity(&sandbox, "yubi.txt");
    let carol = age::x25519::Identity::generate().to_public().to_string();
    assert_success(
        &secret_env(&alice, &path, &["add-user", &recipient], &[]),
        "add-user plugin",
    );
    assert_success(
        &secret_env(&alice, &path, &["add-user", &carol], &[]),
        "add-user age",
    );
    alice.git(&["commit", "-qm", "share"]);

    // Without the plugin, the removal (which re-wraps for the plugin user) is refused before rotating.
    let before = alice.snapshot();
    let out = secret_env(&alice, &without_plugin(), &["remove-user", &carol], &[]);
    assert_refused(
        &out,
        "needs the program age-plugin-gstest, which is not on PATH",
    );
    assert_eq!(alice.snapshot(), before);
    let out = secret_env(&alice, &without_plugin(), &["rotate"], &[]);
    assert_refused(
        &out,
        "needs the program age-plugin-gstest, which is not on PATH",
    );
    assert_eq!(alice.snapshot(), before);

    let out = secret_env(&alice, &path, &["remove-user", &carol], &[]);
    assert_success(&out, "remove-user with the plugin on PATH");
    alice.git(&["commit", "-qm", "remove carol"]);
    let users = stdout(&secret_env(&alice, &path, &["list-users"], &[]));
    assert_eq!(users.lines().count(), 1, "{users}");
    assert!(users.contains("plugin gstest"), "{users}");

    let bob = sandbox.clone_repo(&alice, "bob");
    let id: OsString = identity.into();
    let out = secret_env(
        &bob,
        &path,
        &["unlock", "--no-ring"],
        &[("GIT_SECRET_IDENTITY", &id)],
    );
    assert_success(&out, "the plugin user unlocks the rotated keys");
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
    assert!(
        bob.secret_ok(&["export-key", "-"])
            .contains("generation: 2"),
        "the new generation was wrapped for the plugin user"
    );
}

/// A clone of alice's repository shared with one plugin user; returns the
/// clone and the identity file.
fn shared_with_plugin<'s>(sandbox: &'s Sandbox, alice: &Repo) -> (Repo<'s>, OsString) {
    let path = sandbox.path_with_test_plugin();
    let (identity, recipient) = plugin_identity(sandbox, "yubi.txt");
    assert_success(
        &secret_env(alice, &path, &["add-user", &recipient], &[]),
        "add-user plugin",
    );
    alice.git(&["commit", "-qm", "share"]);
    (sandbox.clone_repo(alice, "bob"), identity.into())
}

#[test]
fn unlock_names_a_missing_plugin_and_a_failed_one_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let (bob, identity) = shared_with_plugin(&sandbox, &alice);
    let fp = fingerprint(&alice.secret_ok(&["list-users"]), "plugin");
    let shown = Path::new(&identity).display().to_string();
    let before = bob.snapshot();

    let out = secret_env(
        &bob,
        &without_plugin(),
        &["unlock", "--no-ring"],
        &[("GIT_SECRET_IDENTITY", &identity)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: your identity {shown} for recipient {fp} (plugin gstest) needs the program \
             age-plugin-gstest, which is not on PATH: install it (see the documentation of age-plugin-gstest; \
             https://github.com/FiloSottile/awesome-age lists plugins) and run `git-secret unlock` again. \
             Nothing was changed\n"
        )
    );
    assert_eq!(bob.snapshot(), before);

    // The device asks for a PIN; with no terminal the entry is cancelled.
    let pin: OsString = "1234".into();
    let out = secret_env(
        &bob,
        &sandbox.path_with_test_plugin(),
        &["unlock", "--no-ring"],
        &[
            ("GIT_SECRET_IDENTITY", &identity),
            ("GSTEST_PLUGIN_PIN", &pin),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: the plugin of your identity {shown} for recipient {fp} (plugin gstest) failed \
             ('age-plugin-gstest' couldn't use an identity: PIN entry cancelled): check the device (plugged in, \
             PIN, touch) and run `git-secret unlock` again on a terminal. Nothing was changed\n"
        )
    );
    assert_eq!(bob.snapshot(), before);
}

/// A device that asks for its PIN gets it from the terminal, in unlock.
#[test]
fn unlock_asks_for_the_plugin_pin_on_a_terminal() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let (bob, identity) = shared_with_plugin(&sandbox, &alice);
    let env = [
        ("PATH", sandbox.path_with_test_plugin()),
        ("GIT_SECRET_IDENTITY", identity),
        ("GSTEST_PLUGIN_PIN", "1234".into()),
    ];
    let before = bob.snapshot();
    let out = on_terminal(&bob, "unlock --no-ring", "4321\n", &env);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("PIN entry cancelled"),
        "{}",
        stdout(&out)
    );
    assert_eq!(bob.snapshot(), before);
    // The PIN, then yes to trusting the keys on first use.
    let out = on_terminal(&bob, "unlock --no-ring", "1234\ny\n", &env);
    assert_success(&out, "unlock with the PIN typed on the terminal");
    assert!(
        stdout(&out).contains("Enter the PIN of the gstest device"),
        "{}",
        stdout(&out)
    );
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
}

/// Prompts never happen inside a filter: git owns its standard streams. A
/// locked clone whose driver is installed globally runs smudge, clean and
/// textconv with a plugin identity at hand, and the plugin is never started;
/// `unlock` starts it (so the log would show a filter that did).
#[test]
fn filters_never_start_a_plugin() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let path = sandbox.path_with_test_plugin();
    let (identity, recipient) = plugin_identity(&sandbox, "yubi.txt");
    assert_success(
        &secret_env(&alice, &path, &["add-user", &recipient], &[]),
        "add-user plugin",
    );
    alice.git(&["commit", "-qm", "share"]);
    alice.secret_ok(&["install"]);
    let log = sandbox.path().join("plugin.log");
    let git = |dir: &Path, args: &[&str]| {
        let out = sandbox
            .command("git", dir)
            .env("PATH", &path)
            .env("GIT_SECRET_IDENTITY", &identity)
            .env("GSTEST_PLUGIN_LOG", &log)
            .env("GSTEST_PLUGIN_PIN", "1234")
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, &format!("git {}", args.join(" ")));
        out
    };
    git(
        sandbox.path(),
        &["clone", "-q", alice.dir.to_str().unwrap(), "bob"],
    );
    let bob = sandbox.open(sandbox.path().join("bob"));
    assert!(is_encrypted(&bob.read("secrets/app.env")), "locked clone");
    std::fs::remove_file(bob.dir.join("secrets/app.env")).unwrap();
    git(&bob.dir, &["checkout", "--", "secrets/app.env"]);
    git(&bob.dir, &["status", "--porcelain"]);
    git(&bob.dir, &["log", "-p", "--textconv", "-1"]);
    git(&bob.dir, &["add", "secrets/app.env"]);
    assert!(!log.exists(), "a filter started the plugin");

    let out = sandbox
        .command(BIN, &bob.dir)
        .env("PATH", &path)
        .env("GIT_SECRET_IDENTITY", &identity)
        .env("GSTEST_PLUGIN_LOG", &log)
        .args(["unlock", "--no-ring"])
        .output()
        .unwrap();
    assert_success(&out, "unlock");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "identity-v1\n");
}

/// Runs `git-secret ARGS` in `repo` with the passphrase file `file` open on
/// descriptor 3 (as a script would: `3< file`).
fn with_fd3(repo: &Repo, args: &str, file: &Path) -> Output {
    repo.sandbox
        .command("sh", &repo.dir)
        .arg("-c")
        .arg(format!(
            "exec 3< \"$1\"; exec \"$0\" {args} --passphrase-fd 3"
        ))
        .arg(BIN)
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn a_passphrase_recipient_through_a_file_descriptor() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let good = sandbox.path().join("good.pass");
    std::fs::write(&good, "correct horse battery\n").unwrap();
    let out = alice.secret_stdin(
        &["add-user", "--passphrase", "--passphrase-fd", "0"],
        b"correct horse battery\n",
    );
    assert_success(&out, "add-user --passphrase");
    let users = alice.secret_ok(&["list-users"]);
    let fp = fingerprint(&users, "passphrase");
    assert_eq!(users, format!("{fp}  passphrase   \n"));
    assert_eq!(
        stderr(&out),
        format!(
            "Added passphrase recipient {fp}; staged .git-secret/recipients.txt, .git-secret/keys.age and \
             .git-secret/passphrase.age. Commit them: anyone who knows the passphrase then runs `git-secret unlock`\n\
             (asked on the terminal, or --passphrase-fd N).\n"
        )
    );
    let sealed = alice.read(".git-secret/passphrase.age");
    assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(
        !contains(&sealed, b"AGE-SECRET-KEY"),
        "the identity is sealed"
    );
    // A second passphrase recipient is refused, naming the way to change it.
    let before = alice.snapshot();
    assert_refused(
        &alice.secret_stdin(
            &["add-user", "--passphrase", "--passphrase-fd", "0"],
            b"other\n",
        ),
        "already has a passphrase recipient",
    );
    assert_eq!(alice.snapshot(), before);
    alice.git(&["commit", "-qm", "passphrase"]);

    // Wrong passphrase: named, nothing changed.
    let bob = sandbox.clone_repo(&alice, "bob");
    let wrong = sandbox.path().join("wrong.pass");
    std::fs::write(&wrong, "not it\n").unwrap();
    let before = bob.snapshot();
    let out = with_fd3(&bob, "unlock --no-ring", &wrong);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: wrong passphrase for the passphrase recipient {fp} of this repository: nothing \
             was changed. Run `git-secret unlock` again with the right passphrase, or ask someone who can unlock \
             to add your own key (`git-secret add-user`)\n"
        )
    );
    assert_eq!(bob.snapshot(), before);

    // No terminal and no descriptor: not asked, and told how.
    let out = bob.secret(&["unlock", "--no-ring"]);
    assert_refused(
        &out,
        &format!(
            "This repository also has a passphrase recipient ({fp}): run `git-secret unlock` on a terminal to \
             be asked for its passphrase, or with --passphrase-fd N"
        ),
    );
    assert_eq!(bob.snapshot(), before);

    let out = with_fd3(&bob, "unlock --no-ring", &good);
    assert_success(&out, "unlock with the passphrase");
    assert!(
        !contains(&out.stderr, b"correct horse"),
        "the passphrase is never shown"
    );
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
    assert_eq!(bob.status(), "");
}

#[test]
fn add_user_passphrase_refusals_change_nothing() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let before = alice.snapshot();
    let out = alice.secret(&["add-user", "--passphrase"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: no terminal to ask for the passphrase on; give it on a file descriptor: \
         `git-secret add-user --passphrase --passphrase-fd 0 < file`. Nothing was changed\n"
    );
    let out = alice.secret_stdin(&["add-user", "--passphrase", "--passphrase-fd", "0"], b"\n");
    assert_eq!(
        stderr(&out),
        "git-secret: error: the passphrase on file descriptor 0 is empty\n"
    );
    assert_eq!(alice.snapshot(), before);

    // A list someone edited is refused before any passphrase is asked for.
    let carol = age::x25519::Identity::generate().to_public().to_string();
    alice.secret_ok(&["add-user", &carol]);
    alice.git(&["commit", "-qm", "carol"]);
    let mallory = age::x25519::Identity::generate().to_public().to_string();
    let list = String::from_utf8(alice.read(".git-secret/recipients.txt")).unwrap();
    alice.write(
        ".git-secret/recipients.txt",
        list.replacen(&carol, &format!("{carol}\n{mallory}"), 1),
    );
    let before = alice.snapshot();
    let out = alice.secret(&["add-user", "--passphrase"]);
    assert_refused(
        &out,
        ".git-secret/recipients.txt differs from the authenticated recipient list",
    );
    assert!(!stderr(&out).contains("no terminal"), "{}", stderr(&out));
    assert_eq!(alice.snapshot(), before);
}

#[test]
fn remove_user_passphrase_deletes_the_sealed_identity_and_keeps_the_others() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let carol = age::x25519::Identity::generate().to_public().to_string();
    alice.secret_ok(&["add-user", &carol]);
    assert_success(
        &alice.secret_stdin(
            &["add-user", "--passphrase", "--passphrase-fd", "0"],
            b"pw\n",
        ),
        "add-user --passphrase",
    );
    alice.git(&["commit", "-qm", "share"]);
    assert_success(
        &alice.secret(&["remove-user", "passphrase"]),
        "remove-user passphrase",
    );
    assert!(!alice.exists(".git-secret/passphrase.age"));
    assert_eq!(
        alice.git(&["diff", "--cached", "--name-status", "--", ".git-secret"]),
        "M\t.git-secret/keys.age\nD\t.git-secret/passphrase.age\nM\t.git-secret/recipients.txt\n"
    );
    let users = alice.secret_ok(&["list-users"]);
    assert_eq!(users.lines().count(), 1, "{users}");
    assert!(users.contains("  age  "), "{users}");
}

/// The passphrase asked on a real (pseudo-)terminal, as a person types it:
/// twice for add-user, once for unlock.
#[test]
fn passphrase_on_a_terminal() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let before = alice.snapshot();
    let mismatch = on_terminal(&alice, "add-user --passphrase", "one\ntwo\n", &[]);
    assert_eq!(mismatch.status.code(), Some(1), "{}", stdout(&mismatch));
    assert!(
        stdout(&mismatch)
            .contains("git-secret: error: the two passphrases differ. Nothing was changed"),
        "{}",
        stdout(&mismatch)
    );
    assert_eq!(alice.snapshot(), before);
    let out = on_terminal(
        &alice,
        "add-user --passphrase",
        "typed twice\ntyped twice\n",
        &[],
    );
    assert_success(&out, "add-user --passphrase on a terminal");
    let text = stdout(&out);
    assert!(
        text.contains("New passphrase for this repository:")
            && text.contains("The same passphrase again:"),
        "{text}"
    );
    alice.git(&["commit", "-qm", "passphrase"]);

    let bob = sandbox.clone_repo(&alice, "bob");
    // The passphrase, then yes to trusting the keys on first use.
    let out = on_terminal(&bob, "unlock --no-ring", "typed twice\ny\n", &[]);
    assert_success(&out, "unlock on a terminal");
    assert!(stdout(&out).contains("Passphrase of this repository's passphrase recipient"));
    assert_eq!(bob.read("secrets/app.env"), b"TOKEN=shared\n");
}

/// Runs `git-secret ARGS` on a pseudo-terminal (util-linux `script`), typing `input`;
/// the terminal's output comes back on stdout.
fn on_terminal(repo: &Repo, args: &str, input: &str, env: &[(&str, OsString)]) -> Output {
    use std::io::Write;
    let mut cmd = repo.sandbox.command("script", &repo.dir);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd
        .env("SHELL", "/bin/sh")
        .args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    // Kept open until the command ends: script ends the session on end of input.
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    out
}

/// Someone who can push replaces passphrase.age with one sealed with their
/// own passphrase: it names another key than the authenticated list's
/// `passphrase` line, and unlock refuses it.
#[test]
fn a_replaced_passphrase_file_is_refused() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    assert_success(
        &alice.secret_stdin(
            &["add-user", "--passphrase", "--passphrase-fd", "0"],
            b"team\n",
        ),
        "add-user --passphrase",
    );
    alice.git(&["commit", "-qm", "passphrase"]);
    let fp = fingerprint(&alice.secret_ok(&["list-users"]), "passphrase");
    let mallory = sandbox.init_repo("mallory");
    mallory.secret_ok(&["init"]);
    assert_success(
        &mallory.secret_stdin(
            &["add-user", "--passphrase", "--passphrase-fd", "0"],
            b"evil\n",
        ),
        "mallory's passphrase",
    );
    alice.write(
        ".git-secret/passphrase.age",
        mallory.read(".git-secret/passphrase.age"),
    );
    alice.git(&["commit", "-qam", "swap the sealed identity"]);

    let bob = sandbox.clone_repo(&alice, "bob");
    let evil = sandbox.path().join("evil.pass");
    std::fs::write(&evil, "evil\n").unwrap();
    let before = bob.snapshot();
    let out = with_fd3(&bob, "unlock --no-ring", &evil);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: .git-secret/passphrase.age does not belong to the passphrase recipient {fp} \
             listed in .git-secret/recipients.txt (someone replaced one of them). Nothing was changed; ask your \
             team\n"
        )
    );
    assert_eq!(bob.snapshot(), before);
}
