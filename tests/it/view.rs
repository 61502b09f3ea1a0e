//! `git-secret view` (issue 13): the plaintext of marked files on stdout,
//! from the work tree, the index or a commit, in a locked clone, with the key
//! from the store, the ring or `--key`; or of a ciphertext file outside any
//! repository. Never written anywhere but stdout.

use crate::harness::*;

const ENV: &[u8] = b"API_TOKEN=s3cr3t-alpha\n";

fn alice(sandbox: &Sandbox) -> Repo<'_> {
    sandbox.repo_with_secrets("alice", &[("secrets/a.env", ENV)])
}

#[test]
fn view_prints_plaintext_from_the_work_tree_the_index_and_a_commit() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let first = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.write("secrets/a.env", "API_TOKEN=changed\n");
    repo.git(&["add", "secrets/a.env"]);
    repo.write("secrets/a.env", "API_TOKEN=in-work-tree\n");
    assert_eq!(
        repo.secret_ok(&["view", "secrets/a.env"]),
        "API_TOKEN=in-work-tree\n"
    );
    assert_eq!(
        repo.secret_ok(&["view", "--cached", "secrets/a.env"]),
        "API_TOKEN=changed\n"
    );
    assert_eq!(
        repo.secret_ok(&["view", "--rev", &first, "secrets/a.env"]),
        "API_TOKEN=s3cr3t-alpha\n"
    );
}

#[test]
fn view_in_a_locked_clone_with_a_key_file_writes_nothing_to_disk() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let clone = sandbox.clone_repo(&repo, "locked");
    assert!(is_encrypted(&clone.read("secrets/a.env")));
    let before = clone.snapshot();
    let out = clone.secret(&["view", "--key", key.to_str().unwrap(), "secrets/a.env"]);
    assert_success(&out, "view --key");
    assert_eq!(stdout(&out).as_bytes(), ENV);
    assert!(before == clone.snapshot(), "view changed the clone");
    // From standard input too.
    let text = std::fs::read(&key).unwrap();
    let out = clone.secret_stdin(&["view", "--key", "-", "secrets/a.env"], &text);
    assert_eq!(stdout(&out).as_bytes(), ENV);
}

#[test]
fn view_refuses_an_unmarked_path_and_a_missing_key() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let out = repo.secret(&["view", "README"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: README is not marked for encryption in .gitattributes; \
         view shows only marked files (read others with cat or git show)\n"
    );
    assert_eq!(stdout(&out), "", "nothing printed");
    let clone = sandbox.clone_repo(&repo, "locked");
    let out = clone.secret(&["view", "README", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "", "no partial output before a refusal");
    let out = clone.secret(&["view", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(1));
    let id = repo
        .secret_ok(&["keys"])
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: no key held here opens secrets/a.env (key id {id}); \
             pass the key file with --key FILE (or - for standard input), or unlock\n"
        )
    );
}

#[test]
fn view_reads_a_ciphertext_file_outside_any_repository() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let artifact = sandbox.path().join("outside").join("a.env.enc");
    std::fs::create_dir_all(artifact.parent().unwrap()).unwrap();
    std::fs::write(&artifact, repo.stored("HEAD:secrets/a.env")).unwrap();
    let out = sandbox
        .command(BIN, artifact.parent().unwrap())
        .args(["view", "--key", key.to_str().unwrap(), "a.env.enc"])
        .output()
        .unwrap();
    assert_success(&out, "view outside a repository");
    assert_eq!(stdout(&out).as_bytes(), ENV);
}

/// The personal ring counts as a key held here, for this repository's own
/// clones only: a key saved by an unlock elsewhere opens a new locked clone
/// of the same origin, and is not offered to a stranger's repository that
/// holds a copy of the same blob.
#[test]
fn view_uses_the_ring_for_clones_of_the_same_repository_only() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let first = sandbox.clone_repo(&repo, "first");
    first.secret_ok(&["unlock", key.to_str().unwrap()]);
    std::fs::remove_file(&key).unwrap();

    let locked = sandbox.clone_repo(&repo, "second");
    assert!(is_encrypted(&locked.read("secrets/a.env")));
    let before = locked.snapshot();
    let out = locked.secret(&["view", "secrets/a.env"]);
    assert_success(&out, "view with the ring key");
    assert_eq!(stdout(&out).as_bytes(), ENV);
    assert!(before == locked.snapshot(), "view changed the clone");

    let stranger = sandbox.init_repo("stranger");
    stranger.write("README", "hello\n");
    stranger.git(&["add", "README"]);
    stranger.git(&["commit", "-qm", "hello"]);
    stranger.mark_default();
    stranger.stage_raw("secrets/a.env", &repo.stored("HEAD:secrets/a.env"));
    let out = stranger.secret(&["view", "--cached", "secrets/a.env"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(stdout(&out), "", "no plaintext for a stranger's repository");
    assert!(
        stderr(&out).starts_with("git-secret: error: no key held here opens secrets/a.env"),
        "{}",
        stderr(&out)
    );
}

/// From a subdirectory, `..` used to be joined to the prefix unresolved
/// (`secrets/sub/../a.env`, which git does not know): now it names
/// secrets/a.env, in the work tree, the index and a commit, also in a
/// locked clone, and through a symlinked directory inside the work tree.
#[test]
fn view_from_a_subdirectory_resolves_dot_dot() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/a.env", ENV), ("secrets/sub/b.env", b"B=1\n")],
    );
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let key = key.to_str().unwrap();
    let clone = sandbox.clone_repo(&repo, "locked");
    std::os::unix::fs::symlink(clone.dir.join("secrets/sub"), clone.dir.join("sublink")).unwrap();
    let before = clone.snapshot();
    for (cwd, arg) in [
        ("secrets/sub", "../a.env"),
        ("secrets/sub", "./../../secrets/a.env"),
        ("sublink", "../a.env"),
    ] {
        for mode in [&[][..], &["--cached"][..], &["--rev", "HEAD"][..]] {
            let mut args = vec!["view", "--key", key];
            args.extend_from_slice(mode);
            args.push(arg);
            let out = clone.secret_in(cwd, &args);
            assert_success(&out, &format!("view {arg} from {cwd} {mode:?}"));
            assert_eq!(stdout(&out).as_bytes(), ENV, "{cwd}: {arg} {mode:?}");
        }
    }
    assert!(before == clone.snapshot(), "view changed the clone");
}

/// A path that leads out of the work tree, by `..` or through a symlinked
/// directory, is refused before anything is read or printed.
#[test]
fn view_refuses_a_path_outside_the_work_tree() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[("secrets/a.env", ENV), ("secrets/sub/b.env", b"B=1\n")],
    );
    let elsewhere = sandbox.path().join("elsewhere/secrets");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("a.env"), repo.stored("HEAD:secrets/a.env")).unwrap();
    std::fs::write(
        sandbox.path().join("outside.env"),
        repo.stored("HEAD:secrets/a.env"),
    )
    .unwrap();
    std::os::unix::fs::symlink(sandbox.path().join("elsewhere"), repo.dir.join("ext")).unwrap();
    let before = repo.snapshot();
    for (cwd, arg) in [
        ("secrets/sub", "../../../outside.env"),
        ("secrets", "../ext/secrets/a.env"),
        (".", "ext/secrets/../secrets/a.env"),
    ] {
        let out = repo.secret_in(cwd, &["view", arg]);
        assert_eq!(out.status.code(), Some(1), "{arg}: {}", stdout(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "git-secret: error: {arg} is outside the repository's work tree; name a marked file \
                 of this work tree (a ciphertext file elsewhere is read with --key from outside any \
                 repository)\n"
            ),
            "{cwd}: {arg}"
        );
        assert_eq!(stdout(&out), "", "{arg}: nothing printed");
    }
    let out = repo.secret_in("secrets", &["view", ".."]);
    assert_eq!(
        stderr(&out),
        "git-secret: error: .. is the top of the work tree; name a marked file\n"
    );
    assert!(
        before == repo.snapshot(),
        "a refused view changed something"
    );
}

/// A key file given with `--key` that does not open the file: the message
/// says so, instead of asking for `--key` (which was given); view and exec
/// alike (edit: `edit::edit_refuses_a_key_that_does_not_open_the_file_…`),
/// nothing printed, run or changed.
#[test]
fn a_key_file_that_does_not_open_the_file_is_named_as_such() {
    let sandbox = Sandbox::new();
    let repo = alice(&sandbox);
    let id = repo
        .secret_ok(&["keys"])
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let other = sandbox.repo_with_secrets("other", &[("secrets/o.env", b"O=1\n")]);
    let wrong = sandbox.path().join("other.key");
    other.secret_ok(&["export-key", wrong.to_str().unwrap()]);
    let clone = sandbox.clone_repo(&repo, "locked");
    let before = clone.snapshot();
    let wrong = wrong.to_str().unwrap();
    for args in [
        &["view", "--key", wrong, "secrets/a.env"][..],
        &[
            "exec",
            "--key",
            wrong,
            "--env",
            "secrets/a.env",
            "--",
            "touch",
            "ran",
        ],
    ] {
        let out = clone.secret(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&out),
            format!(
                "git-secret: error: the key file given with --key does not open secrets/a.env \
                 (key id {id}), and no key held here does; pass the key file that holds key id \
                 {id}, or unlock\n"
            ),
            "{args:?}"
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    assert!(!clone.exists("ran"), "nothing ran");
    assert!(before == clone.snapshot(), "the clone changed");
}
