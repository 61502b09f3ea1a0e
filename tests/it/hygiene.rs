//! Secret hygiene: key material never shows up in messages or traces, key
//! files are private, and shared key files are warned about.

use crate::harness::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn key_material_never_appears_in_output_or_git_traces() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    let trace = sandbox.path().join("trace.log");
    let run = |args: &[&str]| {
        sandbox
            .command(BIN, &repo.dir)
            .env("GIT_TRACE", &trace)
            .env("GIT_TRACE_SETUP", &trace)
            .args(args)
            .output()
            .unwrap()
    };
    let mut transcript = Vec::new();
    let mut record = |out: std::process::Output| {
        transcript.extend_from_slice(&out.stderr);
        transcript.extend_from_slice(&out.stdout);
    };
    record(run(&["init"]));
    repo.mark_default();
    repo.write("secrets/a.env", "A=1\n");
    let add = sandbox
        .command("git", &repo.dir)
        .env("GIT_TRACE", &trace)
        .args(["add", "."])
        .output()
        .unwrap();
    record(add);
    repo.git(&["commit", "-qm", "a"]);
    let key_file = sandbox.path().join("k.key");
    record(run(&["export-key", key_file.to_str().unwrap()]));
    record(run(&["status"]));
    record(run(&["keys"]));
    record(run(&["lock"]));
    record(run(&["unlock", key_file.to_str().unwrap()]));
    record(run(&["unlock", key_file.to_str().unwrap()]));
    // A damaged copy of the key: the error must not echo the material.
    let text = std::fs::read_to_string(&key_file).unwrap();
    let material = text
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap()
        .to_owned();
    let damaged = text.replace(
        &material,
        &material.replacen(|c: char| c.is_ascii_alphabetic(), "0", 1),
    );
    let bad = sandbox.path().join("bad.key");
    std::fs::write(&bad, damaged).unwrap();
    record(run(&["unlock", bad.to_str().unwrap()]));

    let trace = std::fs::read(&trace).unwrap();
    assert!(!trace.is_empty(), "GIT_TRACE captured something");
    // The same key in hex, in case anything printed raw bytes as hex.
    let mut raw = [0u8; 32];
    <base64ct::Base64 as base64ct::Encoding>::decode(&material, &mut raw)
        .map(|_| ())
        .unwrap_or_else(|_| panic!("key decodes"));
    let hex_material: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for haystack in [&transcript, &trace] {
        assert!(
            !contains(haystack, material.as_bytes()),
            "base64 key material leaked"
        );
        assert!(
            !contains(haystack, hex_material.as_bytes()),
            "hex key material leaked"
        );
    }
}

#[test]
fn key_files_are_private_and_shared_ones_are_warned_about() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    let key_dir = repo.key_dir();
    assert_eq!(mode(&key_dir), 0o700);
    assert_eq!(mode(&key_dir.join("default.key")), 0o600);
    let exported = sandbox.path().join("team.key");
    repo.secret_ok(&["export-key", exported.to_str().unwrap()]);
    assert_eq!(mode(&exported), 0o600);
    std::fs::set_permissions(&exported, std::fs::Permissions::from_mode(0o644)).unwrap();
    let clone = sandbox.clone_repo(&repo, "clone");
    let out = clone.secret(&["unlock", exported.to_str().unwrap()]);
    assert_success(&out, "unlock");
    assert!(
        stderr(&out).contains("readable by other users"),
        "{}",
        stderr(&out)
    );
    // Only key files in the key dir.
    let names: Vec<String> = std::fs::read_dir(&key_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["default.key"]);
}
