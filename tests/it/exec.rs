//! `git-secret exec` (issue 13): a command run with the variables of
//! encrypted dotenv files in its environment, decrypted in memory, parsed as
//! the real python-dotenv parses them (compared variable by variable with
//! python-dotenv from the test venv), CMD's exit status and signals passed
//! through, and refusals that run nothing and change nothing.

use crate::harness::*;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every feature python-dotenv has, with the environment's `FROM_ENV` and
/// `PRESET` referenced and `PRESET` also set by the file.
const BASIC: &str = r#"# a comment
export EXPORTED=yes
PLAIN=value
SPACED = around equals   
INLINE=value # an inline comment
HASH=value#not-a-comment
HASH_ONLY=#not-a-comment
EMPTY=
EMPTY_COMMENT= # only a comment
SINGLE='single ${FROM_ENV} \n \' \\ end'
DOUBLE="tab\tnl\nq\"bs\\dollar\$ bell\a ${PLAIN}"
ESCAPES="\v\f\b\r \x \u00e9 \' \\\" end"
ESCAPED_DOLLAR=\${PLAIN} \$PLAIN
EQUALS=a=b=c
URL=postgres://u:p@h:5432/db?x=1&y=2
UNICODE=héllo wörld ✓ 日本
QUOTED_UNICODE="naïve — ✓"
MULTI="line one
line two
  line three # not a comment"
MULTI_SINGLE='a
b'
NOVALUE
REF_ENV=${FROM_ENV}
REF_PRESET=${PRESET}
NESTED=${PLAIN}${EXPORTED}
DEFAULT=${MISSING:-fallback}
DEFAULT_EMPTY=${MISSING:-}
DEFAULT_SET=${PLAIN:-unused}
NOT_VARS=$PLAIN ${PLAIN:x} ${ $ {PLAIN} $${PLAIN}
NESTED_DEFAULT=${MISSING:-${PLAIN}}
NOVALUE_REF=${NOVALUE:-d}
PRESET=from-file
REF_PRESET_AFTER=${PRESET}
DUP=first
DUP_REF=${DUP}
DUP=second
'QUOTED KEY'=qk
    INDENTED=yes
QUOTED_TRAIL="x"   # comment
"#;

/// Line endings, a BOM, invalid statements (unterminated quotes, a key
/// with a space, `=` with no key) and no final newline.
const NASTY: &str =
    "\u{feff}FIRST=1\r\nCR=\"a\r\nb\"\r\nLONE_CR=x\rNEXT=y\r\nSEP=a\u{1f}#b\r\nNBSP=x\u{a0}\r\n\
    BS=\"ends with \\\\\"\r\nTRAIL=\\\r\n\t  \r\n#\r\nBAD LINE\r\n\
    UNTERMINATED=\"never closed\r\nAFTER=after\r\n=novalue\r\nexport\r\nexport =x\r\n\
    ''=empty-key\r\nSQ='unterminated\r\nAFTER_SQ=yes\r\nLAST=no final newline";

/// A second file that reads and replaces the first one's variables.
const LATER: &str = "FROM_FIRST=${PLAIN}-${FIRST}\nPLAIN=from-later\nPRESET=later\n\
    FROM_ENV=later\nSEES=${FROM_ENV}/${PRESET}\n";

const FILES: [(&str, &str); 3] = [
    ("secrets/basic.env", BASIC),
    ("secrets/nasty.env", NASTY),
    ("secrets/later.env", LATER),
];

/// What both sides start with: the same environment, no more.
fn base_env(sandbox: &Sandbox) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".into(), std::env::var("PATH").unwrap()),
        ("HOME".into(), sandbox.home().display().to_string()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        (
            "GIT_CONFIG_GLOBAL".into(),
            sandbox.home().join(".gitconfig").display().to_string(),
        ),
        ("LC_ALL".into(), "C.UTF-8".into()),
        // Python would otherwise add LC_CTYPE under a C locale.
        ("PYTHONCOERCECLOCALE".into(), "0".into()),
        ("FROM_ENV".into(), "outer value".into()),
        ("PRESET".into(), "from-env".into()),
    ];
    env.sort();
    env
}

fn parse_env0(bytes: &[u8]) -> BTreeMap<String, String> {
    bytes
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (k, v) = text.split_once('=').unwrap_or((&text, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

const PYTHON: &str = "import os, sys\n\
from dotenv import load_dotenv\n\
for f in sys.argv[2:]:\n    load_dotenv(f, override=sys.argv[1] == '1')\n\
out = sys.stdout.buffer\n\
for k, v in os.environb.items():\n    out.write(k + b'=' + v + b'\\0')\n";

/// The environment the real python-dotenv makes of the plaintext `files`,
/// and its stderr.
fn python_dotenv(
    sandbox: &Sandbox,
    files: &[PathBuf],
    override_: bool,
) -> (BTreeMap<String, String>, String) {
    let out = Command::new(test_venv().join("bin/python"))
        .current_dir(sandbox.path())
        .env_clear()
        .envs(base_env(sandbox))
        .args(["-c", PYTHON, if override_ { "1" } else { "0" }])
        .args(files)
        .output()
        .unwrap();
    assert_success(&out, "python-dotenv");
    (parse_env0(&out.stdout), stderr(&out))
}

/// A repository with the dotenv files committed encrypted, its key in a
/// file, and a locked clone of it.
fn deploy(sandbox: &Sandbox, files: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, c.as_bytes())).collect();
    let repo = sandbox.repo_with_secrets("alice", &files);
    let key = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", key.to_str().unwrap()]);
    let clone = sandbox.clone_repo(&repo, "locked");
    for (path, _) in &files {
        assert!(
            is_encrypted(&clone.read(path)),
            "{path} is ciphertext in the clone"
        );
    }
    (clone.dir, key)
}

fn exec(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .envs(base_env(sandbox))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn exec_sets_the_variables_python_dotenv_sets() {
    let sandbox = Sandbox::new();
    let (clone, key) = deploy(&sandbox, &FILES);
    let plain = sandbox.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    for (path, content) in FILES {
        std::fs::write(plain.join(Path::new(path).file_name().unwrap()), content).unwrap();
    }
    let base: BTreeMap<String, String> = base_env(&sandbox).into_iter().collect();
    let cases: &[&[usize]] = &[&[0], &[1], &[2], &[0, 1, 2], &[2, 0]];
    for override_ in [false, true] {
        for case in cases {
            let what = format!("files {case:?}, override {override_}");
            let plain_files: Vec<PathBuf> = case
                .iter()
                .map(|&i| plain.join(Path::new(FILES[i].0).file_name().unwrap()))
                .collect();
            let (expected, py_err) = python_dotenv(&sandbox, &plain_files, override_);
            // Not vacuous: python-dotenv did load something.
            assert!(
                expected.len() > base.len(),
                "{what}: python-dotenv set nothing"
            );
            let mut args = vec!["exec", "--key", key.to_str().unwrap()];
            if override_ {
                args.push("--override");
            }
            for &i in *case {
                args.extend(["--env", FILES[i].0]);
            }
            args.extend(["--", "env", "-0"]);
            let out = exec(&sandbox, &clone, &args);
            assert_success(&out, &what);
            let got = parse_env0(&out.stdout);
            for key in expected.keys().chain(got.keys()) {
                assert_eq!(got.get(key), expected.get(key), "{what}: variable {key:?}");
            }
            // The same statements are skipped, with a warning each.
            let warnings = stderr(&out)
                .lines()
                .filter(|l| l.contains("cannot parse"))
                .count();
            assert_eq!(
                warnings,
                py_err.matches("could not parse").count(),
                "{what}: {}",
                stderr(&out)
            );
        }
    }
    // Spot checks of what python-dotenv decided, so a shared mistake shows.
    let (env, _) = python_dotenv(&sandbox, &[plain.join("basic.env")], false);
    assert_eq!(env["PRESET"], "from-env");
    assert_eq!(env["REF_PRESET_AFTER"], "from-env");
    assert_eq!(env["SINGLE"], "single outer value \\n ' \\ end");
    assert_eq!(
        env["MULTI"],
        "line one\nline two\n  line three # not a comment"
    );
    assert!(!env.contains_key("NOVALUE"));
    let (env, _) = python_dotenv(&sandbox, &[plain.join("nasty.env")], false);
    assert_eq!(env["CR"], "a\nb");
    assert_eq!(env["NEXT"], "y");
    assert_eq!(env["AFTER_SQ"], "yes");
    assert_eq!(env["LAST"], "no final newline");
    let (env, _) = python_dotenv(&sandbox, &[plain.join("basic.env")], true);
    assert_eq!(env["REF_PRESET_AFTER"], "from-file");
    assert_eq!(env["DUP_REF"], "first");
}

#[test]
fn exec_in_a_locked_clone_writes_no_plaintext() {
    let sandbox = Sandbox::new();
    let (dir, key) = deploy(&sandbox, &[("secrets/app.env", "API_TOKEN=s3cr3t-exec\n")]);
    let clone = sandbox.open(dir);
    let tmp = sandbox.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let before = clone.snapshot();
    let out = sandbox
        .command(BIN, &clone.dir)
        .env("TMPDIR", &tmp)
        .args([
            "exec",
            "--env",
            "secrets/app.env",
            "--key",
            key.to_str().unwrap(),
        ])
        .args(["--", "sh", "-c", "printf %s \"$API_TOKEN\""])
        .output()
        .unwrap();
    assert_success(&out, "exec");
    assert_eq!(stdout(&out), "s3cr3t-exec");
    assert_eq!(stderr(&out), "");
    assert!(before == clone.snapshot(), "exec changed the clone");
    assert_eq!(clone.status(), "");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing in TMPDIR"
    );
    // From a subdirectory, with the key on standard input.
    std::fs::create_dir_all(clone.dir.join("sub")).unwrap();
    let out = run_with_stdin(
        sandbox
            .command(BIN, &clone.dir.join("sub"))
            .args(["exec", "--env", "../secrets/app.env", "--key", "-", "--"])
            .args(["sh", "-c", "printf %s \"$API_TOKEN\""]),
        &std::fs::read(&key).unwrap(),
    );
    assert_success(&out, "exec from sub with --key -");
    assert_eq!(stdout(&out), "s3cr3t-exec");
}

#[test]
fn exec_in_an_unlocked_clone_reads_the_work_tree() {
    let sandbox = Sandbox::new();
    let repo =
        sandbox.repo_with_secrets("alice", &[("secrets/app.env", b"API_TOKEN=plain-here\n")]);
    let before = repo.snapshot();
    let out = repo.secret(&[
        "exec",
        "--env",
        "secrets/app.env",
        "--",
        "sh",
        "-c",
        "echo \"$API_TOKEN\"",
    ]);
    assert_success(&out, "exec unlocked");
    assert_eq!(stdout(&out), "plain-here\n");
    assert!(before == repo.snapshot());
}

#[test]
fn exec_exits_with_the_status_and_signal_of_the_command() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/app.env", b"A=1\n")]);
    let out = repo.secret(&[
        "exec",
        "--env",
        "secrets/app.env",
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(stderr(&out), "");
    // Killed by a signal, as only a command that replaced us can be.
    let out = repo.secret(&[
        "exec",
        "--env",
        "secrets/app.env",
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]);
    assert_eq!(out.status.signal(), Some(15), "{:?}", out.status);
    // The signals it ignores are the caller's (ours ignore SIGPIPE); glibc's
    // internal ones (32 and up) depend on how a process was spawned.
    let ignored = |out: &Output| {
        assert_success(out, "sh");
        let mask = stdout(out)
            .trim()
            .trim_start_matches("SigIgn:")
            .trim()
            .to_owned();
        u64::from_str_radix(&mask, 16).unwrap() & 0x7fff_ffff
    };
    let script = ["-c", "grep SigIgn /proc/self/status"];
    let direct = sandbox
        .command("sh", &repo.dir)
        .args(script)
        .output()
        .unwrap();
    let out = repo.secret(&[
        "exec",
        "--env",
        "secrets/app.env",
        "--",
        "sh",
        script[0],
        script[1],
    ]);
    assert_eq!(ignored(&out), ignored(&direct));
}

#[test]
fn exec_of_a_missing_command_exits_127_like_a_shell() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/app.env", b"A=1\n")]);
    let out = repo.secret(&[
        "exec",
        "--env",
        "secrets/app.env",
        "--",
        "no-such-command-x",
        "arg",
    ]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr(&out),
        "git-secret: error: cannot run no-such-command-x: command not found\n"
    );
    repo.write("notexec.sh", "#!/bin/sh\n");
    let out = repo.secret(&["exec", "--env", "secrets/app.env", "--", "./notexec.sh"]);
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(
        stderr(&out),
        "git-secret: error: cannot run ./notexec.sh: Permission denied (os error 13)\n"
    );
}

/// Runs `exec` with `args` and a CMD that would leave a marker; asserts it
/// was refused with exactly `message`, ran nothing and changed nothing.
fn assert_exec_refused(repo: &Repo, args: &[&str], message: &str) {
    let marker = repo.sandbox.path().join("ran");
    let before = repo.snapshot();
    let mut all = vec!["exec"];
    all.extend(args);
    all.extend(["--", "touch", marker.to_str().unwrap()]);
    let out = repo.secret(&all);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), message, "{args:?}");
    assert_eq!(stdout(&out), "");
    assert!(!marker.exists(), "{args:?}: the command ran");
    assert!(
        before == repo.snapshot(),
        "{args:?}: changed the repository"
    );
}

#[test]
fn exec_refuses_unmarked_missing_and_unopenable_files() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/app.env", b"A=1\n")]);
    repo.write("plain.env", "A=1\n");
    assert_exec_refused(
        &repo,
        &["--env", "secrets/app.env", "--env", "plain.env"],
        "git-secret: error: plain.env is not marked for encryption in .gitattributes; \
         exec reads only marked files\n",
    );
    assert_exec_refused(
        &repo,
        &["--env", "secrets/app.env", "--env", "secrets/missing.env"],
        "git-secret: error: cannot read secrets/missing.env: No such file or directory (os error 2)\n",
    );
    repo.write("secrets/latin1.env", b"A=caf\xe9\n".as_slice());
    assert_exec_refused(
        &repo,
        &["--env", "secrets/latin1.env"],
        "git-secret: error: secrets/latin1.env is not UTF-8 text (line 1); \
         python-dotenv cannot read it either\n",
    );
    repo.write("secrets/eq.env", "A=1\n'B=C'=2\n");
    assert_exec_refused(
        &repo,
        &["--env", "secrets/eq.env"],
        "git-secret: error: secrets/eq.env, line 2: a variable name cannot contain '='; \
         touch was not run\n",
    );
    repo.write("secrets/nul.env", b"A=1\nB=\"x\0y\"\n".as_slice());
    assert_exec_refused(
        &repo,
        &["--env", "secrets/nul.env"],
        "git-secret: error: secrets/nul.env, line 2: a variable cannot contain a NUL character; \
         touch was not run\n",
    );
    let id = repo
        .secret_ok(&["keys"])
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let clone = sandbox.clone_repo(&repo, "locked");
    assert_exec_refused(
        &clone,
        &["--env", "secrets/app.env"],
        &format!(
            "git-secret: error: no key held here opens secrets/app.env (key id {id}); \
             pass the key file with --key FILE (or - for standard input), or unlock\n"
        ),
    );
}

#[test]
fn exec_without_env_or_command_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets("alice", &[("secrets/app.env", b"A=1\n")]);
    let marker = sandbox.path().join("ran");
    for args in [
        &["exec", "--", "touch", marker.to_str().unwrap()][..],
        &["exec", "--env", "secrets/app.env"][..],
        &[
            "exec",
            "--env",
            "secrets/app.env",
            "touch",
            marker.to_str().unwrap(),
        ][..],
    ] {
        let out = repo.secret(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!marker.exists());
    }
}

#[test]
fn exec_warns_about_invalid_lines_without_their_content() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo_with_secrets(
        "alice",
        &[(
            "secrets/app.env",
            b"A=1\nPASSWORD hunter2\n\nB=\"unterminated hunter3\nC=3\n",
        )],
    );
    let out = repo.secret(&[
        "exec",
        "--env",
        "secrets/app.env",
        "--",
        "sh",
        "-c",
        "echo $A$B$C",
    ]);
    assert_success(&out, "exec");
    assert_eq!(stdout(&out), "13\n");
    assert_eq!(
        stderr(&out),
        "git-secret: warning: secrets/app.env, line 2: python-dotenv cannot parse this statement; skipped\n\
         git-secret: warning: secrets/app.env, line 4: python-dotenv cannot parse this statement; skipped\n"
    );
}

/// Many generated files, each loaded by the real python-dotenv and by our
/// parser (in process): the same variables, refusals and number of skipped
/// statements, with and without override.
#[test]
fn dotenv_parser_agrees_with_python_dotenv_on_generated_files() {
    use git_secret::dotenv::{decode, parse, Environment};
    const PIECES: &[&str] = &[
        "A",
        "B_2",
        "é",
        "=",
        "=",
        " ",
        "\t",
        "\n",
        "\n",
        "\r\n",
        "\r",
        "'",
        "\"",
        "\\",
        "#",
        "export ",
        "export",
        "${A}",
        "${B_2:-d}",
        "${PRESET}",
        "${",
        "}",
        ":-",
        "$",
        "x y",
        "\u{feff}",
        "\u{a0}",
        "\u{1f}",
        "\u{2028}",
        "\\n",
        "\\'",
        "\\\"",
        "\\\\",
        "=#",
        " #c",
        "'k'",
        "\0",
        "v",
    ];
    const BASE: [(&str, &str); 4] = [
        ("LC_ALL", "C.UTF-8"),
        ("PYTHONCOERCECLOCALE", "0"),
        ("PRESET", "from-env"),
        ("A", "env-a"),
    ];
    const COUNT: usize = 1500;
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("gen");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    let mut texts = Vec::new();
    for i in 0..COUNT {
        let text: String = (0..1 + next(24))
            .map(|_| PIECES[next(PIECES.len())])
            .collect();
        std::fs::write(dir.join(i.to_string()), &text).unwrap();
        texts.push(text);
    }
    let script = r#"
import logging, os, sys
from dotenv import load_dotenv
class Count(logging.Handler):
    n = 0
    def emit(self, record):
        Count.n += 1
log = logging.getLogger('dotenv.main')
log.addHandler(Count())
log.propagate = False
d, count = sys.argv[1], int(sys.argv[2])
start = dict(os.environb)
for ov in (0, 1):
    for i in range(count):
        Count.n = 0
        os.environb.clear()
        os.environb.update(start)
        try:
            load_dotenv(os.path.join(d, str(i)), override=bool(ov))
            out = b''.join(k + b'=' + v + b'\0' for k, v in sorted(os.environb.items()))
        except ValueError:
            out = b'REFUSED'
        out = str(Count.n).encode() + b'\0' + out
        open(os.path.join(d, 'out', '%d-%d' % (ov, i)), 'wb').write(out)
"#;
    let out = Command::new(test_venv().join("bin/python"))
        .env_clear()
        .envs(BASE)
        .args(["-c", script, dir.to_str().unwrap(), &COUNT.to_string()])
        .output()
        .unwrap();
    assert_success(&out, "python-dotenv");
    let mut mismatches = Vec::new();
    for override_ in [false, true] {
        for (i, text) in texts.iter().enumerate() {
            let python =
                std::fs::read(dir.join("out").join(format!("{}-{i}", u8::from(override_))))
                    .unwrap();
            let (warned, python) = python.split_at(python.iter().position(|&b| b == 0).unwrap());
            let python = &python[1..];
            let bindings = parse(&decode(text.as_bytes()).unwrap());
            let skipped = bindings.iter().filter(|b| b.error).count().to_string();
            let mut env = Environment::new(BASE.map(|(k, v)| (k.into(), v.into())));
            let ours = match env.load(&bindings, override_) {
                Err(_) => b"REFUSED".to_vec(),
                Ok(()) => {
                    let mut vars: Vec<(&std::ffi::OsStr, &std::ffi::OsStr)> = env.vars().collect();
                    vars.sort();
                    vars.iter()
                        .flat_map(|(k, v)| {
                            [k.as_encoded_bytes(), b"=", v.as_encoded_bytes(), b"\0"].concat()
                        })
                        .collect()
                }
            };
            if ours != python || skipped.as_bytes() != warned {
                mismatches.push(format!(
                    "file {i} {text:?}, override {override_}:\n  python {:?} ({} skipped)\n  ours   {:?} ({skipped} skipped)",
                    String::from_utf8_lossy(python),
                    String::from_utf8_lossy(warned),
                    String::from_utf8_lossy(&ours),
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} loads differ:\n{}",
        mismatches.len(),
        2 * COUNT,
        mismatches
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Outside any repository (a deploy artifact, a CI job with the encrypted
/// file and a key), `--key` opens git-secret ciphertext as `view` does; a
/// plaintext file is refused there (nothing says it is meant to be secret),
/// and without `--key` exec says it needs a repository or a key.
#[test]
fn exec_outside_a_repository_reads_ciphertext_with_a_key_file() {
    let sandbox = Sandbox::new();
    let (clone, key) = deploy(&sandbox, &[("secrets/app.env", "API_TOKEN=t0k3n\n")]);
    let outside = sandbox.path().join("artifact");
    std::fs::create_dir(&outside).unwrap();
    std::fs::copy(clone.join("secrets/app.env"), outside.join("app.env.enc")).unwrap();
    std::fs::write(outside.join("plain.env"), "API_TOKEN=plain\n").unwrap();
    let key = key.to_str().unwrap();
    let out = exec(
        &sandbox,
        &outside,
        &[
            "exec",
            "--key",
            key,
            "--env",
            "app.env.enc",
            "--",
            "env",
            "-0",
        ],
    );
    assert_success(&out, "exec outside a repository");
    assert_eq!(
        parse_env0(&out.stdout).get("API_TOKEN").map(String::as_str),
        Some("t0k3n")
    );
    let before: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let refused = |args: &[&str], message: &str| {
        let out = exec(&sandbox, &outside, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), message, "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    };
    refused(
        &[
            "exec",
            "--key",
            key,
            "--env",
            "plain.env",
            "--",
            "touch",
            "ran",
        ],
        "git-secret: error: plain.env is not a git-secret encrypted file\n",
    );
    let out = exec(
        &sandbox,
        &outside,
        &["exec", "--env", "app.env.enc", "--", "touch", "ran"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("git-secret: error: not inside a git repository"),
        "{}",
        stderr(&out)
    );
    let after: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "nothing ran, nothing written");
}
