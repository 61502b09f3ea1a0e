//! Issue 12, attack 9: attributes that switch encryption off or corrupt it
//! (`text`, `eol`, `working-tree-encoding`, `ident` on a marked path; a
//! misspelt driver name) and `git mergetool` backups of marked files.

use crate::harness::*;

fn head(repo: &Repo) -> String {
    repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// `text`/`eol=` (root `.gitattributes`) and `ident` (a per-directory file)
/// make git convert the ciphertext around the filter.
#[test]
fn conversion_attributes_on_a_marked_path_are_flagged_everywhere() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "r",
        &[("secrets/a.env", b"A=1\n"), ("keys/db.key", b"K=2\n")],
    );
    let old = head(&repo);
    let mut attrs = repo.read(".gitattributes");
    attrs.extend_from_slice(b"*.env text eol=crlf\n");
    repo.write(".gitattributes", &attrs);
    repo.write("keys/.gitattributes", "# ours\ndb.key ident\n");
    repo.git(&["add", ".gitattributes", "keys/.gitattributes"]);
    let problems = "  keys/db.key: ident, set by keys/.gitattributes:2 (db.key ident)\n  \
                    secrets/a.env: text, set by .gitattributes:4 (*.env text eol=crlf)\n  \
                    secrets/a.env: eol=crlf, set by .gitattributes:4 (*.env text eol=crlf)\n";
    let advice =
        "Mark these paths `-text` and drop `text`, `eol`, `working-tree-encoding` and `ident` \
                  from the lines named, then `git add --renormalize -- PATH`\n";
    let before = repo.snapshot();
    let out = repo.git_output(&["commit", "-qm", "line endings"]);
    assert!(!out.status.success(), "the hook must refuse");
    assert_eq!(repo.snapshot(), before, "nothing committed");
    let out = repo.secret(&["check", "--staged"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: these marked files have attributes that make git convert their \
             ciphertext, so it fails authentication on checkout:\n{problems}Nothing was committed. {advice}"
        )
    );
    let out = repo.secret(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: these marked files have attributes that make git convert their \
             ciphertext, so it fails authentication on checkout:\n{problems}{advice}"
        )
    );
    // Committed anyway: the push gate names them too.
    repo.git(&["commit", "-q", "--no-verify", "-m", "line endings"]);
    let new = head(&repo);
    let out = repo.secret(&["check", "--range", &format!("{old}..{new}")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: these commits give marked files attributes that make git convert their \
             ciphertext, so it fails authentication on checkout:\n{problems}{advice}"
        )
    );
}

/// `filter=git-secrets` or a key name with no key or driver stores plaintext.
#[test]
fn a_misspelt_driver_name_is_warned_about() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("r", &[("secrets/a.env", b"A=1\n")]);
    let mut attrs = repo.read(".gitattributes");
    attrs.extend_from_slice(
        b"config/*.env filter=git-secrets diff=git-secret merge=git-secret -text\n\
          ops/* filter=git-secret-opz -text\n",
    );
    repo.write(".gitattributes", &attrs);
    repo.write("config/prod.env", "PASSWORD=hunter2\n");
    repo.git(&["add", ".gitattributes", "config/prod.env"]);
    let warning = "git-secret: warning: config/prod.env: filter=git-secrets, set by .gitattributes:4 \
                   (config/*.env filter=git-secrets diff=git-secret merge=git-secret -text); that is not \
                   a git-secret driver this repository has, so git stores the file in plaintext: a typo \
                   for filter=git-secret or filter=git-secret-NAME?\n";
    let out = repo.secret(&["check", "--staged"]);
    assert_success(&out, "a warning alone does not fail check");
    assert_eq!(stderr(&out), warning);
    let out = repo.secret(&["status"]);
    assert_success(&out, "status");
    assert_eq!(stderr(&out), warning);
    // A key name this repository has no key or driver for.
    repo.write("ops/token.txt", "TOKEN=x\n");
    repo.git(&["add", "ops/token.txt"]);
    let out = repo.secret(&["status"]);
    assert!(
        stderr(&out).contains(
            "git-secret: warning: ops/token.txt: filter=git-secret-opz, set by .gitattributes:5 \
             (ops/* filter=git-secret-opz -text); that is not a git-secret driver this repository has"
        ),
        "{}",
        stderr(&out)
    );
    // A fresh clone (no key, no driver) cannot tell a typo from a key name
    // it was never given: no warning for the names it lacks.
    repo.git(&["commit", "-q", "--no-verify", "-m", "config"]);
    let fresh = sandbox.clone_repo(&repo, "fresh");
    let out = fresh.secret(&["status"]);
    assert!(!stderr(&out).contains("ops/token.txt"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("secrets/a.env"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("filter=git-secrets"),
        "{}",
        stderr(&out)
    );
    // Where the previous blob was encrypted, the typo fails check.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let mut attrs = repo.read(".gitattributes");
    attrs.extend_from_slice(b"secrets/a.env filter=gitsecret\n");
    repo.write(".gitattributes", &attrs);
    repo.write("secrets/a.env", "A=2\n");
    repo.git(&["add", ".gitattributes", "secrets/a.env"]);
    let out = repo.secret(&["check", "--staged"]);
    assert_refused(
        &out,
        "stored encrypted in HEAD and are now staged in plaintext",
    );
    assert!(
        stderr(&out).starts_with(
            "git-secret: warning: secrets/a.env: filter=gitsecret, set by .gitattributes:4 \
             (secrets/a.env filter=gitsecret); that is not a git-secret driver"
        ),
        "{}",
        stderr(&out)
    );
}

/// `git mergetool` leaves plaintext backups beside a marked file.
#[test]
fn mergetool_backups_of_a_marked_file_are_refused() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("r", &[("db.key", b"K=1\n")]);
    repo.write(
        "db.key.orig",
        "<<<<<<< HEAD\nK=1\n=======\nK=2\n>>>>>>> other\n",
    );
    repo.write("db.key.REMOTE.5678", "K=2\n");
    repo.write("notes.txt", "harmless\n");
    repo.git(&["add", "-A"]);
    let before = repo.snapshot();
    let out = repo.git_output(&["commit", "-qm", "merge"]);
    assert!(!out.status.success(), "the hook must refuse");
    assert_eq!(repo.snapshot(), before, "nothing committed");
    let out = repo.secret(&["check", "--staged"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "git-secret: error: these staged files look like `git mergetool` backups of marked files, \
         stored in plaintext:\n  db.key.REMOTE.5678 (beside db.key)\n  db.key.orig (beside db.key)\n\
         Nothing was committed. Delete them (`git rm --cached -- PATH`, then remove the file) and stop \
         mergetool from leaving them: `git config mergetool.keepBackup false`\n"
    );
}

/// A later `filter=` line (here `filter=lfs`) overrides the marking of a
/// file stored encrypted: its next `git add` stores plaintext.
#[test]
fn a_later_filter_line_that_overrides_the_marking_is_flagged() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("r", &[("secrets/a.env", b"A=1\n")]);
    let mut attrs = repo.read(".gitattributes");
    attrs.extend_from_slice(b"*.env filter=lfs diff=lfs merge=lfs -text\n");
    repo.write(".gitattributes", &attrs);
    repo.git(&["add", ".gitattributes"]);
    let line = "  secrets/a.env: filter=lfs, set by .gitattributes:4 (*.env filter=lfs diff=lfs merge=lfs -text)\n";
    let before = repo.snapshot();
    let out = repo.git_output(&["commit", "-qm", "lfs"]);
    assert!(!out.status.success(), "the hook must refuse");
    assert_eq!(repo.snapshot(), before, "nothing committed");
    let out = repo.secret(&["check", "--staged"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "git-secret: error: these files are stored encrypted, but a .gitattributes line now gives them \
             another filter (or none), so their next `git add` stores plaintext or hands it to that filter:\n\
             {line}Nothing was committed. Remove or fix that line (a later line overrides an earlier one); \
             to stop encrypting a file on purpose, `git rm --cached -- PATH` and commit that first\n"
        )
    );
    let out = repo.secret(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "NOT MARKED     secrets/a.env  (stored encrypted, but filter=lfs, set by .gitattributes:4"
        ),
        "{}",
        stdout(&out)
    );
    // Once re-staged, the plaintext is refused naming the line.
    repo.write("secrets/a.env", "A=2\n");
    repo.git(&["add", "secrets/a.env"]);
    let out = repo.secret(&["check", "--staged"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "staged in plaintext (their .gitattributes line no longer marks them?):\n{line}"
        )),
        "{}",
        stderr(&out)
    );
    let out = repo.secret(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("no longer marks it: filter=lfs, set by .gitattributes:4"),
        "{}",
        stdout(&out)
    );
}
