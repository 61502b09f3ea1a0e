//! The long-running filter process, driven directly (as git would) and by git.

use crate::harness::*;
use git_secret::filter::client::{ClientReader, ClientWriter};

const SIZES: [usize; 7] = [0, 1, 65535, 65536, 65537, 3 * 65536 + 5, 1 << 20];

fn plaintext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// An unlocked repository to run the process in.
fn repo(sandbox: &Sandbox) -> Repo<'_> {
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo
}

/// git's side of a session: handshake, then one request per (command, path, content).
fn session(requests: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut git = ClientWriter::new(Vec::new());
    git.handshake().unwrap();
    for (command, path, content) in requests {
        git.request(command, path, &[], content).unwrap();
    }
    git.into_inner()
}

/// The responses after the handshake: (status, content) per request.
fn responses(out: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut filter = ClientReader::new(out);
    filter.handshake().unwrap();
    let mut result = Vec::new();
    while let Some(response) = filter.response().unwrap() {
        // One status line, then the flush.
        assert_eq!(response.status.len(), 1, "{response:?}");
        let status = response.trailer.last().unwrap_or(&response.status[0]);
        let status = String::from_utf8(status.clone()).unwrap();
        result.push((status, response.content.unwrap_or_default()));
    }
    result
}

#[test]
fn one_process_serves_clean_and_smudge_of_every_size() {
    let sandbox = Sandbox::new();
    let repo = repo(&sandbox);
    let files: Vec<Vec<u8>> = SIZES.iter().map(|&n| plaintext(n, n as u8)).collect();
    let cleans: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|f| ("clean", "secrets/f", &f[..]))
        .collect();
    let out = repo.secret_stdin(&["filter-process"], &session(&cleans));
    assert_success(&out, "filter-process");
    let blobs = responses(&out.stdout);
    assert_eq!(blobs.len(), SIZES.len());
    for ((status, blob), (size, plain)) in blobs.iter().zip(SIZES.iter().zip(&files)) {
        assert_eq!(status, "status=success");
        if *size == 0 {
            // An empty file is stored as git's empty blob.
            assert!(blob.is_empty(), "size 0");
            continue;
        }
        assert!(is_encrypted(blob), "size {size}");
        assert_eq!(
            blob.len(),
            59 + size + 16 * size.div_ceil(65536).max(1),
            "size {size}"
        );
        assert!(plain.len() < 64 || !contains(blob, &plain[..64]));
    }
    // The single-file clean gives the same bytes (deterministic).
    let single = repo.secret_stdin(&["clean", "--", "secrets/f"], &files[3]);
    assert_eq!(single.stdout, blobs[3].1);

    let smudges: Vec<(&str, &str, &[u8])> = blobs
        .iter()
        .map(|(_, b)| ("smudge", "secrets/f", &b[..]))
        .collect();
    let out = repo.secret_stdin(&["filter-process"], &session(&smudges));
    assert_success(&out, "filter-process smudge");
    let back = responses(&out.stdout);
    for ((status, plain), original) in back.iter().zip(&files) {
        assert_eq!(status, "status=success");
        assert_eq!(plain, original);
    }
}

/// git writes each packet separately and pauses between files; the process
/// spins briefly on its non-blocking pipe, then sleeps in poll(2). Packets
/// split across writes, pauses far longer than the spin, and pauses inside a
/// packet all give the same answers as one burst.
#[test]
fn requests_arriving_in_pieces_and_after_pauses_are_served() {
    use std::io::{Read, Write};
    use std::time::Duration;
    let sandbox = Sandbox::new();
    let repo = repo(&sandbox);
    let files: Vec<Vec<u8>> = [0, 5, 70_000].iter().map(|&n| plaintext(n, 9)).collect();
    let requests: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|f| ("clean", "secrets/f", &f[..]))
        .collect();
    let input = session(&requests);
    let burst = repo.secret_stdin(&["filter-process"], &input);
    assert_success(&burst, "filter-process");

    let mut child = spawn_piped(sandbox.command(BIN, &repo.dir).arg("filter-process"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut stdin = child.stdin.take().unwrap();
    for (i, piece) in input.chunks(3001).enumerate() {
        stdin.write_all(piece).unwrap();
        stdin.flush().unwrap();
        if i % 3 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(stdin);
    let out = reader.join().unwrap();
    assert!(child.wait().unwrap().success(), "filter-process failed");
    assert_eq!(responses(&out).len(), files.len());
    assert!(out == burst.stdout, "answers differ from the burst's");
}

#[test]
fn a_tampered_file_fails_alone_and_the_process_keeps_serving() {
    let sandbox = Sandbox::new();
    let repo = repo(&sandbox);
    let good = repo.secret_stdin(&["clean", "--", "a"], b"GOOD=1\n").stdout;
    let mut bad = repo
        .secret_stdin(&["clean", "--", "b"], &plaintext(70_000, 3))
        .stdout;
    let last = bad.len() - 1;
    bad[last] ^= 1; // the second chunk's tag
    let out = repo.secret_stdin(
        &["filter-process"],
        &session(&[
            ("smudge", "secrets/a", &good),
            ("smudge", "secrets/bad", &bad),
            ("smudge", "secrets/c", &good),
        ]),
    );
    assert_success(&out, "the process survives a bad file");
    let got = responses(&out.stdout);
    assert_eq!(got[0], ("status=success".to_owned(), b"GOOD=1\n".to_vec()));
    assert_eq!(got[1].0, "status=error", "the tampered file fails");
    assert_eq!(got[2], ("status=success".to_owned(), b"GOOD=1\n".to_vec()));
    let err = stderr(&out);
    assert!(
        err.contains("secrets/bad") && err.contains("tampered"),
        "{err}"
    );
    assert!(
        !err.contains("secrets/a:") && !err.contains("secrets/c:"),
        "{err}"
    );
}

#[test]
fn malformed_input_from_git_ends_the_process_with_a_message() {
    let sandbox = Sandbox::new();
    let repo = repo(&sandbox);
    for garbage in [&b"hello"[..], b"0009git-filter-client\n", b"zzzz", b"0004"] {
        let out = repo.secret_stdin(&["filter-process"], garbage);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{:?}",
            String::from_utf8_lossy(garbage)
        );
        assert!(stderr(&out).contains("filter-process"), "{}", stderr(&out));
    }
}

#[test]
fn git_add_and_checkout_of_many_files_spawn_one_filter_process() {
    let sandbox = Sandbox::new();
    let repo = repo(&sandbox);
    for (i, size) in SIZES.iter().enumerate() {
        repo.write(&format!("secrets/size{i}.bin"), plaintext(*size, i as u8));
    }
    for i in 0..100 {
        repo.write(&format!("secrets/small{i}.env"), format!("S{i}=x\n"));
    }
    let trace = sandbox.path().join("trace");
    let traced = |args: &[&str]| {
        let _ = std::fs::remove_file(&trace);
        let out = sandbox
            .command("git", &repo.dir)
            .env("GIT_TRACE", &trace)
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, &args.join(" "));
        let log = std::fs::read_to_string(&trace).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("run_command") && l.contains("filter-process"))
            .count()
    };
    assert_eq!(
        traced(&["add", "."]),
        1,
        "one process for every file git add cleans"
    );
    repo.git(&["commit", "-qm", "many"]);
    std::fs::remove_dir_all(repo.dir.join("secrets")).unwrap();
    assert_eq!(
        traced(&["checkout", "--", "secrets"]),
        1,
        "one process for every file checkout smudges"
    );
    for (i, size) in SIZES.iter().enumerate() {
        assert_eq!(
            repo.read(&format!("secrets/size{i}.bin")),
            plaintext(*size, i as u8)
        );
    }
    assert_eq!(repo.status(), "");
}

/// Past the filter's 8 MiB memory limit the content is spooled to disk and
/// hashed as it is spooled (issue 15): the blob git stores through the
/// filter process must be byte for byte what `clean` makes from a seekable
/// file (hashed and sealed in two reads) and from a pipe, and check out
/// as the plaintext.
#[test]
fn a_file_past_the_memory_limit_stores_the_same_blob_through_git_as_from_a_file() {
    let sandbox = Sandbox::new();
    let repo = repo(&sandbox);
    let data = plaintext((8 << 20) + (1 << 20) + 4321, 7);
    repo.write("secrets/big.bin", &data);
    repo.git(&["add", "secrets/big.bin"]);
    let stored = repo.stored(":secrets/big.bin");
    assert!(is_encrypted(&stored));

    let file = std::fs::File::open(repo.dir.join("secrets/big.bin")).unwrap();
    let out = sandbox
        .command(BIN, &repo.dir)
        .args(["clean", "--", "secrets/big.bin"])
        .stdin(file)
        .output()
        .unwrap();
    assert_success(&out, "clean from a file");
    assert!(
        out.stdout == stored,
        "clean from a file differs from git add"
    );
    let out = repo.secret_stdin(&["clean", "--", "secrets/big.bin"], &data);
    assert_success(&out, "clean from a pipe");
    assert!(
        out.stdout == stored,
        "clean from a pipe differs from git add"
    );

    std::fs::remove_file(repo.dir.join("secrets/big.bin")).unwrap();
    repo.git(&["checkout", "--", "secrets/big.bin"]);
    assert!(
        repo.read("secrets/big.bin") == data,
        "checkout gives back the plaintext"
    );
}
