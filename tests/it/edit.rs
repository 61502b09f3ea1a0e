//! `git-secret edit` (issue 13): ansible-vault-style editing of one marked
//! file in a locked clone. The plaintext lives only in a private temp file
//! (0600 in a 0700 dir) that is wiped and removed whatever happens; the new
//! ciphertext is what the clean filter would store, written to the work tree
//! and staged. In an unlocked clone the editor simply gets the work-tree file.
//! The editor is a shell script the test writes.

use crate::harness::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ENV: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";
const NEW: &[u8] = b"API_TOKEN=s3cr3t-bravo\n";

/// An origin with `secrets/a.env`, its key in `team.key`, the drivers
/// installed globally (so the clone's clean filter runs in locked mode) and
/// a locked clone of it.
struct Setup<'s> {
    origin: Repo<'s>,
    clone: Repo<'s>,
    key: PathBuf,
}

fn setup(sandbox: &Sandbox) -> Setup<'_> {
    let origin = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)]);
    let key = sandbox.path().join("team.key");
    origin.secret_ok(&["export-key", key.to_str().unwrap()]);
    sandbox.install();
    let clone = sandbox.clone_repo(&origin, "locked");
    assert!(is_encrypted(&clone.read("secrets/a.env")));
    assert_eq!(clone.status(), "", "a locked clone is clean");
    fs::create_dir_all(tmp_root(sandbox)).unwrap();
    Setup { origin, clone, key }
}

/// Where edit must put its temp dir (GIT_SECRET_TMPDIR, TMPDIR and
/// XDG_RUNTIME_DIR all point here, so nothing escapes the test's view).
fn tmp_root(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("tmp")
}

/// Writes an executable editor script; `$1` is the file to edit.
fn editor(sandbox: &Sandbox, name: &str, body: &str) -> PathBuf {
    let path = sandbox.path().join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `git-secret edit ARGS` in `repo` with `$EDITOR` set to `script`.
fn edit(repo: &Repo, script: &Path, args: &[&str]) -> Command {
    let tmp = tmp_root(repo.sandbox);
    let mut cmd = repo.sandbox.command(BIN, &repo.dir);
    cmd.arg("edit")
        .args(args)
        .env_remove("VISUAL")
        .env("EDITOR", script)
        .env("GIT_SECRET_TMPDIR", &tmp)
        .env("TMPDIR", &tmp)
        .env("XDG_RUNTIME_DIR", &tmp);
    cmd
}

/// Every file (and directory) left under the temp root.
fn leftovers(sandbox: &Sandbox) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.clone());
            if path.is_dir() {
                walk(&path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&tmp_root(sandbox), &mut out);
    out
}

fn key_id(repo: &Repo) -> String {
    repo.secret_ok(&["keys"])
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned()
}

#[test]
fn edit_in_a_locked_clone_stages_the_ciphertext_clean_would_store() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let log = sandbox.path().join("editor.log");
    // $VISUAL wins over $EDITOR (which would fail).
    let visual = editor(
        &sandbox,
        "visual.sh",
        &format!(
            "stat -c '%a' \"$(dirname \"$1\")\" \"$1\" > {log}\necho \"$1\" >> {log}\n\
             cat \"$1\" >> {log}\nprintf 'API_TOKEN=s3cr3t-bravo\\n' > \"$1\"\n\
             cp \"$1\" \"$(dirname \"$1\")/.a.env.swp\"",
            log = log.display()
        ),
    );
    let failing = editor(&sandbox, "failing.sh", "exit 9");
    let out = edit(
        &s.clone,
        &failing,
        &["--key", s.key.to_str().unwrap(), "secrets/a.env"],
    )
    .env("VISUAL", &visual)
    .output()
    .unwrap();
    assert_success(&out, "edit");
    assert_eq!(
        stderr(&out),
        "secrets/a.env: encrypted into the work tree and staged; commit it as usual\n"
    );
    // The editor saw the old plaintext in a 0600 file named like the secret,
    // in a 0700 directory under the temp root.
    let log = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[..2], ["700", "600"], "{log}");
    let seen = Path::new(lines[2]);
    assert!(seen.starts_with(tmp_root(&sandbox)), "{log}");
    assert_eq!(seen.file_name().unwrap(), "a.env");
    assert_eq!(format!("{}\n", lines[3]).as_bytes(), ENV);
    // Nothing is left under the temp root; the work tree holds ciphertext.
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
    let work = s.clone.read("secrets/a.env");
    assert!(is_encrypted(&work));
    assert!(!contains(&work, b"bravo"));
    assert_eq!(s.clone.status(), "M  secrets/a.env\n");
    assert_eq!(s.clone.stored(":secrets/a.env"), work, "staged = work tree");
    let out = s
        .clone
        .secret(&["view", "--key", s.key.to_str().unwrap(), "secrets/a.env"]);
    assert_eq!(stdout(&out).as_bytes(), NEW);
    // Byte-identical to what the clean filter stores for this plaintext.
    s.origin.write("secrets/a.env", NEW);
    s.origin.git(&["add", "secrets/a.env"]);
    assert_eq!(s.origin.stored(":secrets/a.env"), work);
    // The locked clone's own clean filter agrees: re-adding changes nothing.
    s.clone.git(&["add", "--", "secrets/a.env"]);
    let out = s.clone.git_output(&["diff", "--exit-code"]);
    assert_success(&out, "git diff --exit-code after git add");
    assert_eq!(s.clone.stored(":secrets/a.env"), work);
    // And the locked clone commits it.
    s.clone.git(&["commit", "-q", "-m", "edit a.env"]);
    assert_eq!(s.clone.status(), "");
    let out = s.clone.secret(&[
        "view",
        "--rev",
        "HEAD",
        "--key",
        s.key.to_str().unwrap(),
        "secrets/a.env",
    ]);
    assert_eq!(stdout(&out).as_bytes(), NEW);
}

#[test]
fn edit_without_a_change_writes_and_stages_nothing() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let script = editor(&sandbox, "touch.sh", "touch \"$1\"");
    let before = s.clone.snapshot();
    let out = edit(
        &s.clone,
        &script,
        &["--key", s.key.to_str().unwrap(), "secrets/a.env"],
    )
    .output()
    .unwrap();
    assert_success(&out, "edit");
    assert_eq!(
        stderr(&out),
        "secrets/a.env: no change; nothing written or staged\n"
    );
    assert!(
        before == s.clone.snapshot(),
        "an unchanged edit changed the clone"
    );
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

#[test]
fn edit_refuses_when_the_editor_fails_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let script = editor(
        &sandbox,
        "fails.sh",
        "printf 'API_TOKEN=s3cr3t-bravo\\n' > \"$1\"\nexit 3",
    );
    let before = s.clone.snapshot();
    let out = edit(
        &s.clone,
        &script,
        &["--key", s.key.to_str().unwrap(), "secrets/a.env"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: the editor ({}) exited with status 3; secrets/a.env is unchanged\n",
            script.display()
        )
    );
    assert!(
        before == s.clone.snapshot(),
        "a failed edit changed the clone"
    );
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

#[test]
fn edit_refuses_a_key_that_does_not_open_the_file_before_the_editor_starts() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let other = sandbox.repo_with_secrets("bob", &[("secrets/b.env", b"B=1\n")]);
    let wrong = sandbox.path().join("wrong.key");
    other.secret_ok(&["export-key", wrong.to_str().unwrap()]);
    let marker = sandbox.path().join("editor-ran");
    let script = editor(&sandbox, "mark.sh", &format!("touch {}", marker.display()));
    let before = s.clone.snapshot();
    let id = key_id(&s.origin);
    let given = format!(
        "git-secret: error: the key file given with --key does not open secrets/a.env \
         (key id {id}), and no key held here does; pass the key file that holds key id {id}, \
         or unlock\n"
    );
    let none = format!(
        "git-secret: error: no key held here opens secrets/a.env (key id {id}); \
         pass the key file with --key FILE (or - for standard input), or unlock\n"
    );
    for (args, refusal) in [
        (
            &["--key", wrong.to_str().unwrap(), "secrets/a.env"][..],
            given,
        ),
        (&["secrets/a.env"][..], none),
    ] {
        let out = edit(&s.clone, &script, args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), refusal, "{args:?}");
    }
    // A new file needs this repository's key for its key name, not another
    // repository's key of the same name.
    let out = edit(
        &s.clone,
        &script,
        &["--key", wrong.to_str().unwrap(), "secrets/new.env"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: no key held here or in the key file given with --key for key name \
             'default' is the one this repository's files use (key id {id}), so secrets/new.env \
             cannot be encrypted; pass the key file that holds it, or unlock\n"
        )
    );
    assert!(
        before == s.clone.snapshot(),
        "a refused edit changed the clone"
    );
    // A key name no file uses yet needs a key of that name.
    fs::create_dir_all(s.clone.dir.join("prod")).unwrap();
    s.clone.write(
        ".gitattributes",
        "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n\
         prod/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n",
    );
    let before = s.clone.snapshot();
    let out = edit(
        &s.clone,
        &script,
        &["--key", s.key.to_str().unwrap(), "prod/db.env"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: no key for key name 'prod' is held here or in the key file given \
         with --key, so prod/db.env cannot be encrypted; pass the key file that holds it, or \
         unlock\n"
    );
    assert!(!marker.exists(), "the editor must not start");
    assert!(
        before == s.clone.snapshot(),
        "a refused edit changed the clone"
    );
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

#[test]
fn edit_refuses_unmarked_outside_and_directory_paths() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    fs::write(sandbox.path().join("outside.env"), "X=1\n").unwrap();
    let marker = sandbox.path().join("editor-ran");
    let script = editor(&sandbox, "mark.sh", &format!("touch {}", marker.display()));
    std::os::unix::fs::symlink("a.env", s.clone.dir.join("secrets/link.env")).unwrap();
    // A symlinked directory that leads out of the work tree.
    fs::create_dir_all(sandbox.path().join("elsewhere/secrets")).unwrap();
    fs::write(sandbox.path().join("elsewhere/secrets/a.env"), "X=1\n").unwrap();
    std::os::unix::fs::symlink(sandbox.path().join("elsewhere"), s.clone.dir.join("ext")).unwrap();
    let before = s.clone.snapshot();
    let key = s.key.to_str().unwrap();
    for (path, message) in [
        (
            "README",
            "README is not marked for encryption in .gitattributes; edit changes only marked \
             files (edit others with your editor)",
        ),
        (
            "../outside.env",
            "../outside.env is outside the repository; edit changes only marked files of this work tree",
        ),
        (
            "ext/secrets/a.env",
            "ext/secrets/a.env is outside the repository; edit changes only marked files of this work tree",
        ),
        ("secrets", "secrets is a directory; edit takes one marked file"),
        (
            "secrets/none/x.env",
            "cannot edit secrets/none/x.env: its directory does not exist",
        ),
        (
            "secrets/link.env",
            "secrets/link.env is a symbolic link; git stores a link as its target, never encrypted",
        ),
    ] {
        let out = edit(&s.clone, &script, &["--key", key, path]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{path}");
        assert_eq!(stderr(&out), format!("git-secret: error: {message}\n"), "{path}");
    }
    assert!(!marker.exists(), "the editor must not start");
    assert!(
        before == s.clone.snapshot(),
        "a refused edit changed the clone"
    );
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

#[test]
fn edit_creates_a_new_marked_file_in_a_locked_clone() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let script = editor(
        &sandbox,
        "create.sh",
        "test -s \"$1\" && exit 7\nprintf 'NEW=1\\n' > \"$1\"",
    );
    let out = edit(
        &s.clone,
        &script,
        &["--key", s.key.to_str().unwrap(), "secrets/new.env"],
    )
    .output()
    .unwrap();
    assert_success(&out, "edit of a new file");
    assert_eq!(
        stderr(&out),
        "secrets/new.env: encrypted into the work tree and staged; commit it as usual\n"
    );
    assert!(is_encrypted(&s.clone.read("secrets/new.env")));
    assert_eq!(s.clone.status(), "A  secrets/new.env\n");
    let out = s
        .clone
        .secret(&["view", "--key", s.key.to_str().unwrap(), "secrets/new.env"]);
    assert_eq!(stdout(&out), "NEW=1\n");
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

#[test]
fn edit_in_an_unlocked_clone_runs_the_editor_on_the_work_tree_file() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let log = sandbox.path().join("editor.log");
    let script = editor(
        &sandbox,
        "plain.sh",
        &format!(
            "echo \"$1\" > {}\nprintf 'API_TOKEN=s3cr3t-bravo\\n' > \"$1\"",
            log.display()
        ),
    );
    let out = edit(&s.origin, &script, &["secrets/a.env"])
        .output()
        .unwrap();
    assert_success(&out, "edit in an unlocked clone");
    assert_eq!(stderr(&out), "", "nothing extra to say");
    assert_eq!(fs::read_to_string(&log).unwrap(), "secrets/a.env\n");
    assert_eq!(s.origin.read("secrets/a.env"), NEW);
    assert_eq!(
        s.origin.status(),
        " M secrets/a.env\n",
        "git's filter does the rest"
    );
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

/// Starts an edit whose editor writes a marker and then sleeps, sends
/// `signal` to git-secret once the marker is there, and checks the exit
/// status, that the temp root is empty and that nothing else changed.
fn interrupted(signal: &str, status: i32) {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let marker = sandbox.path().join("editor-started");
    let script = editor(
        &sandbox,
        "sleepy.sh",
        &format!(
            "printf 'API_TOKEN=half-typed\\n' > \"$1\"\necho $$ > {m}.tmp\nmv {m}.tmp {m}\nexec sleep 60",
            m = marker.display()
        ),
    );
    let before = s.clone.snapshot();
    let errors = sandbox.path().join("stderr.txt");
    let mut child = edit(
        &s.clone,
        &script,
        &["--key", s.key.to_str().unwrap(), "secrets/a.env"],
    )
    .stdout(Stdio::null())
    .stderr(fs::File::create(&errors).unwrap())
    .spawn()
    .unwrap();
    let start = Instant::now();
    while !marker.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the editor never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        leftovers(&sandbox).iter().any(|p| p.is_file()),
        "the plaintext is in the temp dir while the editor runs"
    );
    let kill = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = child.wait().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "edit did not stop the editor"
    );
    assert_eq!(exit.code(), Some(status), "{signal}");
    assert_eq!(
        fs::read_to_string(&errors).unwrap(),
        format!(
            "git-secret: error: interrupted by SIG{signal}; secrets/a.env is unchanged and the \
             temporary plaintext was wiped\n"
        )
    );
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
    assert!(
        before == s.clone.snapshot(),
        "an interrupted edit changed the clone"
    );
    // The editor itself (a grandchild: sh -c runs the script) is stopped
    // too, so it cannot save the plaintext after the wipe.
    let pid = fs::read_to_string(&marker).unwrap();
    let proc = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let gone = Instant::now();
    while fs::read_to_string(&proc).is_ok_and(|stat| !stat.contains(") Z ")) {
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "the editor is still running after edit exited"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn edit_interrupted_by_sigterm_wipes_the_plaintext_and_changes_nothing() {
    interrupted("TERM", 143);
}

#[test]
fn edit_interrupted_by_sigint_wipes_the_plaintext_and_changes_nothing() {
    interrupted("INT", 130);
}

#[test]
fn edit_interrupted_by_sighup_wipes_the_plaintext_and_changes_nothing() {
    interrupted("HUP", 129);
}

#[test]
fn edit_reads_the_key_from_standard_input() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let script = editor(
        &sandbox,
        "stdin.sh",
        "printf 'API_TOKEN=s3cr3t-bravo\\n' > \"$1\"",
    );
    let text = fs::read(&s.key).unwrap();
    let out = run_with_stdin(
        &mut edit(&s.clone, &script, &["--key", "-", "secrets/a.env"]),
        &text,
    );
    assert_success(&out, "edit --key -");
    assert_eq!(s.clone.status(), "M  secrets/a.env\n");
    let out = s
        .clone
        .secret_stdin(&["view", "--key", "-", "secrets/a.env"], &text);
    assert_eq!(stdout(&out).as_bytes(), NEW);
    assert_eq!(leftovers(&sandbox), Vec::<PathBuf>::new());
}

#[test]
fn edit_refuses_a_file_with_an_unresolved_conflict() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    let blob = s.clone.git(&["rev-parse", ":secrets/a.env"]);
    // Drop stage 0, then stage 1, 2 and 3 (as a merge leaves a conflict).
    let mut stages = format!("0 {}\tsecrets/a.env\n", "0".repeat(40));
    for n in 1..=3 {
        stages.push_str(&format!("100644 {} {n}\tsecrets/a.env\n", blob.trim()));
    }
    let out = s
        .clone
        .git_stdin(&["update-index", "--index-info"], stages.as_bytes());
    assert_success(&out, "update-index --index-info");
    assert!(
        !s.clone.git(&["ls-files", "-u"]).is_empty(),
        "a conflict is staged"
    );
    let marker = sandbox.path().join("editor-ran");
    let script = editor(&sandbox, "mark.sh", &format!("touch {}", marker.display()));
    let before = s.clone.snapshot();
    let out = edit(
        &s.clone,
        &script,
        &["--key", s.key.to_str().unwrap(), "secrets/a.env"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: secrets/a.env has an unresolved merge conflict; resolve it first \
         (`git-secret unlock`, or `git checkout --ours -- secrets/a.env` / `--theirs`)\n"
    );
    assert!(!marker.exists(), "the editor must not start");
    assert!(
        before == s.clone.snapshot(),
        "a refused edit changed the clone"
    );
}

#[test]
fn edit_refuses_to_move_a_file_to_another_key_name() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox);
    // Both keys held: without the check, the prod key would re-encrypt it.
    s.origin.secret_ok(&["init", "-k", "prod"]);
    let marks = "secrets/** filter=git-secret diff=git-secret merge=git-secret -text\n\
                 prod/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n\
                 .gitattributes !filter !diff !merge\n";
    s.origin.write(".gitattributes", marks);
    s.origin.write("prod/p.env", "P=1\n");
    s.origin.git(&["add", "."]);
    s.origin.git(&["commit", "-q", "-m", "prod"]);
    let both = s.origin.keep_key();
    fs::set_permissions(&both, fs::Permissions::from_mode(0o600)).unwrap();
    let clone = sandbox.clone_repo(&s.origin, "two-keys");
    clone.write(
        ".gitattributes",
        marks.replace(
            "secrets/** filter=git-secret ",
            "secrets/** filter=git-secret-prod ",
        ),
    );
    let marker = sandbox.path().join("editor-ran");
    let script = editor(&sandbox, "mark.sh", &format!("touch {}", marker.display()));
    let before = clone.snapshot();
    let out = edit(
        &clone,
        &script,
        &["--key", both.to_str().unwrap(), "secrets/a.env"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: secrets/a.env is encrypted with key 'default' but .gitattributes marks \
         it for key 'prod'; edit does not move a file to another key (a changed .gitattributes line?)\n"
    );
    assert!(!marker.exists(), "the editor must not start");
    assert!(
        before == clone.snapshot(),
        "a refused edit changed the clone"
    );
}
