//! Issue 12, "trust nothing that anyone can push": the recipient files under
//! `.git-secret/` as an attacker with push access (commits to the shared
//! origin, no key) edits them. Each test plays the attack end to end with
//! real git and checks that the attacker gets nothing and that every refusal
//! changes nothing.

use crate::harness::*;
use std::path::PathBuf;

/// The advice after every difference between recipients.txt and the authenticated list.
const ADVICE: &str = "To accept one change, run `git-secret add-user` (an added line) or `git-secret \
    remove-user` (a removed one) with that key; to accept them all, rerun with --accept-recipients; to \
    drop them, restore .git-secret/recipients.txt from before the change (`git log -p -- \
    .git-secret/recipients.txt`).";

/// An age identity: its file and its public key.
struct Person {
    identity: PathBuf,
    public: String,
}

fn person(sandbox: &Sandbox, name: &str) -> Person {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let path = sandbox.path().join(format!("{name}.agekey"));
    std::fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    Person {
        identity: path,
        public: identity.to_public().to_string(),
    }
}

/// The 16-hex-digit fingerprint list-users shows for a public key.
fn fingerprint(public: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(public.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `person`'s identity opens the keys.age in `repo`'s work tree.
fn opens(repo: &Repo, person: &Person) -> bool {
    use std::io::Read;
    use std::str::FromStr;
    let text = std::fs::read_to_string(&person.identity).unwrap();
    let identity = age::x25519::Identity::from_str(text.trim()).unwrap();
    let wrapped = repo.read(".git-secret/keys.age");
    let reader = age::armor::ArmoredReader::new(&wrapped[..]);
    let decryptor = age::Decryptor::new(reader).unwrap();
    match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
        Ok(mut stream) => {
            let mut out = Vec::new();
            stream.read_to_end(&mut out).unwrap();
            true
        }
        Err(_) => false,
    }
}

/// The shared origin (bare) and Alice's clone of it: she holds the key,
/// shares it with Carol and Mallory, and pushes.
fn team(sandbox: &Sandbox) -> (Repo<'_>, Repo<'_>, Person, Person) {
    let origin = sandbox.path().join("origin.git");
    let out = sandbox
        .command("git", sandbox.path())
        .args(["init", "-q", "--bare", "origin.git"])
        .output()
        .unwrap();
    assert_success(&out, "git init --bare");
    let origin = sandbox.open(origin);
    let alice = sandbox.clone_repo(&origin, "alice");
    alice.secret_ok(&["init"]);
    alice.mark_default();
    alice.write("secrets/app.env", "TOKEN=shared\n");
    alice.git(&["add", "."]);
    alice.git(&["commit", "-qm", "secret"]);
    let carol = person(sandbox, "carol");
    let mallory = person(sandbox, "mallory");
    alice.secret_ok(&["add-user", &format!("{} # Carol", carol.public)]);
    alice.secret_ok(&["add-user", &format!("{} # Mallory", mallory.public)]);
    alice.git(&["commit", "-qm", "share with carol and mallory"]);
    alice.git(&["push", "-q", "origin", "main"]);
    (origin, alice, carol, mallory)
}

/// Someone with push access and no key: clones, runs `edit` on the
/// recipient list, commits and pushes.
fn push_as_attacker(sandbox: &Sandbox, origin: &Repo, name: &str, edit: impl Fn(&str) -> String) {
    let attacker = sandbox.clone_repo(origin, name);
    let list = String::from_utf8(attacker.read(".git-secret/recipients.txt")).unwrap();
    attacker.write(".git-secret/recipients.txt", edit(&list));
    attacker.git(&["commit", "-qam", "recipients: fix Carol's laptop key"]);
    attacker.git(&["push", "-q", "origin", "main"]);
}

/// Attack: a pushed commit adds one line to recipients.txt with a friendly
/// comment. Alice's next `add-user` must not wrap the keys for it.
#[test]
fn an_injected_recipient_line_is_not_wrapped_for() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, _mallory) = team(&sandbox);
    let eve = person(&sandbox, "eve");
    push_as_attacker(&sandbox, &origin, "eve-clone", |list| {
        format!("{list}{} # Carol (new laptop)\n", eve.public)
    });
    alice.git(&["pull", "-q"]);
    let dave = person(&sandbox, "dave");
    let before = alice.snapshot();
    let out = alice.secret(&["add-user", &dave.public]);
    let eve_fp = fingerprint(&eve.public);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: .git-secret/recipients.txt differs from the authenticated recipient list \
             (the one add-user, remove-user and rotate last wrote with the key):\n\
             \x20 + {eve_fp}  age          Carol (new laptop)\n\
             Nothing was changed. Someone who can push edited the file: check each line with its owner.\n{ADVICE}\n"
        )
    );
    assert_eq!(
        alice.snapshot(),
        before,
        "a refused add-user changes nothing"
    );
    assert!(!opens(&alice, &eve), "eve's key does not open keys.age");

    // list-users shows the authenticated list and flags the injected line.
    let out = alice.secret(&["list-users"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stdout(&out).contains("new laptop"), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&format!("  + {eve_fp}  age          Carol (new laptop)\n")),
        "{}",
        stderr(&out)
    );
    assert_eq!(alice.snapshot(), before, "list-users changes nothing");

    // rotate and remove-user (re-wraps) refuse too, and change nothing.
    for args in [
        &["rotate"][..],
        &["remove-user", &fingerprint(&carol.public)],
    ] {
        let out = alice.secret(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        if args[0] == "rotate" {
            assert!(
                stderr(&out).contains("differs from the authenticated"),
                "{}",
                stderr(&out)
            );
        }
        assert_eq!(alice.snapshot(), before, "{args:?} changes nothing");
    }

    // Adding the injected key explicitly accepts it (and only it).
    alice.secret_ok(&["add-user", &eve.public]);
    assert!(opens(&alice, &eve));
    assert_eq!(alice.secret(&["list-users"]).status.code(), Some(0));
}

/// Attack: a recipient deletes their own line and pushes, to disappear from
/// `list-users` while keys.age still opens for them.
#[test]
fn deleting_ones_own_line_does_not_hide_one_from_list_users() {
    let sandbox = Sandbox::new();
    let (origin, alice, _carol, mallory) = team(&sandbox);
    push_as_attacker(&sandbox, &origin, "mallory-clone", |list| {
        list.lines()
            // Her line; the authenticated copy (comment lines) cannot be forged anyway.
            .filter(|l| !l.contains("Mallory") || l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    alice.git(&["pull", "-q"]);
    assert!(opens(&alice, &mallory), "keys.age still opens for mallory");
    let before = alice.snapshot();
    let out = alice.secret(&["list-users"]);
    let mallory_fp = fingerprint(&mallory.public);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("{mallory_fp}  age          Mallory\n")),
        "the authenticated list still names mallory: {}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: .git-secret/recipients.txt differs from the authenticated recipient list \
             (the one add-user, remove-user and rotate last wrote with the key):\n\
             \x20 - {mallory_fp}  age          Mallory\n\
             Someone who can push edited the file: check each line with its owner.\n{ADVICE}\n"
        )
    );
    assert_eq!(alice.snapshot(), before);

    // remove-user of the hidden recipient accepts the removal and rotates her out.
    let out = alice.secret(&["remove-user", &mallory_fp]);
    assert_success(&out, "remove-user of a hidden recipient");
    assert!(!opens(&alice, &mallory), "the rotated keys.age is not hers");
    assert_eq!(alice.secret(&["list-users"]).status.code(), Some(0));
}

/// Attack: a recipient lists themselves twice, so `remove-user` (which
/// removed the first line only) leaves them wrapped for the rotated keys.
#[test]
fn a_recipient_listed_twice_is_refused_and_remove_user_removes_every_entry() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, mallory) = team(&sandbox);
    let mallory_fp = fingerprint(&mallory.public);
    push_as_attacker(&sandbox, &origin, "mallory-clone", |list| {
        format!("{list}{} # Mallory (backup)\n", mallory.public)
    });
    alice.git(&["pull", "-q"]);
    let dave = person(&sandbox, "dave");
    let before = alice.snapshot();
    let refusal = format!(
        "git-secret: error: .git-secret/recipients.txt lists recipient {mallory_fp} (age) 2 times \
         (lines 4, 11): delete the extra lines, or run `git-secret remove-user {mallory_fp}`, which \
         removes every entry\n"
    );
    for args in [
        &["add-user", &dave.public][..],
        &["list-users"],
        &["rotate"],
    ] {
        let out = alice.secret(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), refusal, "{args:?}");
        assert_eq!(alice.snapshot(), before, "{args:?} changes nothing");
    }

    let out = alice.secret(&["remove-user", &mallory_fp]);
    assert_success(&out, "remove-user");
    assert!(
        stderr(&out).contains(&format!(
            "Removed recipient {mallory_fp} (2 entries in .git-secret/recipients.txt)"
        )),
        "{}",
        stderr(&out)
    );
    assert!(
        !opens(&alice, &mallory),
        "mallory cannot open the rotated keys"
    );
    assert!(opens(&alice, &carol));
    let users = alice.secret_ok(&["list-users"]);
    assert_eq!(users.lines().count(), 1, "{users}");
    assert!(!users.contains("Mallory"), "{users}");
}

/// Attack: a comment with terminal escapes (ANSI sequences, a carriage
/// return) would rewrite what list-users shows.
#[test]
fn list_users_escapes_control_characters_in_comments() {
    let sandbox = Sandbox::new();
    let (_origin, alice, _carol, _mallory) = team(&sandbox);
    let eve = person(&sandbox, "eve");
    let comment = "Eve\r\x1b[2K\x1b[1A\x1b[32mCarol";
    alice.secret_ok(&["add-user", &format!("{} # {comment}", eve.public)]);
    let out = alice.secret(&["list-users"]);
    assert_success(&out, "list-users");
    let shown = stdout(&out);
    assert!(
        !shown.contains('\x1b') && !shown.contains('\r'),
        "raw control characters shown: {shown:?}"
    );
    assert!(
        shown.contains(&format!(
            "{}  age          Eve\\r\\x1b[2K\\x1b[1A\\x1b[32mCarol\n",
            fingerprint(&eve.public)
        )),
        "{shown}"
    );
}

/// The refusal of a re-wrap when nothing authenticates recipients.txt:
/// `why`, then every line of the work tree list as an addition.
fn not_authenticated(why: &str, lines: &[(&str, &str)]) -> String {
    let lines: String = lines
        .iter()
        .map(|(public, comment)| format!("  + {}  age          {comment}\n", fingerprint(public)))
        .collect();
    format!(
        "git-secret: error: .git-secret/recipients.txt is not authenticated: {why}:\n{lines}\
         Nothing was changed. Someone who can push edited the file: check each line with its owner.\n{ADVICE}\n"
    )
}

/// `--accept-recipients` accepts a pushed change: the keys are wrapped for
/// the injected line, and the list is authenticated again.
#[test]
fn accept_recipients_accepts_a_pushed_change() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, _mallory) = team(&sandbox);
    let eve = person(&sandbox, "eve");
    push_as_attacker(&sandbox, &origin, "eve-clone", |list| {
        format!("{list}{} # Eve\n", eve.public)
    });
    alice.git(&["pull", "-q"]);
    let before = alice.snapshot();
    let out = alice.secret(&["rotate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(alice.snapshot(), before, "a refused rotate changes nothing");

    alice.secret_ok(&["rotate", "--accept-recipients"]);
    assert!(opens(&alice, &eve), "accepted: keys.age is wrapped for eve");
    assert!(opens(&alice, &carol));
    let out = alice.secret(&["list-users"]);
    assert_success(&out, "list-users after accepting");
    assert!(
        stdout(&out).contains(&format!("{}  age          Eve\n", fingerprint(&eve.public))),
        "{}",
        stdout(&out)
    );
    assert_eq!(stderr(&out), "");
}

/// A list written by a git-secret from before the authenticated copy (no
/// `#=` lines) is refused, changing nothing, until accepted with the flag.
#[test]
fn a_list_without_an_authenticated_copy_is_refused_until_accepted() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, mallory) = team(&sandbox);
    push_as_attacker(&sandbox, &origin, "old-clone", |list| {
        // What an older git-secret wrote: the lines, no copy, no comment about it.
        list.lines()
            .take_while(|l| !l.starts_with("# Below"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    alice.git(&["pull", "-q"]);
    assert!(!String::from_utf8(alice.read(".git-secret/recipients.txt"))
        .unwrap()
        .contains("#="));
    let dave = person(&sandbox, "dave");
    let before = alice.snapshot();
    let out = alice.secret(&["add-user", &dave.public]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        not_authenticated(
            "it holds no authenticated copy (an older git-secret wrote it, or someone deleted the copy)",
            &[(&carol.public, "Carol"), (&mallory.public, "Mallory")]
        )
    );
    assert_eq!(
        alice.snapshot(),
        before,
        "a refused add-user changes nothing"
    );
    assert!(!opens(&alice, &dave));

    alice.secret_ok(&["add-user", &dave.public, "--accept-recipients"]);
    assert!(opens(&alice, &dave) && opens(&alice, &carol) && opens(&alice, &mallory));
    let users = alice.secret_ok(&["list-users"]);
    assert_eq!(users.lines().count(), 3, "{users}");
}

/// Attack: the pushed change edits the authenticated copy too (a line for
/// Eve in the copy), but cannot make its tag: refused as forged.
#[test]
fn a_forged_authenticated_copy_is_refused() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, mallory) = team(&sandbox);
    let eve = person(&sandbox, "eve");
    push_as_attacker(&sandbox, &origin, "eve-clone", |list| {
        let list = format!("{list}{} # Eve\n", eve.public);
        list.replace(
            "#= version 1\n",
            &format!("#= version 1\n#= recipient {} # Eve\n", eve.public),
        )
    });
    alice.git(&["pull", "-q"]);
    let dave = person(&sandbox, "dave");
    let before = alice.snapshot();
    for args in [&["add-user", &dave.public][..], &["rotate"]] {
        let out = alice.secret(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            not_authenticated(
                "the tag of its authenticated copy does not match that copy (forged or damaged)",
                &[
                    (&carol.public, "Carol"),
                    (&mallory.public, "Mallory"),
                    (&eve.public, "Eve")
                ]
            ),
            "{args:?}"
        );
        assert_eq!(alice.snapshot(), before, "{args:?} changes nothing");
    }
    assert!(!opens(&alice, &eve));
}

/// Attack: Mallory, removed (the keys rotated), still holds generation 1 and
/// authenticates a list naming herself and Eve with it. Alice holds
/// generation 2: the tag is stale, refused.
#[test]
fn a_copy_authenticated_with_an_older_generation_is_refused_as_stale() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, mallory) = team(&sandbox);
    let eve = person(&sandbox, "eve");
    let theirs = sandbox.clone_repo(&origin, "mallory-clone");
    let out = sandbox
        .command(BIN, &theirs.dir)
        .args(["unlock", "--no-ring"])
        .env("GIT_SECRET_IDENTITY", &mallory.identity)
        .output()
        .unwrap();
    assert_success(&out, "mallory unlocks");
    alice.secret_ok(&["remove-user", &fingerprint(&mallory.public)]);
    alice.git(&["commit", "-qm", "remove mallory"]);
    alice.git(&["push", "-q", "origin", "main"]);
    // With generation 1, her git-secret writes a list whose tag verifies under it.
    theirs.secret_ok(&["add-user", &format!("{} # Eve", eve.public)]);
    let sealed = String::from_utf8(theirs.read(".git-secret/recipients.txt")).unwrap();
    assert!(sealed.contains("#= mac default 1 "), "{sealed}");
    push_as_attacker(&sandbox, &origin, "mallory-push", |_| sealed.clone());
    alice.git(&["pull", "-q"]);
    let dave = person(&sandbox, "dave");
    let before = alice.snapshot();
    let out = alice.secret(&["add-user", &dave.public]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        not_authenticated(
            "its copy was authenticated with generation 1 of key 'default', older than the newest you hold \
             (2): it predates a rotation, and whoever was removed then holds that key",
            &[
                (&carol.public, "Carol"),
                (&mallory.public, "Mallory"),
                (&eve.public, "Eve")
            ]
        )
    );
    assert_eq!(
        alice.snapshot(),
        before,
        "a refused add-user changes nothing"
    );
    assert!(!opens(&alice, &mallory) && !opens(&alice, &eve));
}

/// A change to a comment alone (the text list-users shows, which people
/// check) is a difference like any other: shown as the old line removed and
/// the new one added, refused. `add-user` with the new line accepts it, as
/// the advice says.
#[test]
fn a_comment_only_change_is_refused_and_add_user_accepts_it() {
    let sandbox = Sandbox::new();
    let (origin, alice, carol, _mallory) = team(&sandbox);
    push_as_attacker(&sandbox, &origin, "eve-clone", |list| {
        list.replacen(" # Carol\n", " # Carol (admin, trust this key)\n", 1)
    });
    alice.git(&["pull", "-q"]);
    let carol_fp = fingerprint(&carol.public);
    let dave = person(&sandbox, "dave");
    let before = alice.snapshot();
    let out = alice.secret(&["add-user", &dave.public]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: .git-secret/recipients.txt differs from the authenticated recipient list \
             (the one add-user, remove-user and rotate last wrote with the key):\n\
             \x20 - {carol_fp}  age          Carol\n\
             \x20 + {carol_fp}  age          Carol (admin, trust this key)\n\
             Nothing was changed. Someone who can push edited the file: check each line with its owner.\n{ADVICE}\n"
        )
    );
    assert_eq!(
        alice.snapshot(),
        before,
        "a refused add-user changes nothing"
    );

    alice.secret_ok(&[
        "add-user",
        &format!("{} # Carol (admin, trust this key)", carol.public),
    ]);
    let users = alice.secret_ok(&["list-users"]);
    assert!(
        users.contains(&format!(
            "{carol_fp}  age          Carol (admin, trust this key)\n"
        )),
        "{users}"
    );
}
