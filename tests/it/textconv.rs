//! The textconv git runs once per blob of `git log -p`, `git show` and
//! `git diff` (issue 15): `git-secret-textconv`, one word git execs without
//! `sh -c`; the old `git-secret textconv --` form keeps working and `unlock`
//! moves it to the new one; a locked clone shows the placeholder.

use crate::harness::*;
use std::fs;
use std::path::{Path, PathBuf};

const ONE: &[u8] = b"API_TOKEN=first-version\n";
const TWO: &[u8] = b"API_TOKEN=second-version\n";

/// The textconv binary cargo built beside the main one.
fn textconv_bin() -> PathBuf {
    Path::new(BIN).with_file_name("git-secret-textconv")
}

fn legacy_textconv() -> String {
    format!("'{BIN}' textconv --")
}

/// A repository with two commits of `secrets/a.env` (ONE, then TWO).
fn history(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ONE)]);
    repo.write("secrets/a.env", TWO);
    repo.git(&["commit", "-q", "-a", "-m", "second"]);
    repo
}

/// `git log -p`, `git show` and `git diff A B`, each with its GIT_TRACE.
fn diffs_with_trace(repo: &Repo) -> Vec<(String, String)> {
    let trace = repo.dir.with_extension("trace");
    [
        &["log", "-p"][..],
        &["show", "HEAD"],
        &["diff", "HEAD~1", "HEAD"],
    ]
    .iter()
    .map(|args| {
        let _ = fs::remove_file(&trace);
        let out = repo
            .sandbox
            .command("git", &repo.dir)
            .args(*args)
            .env("GIT_TRACE", &trace)
            .output()
            .unwrap();
        assert_success(&out, &format!("git {}", args.join(" ")));
        (stdout(&out), fs::read_to_string(&trace).unwrap())
    })
    .collect()
}

fn assert_shows_plaintext(repo: &Repo) {
    for (out, _) in diffs_with_trace(repo) {
        assert!(out.contains("-API_TOKEN=first-version"), "{out}");
        assert!(out.contains("+API_TOKEN=second-version"), "{out}");
    }
}

#[test]
fn init_configures_a_textconv_git_execs_without_a_shell() {
    let sandbox = Sandbox::new();
    let repo = history(&sandbox);
    assert_eq!(
        repo.git(&["config", "diff.git-secret.textconv"]).trim_end(),
        textconv_bin().to_str().unwrap()
    );
    for (out, trace) in diffs_with_trace(&repo) {
        assert!(out.contains("+API_TOKEN=second-version"), "{out}");
        let starts: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains("trace: start_command:") && l.contains("textconv"))
            .collect();
        assert!(!starts.is_empty(), "no textconv started:\n{trace}");
        for line in starts {
            let argv = line.split("trace: start_command: ").nth(1).unwrap();
            assert!(
                argv.starts_with(&format!("{} /", textconv_bin().display())),
                "textconv not exec'd directly: {line}"
            );
        }
        // (The filter process is one spawn per git command, not per blob.)
        let shelled = trace
            .lines()
            .any(|l| l.contains("/bin/sh -c") && l.contains("textconv"));
        assert!(!shelled, "a shell ran the textconv:\n{trace}");
    }
}

#[test]
fn an_unlocked_clone_shows_plaintext_and_a_locked_one_the_placeholder() {
    let sandbox = Sandbox::new();
    let repo = history(&sandbox);
    let key = repo.keep_key();
    let clone = sandbox.clone_repo(&repo, "clone");
    clone.secret_ok(&["unlock", key.to_str().unwrap()]);
    assert_eq!(
        clone
            .git(&["config", "diff.git-secret.textconv"])
            .trim_end(),
        textconv_bin().to_str().unwrap()
    );
    assert_shows_plaintext(&clone);

    clone.secret_ok(&["lock"]);
    // What the placeholder says is the filter's business: it must be what
    // `git-secret textconv` prints for the blob, never plaintext or ciphertext.
    let blob = clone.dir.with_extension("blob");
    fs::write(&blob, clone.stored("HEAD:secrets/a.env")).unwrap();
    let placeholder = clone.secret_ok(&["textconv", "--", blob.to_str().unwrap()]);
    assert!(!placeholder.is_empty() && !placeholder.contains("second-version"));
    assert!(!placeholder.contains("GITSECRET"), "{placeholder}");
    // Both versions show the same placeholder: only the commit that added
    // the file has a diff.
    let log = clone.git(&["log", "-p"]);
    assert!(
        log.contains(&format!("+{}", placeholder.trim_end())),
        "{log}"
    );
    for (out, _) in diffs_with_trace(&clone) {
        assert!(
            !out.contains("version") && !out.contains("GITSECRET"),
            "{out}"
        );
    }
}

#[test]
fn a_repository_configured_the_old_way_keeps_working_and_unlock_moves_it() {
    let sandbox = Sandbox::new();
    let repo = history(&sandbox);
    repo.git(&["config", "diff.git-secret.textconv", &legacy_textconv()]);
    assert_shows_plaintext(&repo);
    let (_, trace) = &diffs_with_trace(&repo)[0];
    assert!(trace.contains("/bin/sh -c"), "{trace}");
    let key = repo.keep_key();
    repo.secret_ok(&["lock"]);
    repo.secret_ok(&["unlock", key.to_str().unwrap()]);
    assert_eq!(
        repo.git(&["config", "diff.git-secret.textconv"]).trim_end(),
        textconv_bin().to_str().unwrap()
    );
    assert_shows_plaintext(&repo);
}

#[test]
fn the_textconv_binary_finds_the_keys_from_a_worktree_a_subdirectory_and_git_dir() {
    let sandbox = Sandbox::new();
    let repo = history(&sandbox);
    let blob = repo.dir.with_extension("blob");
    fs::write(&blob, repo.stored("HEAD:secrets/a.env")).unwrap();
    let run = |cwd: &Path, git_dir: Option<&Path>| {
        let mut cmd = sandbox.command(textconv_bin(), cwd);
        cmd.arg(&blob);
        if let Some(dir) = git_dir {
            cmd.env("GIT_DIR", dir);
        }
        let out = cmd.output().unwrap();
        assert_success(&out, "git-secret-textconv");
        out.stdout
    };
    assert_eq!(run(&repo.dir, None), TWO);
    fs::create_dir_all(repo.dir.join("secrets/deeper")).unwrap();
    assert_eq!(run(&repo.dir.join("secrets/deeper"), None), TWO);
    let wt = sandbox.path().join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    assert_eq!(run(&wt, None), TWO);
    assert_eq!(run(sandbox.path(), Some(&repo.dir.join(".git"))), TWO);
    // Plaintext passes through, inside a repository or not.
    let plain = sandbox.path().join("plain.txt");
    fs::write(&plain, "just text\n").unwrap();
    let out = sandbox
        .command(textconv_bin(), sandbox.path())
        .arg(&plain)
        .output()
        .unwrap();
    assert_success(&out, "git-secret-textconv outside a repository");
    assert_eq!(stdout(&out), "just text\n");
    // Outside any repository a blob gets the placeholder, not an error.
    let out = sandbox
        .command(textconv_bin(), sandbox.path())
        .arg(&blob)
        .output()
        .unwrap();
    assert_success(&out, "git-secret-textconv of a blob outside a repository");
    assert_eq!(out.stdout, sandbox_placeholder(&sandbox, &blob));
}

/// What `git-secret textconv` prints for `blob` outside any repository.
fn sandbox_placeholder(sandbox: &Sandbox, blob: &Path) -> Vec<u8> {
    let out = sandbox
        .command(BIN, sandbox.path())
        .args(["textconv", "--"])
        .arg(blob)
        .output()
        .unwrap();
    assert_success(&out, "git-secret textconv outside a repository");
    assert!(!contains(&out.stdout, TWO));
    out.stdout
}

#[test]
fn the_textconv_binary_refuses_bad_usage_and_an_unreadable_file() {
    let sandbox = Sandbox::new();
    for args in [&[][..], &["--help"], &["a", "b"]] {
        let out = sandbox
            .command(textconv_bin(), sandbox.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&out),
            "usage: git-secret-textconv FILE\n\
             Prints the plaintext of FILE for git diff (what `git-secret textconv FILE` does).\n"
        );
        assert_eq!(stdout(&out), "");
    }
    let missing = sandbox.path().join("missing");
    for program in [textconv_bin(), PathBuf::from(BIN)] {
        let mut cmd = sandbox.command(&program, sandbox.path());
        if program == Path::new(BIN) {
            cmd.args(["textconv", "--"]);
        }
        let out = cmd.arg(&missing).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            format!(
                "git-secret: error: cannot read {}: No such file or directory (os error 2)\n",
                missing.display()
            )
        );
    }
}

#[test]
fn without_the_textconv_binary_or_with_a_shell_character_in_its_path_init_writes_the_old_form() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("bin dir");
    fs::create_dir(&dir).unwrap();
    let exe = dir.join("git-secret");
    fs::copy(BIN, &exe).unwrap();
    fs::write(dir.join("git-secret-textconv"), "").unwrap();
    let check = |exe: &Path, name: &str| {
        let repo = sandbox.init_repo(name);
        repo.write("README", "hello\n");
        repo.git(&["add", "README"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        let out = sandbox
            .command(exe, &repo.dir)
            .arg("init")
            .output()
            .unwrap();
        assert_success(&out, "init");
        assert_eq!(
            repo.git(&["config", "diff.git-secret.textconv"]).trim_end(),
            format!("'{}' textconv --", exe.display())
        );
        repo.mark_default();
        repo.write("secrets/a.env", ONE);
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "one"]);
        repo.write("secrets/a.env", TWO);
        repo.git(&["commit", "-q", "-a", "-m", "two"]);
        assert_shows_plaintext(&repo);
    };
    check(&exe, "spaced");
    // No textconv binary beside it.
    let solo = sandbox.path().join("solo");
    fs::rename(&dir, &solo).unwrap();
    fs::remove_file(solo.join("git-secret-textconv")).unwrap();
    check(&solo.join("git-secret"), "solo");
}

#[test]
fn uninstall_removes_a_textconv_an_earlier_install_wrote_in_the_old_form() {
    let sandbox = Sandbox::new();
    let global = sandbox.home().join(".gitconfig");
    let before = fs::read_to_string(&global).unwrap();
    let run = |args: &[&str]| {
        let out = sandbox
            .command(BIN, sandbox.path())
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, &args.join(" "));
    };
    run(&["install"]);
    let out = sandbox
        .command("git", sandbox.path())
        .args(["config", "--global", "diff.git-secret.textconv"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim_end(), textconv_bin().to_str().unwrap());
    let out = sandbox
        .command("git", sandbox.path())
        .args([
            "config",
            "--global",
            "diff.git-secret.textconv",
            &legacy_textconv(),
        ])
        .output()
        .unwrap();
    assert_success(&out, "git config --global");
    run(&["uninstall"]);
    assert_eq!(fs::read_to_string(&global).unwrap(), before);
}
