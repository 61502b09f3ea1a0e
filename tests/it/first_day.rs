//! The first day with git-secret (issue 14, help and messages): man pages
//! that `git secret --help` finds, help that names what unlock tries, and
//! the messages a newcomer meets, pinned as exact stderr.

use crate::harness::*;
use base64ct::{Base64, Encoding};
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const ENV: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";

/// The id of the key `name` held in `repo` (from `keys`).
fn key_id(repo: &Repo, name: &str) -> String {
    repo.secret_ok(&["keys"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or_else(|| panic!("no key {name}"))
        .to_owned()
}

/// The `NAME(1)` pages a roff page refers to (clap_mangen writes `git\-secret\-init(1)`).
fn referenced_pages(roff: &str) -> Vec<String> {
    let text = roff.replace("\\-", "-");
    let mut pages = Vec::new();
    for (at, _) in text.match_indices("(1)") {
        let start = text[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(0, |i| i + 1);
        let name = &text[start..at];
        if name.starts_with("git-secret") {
            pages.push(format!("{name}.1"));
        }
    }
    pages
}

fn man_available() -> bool {
    Command::new("man")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn man_dir_writes_a_page_per_subcommand_and_git_help_opens_them() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let root = sandbox.path().join("man");
    let dir = root.join("man1");
    let out = repo.secret(&["man", "--dir", dir.to_str().unwrap()]);
    assert_success(&out, "man --dir");
    assert_eq!(stdout(&out), "");
    let mut written: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        stderr(&out),
        format!(
            "Wrote {} manual pages to {}.\n",
            written.len(),
            dir.display()
        )
    );
    for page in [
        "git-secret.1",
        "git-secret-init.1",
        "git-secret-unlock.1",
        "git-secret-lock.1",
        "git-secret-export-key.1",
        "git-secret-status.1",
        "git-secret-view.1",
        "git-secret-man.1",
    ] {
        assert!(written.iter().any(|w| w == page), "{page} in {written:?}");
    }
    assert!(
        !written.iter().any(|w| w == "git-secret-help.1"),
        "{written:?}"
    );
    // Every page a page refers to exists.
    for page in &written {
        let roff = fs::read_to_string(dir.join(page)).unwrap();
        for referenced in referenced_pages(&roff) {
            assert!(
                written.contains(&referenced),
                "{page} refers to {referenced}, which was not written"
            );
        }
    }
    // Each command's page points back at the main page.
    let unlock = fs::read_to_string(dir.join("git-secret-unlock.1")).unwrap();
    assert!(
        unlock.contains(".SH \"SEE ALSO\"\ngit\\-secret(1)\n"),
        "{unlock}"
    );
    // The main page printed to stdout is the one written to the directory.
    let main = repo.secret_ok(&["man"]);
    assert_eq!(main, fs::read_to_string(dir.join("git-secret.1")).unwrap());
    assert!(referenced_pages(&main).contains(&"git-secret-unlock.1".to_owned()));

    if !man_available() {
        eprintln!("man is not installed: skipped `git secret --help` through man");
        return;
    }
    let via_git = |args: &[&str]| -> Output {
        repo.sandbox
            .command("git", &repo.dir)
            .args(args)
            .env("MANPATH", &root)
            .env("MANPAGER", "cat")
            .env("GIT_PAGER", "cat")
            .env("MANWIDTH", "200")
            .env("PATH", path_with_bin())
            .output()
            .unwrap()
    };
    let out = via_git(&["secret", "--help"]);
    assert_success(&out, "git secret --help");
    let page = stdout(&out);
    assert!(
        page.contains("git-secret - Keep secrets in a git repository, encrypted"),
        "{page}"
    );
    assert!(page.contains("git-secret-unlock(1)"), "{page}");
    let out = via_git(&["help", "git-secret-unlock"]);
    assert_success(&out, "git help git-secret-unlock");
    assert!(
        stdout(&out).contains("GIT_SECRET_IDENTITY"),
        "{}",
        stdout(&out)
    );
    // A subcommand's --help is the binary's own help (git passes it on).
    let out = via_git(&["secret", "unlock", "--help"]);
    assert_success(&out, "git secret unlock --help");
    assert!(
        stdout(&out).contains("GIT_SECRET_IDENTITY"),
        "{}",
        stdout(&out)
    );
}

/// PATH with the directory of the binary under test first, so `git secret`
/// runs it (never one installed elsewhere).
fn path_with_bin() -> std::ffi::OsString {
    let dir = Path::new(BIN).parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

#[test]
fn man_dir_refuses_a_path_that_is_a_file() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let out = sandbox
        .command(BIN, sandbox.path())
        .args(["man", "--dir", "not-a-dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: cannot create not-a-dir: File exists (os error 17)\n"
    );
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

#[test]
fn unlock_help_names_the_identities_in_the_order_tried_and_export_key_needs_a_file() {
    let sandbox = Sandbox::new();
    let help = |args: &[&str]| {
        let out = sandbox
            .command(BIN, sandbox.path())
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, "help");
        stdout(&out)
    };
    let unlock = help(&["unlock", "--help"]);
    let order = [
        "$GIT_SECRET_IDENTITY",
        "~/.config/git-secret/identity.txt",
        "~/.ssh/id_ed25519",
        "~/.ssh/id_rsa",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|o| unlock.find(o).unwrap_or_else(|| panic!("{o} in {unlock}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "in order: {unlock}");
    let export = help(&["export-key", "--help"]);
    assert!(
        export.contains("Usage: git-secret export-key [OPTIONS] <FILE|--to-ring>\n"),
        "{export}"
    );
    // And it is required indeed.
    let out = sandbox
        .command(BIN, sandbox.path())
        .arg("export-key")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn init_with_a_key_name_says_how_to_export_that_key() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("alice");
    let out = repo.secret(&["init", "-k", "prod"]);
    assert_success(&out, "init -k prod");
    let id = key_id(&repo, "prod");
    let path = repo.key_dir().join("prod.key");
    assert_eq!(
        stderr(&out),
        format!(
            "Created key 'prod' (id {id}) in {}.\n\
             Next: mark files in .gitattributes, for example\n    \
             secrets/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n\
             then commit them, and share the key with `git-secret export-key -k prod FILE`.\n",
            path.display()
        )
    );
    let before = repo.snapshot();
    let out = repo.secret(&["init", "-k", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: key 'prod' already exists in this repository ({}); \
             share it with `git-secret export-key -k prod FILE`\n",
            path.display()
        )
    );
    assert!(before == repo.snapshot(), "a refused init changed the repo");
}

#[test]
fn unlock_without_arguments_in_an_unlocked_repository_says_there_is_nothing_to_do() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let id = key_id(&repo, "default");
    let before = repo.snapshot();
    let out = repo.secret(&["unlock"]);
    assert_success(&out, "unlock");
    assert_eq!(
        stderr(&out),
        format!("Key 'default' (id {id}) is already unlocked here; nothing to do.\n")
    );
    assert!(before == repo.snapshot(), "a no-op unlock changed the repo");
}

/// A repository, its exported key file text, and a locked clone of it.
fn locked_clone(sandbox: &Sandbox) -> (Repo<'_>, String, Repo<'_>) {
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let text = repo.secret_ok(&["export-key", "-"]);
    let clone = sandbox.clone_repo(&repo, "bob");
    assert!(is_encrypted(&clone.read("secrets/a.env")));
    (repo, text, clone)
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xfe, 0xff]
    } else {
        vec![0xff, 0xfe]
    };
    for unit in text.replace('\n', "\r\n").encode_utf16() {
        out.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

#[test]
fn key_files_with_a_bom_in_utf16_as_base64_or_on_one_line_are_read() {
    let sandbox = Sandbox::new();
    let (_repo, text, clone) = locked_clone(&sandbox);
    let wrapped: String = Base64::encode_string(text.as_bytes())
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        (
            "utf-8 bom",
            [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat(),
        ),
        ("utf-16le", utf16(&text, false)),
        ("utf-16be", utf16(&text, true)),
        (
            "base64",
            Base64::encode_string(text.as_bytes()).into_bytes(),
        ),
        ("base64 wrapped", wrapped.into_bytes()),
        (
            "one line",
            text.lines().collect::<Vec<_>>().join(" ").into_bytes(),
        ),
    ];
    let before = clone.snapshot();
    for (what, bytes) in &variants {
        let file = sandbox
            .path()
            .join(format!("{}.key", what.replace(' ', "-")));
        fs::write(&file, bytes).unwrap();
        fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let out = clone.secret(&["view", "--key", file.to_str().unwrap(), "secrets/a.env"]);
        assert_success(&out, what);
        assert_eq!(stdout(&out).as_bytes(), ENV, "{what}");
        assert_eq!(stderr(&out), "", "{what}");
    }
    assert!(before == clone.snapshot(), "view changed the clone");
    // CI: base64 of the key file in a variable, on standard input.
    let out = clone.secret_stdin(&["unlock", "-"], &variants[3].1);
    assert_success(&out, "unlock - with base64");
    assert_eq!(clone.read("secrets/a.env"), ENV);
}

#[test]
fn a_typo_in_the_key_material_names_its_line_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let (repo, text, clone) = locked_clone(&sandbox);
    let id = key_id(&repo, "default");
    let (number, key_line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("key: "))
        .unwrap();
    let material = &key_line["key: ".len()..];
    let first = material.as_bytes()[0];
    let typo = format!(
        "key: {}{}",
        if first == b'Q' { 'R' } else { 'Q' },
        &material[1..]
    );
    let id_line = text.lines().position(|l| l.starts_with("id: ")).unwrap() + 1;
    let file = sandbox.path().join("typo.key");
    fs::write(&file, text.replace(key_line, &typo)).unwrap();
    fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let before = clone.snapshot();
    let out = clone.secret(&["unlock", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: {} line {}: the key material was mistyped or damaged: it does not match \
             the key id on line {id_line} ({id}); copy the key file again from where it was exported\n",
            file.display(),
            number + 1
        )
    );
    assert!(
        !stderr(&out).contains(&material[1..]),
        "never echo key material"
    );
    assert!(
        before == clone.snapshot(),
        "a refused unlock changed the clone"
    );

    // The same typo in a key pasted as one line.
    let one_line = text
        .replace(key_line, &typo)
        .lines()
        .collect::<Vec<_>>()
        .join(" ");
    let out = clone.secret_stdin(&["unlock", "-"], one_line.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: standard input: the key file's line breaks look lost (it is all on one \
         line), and with them put back, its key material was mistyped or damaged: the id does not \
         match the material; copy the key file again from where it was exported, with its line breaks\n"
    );
    assert!(
        before == clone.snapshot(),
        "a refused unlock changed the clone"
    );

    // A typo in the id instead: the id line is named.
    let id_typo = format!(
        "{}{}",
        if id.starts_with('0') { '1' } else { '0' },
        &id[1..]
    );
    fs::write(
        &file,
        text.replace(&format!("id: {id}"), &format!("id: {id_typo}")),
    )
    .unwrap();
    let out = clone.secret(&["unlock", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: {} line {id_line}: the key id {id_typo} was mistyped or damaged: it does not \
             match the key material on line {} (id {id}); copy the key file again from where it was exported\n",
            file.display(),
            number + 1
        )
    );
    assert!(
        before == clone.snapshot(),
        "a refused unlock changed the clone"
    );
}

#[test]
fn key_file_input_that_cannot_be_read_says_what_it_looks_like() {
    let sandbox = Sandbox::new();
    let (_repo, text, clone) = locked_clone(&sandbox);
    let before = clone.snapshot();
    // The exact messages also prove no key material is shown.
    // Line breaks lost with nothing in their place.
    let glued: String = text.lines().filter(|l| !l.starts_with('#')).collect();
    let out = clone.secret_stdin(&["unlock", "-"], glued.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: standard input line 1: the key file's line breaks look lost (the whole block \
         is on one line); pass it with its line breaks, e.g. `printf '%s\\n' \"$VAR\" | git-secret unlock -`\n"
    );
    // Base64 of something that is not a key file.
    let out = clone.secret_stdin(
        &["unlock", "-"],
        Base64::encode_string(b"just some text, not a key\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: standard input looks like base64, but what it decodes to is not a \
         git-secret key file; pass the key file itself (`git-secret export-key FILE` writes one)\n"
    );
    // UTF-16 text that is not ASCII.
    let out = clone.secret_stdin(&["unlock", "-"], &utf16("# clé\n", false));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: standard input (read as UTF-16) is not a git-secret key file \
         (it is not printable ASCII text)\n"
    );
    assert!(
        before == clone.snapshot(),
        "a refused unlock changed the clone"
    );
}

#[test]
fn add_user_with_a_bogus_key_says_what_is_expected() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let before = repo.snapshot();
    let out = repo.secret(&["add-user", "bogus"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: bogus is not a public key: expected an age recipient (age1…, as \
         `age-keygen -y IDENTITY-FILE` prints it; age1NAME1… for a plugin such as age-plugin-yubikey) \
         or an SSH public key line (ssh-ed25519 AAAA… or \
         ssh-rsa AAAA…, as in ~/.ssh/id_ed25519.pub), or a file holding one\n"
    );
    let out = repo.secret(&["add-user", "ssh-ed25519 AAAAnotbase64!"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("Invalid("), "{}", stderr(&out));
    assert!(
        before == repo.snapshot(),
        "a refused add-user changed the repo"
    );
}

#[test]
fn export_key_into_a_missing_directory_names_the_directory() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let before = repo.snapshot();
    let out = repo.secret(&["export-key", "nodir/x.key"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: cannot write nodir/x.key: the directory nodir does not exist\n"
    );
    assert!(
        before == repo.snapshot(),
        "a refused export changed the repo"
    );
}

/// Runs our binary with standard output a socket whose other end is already
/// closed: every write fails with EPIPE, as under `| head -1` once head exits.
fn with_closed_stdout(repo: &Repo, args: &[&str]) -> Output {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(theirs);
    let fd: std::os::fd::OwnedFd = ours.into();
    repo.sandbox
        .command(BIN, &repo.dir)
        .args(args)
        .stdout(Stdio::from(fd))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_standard_output_ends_the_command_quietly_with_141() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    for args in [
        &["status"][..],
        &["view", "secrets/a.env"],
        &["keys"],
        &["man"],
        &["completions", "bash"],
        &["export-key", "-"],
    ] {
        let out = with_closed_stdout(&repo, args);
        assert_eq!(stderr(&out), "", "{args:?}");
        assert_eq!(out.status.code(), Some(141), "{args:?}");
    }
}

#[test]
fn status_of_a_path_git_does_not_track_says_so() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let out = repo.secret(&["status", "nonexistent.txt"]);
    assert_success(&out, "status nonexistent.txt");
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "nonexistent.txt is not tracked by git: status lists only tracked files (`git add` it first)\n"
    );
    // A tracked file that is not marked keeps the old note.
    let out = repo.secret(&["status", "README"]);
    assert_eq!(
        stderr(&out),
        "No tracked file is marked for git-secret (see .gitattributes.example).\n"
    );
}

#[test]
fn audit_says_first_to_rotate_the_leaked_secret_then_how_to_purge_history() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    repo.stage_raw("secrets/leak.env", b"PASSWORD=hunter2\n");
    repo.git(&["commit", "-q", "--no-verify", "-m", "leak"]);
    let out = repo.secret(&["audit"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: history stores marked files in plaintext, or ciphertext that is damaged: \
         1 blob(s). First rotate the secrets in them: change those secrets where they are used (a new \
         password, token or key), since anyone with a clone can already read them and rewriting history \
         does not unshare them. Then, to purge the blobs from history, rewrite it (e.g. `git filter-repo \
         --path PATH --invert-paths`) and force-push; every clone must then be re-cloned\n"
    );
}

#[test]
fn unlock_without_arguments_still_refuses_when_a_newer_keys_age_cannot_be_opened() {
    use age::secrecy::ExposeSecret;
    let sandbox = Sandbox::new();
    let alice = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let identity = age::x25519::Identity::generate();
    let identity_file = sandbox.path().join("carol.agekey");
    fs::write(
        &identity_file,
        format!("{}\n", identity.to_string().expose_secret()),
    )
    .unwrap();
    alice.secret_ok(&["add-user", &identity.to_public().to_string()]);
    alice.git(&["commit", "-qm", "share with carol"]);
    let carol = sandbox.clone_repo(&alice, "carol");
    let out = carol
        .sandbox
        .command(BIN, &carol.dir)
        .args(["unlock", "--no-ring"])
        .env("GIT_SECRET_IDENTITY", &identity_file)
        .output()
        .unwrap();
    assert_success(&out, "carol unlocks with her identity");
    // Alice rotates; Carol fetches it (not merged yet) and runs unlock
    // without her identity: the new keys.age cannot be opened, and that is
    // an error, not "already unlocked".
    alice.secret_ok(&["rotate"]);
    alice.git(&["commit", "-qm", "rotate"]);
    carol.git(&["fetch", "-q"]);
    let before = carol.snapshot();
    let out = carol.secret(&["unlock"]);
    assert_refused(&out, "no identity found");
    assert!(
        before == carol.snapshot(),
        "a refused unlock changed the clone"
    );
}
