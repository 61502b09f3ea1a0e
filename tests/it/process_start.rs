//! How git starts the filter process (issue 15): `git-secret-filter-process`,
//! one word git execs without `sh -c`, which finds its repository without
//! running `git rev-parse` when git's own environment says where it is. The
//! old `git-secret filter-process` form keeps working, `unlock` and `doctor
//! --fix` move it, and named keys keep it (their key name is an argument).

use crate::harness::*;
use std::fs;
use std::path::{Path, PathBuf};

const ONE: &[u8] = b"API_TOKEN=first-version\n";
const TWO: &[u8] = b"API_TOKEN=second-version\n";

/// The filter-process binary cargo built beside the main one.
fn process_bin() -> PathBuf {
    Path::new(BIN).with_file_name("git-secret-filter-process")
}

fn legacy_process() -> String {
    format!("'{BIN}' filter-process")
}

/// Runs git in `cwd` with GIT_TRACE into a file (which the filter's own git
/// children write to as well); returns the trace.
fn traced(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> String {
    let trace = sandbox.path().join("trace");
    let _ = fs::remove_file(&trace);
    let out = sandbox
        .command("git", cwd)
        .args(args)
        .env("GIT_TRACE", &trace)
        .output()
        .unwrap();
    assert_success(&out, &format!("git {}", args.join(" ")));
    fs::read_to_string(&trace).unwrap_or_default()
}

/// The trace lines that start a filter process.
fn process_starts(trace: &str) -> Vec<&str> {
    trace
        .lines()
        .filter(|l| l.contains("trace: start_command:") && l.contains("filter-process"))
        .collect()
}

/// `path` in the work tree at `dir` goes through git add as ciphertext and
/// comes back from git checkout as `content`.
fn round_trips(sandbox: &Sandbox, dir: &Path, git: &[&str], path: &str, content: &[u8]) {
    round_trips_in(sandbox, dir, dir, git, path, content);
}

/// [`round_trips`] with git run in `cwd` and the file at `work_tree/path`.
fn round_trips_in(
    sandbox: &Sandbox,
    cwd: &Path,
    work_tree: &Path,
    git: &[&str],
    path: &str,
    content: &[u8],
) {
    let dir = cwd;
    let run = |args: &[&str]| {
        let all: Vec<&str> = git.iter().chain(args).copied().collect();
        let out = sandbox.command("git", dir).args(&all).output().unwrap();
        assert_success(&out, &format!("git {}", all.join(" ")));
        out.stdout
    };
    let file = work_tree.join(path);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, content).unwrap();
    run(&["add", "--", path]);
    // `:./PATH` is relative to the current directory, inside the work tree
    let spec = if cwd.starts_with(work_tree) {
        ":./"
    } else {
        ":"
    };
    let stored = run(&["cat-file", "blob", &format!("{spec}{path}")]);
    assert!(is_encrypted(&stored), "{path} stored in plaintext");
    fs::remove_file(&file).unwrap();
    run(&["checkout", "--", path]);
    assert_eq!(fs::read(&file).unwrap(), content, "{path} checked out");
}

#[test]
fn init_configures_a_filter_process_git_execs_without_a_shell_or_a_rev_parse() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ONE)]);
    assert_eq!(
        repo.git(&["config", "filter.git-secret.process"])
            .trim_end(),
        process_bin().to_str().unwrap()
    );
    repo.write("secrets/b.env", TWO);
    let add = traced(&sandbox, &repo.dir, &["add", "secrets/b.env"]);
    assert!(is_encrypted(&repo.stored(":secrets/b.env")));
    repo.git(&["commit", "-q", "-m", "b"]);
    // A status that must clean a touched file, and a checkout that smudges.
    let later = filetime_later(&repo.dir.join("secrets/a.env"));
    let status = traced(&sandbox, &repo.dir, &["status", "--porcelain"]);
    assert_eq!(repo.status(), "", "touched at {later}");
    fs::remove_file(repo.dir.join("secrets/b.env")).unwrap();
    let checkout = traced(&sandbox, &repo.dir, &["checkout", "--", "secrets"]);
    assert_eq!(repo.read("secrets/b.env"), TWO);
    for (what, trace) in [("add", &add), ("status", &status), ("checkout", &checkout)] {
        let starts = process_starts(trace);
        assert_eq!(starts.len(), 1, "{what}: one filter process\n{trace}");
        let argv = starts[0].split("trace: start_command: ").nth(1).unwrap();
        assert_eq!(
            argv,
            process_bin().to_str().unwrap(),
            "{what}: not exec'd directly"
        );
        assert!(!trace.contains("/bin/sh"), "{what}: a shell\n{trace}");
        assert!(
            !trace.contains("rev-parse"),
            "{what}: the filter ran git rev-parse\n{trace}"
        );
    }
}

/// Moves the mtime of `file` a day ahead, so git must clean it again on
/// the next status; returns the new mtime for messages.
fn filetime_later(file: &Path) -> String {
    let out = std::process::Command::new("touch")
        .args(["-d", "tomorrow"])
        .arg(file)
        .output()
        .unwrap();
    assert_success(&out, "touch");
    format!("{:?}", fs::metadata(file).unwrap().modified().unwrap())
}

#[test]
fn the_filter_process_finds_its_repository_wherever_git_runs_it() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ONE)]);
    // From a subdirectory (git runs filters at the top of the work tree).
    fs::create_dir_all(repo.dir.join("secrets/deeper")).unwrap();
    round_trips(
        &sandbox,
        &repo.dir.join("secrets/deeper"),
        &[],
        "x.env",
        b"SUB=1\n",
    );
    // A linked worktree: `.git` is a file naming its git dir, which names
    // the common dir (where the keys are).
    let wt = sandbox.path().join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    assert_eq!(fs::read(wt.join("secrets/a.env")).unwrap(), ONE);
    round_trips(&sandbox, &wt, &[], "secrets/wt.env", b"WT=1\n");
    // GIT_DIR and GIT_WORK_TREE given by the user.
    let git_dir = format!("--git-dir={}", repo.dir.join(".git").display());
    let work_tree = format!("--work-tree={}", repo.dir.display());
    round_trips(
        &sandbox,
        &repo.dir,
        &[&git_dir, &work_tree],
        "secrets/env.env",
        b"ENV=1\n",
    );
    // core.worktree pointing from another repository's git dir at this
    // work tree, which holds a `.git` of its own: git sets GIT_DIR, and the
    // filter must use that repository's keys, not this directory's.
    let other = sandbox.init_repo("other");
    other.secret_ok(&["init"]);
    other.git(&["config", "core.worktree", repo.dir.to_str().unwrap()]);
    let other_key = other.secret_ok(&["keys"]);
    round_trips_in(
        &sandbox,
        &other.dir,
        &repo.dir,
        &[],
        "secrets/other.env",
        b"OTHER=1\n",
    );
    let blob = other.stored(":secrets/other.env");
    let mine = repo.secret_ok(&["keys"]);
    assert_ne!(mine, other_key);
    let view = sandbox
        .command(BIN, &repo.dir)
        .args(["textconv", "--"])
        .arg({
            let f = sandbox.path().join("other.blob");
            fs::write(&f, &blob).unwrap();
            f
        })
        .output()
        .unwrap();
    assert!(
        !contains(&view.stdout, b"OTHER=1"),
        "stored under this directory's key, not the other repository's"
    );
    // A `.git` file with a relative git dir, as in a submodule.
    let sep = sandbox.init_repo("sep-work");
    let out = sandbox
        .command("git", sandbox.path())
        .args(["init", "-q", "--separate-git-dir"])
        .arg(sandbox.path().join("sep.git"))
        .arg(&sep.dir)
        .output()
        .unwrap();
    assert_success(&out, "git init --separate-git-dir");
    fs::write(sep.dir.join(".git"), "gitdir: ../sep.git\n").unwrap();
    sep.secret_ok(&["init"]);
    sep.mark_default();
    round_trips(&sandbox, &sep.dir, &[], "secrets/sub.env", b"SUBMODULE=1\n");
    assert!(sandbox.path().join("sep.git/git-secret").is_dir());
}

#[test]
fn a_repository_configured_the_old_way_keeps_working_and_unlock_moves_it() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ONE)]);
    repo.git(&["config", "filter.git-secret.process", &legacy_process()]);
    repo.write("secrets/b.env", TWO);
    let trace = traced(&sandbox, &repo.dir, &["add", "secrets/b.env"]);
    assert!(trace.contains("/bin/sh -c"), "{trace}");
    assert!(is_encrypted(&repo.stored(":secrets/b.env")));
    repo.git(&["commit", "-q", "-m", "b"]);
    let key = repo.keep_key();
    repo.secret_ok(&["lock"]);
    repo.secret_ok(&["unlock", key.to_str().unwrap()]);
    assert_eq!(
        repo.git(&["config", "filter.git-secret.process"])
            .trim_end(),
        process_bin().to_str().unwrap()
    );
    assert_eq!(repo.read("secrets/b.env"), TWO);
    round_trips(&sandbox, &repo.dir, &[], "secrets/c.env", b"C=1\n");
}

#[test]
fn a_named_key_keeps_its_key_name_as_an_argument() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init", "-k", "prod"]);
    assert_eq!(
        repo.git(&["config", "filter.git-secret-prod.process"])
            .trim_end(),
        format!("'{BIN}' filter-process -k prod")
    );
}

#[test]
fn without_the_binary_or_with_a_shell_character_in_its_path_init_writes_the_old_form() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("bin dir");
    fs::create_dir(&dir).unwrap();
    let exe = dir.join("git-secret");
    fs::copy(BIN, &exe).unwrap();
    fs::copy(process_bin(), dir.join("git-secret-filter-process")).unwrap();
    let check = |exe: &Path, name: &str| {
        let repo = sandbox.init_repo(name);
        let out = sandbox
            .command(exe, &repo.dir)
            .arg("init")
            .output()
            .unwrap();
        assert_success(&out, "init");
        assert_eq!(
            repo.git(&["config", "filter.git-secret.process"])
                .trim_end(),
            format!("'{}' filter-process", exe.display())
        );
        repo.mark_default();
        round_trips(&sandbox, &repo.dir, &[], "secrets/a.env", ONE);
    };
    check(&exe, "spaced");
    let solo = sandbox.path().join("solo");
    fs::rename(&dir, &solo).unwrap();
    fs::remove_file(solo.join("git-secret-filter-process")).unwrap();
    check(&solo.join("git-secret"), "solo");
}

#[test]
fn the_filter_process_binary_refuses_arguments() {
    let sandbox = Sandbox::new();
    for args in [&["--help"][..], &["-k", "prod"], &["filter-process"]] {
        let out = sandbox
            .command(process_bin(), sandbox.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&out),
            "usage: git-secret-filter-process\n\
             git's long-running filter process for the default key (what \
             `git-secret filter-process` does); configured as filter.git-secret.process.\n"
        );
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn doctor_notes_the_old_form_and_fix_moves_it() {
    const UNLOCKED: &str =
        "note: key 'default' is unlocked: 1 marked file(s) in plaintext in the work tree\n";
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", ONE)]);
    assert_eq!(
        repo.secret_ok(&["doctor"]),
        format!("{UNLOCKED}doctor: no problems found\n")
    );
    repo.git(&["config", "filter.git-secret.process", &legacy_process()]);
    repo.git(&[
        "config",
        "diff.git-secret.textconv",
        &format!("'{BIN}' textconv --"),
    ]);
    let out = repo.secret(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "note: driver git-secret runs git-secret in the form of earlier versions, through the \
             shell (filter.git-secret.process, diff.git-secret.textconv): it works, with one \
             process more per git command and per diffed file; fix: git-secret doctor --fix \
             moves it to the binaries git runs directly\n\
             {UNLOCKED}doctor: no problems found\n"
        )
    );
    let exe = fs::canonicalize(BIN).unwrap();
    assert_eq!(
        repo.secret_ok(&["doctor", "--fix"]),
        format!(
            "fixed: configured driver git-secret to run this binary ({})\n\
             {UNLOCKED}doctor: no problems found\n",
            exe.display()
        )
    );
    assert_eq!(
        repo.git(&["config", "filter.git-secret.process"])
            .trim_end(),
        process_bin().to_str().unwrap()
    );
    assert_eq!(
        repo.git(&["config", "diff.git-secret.textconv"]).trim_end(),
        Path::new(BIN)
            .with_file_name("git-secret-textconv")
            .to_str()
            .unwrap()
    );
}
