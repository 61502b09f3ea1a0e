//! The Ansible deploy example (`examples/deploy`, issue 13), run with the
//! real `ansible-playbook` against localhost: in a locked clone the secrets
//! reach the target through the `git_secret` lookup (`git-secret view`) and
//! the checkout keeps only ciphertext; an unlocked clone deploys the same
//! files. Also `.gitattributes.example` and what `git archive` writes.

use crate::harness::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/deploy");

/// The example's secrets: exactly these are marked and stored encrypted.
const SECRETS: &[&str] = &[
    "deploy/files/.env.prod",
    "deploy/files/.env.staging",
    "deploy/vars/prod.yml",
    "deploy/vars/staging.yml",
    "docker_deploy.env",
    "docker_deploy.prod.yml",
    "docker_deploy.staging.yml",
];

/// Target file ← the example file it is a copy of.
const COPIES: &[(&str, &str)] = &[
    (".env", "deploy/files/.env.{env}"),
    ("docker-compose.yml", "docker_deploy.{env}.yml"),
    ("docker_deploy.env", "docker_deploy.env"),
];

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "__pycache__" {
            continue;
        }
        // Shipped as `gitattributes` so this repository does not mark the
        // example's fake secrets; a project copying it renames it.
        let name = if entry.file_name() == "gitattributes" {
            ".gitattributes".into()
        } else {
            entry.file_name()
        };
        let target = to.join(name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The example committed in a repository with the default key; returns the
/// repository (unlocked, as its author has it) and the exported key file.
fn origin(sandbox: &Sandbox) -> (Repo<'_>, PathBuf) {
    let repo = sandbox.init_repo("origin");
    repo.secret_ok(&["init"]);
    copy_dir(Path::new(EXAMPLE), &repo.dir);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "deploy project"]);
    let key = repo.keep_key();
    (repo, key)
}

/// Every fake secret value in the example (the words containing `FAKE`),
/// which must reach the target and nowhere else.
fn secret_values(origin: &Repo) -> Vec<String> {
    let mut values = Vec::new();
    for path in SECRETS {
        let text = String::from_utf8(origin.read(path)).unwrap();
        let found: Vec<String> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|w| w.contains("FAKE"))
            .map(str::to_owned)
            .collect();
        assert!(!found.is_empty(), "{path} holds no FAKE value to trace");
        values.extend(found);
    }
    values
}

/// ansible-playbook deploy.yml for `env` into `dest`, isolated from the
/// caller's Ansible setup; Ansible's temp dirs are `ansible-tmp/{local,remote}`
/// in the sandbox.
fn playbook(clone: &Repo, env: &str, dest: &Path, extra: &[(&str, &Path)]) -> Output {
    playbook_from(&clone.dir, clone, env, dest, extra)
}

/// `playbook` started in `cwd`.
fn playbook_from(
    cwd: &Path,
    clone: &Repo,
    env: &str,
    dest: &Path,
    extra: &[(&str, &Path)],
) -> Output {
    let tmp = clone.sandbox.path().join("ansible-tmp");
    let mut cmd = clone
        .sandbox
        .command(test_venv().join("bin/ansible-playbook"), cwd);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ANSIBLE_") {
            cmd.env_remove(&name);
        }
    }
    cmd.env("ANSIBLE_CONFIG", clone.dir.join("ansible.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", tmp.join("local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.join("remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("LC_ALL", "C.UTF-8")
        .env("GIT_SECRET", BIN)
        .arg(clone.dir.join("deploy.yml"))
        .args(["-vvv", "--diff", "-e"])
        .arg(format!("env={env}"))
        .arg("-e")
        .arg(format!("deploy_dir={}", dest.display()));
    for (name, value) in extra {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// What every successful deploy must leave: the target files with the
/// plaintext, mode 0600; a clean checkout whose blobs are all ciphertext;
/// no secret value in Ansible's output, its temp dirs or the home dir.
fn assert_deployed(origin: &Repo, clone: &Repo, env: &str, dest: &Path, out: &Output) {
    assert_success(out, "ansible-playbook");
    assert_eq!(mode(dest), 0o700, "the deploy directory is private");
    for (target, source) in COPIES {
        let source = source.replace("{env}", env);
        let file = dest.join(target);
        assert_eq!(fs::read(&file).unwrap(), origin.read(&source), "{target}");
        assert_eq!(mode(&file), 0o600, "{target}");
    }
    let vars = String::from_utf8(origin.read(&format!("deploy/vars/{env}.yml"))).unwrap();
    let var = |name: &str| {
        vars.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap()
            .to_owned()
    };
    let conf = fs::read_to_string(dest.join("app.conf")).unwrap();
    assert_eq!(
        conf,
        format!(
            "# Rendered by deploy.yml for {env} from deploy/vars/{env}.yml.\n[app]\n\
             domain = {}\nworkers = {}\n\n[smtp]\nuser = {}\npassword = {}\n",
            var("app_domain"),
            var("app_workers"),
            var("smtp_user"),
            var("smtp_password")
        )
    );
    assert_eq!(mode(&dest.join("app.conf")), 0o600);
    for path in SECRETS {
        assert!(
            is_encrypted(&clone.stored(&format!("HEAD:{path}"))),
            "{path} stored encrypted"
        );
    }
    assert_eq!(clone.status(), "", "the deploy leaves the checkout clean");
    let values = secret_values(origin);
    let output = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
    for value in &values {
        assert!(
            !contains(&output, value.as_bytes()),
            "Ansible's output shows {value}"
        );
    }
    let tmp = clone.sandbox.path().join("ansible-tmp");
    for dir in ["local", "remote"] {
        assert!(
            tmp.join(dir).is_dir(),
            "Ansible did not use its {dir} temp dir"
        );
    }
    assert_eq!(
        files_under(&tmp),
        Vec::<PathBuf>::new(),
        "Ansible left temp files"
    );
    for file in files_under(&clone.sandbox.home()) {
        let data = fs::read(&file).unwrap();
        for value in &values {
            assert!(!contains(&data, value.as_bytes()), "{value} in {file:?}");
        }
    }
}

/// A locked checkout: every marked file in the work tree is ciphertext, and
/// no work-tree file holds a secret value.
fn assert_locked_checkout(origin: &Repo, clone: &Repo) {
    for path in SECRETS {
        assert!(is_encrypted(&clone.read(path)), "{path} is ciphertext");
    }
    let values = secret_values(origin);
    for file in files_under(&clone.dir) {
        if file.starts_with(clone.dir.join(".git")) {
            continue;
        }
        let data = fs::read(&file).unwrap();
        for value in &values {
            assert!(!contains(&data, value.as_bytes()), "{value} in {file:?}");
        }
    }
}

#[test]
fn a_locked_clone_deploys_prod_with_a_key_file_and_keeps_only_ciphertext() {
    let sandbox = Sandbox::new();
    let (origin, key) = origin(&sandbox);
    let clone = sandbox.clone_repo(&origin, "ci");
    assert_locked_checkout(&origin, &clone);
    let dest = sandbox.path().join("target");
    // A relative key file is found from where ansible-playbook runs.
    let relative = key.strip_prefix(sandbox.path()).unwrap();
    let out = playbook_from(
        sandbox.path(),
        &clone,
        "prod",
        &dest,
        &[("GIT_SECRET_KEY_FILE", relative)],
    );
    assert_deployed(&origin, &clone, "prod", &dest, &out);
    assert_locked_checkout(&origin, &clone);
    assert!(!clone.key_dir().exists(), "the key was not installed");
}

#[test]
fn a_locked_clone_deploys_staging_with_the_key_from_the_ring() {
    let sandbox = Sandbox::new();
    let (origin, key) = origin(&sandbox);
    let clone = sandbox.clone_repo(&origin, "teammate");
    // unlock saves the key in the personal ring; lock removes it from the clone.
    clone.secret_ok(&["unlock", key.to_str().unwrap()]);
    clone.secret_ok(&["lock"]);
    assert_locked_checkout(&origin, &clone);
    let dest = sandbox.path().join("target");
    let out = playbook(&clone, "staging", &dest, &[]);
    assert_deployed(&origin, &clone, "staging", &dest, &out);
    assert_locked_checkout(&origin, &clone);
}

#[test]
fn an_unlocked_clone_deploys_the_same_files() {
    let sandbox = Sandbox::new();
    let (origin, key) = origin(&sandbox);
    let clone = sandbox.clone_repo(&origin, "laptop");
    clone.secret_ok(&["unlock", key.to_str().unwrap()]);
    for path in SECRETS {
        assert_eq!(clone.read(path), origin.read(path), "{path} is plaintext");
    }
    let dest = sandbox.path().join("target");
    let out = playbook(&clone, "prod", &dest, &[]);
    assert_deployed(&origin, &clone, "prod", &dest, &out);
}

#[test]
fn without_a_key_the_deploy_stops_before_writing_anything() {
    let sandbox = Sandbox::new();
    let (origin, _key) = origin(&sandbox);
    let clone = sandbox.clone_repo(&origin, "ci");
    let before = clone.snapshot();
    let dest = sandbox.path().join("target");
    let out = playbook(&clone, "prod", &dest, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let id = origin
        .secret_ok(&["keys"])
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let message = format!(
        "git_secret lookup: git-secret view deploy/vars/prod.yml failed (exit 1): \
         git-secret: error: no key held here opens deploy/vars/prod.yml (key id {id}); \
         pass the key file with --key FILE (or - for standard input), or unlock"
    );
    let output = stdout(&out) + &stderr(&out);
    assert!(output.contains(&message), "{output}");
    assert!(!dest.exists(), "nothing deployed");
    assert!(
        before == clone.snapshot(),
        "the failed deploy changed the clone"
    );
}

#[test]
fn an_unknown_environment_is_refused_before_anything_is_read() {
    let sandbox = Sandbox::new();
    let (origin, key) = origin(&sandbox);
    let clone = sandbox.clone_repo(&origin, "ci");
    let before = clone.snapshot();
    let dest = sandbox.path().join("target");
    let out = playbook(&clone, "dev", &dest, &[("GIT_SECRET_KEY_FILE", &key)]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let output = stdout(&out) + &stderr(&out);
    assert!(
        output.contains("choose the environment with -e env=prod or -e env=staging"),
        "{output}"
    );
    assert!(
        !output.contains("TASK [Read"),
        "stopped at the check: {output}"
    );
    assert!(!dest.exists(), "nothing deployed");
    assert!(
        before == clone.snapshot(),
        "the refused deploy changed the clone"
    );
}

#[test]
fn a_missing_git_secret_program_is_named_with_the_fix() {
    let sandbox = Sandbox::new();
    let (origin, key) = origin(&sandbox);
    let clone = sandbox.clone_repo(&origin, "ci");
    let dest = sandbox.path().join("target");
    let missing = sandbox.path().join("no-such-dir/git-secret");
    let out = playbook(
        &clone,
        "prod",
        &dest,
        &[("GIT_SECRET_KEY_FILE", &key), ("GIT_SECRET", &missing)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let message = format!(
        "git_secret lookup: cannot run '{}': not found or not executable; \
         install git-secret or set GIT_SECRET to its path",
        missing.display()
    );
    let output = stdout(&out) + &stderr(&out);
    assert!(output.contains(&message), "{output}");
    assert!(!dest.exists(), "nothing deployed");
}

#[test]
fn a_secret_that_is_not_text_is_refused_by_the_lookup() {
    let sandbox = Sandbox::new();
    let (origin, key) = origin(&sandbox);
    origin.write("deploy/vars/prod.yml", b"\xff\xfe binary\n");
    origin.git(&["commit", "-q", "-am", "binary vars"]);
    let clone = sandbox.clone_repo(&origin, "ci");
    let before = clone.snapshot();
    let dest = sandbox.path().join("target");
    let out = playbook(&clone, "prod", &dest, &[("GIT_SECRET_KEY_FILE", &key)]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        before == clone.snapshot(),
        "the failed deploy changed the clone"
    );
    let output = stdout(&out) + &stderr(&out);
    assert!(
        output.contains(
            "git_secret lookup: deploy/vars/prod.yml is not UTF-8 text; \
             the lookup returns text only"
        ),
        "{output}"
    );
    assert!(!dest.exists(), "nothing deployed");
}

#[test]
fn the_example_encrypts_every_secret_and_not_the_sample() {
    let sandbox = Sandbox::new();
    let (origin, _key) = origin(&sandbox);
    let tracked = origin.git(&["ls-files"]);
    let mut encrypted = Vec::new();
    for path in tracked.lines() {
        if is_encrypted(&origin.stored(&format!("HEAD:{path}"))) {
            encrypted.push(path);
        }
    }
    assert_eq!(
        encrypted, SECRETS,
        "exactly the secrets are stored encrypted"
    );
    let sample = "deploy/files/.env.sample";
    assert_eq!(
        origin.stored(&format!("HEAD:{sample}")),
        fs::read(Path::new(EXAMPLE).join(sample)).unwrap(),
        "the sample is stored as it is"
    );
    let attrs = origin.git(&["check-attr", "filter", "export-ignore", "--", sample]);
    assert_eq!(
        attrs,
        format!("{sample}: filter: unspecified\n{sample}: export-ignore: unspecified\n")
    );
    for path in SECRETS {
        let attrs = origin.git(&["check-attr", "filter", "export-ignore", "--", path]);
        assert_eq!(
            attrs,
            format!("{path}: filter: git-secret\n{path}: export-ignore: set\n")
        );
    }
}

/// `.gitattributes.example` at the top of a repository holding the deploy
/// layout and the usual env, key and certificate files: exactly the secrets
/// are marked (and kept out of `git archive`), the templates are not.
#[test]
fn gitattributes_example_marks_exactly_the_intended_files() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("project");
    let example = fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.gitattributes.example"
    ))
    .unwrap();
    repo.write(".gitattributes", &example);
    let marked = [
        "docker_deploy.env",
        "docker_deploy.prod.yml",
        "docker_deploy.staging.yml",
        "deploy/vars/prod.yml",
        "deploy/vars/staging.yml",
        "deploy/files/.env.prod",
        "deploy/files/.env.staging",
        ".env",
        ".env.local",
        "app/.env",
        "app/.env.production",
        "config/prod.env",
        "certs/server.key",
        "certs/server.pem",
        "certs/client.p12",
        "certs/client.pfx",
        "keystore.jks",
        "home/.ssh/id_rsa",
        "home/.ssh/id_ed25519",
        "secrets/api-token",
        "secrets/nested/db.json",
    ];
    let unmarked = [
        ".gitattributes",
        "README.md",
        "deploy.yml",
        "inventory.ini",
        "deploy/files/.env.sample",
        "deploy/files/.env.example",
        "deploy/files/.env.template",
        ".env.sample",
        ".env.example",
        ".env.template",
        "app/.env.example",
        "app/.env.template",
        "deploy/vars/prod.yml.j2",
        "home/.ssh/id_rsa.pub",
        "home/.ssh/id_ed25519.pub",
        "docker_deploy.yml",
        "docker-compose.yml",
    ];
    for path in marked.iter().chain(&unmarked) {
        let out = repo.git(&[
            "check-attr",
            "filter",
            "diff",
            "merge",
            "text",
            "export-ignore",
            "--",
            path,
        ]);
        let is_marked = marked.contains(path);
        let expected = if is_marked {
            format!(
                "{path}: filter: git-secret\n{path}: diff: git-secret\n{path}: merge: git-secret\n\
                 {path}: text: unset\n{path}: export-ignore: set\n"
            )
        } else {
            format!(
                "{path}: filter: unspecified\n{path}: diff: unspecified\n{path}: merge: unspecified\n\
                 {path}: text: unspecified\n{path}: export-ignore: unspecified\n"
            )
        };
        assert_eq!(
            out,
            expected,
            "{path} should be {}",
            if is_marked { "marked" } else { "left alone" }
        );
    }
}

/// The regular files of a tar archive, by name (git archive writes short
/// names in the ustar header, and a pax header first).
fn tar_files(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        let header = &tar[at..at + 512];
        let name = String::from_utf8_lossy(&header[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size = std::str::from_utf8(&header[124..136])
            .unwrap()
            .trim_matches(|c: char| c == '\0' || c == ' ');
        let size = usize::from_str_radix(size, 8).unwrap();
        let data = tar[at + 512..at + 512 + size].to_vec();
        if header[156] == b'0' || header[156] == 0 {
            files.push((name, data));
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    files
}

fn archive(repo: &Repo) -> Vec<(String, Vec<u8>)> {
    let out = repo.git_output(&["archive", "--format=tar", "HEAD"]);
    assert_success(&out, "git archive");
    tar_files(&out.stdout)
}

/// README's claim, measured: `git archive` in an unlocked clone writes the
/// plaintext, in a locked one the ciphertext; export-ignore keeps the
/// secrets out of both.
#[test]
fn git_archive_writes_plaintext_when_unlocked_unless_export_ignore() {
    let sandbox = Sandbox::new();
    let (origin, _key) = origin(&sandbox);
    let locked = sandbox.clone_repo(&origin, "locked");
    for repo in [&origin, &locked] {
        let names: Vec<String> = archive(repo).into_iter().map(|(n, _)| n).collect();
        assert!(
            names.contains(&"deploy/files/.env.sample".to_owned()),
            "{names:?}"
        );
        assert!(names.contains(&"deploy.yml".to_owned()), "{names:?}");
        for secret in SECRETS {
            assert!(!names.contains(&secret.to_string()), "{secret} archived");
        }
    }
    // Without export-ignore (info/attributes overrides .gitattributes):
    let path = "deploy/vars/prod.yml";
    for repo in [&origin, &locked] {
        repo.write(".git/info/attributes", format!("{path} -export-ignore\n"));
    }
    let find = |repo: &Repo| {
        archive(repo)
            .into_iter()
            .find(|(n, _)| n == path)
            .map(|(_, data)| data)
            .unwrap()
    };
    assert_eq!(find(&origin), origin.read(path), "unlocked: the plaintext");
    assert_eq!(
        find(&locked),
        origin.stored(&format!("HEAD:{path}")),
        "locked: the ciphertext"
    );
}
