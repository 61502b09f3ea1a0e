//! Output that scripts read (issue 14): `status --porcelain` / `-z` / `-k`,
//! git-style path quoting in the human form, and a diff placeholder in a
//! locked clone that tells versions apart.

use crate::harness::*;
use sha2::{Digest, Sha256};

const A1: &[u8] = b"API_TOKEN=s3cr3t-one\n";
const A2: &[u8] = b"API_TOKEN=s3cr3t-two\n";

/// The key id (full hex) of the repository's key `name`, from `keys`.
fn key_id(repo: &Repo, name: &str) -> String {
    repo.secret_ok(&["keys"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or_else(|| panic!("key {name} in `keys`"))
        .to_owned()
}

fn default_key_id(repo: &Repo) -> String {
    key_id(repo, "default")
}

/// File names git must quote (newline, quote, non-ASCII) and one it does not
/// (a space), under the default key, and one file under key `prod`.
const NAMES: [&str; 4] = [
    "secrets/a b",
    "secrets/n\nl",
    "secrets/q\"t",
    "secrets/café",
];

fn two_keys(sandbox: &Sandbox) -> Repo<'_> {
    let secrets: Vec<(&str, &[u8])> = NAMES.iter().map(|n| (*n, A1)).collect();
    let repo = sandbox.repo_with_secrets("alice", &secrets);
    repo.secret_ok(&["init", "-k", "prod"]);
    let attrs = String::from_utf8(repo.read(".gitattributes")).unwrap();
    repo.write(
        ".gitattributes",
        format!("prod/** filter=git-secret-prod diff=git-secret-prod merge=git-secret-prod -text\n{attrs}"),
    );
    repo.write("prod/p.env", A2);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "prod"]);
    repo
}

#[test]
fn status_porcelain_z_and_key_name_list_stable_records() {
    let sandbox = Sandbox::new();
    let repo = two_keys(&sandbox);
    let (d, p) = (key_id(&repo, "default"), key_id(&repo, "prod"));
    let before = repo.snapshot();

    let out = repo.secret(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "encrypted      prod/p.env  (key 'prod' id {p}, unlocked)\n\
             encrypted      secrets/a b  (key 'default' id {d}, unlocked)\n\
             encrypted      \"secrets/caf\\303\\251\"  (key 'default' id {d}, unlocked)\n\
             encrypted      \"secrets/n\\nl\"  (key 'default' id {d}, unlocked)\n\
             encrypted      \"secrets/q\\\"t\"  (key 'default' id {d}, unlocked)\n"
        )
    );
    assert_eq!(stderr(&out), "");

    let out = repo.secret(&["status", "--porcelain"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "encrypted prod {p} prod/p.env\n\
             encrypted default {d} secrets/a b\n\
             encrypted default {d} \"secrets/caf\\303\\251\"\n\
             encrypted default {d} \"secrets/n\\nl\"\n\
             encrypted default {d} \"secrets/q\\\"t\"\n"
        )
    );
    // The same paths as git prints them.
    let git_paths = repo.git(&["ls-files", "--", "secrets"]);
    let records = stdout(&out);
    let ours: Vec<&str> = records
        .lines()
        .skip(1)
        .map(|l| l.splitn(4, ' ').nth(3).unwrap())
        .collect();
    assert_eq!(git_paths.lines().collect::<Vec<_>>(), ours);

    // -z: NUL-terminated records, raw paths, --porcelain implied.
    let out = repo.secret(&["status", "-z"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected: Vec<u8> = [
        format!("encrypted prod {p} prod/p.env"),
        format!("encrypted default {d} secrets/a b"),
        format!("encrypted default {d} secrets/café"),
        format!("encrypted default {d} secrets/n\nl"),
        format!("encrypted default {d} secrets/q\"t"),
    ]
    .iter()
    .flat_map(|r| [r.as_bytes(), b"\0"].concat())
    .collect();
    assert_eq!(stdout(&out), String::from_utf8(expected).unwrap());

    // -k: only that key's files, in every form; from a subdirectory too.
    assert_eq!(
        repo.secret_ok(&["status", "-k", "prod", "--porcelain"]),
        format!("encrypted prod {p} prod/p.env\n")
    );
    assert_eq!(
        repo.secret_ok(&["status", "-z", "--key-name", "prod"]),
        format!("encrypted prod {p} prod/p.env\0")
    );
    let out = repo.secret_in("secrets", &["status", "-k", "default", "-z", "."]);
    assert_eq!(stdout(&out).matches('\0').count(), 4, "{}", stdout(&out));
    assert!(!stdout(&out).contains("prod"), "{}", stdout(&out));
    let out = repo.secret(&["status", "-k", "staging"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "No tracked file is marked for key 'staging'.\n"
    );

    // core.quotePath=false keeps non-ASCII as it is, as git does.
    repo.git(&["config", "core.quotePath", "false"]);
    let out = repo.secret_ok(&["status", "--porcelain", "secrets/café"]);
    assert_eq!(out, format!("encrypted default {d} secrets/café\n"));
    repo.git(&["config", "--unset", "core.quotePath"]);
    assert!(before == repo.snapshot(), "status changed the repository");
}

#[test]
fn status_porcelain_flags_a_plaintext_leak_and_exits_1() {
    let sandbox = Sandbox::new();
    let repo = two_keys(&sandbox);
    let p = key_id(&repo, "prod");
    // Plaintext staged without filters (as a libgit2 tool would).
    repo.stage_raw("secrets/n\nl", b"LEAKED=1\n");
    let out = repo.secret(&["status", "--porcelain", "secrets/n\nl", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "encrypted prod {p} prod/p.env\n\
             plaintext default - \"secrets/n\\nl\"\n"
        )
    );
    assert_eq!(
        stderr(&out),
        "git-secret: error: 1 of 2 marked file(s) are stored in plaintext. With the key unlocked, \
         `git add --renormalize -- PATH` and a commit store them encrypted; the old plaintext stays in \
         history, so change those secrets\n"
    );
    let out = repo.secret(&["status", "secrets/n\nl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "NOT ENCRYPTED  \"secrets/n\\nl\"  (stored in plaintext in index; key 'default')\n"
    );
    // Another key's view does not see the leak, and exits 0.
    let out = repo.secret(&["status", "-z", "-k", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("encrypted prod {p} prod/p.env\0"));
}

/// The placeholder textconv prints for a blob it cannot open, as FORMAT.md
/// and README describe it: key id, and the first 12 hex digits of the
/// SHA-256 of the stored blob.
fn placeholder(key_id: &str, blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    let content: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "[git-secret: encrypted with key {key_id}, content {content}; \
         run `git-secret unlock` to see the contents]"
    )
}

#[test]
fn locked_diff_placeholder_tells_versions_apart() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/a.env", A1)]);
    repo.write("secrets/a.env", A2);
    repo.git(&["commit", "-qam", "change a"]);
    repo.write("README", "unrelated\n");
    repo.git(&["commit", "-qam", "unrelated"]);
    let id = default_key_id(&repo);
    repo.keep_key();
    repo.secret_ok(&["lock"]);
    assert!(is_encrypted(&repo.read("secrets/a.env")), "locked");

    let old = placeholder(&id, &repo.stored("HEAD~2:secrets/a.env"));
    let new = placeholder(&id, &repo.stored("HEAD~1:secrets/a.env"));
    assert_ne!(old, new);

    // A real change: exit 1 and two different placeholder lines.
    let out = repo.git_output(&[
        "diff",
        "--exit-code",
        "HEAD~2",
        "HEAD~1",
        "--",
        "secrets/a.env",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff = stdout(&out);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(changed, [format!("-{old}"), format!("+{new}")], "{diff}");
    assert!(
        !diff.contains("s3cr3t"),
        "no plaintext while locked:\n{diff}"
    );

    // A commit that does not change the file: nothing, exit 0.
    let out = repo.git_output(&[
        "diff",
        "--exit-code",
        "HEAD~1",
        "HEAD",
        "--",
        "secrets/a.env",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "");

    // `git log -p` shows the change in the commit that made it.
    let log = repo.git(&["log", "-p", "--format=commit %s", "--", "secrets/a.env"]);
    let change = log
        .split("commit ")
        .find(|c| c.starts_with("change a"))
        .unwrap_or_else(|| panic!("no commit 'change a' in log -p:\n{log}"));
    assert!(change.contains(&format!("-{old}\n")), "{log}");
    assert!(change.contains(&format!("+{new}\n")), "{log}");
    assert!(!log.contains("s3cr3t"), "{log}");
}
