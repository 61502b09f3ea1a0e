//! Every refusal: exit code 1, a message on stderr that says what is wrong,
//! and nothing changed. Plus locked mode, usage errors, status and tampering.

use crate::harness::*;
use std::fs;
use std::path::PathBuf;

const ENV: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";
const DB: &[u8] = b"DB_PASSWORD=s3cr3t-beta\n";

/// A repository with the default key, two committed secrets and one ordinary file.
fn alice(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV), ("secrets/db.env", DB)])
}

/// Exports `repo`'s default key to `<sandbox>/<file>`; returns the path.
fn export(repo: &Repo, file: &str) -> String {
    let path = repo.sandbox.path().join(file);
    let path = path.to_str().unwrap().to_owned();
    repo.secret_ok(&["export-key", &path]);
    path
}

/// The `id:` field of the first key block of a key file.
fn key_id(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("id:"))
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|| panic!("no id line in key file:\n{text}"))
}

fn key_id_of_file(path: &str) -> String {
    key_id(&fs::read_to_string(path).unwrap())
}

fn assert_exit(out: &std::process::Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}, got {}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

// ---------------------------------------------------------------- init

#[test]
fn init_outside_a_repository_is_refused_and_creates_nothing() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("plain");
    fs::create_dir_all(&dir).unwrap();
    let out = sandbox
        .command(BIN, &dir)
        .env("GIT_CEILING_DIRECTORIES", sandbox.path())
        .arg("init")
        .output()
        .unwrap();
    assert_refused(&out, "not inside a git repository");
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "init outside a repository must not create files"
    );
}

#[test]
fn init_when_the_key_already_exists_is_refused() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let before = repo.snapshot();
    let out = repo.secret(&["init"]);
    assert_refused(&out, "already exists");
    assert!(stderr(&out).contains("export-key"), "{}", stderr(&out));
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn init_in_a_clone_of_an_encrypted_repository_points_to_unlock() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let bob = sandbox.clone_repo(&alice, "bob");
    let before = bob.snapshot();
    let out = bob.secret(&["init"]);
    assert_refused(&out, "unlock");
    assert!(
        stderr(&out).contains("already encrypted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bob.snapshot(), before);
    assert!(!bob.key_dir().exists() || fs::read_dir(bob.key_dir()).unwrap().count() == 0);
}

// ---------------------------------------------------------------- unlock

#[test]
fn unlock_with_a_key_from_another_repository_names_both_ids() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let right = export(&alice, "right.key");
    let other = sandbox.init_repo("other");
    other.secret_ok(&["init"]);
    let wrong = export(&other, "wrong.key");
    let (right_id, wrong_id) = (key_id_of_file(&right), key_id_of_file(&wrong));
    assert_ne!(right_id, wrong_id);

    let bob = sandbox.clone_repo(&alice, "bob");
    let before = bob.snapshot();
    let out = bob.secret(&["unlock", &wrong]);
    assert_refused(&out, "not the one");
    let err = stderr(&out);
    assert!(
        err.contains(&wrong_id[..8]),
        "should name the wrong key's id {wrong_id}: {err}"
    );
    assert!(
        err.contains(&right_id[..8]),
        "should name the needed id {right_id}: {err}"
    );
    assert_eq!(bob.snapshot(), before);
    assert!(is_encrypted(&bob.read("secrets/a.env")));
}

#[test]
fn unlock_refuses_unstaged_changes_to_a_marked_file() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let key = export(&alice, "team.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.write("secrets/a.env", "edited in the clone\n");
    let before = bob.snapshot();
    let out = bob.secret(&["unlock", &key]);
    assert_refused(&out, "uncommitted changes");
    assert!(stderr(&out).contains("secrets/a.env"), "{}", stderr(&out));
    assert_eq!(bob.snapshot(), before);
}

#[test]
fn unlock_refuses_staged_changes_to_a_marked_file() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let key = export(&alice, "team.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    // Staged behind the filter's back (the clone has no filter configured yet).
    let ciphertext = bob.read("secrets/db.env");
    bob.stage_raw("secrets/db.env", b"staged change\n");
    bob.write("secrets/db.env", &ciphertext);
    let before = bob.snapshot();
    let out = bob.secret(&["unlock", &key]);
    assert_refused(&out, "uncommitted changes");
    assert!(stderr(&out).contains("secrets/db.env"), "{}", stderr(&out));
    assert_eq!(bob.snapshot(), before);
}

#[test]
fn unlock_refuses_changes_to_a_marked_file_in_a_locked_repository() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = export(&repo, "team.key");
    repo.secret_ok(&["lock"]);
    // The filters stay configured (locked mode); the user overwrites the ciphertext.
    repo.write("secrets/a.env", "typed over the ciphertext\n");
    let before = repo.snapshot();
    let out = repo.secret(&["unlock", &key]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("secrets/a.env"), "{}", stderr(&out));
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn an_unrelated_dirty_file_does_not_block_unlock() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let key = export(&alice, "team.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.write("README", "local edit\n");
    bob.write("notes.txt", "untracked\n");
    bob.secret_ok(&["unlock", &key]);
    assert_eq!(bob.read("secrets/a.env"), ENV);
    assert_eq!(bob.read("secrets/db.env"), DB);
    assert_eq!(bob.read("README"), b"local edit\n", "unrelated edit kept");
    assert_eq!(bob.status(), " M README\n?? notes.txt\n");
}

#[test]
fn unlock_refuses_unreadable_or_corrupt_key_files() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let good_path = export(&alice, "team.key");
    let good = fs::read_to_string(&good_path).unwrap();
    let bob = sandbox.clone_repo(&alice, "bob");
    let dir = sandbox.path();

    let truncated: String = good
        .lines()
        .filter(|l| !l.starts_with("-----END"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(dir.join("truncated.key"), truncated).unwrap();
    // One wrong character in the key material.
    let typo: String = good
        .lines()
        .map(|l| match l.strip_prefix("key: ") {
            Some(material) => {
                let mut chars: Vec<char> = material.chars().collect();
                chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
                format!("key: {}\n", chars.into_iter().collect::<String>())
            }
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(typo, good);
    fs::write(dir.join("typo.key"), typo).unwrap();
    fs::create_dir_all(dir.join("a-directory.key")).unwrap();

    let before = bob.snapshot();
    let cases: [(&str, &[&str]); 4] = [
        ("missing.key", &["missing", "cannot"]),
        ("a-directory.key", &["not a regular file", "directory"]),
        ("truncated.key", &["truncated"]),
        ("typo.key", &["mistyped", "damaged", "does not match"]),
    ];
    for (file, needles) in cases {
        let path = dir.join(file);
        let out = bob.secret(&["unlock", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "unlock {file}: {err}");
        assert!(
            err.contains(file),
            "unlock {file}: message should name the file: {err}"
        );
        assert!(
            needles.iter().any(|n| err.contains(n)),
            "unlock {file}: message should say one of {needles:?}: {err}"
        );
        assert_eq!(bob.snapshot(), before, "unlock {file} changed something");
    }
    let out = bob.secret_stdin(&["unlock", "-"], b"");
    assert_eq!(
        out.status.code(),
        Some(1),
        "unlock - with empty stdin: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("no git-secret key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bob.snapshot(), before, "unlock - (empty) changed something");
    assert!(is_encrypted(&bob.read("secrets/a.env")));
}

#[test]
fn unlocking_twice_with_the_same_key_is_a_no_op() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let key = export(&alice, "team.key");
    let bob = sandbox.clone_repo(&alice, "bob");
    bob.secret_ok(&["unlock", &key]);
    let before = bob.snapshot();
    let out = bob.secret(&["unlock", &key]);
    assert_success(&out, "second unlock");
    assert!(
        stderr(&out).contains("already unlocked"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bob.snapshot(), before);
    // Also in the repository that created the key.
    let before = alice.snapshot();
    let out = alice.secret(&["unlock", &key]);
    assert_success(&out, "unlock in alice");
    assert!(
        stderr(&out).contains("already unlocked"),
        "{}",
        stderr(&out)
    );
    assert_eq!(alice.snapshot(), before);
}

// ---------------------------------------------------------------- lock

#[test]
fn lock_refuses_uncommitted_changes_and_force_discards_them() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    repo.write("secrets/a.env", "work in progress\n");
    let before = repo.snapshot();
    repo.keep_key(); // lock keeps a key that exists nowhere else
    let out = repo.secret(&["lock"]);
    assert_refused(&out, "uncommitted changes");
    let err = stderr(&out);
    assert!(
        err.contains("secrets/a.env") && err.contains("--force"),
        "{err}"
    );
    assert!(
        !err.contains("secrets/db.env"),
        "only the changed file: {err}"
    );
    assert_eq!(repo.snapshot(), before);

    let out = repo.secret(&["lock", "--force"]);
    assert_success(&out, "lock --force");
    let err = stderr(&out);
    assert!(
        err.contains("Discard") && err.contains("secrets/a.env"),
        "{err}"
    );
    let work = repo.read("secrets/a.env");
    assert!(is_encrypted(&work), "ciphertext in the work tree");
    assert_eq!(work, repo.stored("HEAD:secrets/a.env"));
    assert!(!contains(&work, b"work in progress"));
    assert_eq!(repo.status(), "");
    assert!(!repo.key_dir().exists() || fs::read_dir(repo.key_dir()).unwrap().count() == 0);
}

// ---------------------------------------------------------------- export-key

#[test]
fn export_key_refuses_an_existing_file_unless_forced() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let file = sandbox.path().join("existing.key");
    fs::write(&file, "precious\n").unwrap();
    let before = repo.snapshot();
    let out = repo.secret(&["export-key", file.to_str().unwrap()]);
    assert_refused(&out, "already exists");
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), b"precious\n");
    assert_eq!(repo.snapshot(), before);

    let out = repo.secret(&["export-key", "--force", file.to_str().unwrap()]);
    assert_success(&out, "export-key --force");
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("BEGIN GIT-SECRET KEY"), "{text}");
    assert_eq!(text, repo.secret_ok(&["export-key", "-"]));
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn export_key_without_a_key_is_refused() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let bob = sandbox.clone_repo(&alice, "bob");
    let file = sandbox.path().join("bob.key");
    let before = bob.snapshot();
    let out = bob.secret(&["export-key", file.to_str().unwrap()]);
    assert_refused(&out, "no key");
    assert!(!file.exists());
    let out = bob.secret(&["export-key", "-"]);
    assert_refused(&out, "no key");
    assert!(stdout(&out).is_empty());
    assert_eq!(bob.snapshot(), before);
}

// ---------------------------------------------------------------- locked mode

#[test]
fn locked_mode_refuses_plaintext_but_status_checkout_and_log_work() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let id = key_id(&repo.secret_ok(&["export-key", "-"]));
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write("secrets/a.env", "API_TOKEN=on-other-branch\n");
    repo.git(&["commit", "-qam", "other"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.secret_ok(&["lock"]);
    assert_eq!(repo.status(), "");

    // Plaintext over a marked, tracked file.
    let index = repo.git(&["ls-files", "-s"]);
    let ciphertext = repo.read("secrets/a.env");
    repo.write("secrets/a.env", "API_TOKEN=typed-while-locked\n");
    let out = repo.git_output(&["add", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(128), "git add: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("locked") && err.contains("unlock"), "{err}");
    assert_eq!(repo.git(&["ls-files", "-s"]), index, "index unchanged");
    repo.write("secrets/a.env", &ciphertext);

    // A brand-new plaintext file at a marked path.
    repo.write("secrets/new.env", "NEW=plaintext\n");
    let out = repo.git_output(&["add", "secrets/new.env"]);
    assert_eq!(
        out.status.code(),
        Some(128),
        "git add new: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    let head = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.git_output(&["commit", "-q", "-m", "sneak", "--", "secrets/new.env"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "commit of new plaintext must fail"
    );
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(repo.git(&["ls-files", "-s"]), index, "index unchanged");
    let out = repo.git_output(&["commit", "-qam", "sneak"]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    fs::remove_file(repo.dir.join("secrets/new.env")).unwrap();

    // Everyday read-only git keeps working.
    assert_eq!(repo.status(), "");
    repo.git(&["checkout", "-q", "other"]);
    assert_eq!(
        repo.read("secrets/a.env"),
        repo.stored("other:secrets/a.env")
    );
    assert!(is_encrypted(&repo.read("secrets/a.env")));
    assert_eq!(repo.status(), "");
    repo.git(&["checkout", "-q", "main"]);
    assert_eq!(
        repo.read("secrets/a.env"),
        repo.stored("main:secrets/a.env")
    );
    let out = repo.git_output(&["log", "-p", "--all"]);
    assert_success(&out, "git log -p");
    let log = stdout(&out);
    let placeholder = log
        .lines()
        .find(|l| l.contains("[git-secret:"))
        .unwrap_or_else(|| panic!("no placeholder in log -p:\n{log}"));
    assert!(placeholder.contains(&id[..8]), "{placeholder}");
    assert!(!log.contains("s3cr3t"), "no plaintext while locked:\n{log}");
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- usage

#[test]
fn usage_errors_exit_2_and_help_and_version_exit_0() {
    let sandbox = Sandbox::new();
    let run = |args: &[&str]| {
        sandbox
            .command(BIN, sandbox.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["frobnicate"]);
    assert_exit(&out, 2, "frobnicate");
    assert!(!stderr(&out).is_empty());
    assert_exit(&run(&["export-key"]), 2, "export-key without FILE");
    assert_exit(&run(&[]), 2, "no command");
    let out = run(&["--help"]);
    assert_exit(&out, 0, "--help");
    assert!(stdout(&out).contains("unlock"), "{}", stdout(&out));
    assert_exit(&run(&["unlock", "--help"]), 0, "unlock --help");
    let out = run(&["--version"]);
    assert_exit(&out, 0, "--version");
    assert!(
        stdout(&out).contains(env!("CARGO_PKG_VERSION")),
        "{}",
        stdout(&out)
    );
}

// ---------------------------------------------------------------- status

fn status_lines(out: &std::process::Output) -> Vec<String> {
    stdout(out).lines().map(str::to_owned).collect()
}

#[test]
fn status_lists_every_marked_file_as_encrypted() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let out = repo.secret(&["status"]);
    assert_success(&out, "status");
    let lines = status_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.starts_with("encrypted")),
        "{lines:?}"
    );
    assert!(lines[0].contains("secrets/a.env") && lines[1].contains("secrets/db.env"));

    // From a subdirectory; and filtered by path (relative to the cwd).
    let out = repo.secret_in("secrets", &["status"]);
    assert_success(&out, "status in subdir");
    assert_eq!(status_lines(&out), lines);
    let out = repo.secret(&["status", "secrets/db.env"]);
    assert_success(&out, "status PATH");
    assert_eq!(status_lines(&out), vec![lines[1].clone()]);
    let out = repo.secret_in("secrets", &["status", "a.env"]);
    assert_success(&out, "status PATH in subdir");
    assert_eq!(status_lines(&out), vec![lines[0].clone()]);
    let out = repo.secret(&["status", "README"]);
    assert_success(&out, "status of an unmarked path");
    assert!(stdout(&out).is_empty());
}

#[test]
fn status_works_without_the_key() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let bob = sandbox.clone_repo(&alice, "bob");
    let before = bob.snapshot();
    let out = bob.secret(&["status"]);
    assert_success(&out, "status in a locked clone");
    let lines = status_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("encrypted") && l.contains("locked")),
        "{lines:?}"
    );
    let out = bob.secret_in("secrets", &["status", "db.env"]);
    assert_success(&out, "status PATH in subdir");
    assert_eq!(status_lines(&out), vec![lines[1].clone()]);
    assert_eq!(bob.snapshot(), before);
}

#[test]
fn status_flags_a_file_committed_in_plaintext_before_it_was_marked() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.write("secrets/old.env", "OLD=leaked\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "before marking"]);
    // Marked afterwards (before init, so no pre-commit guard objects yet).
    repo.mark_default();
    repo.secret_ok(&["init"]);
    repo.write("secrets/new.env", "NEW=fine\n");
    repo.git(&["add", "secrets/new.env"]);
    // The pre-commit guard refuses any commit while old.env sits in the index
    // in plaintext; this test is about status, so skip the guard.
    let out = repo.git_output(&["commit", "-qm", "new secret"]);
    assert_eq!(out.status.code(), Some(1), "guard: {}", stderr(&out));
    assert!(stderr(&out).contains("secrets/old.env"), "{}", stderr(&out));
    repo.git(&["commit", "-q", "--no-verify", "-m", "new secret"]);
    assert!(is_encrypted(&repo.stored("HEAD:secrets/new.env")));

    let out = repo.secret(&["status"]);
    assert_exit(&out, 1, "status with a leak");
    let lines = status_lines(&out);
    assert_eq!(lines.len(), 2, "one line per marked file: {lines:?}");
    let leak = lines
        .iter()
        .find(|l| l.contains("secrets/old.env"))
        .unwrap();
    assert!(leak.starts_with("NOT ENCRYPTED"), "{leak}");
    let fine = lines
        .iter()
        .find(|l| l.contains("secrets/new.env"))
        .unwrap();
    assert!(fine.starts_with("encrypted"), "{fine}");
    assert!(stderr(&out).contains("plaintext"), "{}", stderr(&out));
    // Filtered to the good file, status is happy.
    let out = repo.secret(&["status", "secrets/new.env"]);
    assert_success(&out, "status of the encrypted file");
    // A locked clone sees the leak too.
    let clone = sandbox.clone_repo(&repo, "clone");
    let out = clone.secret(&["status"]);
    assert_exit(&out, 1, "status with a leak in a clone");
    assert!(
        stdout(&out).contains("NOT ENCRYPTED  secrets/old.env"),
        "{}",
        stdout(&out)
    );
}

// ---------------------------------------------------------------- tampering

#[test]
fn smudge_of_a_tampered_blob_fails_and_writes_no_plaintext() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    // Several chunks, so a streaming decryptor could emit the first ones early.
    let big: Vec<u8> = b"PARTIAL-MARKER-0123456789\n"
        .iter()
        .copied()
        .cycle()
        .take(300_000)
        .collect();
    repo.write("secrets/big.env", &big);
    repo.git(&["add", "secrets/big.env"]);
    repo.git(&["commit", "-qm", "big"]);
    for (path, offset_from_end) in [("secrets/a.env", 3), ("secrets/big.env", 10)] {
        let mut blob = repo.stored(&format!("HEAD:{path}"));
        assert!(is_encrypted(&blob));
        let at = blob.len() - offset_from_end;
        blob[at] ^= 0x01;
        fs::remove_file(repo.dir.join(path)).unwrap();
        repo.stage_raw(path, &blob);
        let out = repo.git_output(&["checkout", "--", path]);
        assert_ne!(
            out.status.code(),
            Some(0),
            "checkout of tampered {path} must fail"
        );
        let err = stderr(&out);
        assert!(err.contains(path), "error names {path}: {err}");
        let lower = err.to_lowercase();
        assert!(
            lower.contains("corrupt") || lower.contains("tamper"),
            "error says corrupt/tampered: {err}"
        );
        let file = repo.dir.join(path);
        if file.exists() {
            let left = fs::read(&file).unwrap();
            assert!(
                !contains(&left, b"PARTIAL-MARKER") && !contains(&left, b"s3cr3t"),
                "{path}: partial plaintext left in the work tree ({} bytes)",
                left.len()
            );
        }
        // Put the good blob back for the next round.
        repo.git(&["reset", "-q", "--", path]);
        repo.git(&["checkout", "--", path]);
    }
    assert_eq!(repo.read("secrets/big.env"), big);
    assert_eq!(repo.status(), "");
}

// ---------------------------------------------------------------- key files

#[test]
fn exported_key_file_is_self_describing_ascii_with_one_long_word() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let text = repo.secret_ok(&["export-key", "-"]);
    assert!(
        text.bytes()
            .all(|b| b == b'\n' || (0x20..0x7f).contains(&b)),
        "printable ASCII only:\n{text}"
    );
    assert!(text.contains("default"), "key name:\n{text}");
    let id = key_id(&text);
    assert!(
        (16..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "key id is lowercase hex: {id}"
    );
    let status = repo.secret_ok(&["status"]);
    assert!(
        status.contains(&id[..8]),
        "status shows the same id: {status}"
    );
    let long: Vec<&str> = text.split_whitespace().filter(|w| w.len() >= 43).collect();
    assert_eq!(long.len(), 1, "exactly one word of 43+ chars: {long:?}");
    assert!(!text.contains(&format!("{}\n", long[0]).repeat(2)));
}

#[test]
fn a_concatenation_of_key_files_from_two_repositories_unlocks_with_the_matching_key() {
    let sandbox = Sandbox::new();
    let alice = alice(&sandbox);
    let alice_key = alice.secret_ok(&["export-key", "-"]);
    let other = sandbox.init_repo("other");
    other.secret_ok(&["init"]);
    let other_key = other.secret_ok(&["export-key", "-"]);
    let alice_id = key_id(&alice_key);
    let other_id = key_id(&other_key);

    for (n, both) in [
        format!("{alice_key}{other_key}"),
        format!("{other_key}{alice_key}"),
    ]
    .iter()
    .enumerate()
    {
        let path: PathBuf = sandbox.path().join(format!("both{n}.key"));
        fs::write(&path, both).unwrap();
        let bob = sandbox.clone_repo(&alice, &format!("bob{n}"));
        // Both keys are named 'default' generation 1: the one the files need wins,
        // the other is ignored with a note.
        let out = bob.secret(&["unlock", path.to_str().unwrap()]);
        assert_success(&out, "unlock of the concatenation");
        let err = stderr(&out);
        assert!(err.contains("ignoring") && err.contains(&other_id), "{err}");
        assert_eq!(bob.read("secrets/a.env"), ENV);
        assert_eq!(bob.status(), "");
        assert_eq!(key_id(&bob.secret_ok(&["export-key", "-"])), alice_id);
        // From stdin too.
        let carol = sandbox.clone_repo(&alice, &format!("carol{n}"));
        let out = carol.secret_stdin(&["unlock", "-"], both.as_bytes());
        assert_success(&out, "unlock - of the concatenation");
        assert_eq!(carol.read("secrets/db.env"), DB);
    }
}
