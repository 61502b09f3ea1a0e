//! Hostile input: the fuzz corpora run as ordinary tests, a bounded
//! deterministic property test of the blob decoder (truncation, extension,
//! reordering, flipped bits, versions, foreign keys), damaged key files, a
//! directory or FIFO given as key file, and a tampered blob smudged by the
//! real binary.

use crate::fuzzing;
use crate::harness::*;
use git_secret::crypto::{KeyId, Subkeys, TAG_LEN};
use git_secret::format::{self, FormatError, Header, CHUNK_LEN, HEADER_LEN, MAGIC};
use git_secret::key::{format_key_file, parse_key_file, Key};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const SEALED: usize = CHUNK_LEN + TAG_LEN;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
        .join(target)
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Runs every file of `fuzz/corpus/<target>/` through `run`; returns the count.
fn run_corpus(target: &str, run: fn(&[u8])) -> usize {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in &files {
        let data = match fs::read(file) {
            Ok(data) => data,
            // A fuzzer running on this corpus replaces files with smaller ones.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot read {}: {e}", file.display()),
        };
        ran += 1;
        if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fuzz corpus files fail:\n{}",
        failures.len(),
        ran,
        failures.join("\n")
    );
    ran
}

#[test]
fn blob_corpus() {
    let n = run_corpus("blob", fuzzing::blob);
    assert!(n >= 15, "only {n} blob corpus files");
}

#[test]
fn key_file_corpus() {
    let n = run_corpus("key_file", fuzzing::key_file);
    assert!(n >= 28, "only {n} key file corpus files");
}

#[test]
fn dotenv_corpus() {
    let n = run_corpus("dotenv", fuzzing::dotenv);
    assert!(n >= 5, "only {n} dotenv corpus files");
}

#[test]
fn pktline_corpus() {
    let n = run_corpus("pktline", fuzzing::pktline);
    assert!(n >= 4, "only {n} pkt-line corpus files");
}

/// What a damaged blob must give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Does not start with the magic: plaintext to smudge, not an error (FORMAT.md 3.2).
    NotABlob,
    TruncatedHeader,
    Version(u8),
    UnknownKey(KeyId),
    MissingFinalChunk,
    /// The first chunk that fails.
    Auth(u64),
}

/// Blobs up to this size also go through every check of the fuzz target
/// (which decodes each several ways); larger ones get one streaming decode,
/// to keep the suite fast in debug builds (about 4 MB/s).
const FULL_CHECK_LEN: usize = 4096;

/// Asserts the error a decoder holding [`fuzzing::KEY`] gives for a damaged
/// blob, and that it wrote nothing but whole chunks before the failing one.
/// Small blobs also go through the fuzz target's checks (no panic, decoders
/// agree, smudge behaves the same).
fn check(data: &[u8], expect: Expect, what: &str) {
    if data.len() <= FULL_CHECK_LEN {
        fuzzing::blob(data);
    }
    let keys = fuzzing::subkeys();
    let mut out = Vec::new();
    let result = Header::parse(data).and_then(|header| match header {
        None => Ok(None),
        Some(header) => format::decrypt(
            &header,
            |id| (*id == keys.id()).then_some(&keys),
            &mut &data[HEADER_LEN..],
            &mut out,
        )
        .map(Some),
    });
    let ok = match (expect, &result) {
        (Expect::NotABlob, Ok(None)) => true,
        (Expect::TruncatedHeader, Err(FormatError::TruncatedHeader)) => true,
        (Expect::Version(v), Err(FormatError::UnsupportedVersion(w))) => v == *w,
        (Expect::UnknownKey(id), Err(FormatError::UnknownKey(got))) => id == *got,
        (Expect::MissingFinalChunk, Err(FormatError::MissingFinalChunk)) => true,
        (Expect::Auth(i), Err(FormatError::Authentication(j))) => i == *j,
        _ => false,
    };
    let shown = match &result {
        Ok(None) => "not a blob".to_owned(),
        Ok(Some(())) => format!("Ok ({} bytes)", out.len()),
        Err(e) => format!("Err({e:?}): {e}"),
    };
    assert!(ok, "{what}: expected {expect:?}, got {shown}");
    if let Expect::Auth(i) = expect {
        assert!(
            out.len() % CHUNK_LEN == 0 && out.len() <= i as usize * CHUNK_LEN,
            "{what}: {} bytes of output before chunk {i} failed",
            out.len()
        );
    } else {
        assert!(out.is_empty(), "{what}: output without a chunk");
    }
}

/// The blob with its chunks replaced by `chunks` (sealed chunks, in order).
fn with_chunks(blob: &[u8], chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = blob[..HEADER_LEN].to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out
}

const SIZES: [usize; 6] = [0, 1, 100, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN + 7];

#[test]
fn damaged_blobs_are_rejected_with_the_right_error() {
    let keys = fuzzing::subkeys();
    for size in SIZES {
        let plain = plaintext(size);
        let blob = fuzzing::encrypt(&plain);
        let n = size.div_ceil(CHUNK_LEN).max(1);
        assert_eq!(blob.len(), HEADER_LEN + size + n * TAG_LEN);
        fuzzing::blob(&blob);
        let back = format::decrypt_bytes(&blob, |_| Some(&keys)).unwrap();
        assert_eq!(back.as_deref(), Some(&plain[..]), "size {size} round trip");
        let chunks: Vec<&[u8]> = blob[HEADER_LEN..].chunks(SEALED).collect();
        assert_eq!(chunks.len(), n);
        let last = (n - 1) as u64;

        // Truncation at, just before and just after every boundary.
        let mut boundaries = vec![0, MAGIC.len(), MAGIC.len() + 1, HEADER_LEN, blob.len()];
        boundaries.extend((1..n).map(|i| HEADER_LEN + i * SEALED));
        for boundary in boundaries {
            for cut in [boundary.wrapping_sub(1), boundary, boundary + 1] {
                if cut >= blob.len() {
                    continue;
                }
                let expect = if cut < MAGIC.len() {
                    Expect::NotABlob
                } else if cut < HEADER_LEN {
                    Expect::TruncatedHeader
                } else if cut == HEADER_LEN {
                    Expect::MissingFinalChunk
                } else {
                    Expect::Auth(((cut - HEADER_LEN - 1) / SEALED) as u64)
                };
                check(&blob[..cut], expect, &format!("size {size} cut at {cut}"));
            }
        }

        // Extension by one byte, by a copy of a chunk, by zeros the size of a chunk.
        let mut extended = blob.clone();
        extended.push(0);
        check(
            &extended,
            Expect::Auth(last),
            &format!("size {size} + 1 byte"),
        );
        let mut extended = blob.clone();
        extended.extend_from_slice(chunks[0]);
        check(
            &extended,
            Expect::Auth(last),
            &format!("size {size} + chunk 0"),
        );
        let mut extended = blob.clone();
        extended.extend(std::iter::repeat_n(0u8, SEALED));
        check(
            &extended,
            Expect::Auth(last),
            &format!("size {size} + zero chunk"),
        );

        // Chunks swapped, and the last chunk moved to the front.
        for i in 0..n {
            for j in i + 1..n {
                let mut order = chunks.clone();
                order.swap(i, j);
                let swapped = with_chunks(&blob, &order);
                // Chunks of unequal size shift the framing from chunk i on.
                check(
                    &swapped,
                    Expect::Auth(i as u64),
                    &format!("size {size} swap {i} {j}"),
                );
            }
        }
        if n > 1 {
            let mut order = chunks.clone();
            order.rotate_right(1);
            check(
                &with_chunks(&blob, &order),
                Expect::Auth(0),
                &format!("size {size} rotated"),
            );
        }

        // One bit flipped in the first and last byte of each header field.
        let id_at = MAGIC.len() + 1;
        let nonce_at = id_at + 16;
        for (field, range, expect) in [
            ("magic", 0..MAGIC.len(), Expect::NotABlob),
            (
                "key id",
                id_at..nonce_at,
                Expect::UnknownKey(KeyId([0; 16])),
            ),
            ("nonce", nonce_at..HEADER_LEN, Expect::Auth(0)),
        ] {
            for (pos, bit) in [(range.start, 0x01u8), (range.end - 1, 0x80)] {
                let mut bad = blob.clone();
                bad[pos] ^= bit;
                let expect = match expect {
                    Expect::UnknownKey(_) => {
                        Expect::UnknownKey(Header::parse(&bad).unwrap().unwrap().key_id)
                    }
                    other => other,
                };
                check(
                    &bad,
                    expect,
                    &format!("size {size} {field} byte {pos} ^ {bit:#x}"),
                );
                if field == "key id" {
                    // Held under the flipped id, the key still fails: the header is the AAD.
                    let mapped = format::decrypt_bytes(&bad, |_| Some(&keys));
                    assert!(
                        matches!(mapped, Err(FormatError::Authentication(0))),
                        "size {size} {field}"
                    );
                }
            }
        }
        for version in [0u8, 2, 0x81, 0xff] {
            let mut bad = blob.clone();
            bad[MAGIC.len()] = version;
            check(
                &bad,
                Expect::Version(version),
                &format!("size {size} version {version}"),
            );
            let err = format::decrypt_bytes(&bad, |_| Some(&keys)).unwrap_err();
            assert!(
                err.to_string().contains(&format!("version {version}")),
                "{err}"
            );
        }

        // One bit flipped in the first and the last byte of every chunk.
        for (i, chunk) in chunks.iter().enumerate() {
            let start = HEADER_LEN + i * SEALED;
            let end = start + chunk.len();
            for pos in [start, end - 1] {
                let mut bad = blob.clone();
                bad[pos] ^= 0x04;
                check(
                    &bad,
                    Expect::Auth(i as u64),
                    &format!("size {size} chunk {i} byte {pos}"),
                );
            }
        }

        // Encrypted with a key we do not hold: named in the error.
        let other = Subkeys::derive(&[0xa5; 32]);
        let foreign = format::encrypt_bytes(&other, &plain);
        check(
            &foreign,
            Expect::UnknownKey(other.id()),
            &format!("size {size} foreign key"),
        );
        let err = format::decrypt_bytes(&foreign, |id| (*id == keys.id()).then_some(&keys))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&other.id().to_string()), "{err}");
        // ... and a decoder that wrongly uses our key for it still fails.
        let mapped = format::decrypt_bytes(&foreign, |_| Some(&keys));
        assert!(matches!(mapped, Err(FormatError::Authentication(0))));
    }
}

/// Blobs that only a key holder can make, which the decoder must still
/// refuse or which show what it accepts: an empty final chunk after a full
/// one (no encoder makes it), and a nonce that is not the keyed hash of the
/// plaintext (FORMAT.md 3.2: decoders do not recompute it).
#[test]
fn blobs_crafted_with_the_key() {
    let keys = fuzzing::subkeys();
    let plain = plaintext(CHUNK_LEN);
    let blob = fuzzing::encrypt(&plain);
    let header = Header::parse(&blob).unwrap().unwrap();
    let aad = header.to_bytes();
    let cipher = keys.file_cipher(&header.nonce);
    let mut first = plain.clone();
    cipher.seal_chunk(0, false, &aad, &mut first);
    let mut empty = Vec::new();
    cipher.seal_chunk(1, true, &aad, &mut empty);
    let crafted = with_chunks(&blob, &[&first, &empty]);
    check(
        &crafted,
        Expect::Auth(1),
        "empty final chunk after a full one",
    );
    let mut sink = Vec::new();
    let result = format::decrypt(
        &header,
        |_| Some(&keys),
        &mut &crafted[HEADER_LEN..],
        &mut sink,
    );
    assert!(matches!(result, Err(FormatError::Authentication(1))));
    assert!(
        sink.is_empty(),
        "nothing of a damaged 2-chunk file is written"
    );

    // Sealed under the nonce of another plaintext: accepted, since decoders do
    // not recompute the nonce (FORMAT.md 3.2), but not the canonical blob, so
    // only a key holder can make a second blob with the same plaintext.
    let other = fuzzing::encrypt(b"another plaintext");
    let header = Header::parse(&other).unwrap().unwrap();
    let aad = header.to_bytes();
    let mut chunk = b"x".to_vec();
    keys.file_cipher(&header.nonce)
        .seal_chunk(0, true, &aad, &mut chunk);
    let crafted = with_chunks(&other, &[&chunk]);
    let opened = format::decrypt_bytes(&crafted, |_| Some(&keys)).unwrap();
    assert_eq!(opened.as_deref(), Some(&b"x"[..]));
    assert_ne!(crafted, fuzzing::encrypt(b"x"));
}

/// `len` pseudo-random bytes (xorshift), so no window of one chunk repeats in another.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A character in the same alphabet as `c` (base64, hex, name, digits), but different.
fn typo(c: u8) -> u8 {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    match c {
        b'0'..=b'8' | b'a'..=b'e' => c + 1,
        b'9' => b'0',
        b'f' => b'a',
        b'=' => b'A',
        _ => match ALPHABET.iter().position(|&a| a == c) {
            Some(i) => ALPHABET[(i + 1) % ALPHABET.len()],
            None => b'x',
        },
    }
}

#[test]
fn key_file_with_a_wrong_character() {
    let key = Key::from_material("default", 1, Zeroizing::new(fuzzing::KEY)).unwrap();
    let text = format_key_file(&[&key]).to_string();
    let line_of = |field: &str| {
        let start = text.find(&format!("\n{field}: ")).unwrap() + 1;
        start..start + text[start..].find('\n').unwrap()
    };
    let material = &text[line_of("key")][5..];
    let mut tried = 0;
    for field in ["key", "id", "name", "generation"] {
        let line = line_of(field);
        let value_at = line.start + field.len() + 2;
        for pos in line {
            let original = text.as_bytes()[pos];
            for replacement in [typo(original), b'!', b' ', b'\t'] {
                if replacement == original {
                    continue;
                }
                let mut bad = text.clone().into_bytes();
                bad[pos] = replacement;
                // No panic, the error names the file and shows no key material.
                fuzzing::key_file(&bad);
                tried += 1;
                let what = format!(
                    "{field} line, byte {pos} {:?} -> {:?}",
                    original as char, replacement as char
                );
                let in_value = pos >= value_at;
                let keys = match parse_key_file(&bad, "typo.key") {
                    Err(e) => {
                        let msg = format!("{e:#}");
                        assert!(msg.contains("typo.key"), "{what}: {msg}");
                        assert!(
                            !msg.contains(&material[..43]),
                            "{what}: leaks the key: {msg}"
                        );
                        if in_value && matches!(field, "key" | "id") {
                            let expected = ["does not match", "damaged", "32 lowercase hex"];
                            assert!(expected.iter().any(|m| msg.contains(m)), "{what}: {msg}");
                        }
                        continue;
                    }
                    Ok(keys) => keys,
                };
                assert_eq!(keys.len(), 1, "{what}");
                let got = &keys[0];
                assert_eq!(got.id(), key.id(), "{what}: accepted as another key");
                if in_value && matches!(field, "key" | "id") {
                    // The id is checked against the key material: any change is caught.
                    panic!("{what}: a damaged {field} was accepted");
                }
                if (got.name(), got.generation()) == (key.name(), key.generation()) {
                    // Only whitespace around a value may change without effect.
                    assert!(replacement.is_ascii_whitespace(), "{what}: accepted");
                } else {
                    // Name and generation are not bound to the material (FORMAT.md 4):
                    // a typo in them gives a key that visibly differs, in that field only.
                    match field {
                        "name" => assert_eq!(got.generation(), key.generation(), "{what}"),
                        "generation" => assert_eq!(got.name(), key.name(), "{what}"),
                        _ => panic!("{what}: accepted with another name or generation"),
                    }
                }
            }
        }
    }
    assert!(tried >= 100, "only {tried} variants");
}

/// An unlocked-then-locked repository holding `secrets/x`, and its exported key file.
fn locked_repo(sandbox: &Sandbox) -> (Repo<'_>, PathBuf) {
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    repo.write("secrets/x", "password=hunter2\n");
    repo.git(&["add", "secrets/x"]);
    repo.git(&["commit", "-q", "-m", "secret"]);
    let key_file = sandbox.path().join("exported.key");
    repo.secret_ok(&["export-key", key_file.to_str().unwrap()]);
    repo.secret_ok(&["lock"]);
    assert!(is_encrypted(&repo.read("secrets/x")));
    (repo, key_file)
}

/// Runs `git-secret unlock PATH`, failing the test if it does not end within 20 s.
fn unlock_with_deadline(repo: &Repo, path: &Path) -> std::process::Output {
    let mut child = repo
        .sandbox
        .command(BIN, &repo.dir)
        .arg("unlock")
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("git-secret unlock {} hangs", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn unlock_refuses_a_directory_a_fifo_and_a_damaged_key_file() {
    let sandbox = Sandbox::new();
    let (repo, key_file) = locked_repo(&sandbox);
    let before = repo.snapshot();

    let dir = sandbox.path().join("keys.d");
    fs::create_dir(&dir).unwrap();
    let out = unlock_with_deadline(&repo, &dir);
    assert_refused(&out, "not a regular file");
    assert!(stderr(&out).contains("keys.d"), "{}", stderr(&out));
    assert_eq!(
        repo.snapshot(),
        before,
        "a directory as key file changed the repo"
    );

    let fifo = sandbox.path().join("key.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    let out = unlock_with_deadline(&repo, &fifo);
    assert_refused(&out, "not a regular file");
    assert!(stderr(&out).contains("key.fifo"), "{}", stderr(&out));
    assert_eq!(
        repo.snapshot(),
        before,
        "a FIFO as key file changed the repo"
    );

    // One wrong character in the key material.
    let text = fs::read_to_string(&key_file).unwrap();
    let material = text.lines().find_map(|l| l.strip_prefix("key: ")).unwrap();
    let mut damaged = material.as_bytes().to_vec();
    damaged[20] = typo(damaged[20]);
    let damaged = String::from_utf8(damaged).unwrap();
    let typo_file = sandbox.path().join("typo.key");
    fs::write(&typo_file, text.replace(material, &damaged)).unwrap();
    let out = unlock_with_deadline(&repo, &typo_file);
    assert_refused(&out, "does not match");
    assert!(stderr(&out).contains("typo.key"), "{}", stderr(&out));
    for m in [material, &damaged] {
        assert!(
            !stderr(&out).contains(&m[..43]),
            "key material in: {}",
            stderr(&out)
        );
    }
    assert!(out.stdout.is_empty());
    assert_eq!(
        repo.snapshot(),
        before,
        "a damaged key file changed the repo"
    );

    // The real key still works.
    let out = unlock_with_deadline(&repo, &key_file);
    assert_success(&out, "unlock");
    assert_eq!(repo.read("secrets/x"), b"password=hunter2\n");
}

#[test]
fn smudge_of_a_tampered_blob_prints_no_plaintext_of_it() {
    let sandbox = Sandbox::new();
    let repo = sandbox.init_repo("r");
    repo.secret_ok(&["init"]);
    repo.mark_default();
    let path = "secrets/x";
    let smudge = |blob: &[u8]| repo.secret_stdin(&["smudge", "--", path], blob);
    // 4 chunks: held back whole, nothing may reach stdout. 34 chunks: more
    // than the 2 MiB held back, so chunks authenticated before the failing
    // one may already be on stdout (git discards the output of a failed filter).
    for (len, tampered, intact) in [
        (3 * CHUNK_LEN + 7, vec![0, 1, 3], true),
        (34 * CHUNK_LEN - 3, vec![33], false),
    ] {
        let plain = noise(len, len as u64);
        let out = repo.secret_stdin(&["clean", "--", path], &plain);
        assert_success(&out, "clean");
        let blob = out.stdout;
        let n = len.div_ceil(CHUNK_LEN);
        assert_eq!(blob.len(), HEADER_LEN + len + n * TAG_LEN);
        if intact {
            let out = smudge(&blob);
            assert_success(&out, "smudge");
            assert!(out.stdout == plain, "smudge of the intact blob");
        }

        let mut cases: Vec<(String, Vec<u8>, usize)> = Vec::new();
        for &i in &tampered {
            let mut bad = blob.clone();
            bad[HEADER_LEN + i * SEALED + 5] ^= 0x20;
            cases.push((format!("chunk {i} flipped"), bad, i));
        }
        if intact {
            let mut bad = blob.clone();
            bad[HEADER_LEN - 1] ^= 1;
            cases.push(("nonce flipped".into(), bad, 0));
            cases.push((
                "last chunk dropped".into(),
                blob[..HEADER_LEN + (n - 1) * SEALED].to_vec(),
                n - 2,
            ));
        }
        for (what, bad, failing) in cases {
            let out = smudge(&bad);
            let err = stderr(&out);
            assert!(!out.status.success(), "{len}: {what}: smudge succeeded");
            assert!(err.contains(path), "{len}: {what}: file not named: {err}");
            assert!(
                err.contains(&format!("chunk {failing} ")),
                "{len}: {what}: {err}"
            );
            // At most whole chunks authenticated before the failing one...
            let printed = &out.stdout;
            if len <= 2 << 20 {
                assert!(printed.is_empty(), "{len}: {what}: output not held back");
            }
            assert!(
                printed.len() % CHUNK_LEN == 0
                    && printed.len() <= failing * CHUNK_LEN
                    && plain.starts_with(printed),
                "{len}: {what}: {} bytes on stdout",
                printed.len()
            );
            // ... and nothing of the failing chunk.
            let start = failing * CHUNK_LEN;
            let chunk = &plain[start..(start + CHUNK_LEN).min(len)];
            for window in chunk.chunks(4096) {
                assert!(
                    !contains(printed, &window[..32.min(window.len())]),
                    "{len}: {what}"
                );
            }
        }
    }
}

/// Regenerates the seed files of `fuzz/corpus/{blob,key_file}/` (files the
/// fuzzer added are left alone): `cargo test -- --ignored write_seed_corpus`.
#[test]
#[ignore]
fn write_seed_corpus() {
    let valid_1 = fuzzing::encrypt(b"x");
    let mut blobs: Vec<(String, Vec<u8>)> = [0, 1, 100, CHUNK_LEN, CHUNK_LEN + 1]
        .into_iter()
        .map(|n| (format!("seed-valid-{n}"), fuzzing::encrypt(&plaintext(n))))
        .collect();
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut blob = valid_1.clone();
        f(&mut blob);
        blob
    };
    let two_chunks = fuzzing::encrypt(&plaintext(CHUNK_LEN + 1));
    let other_key = format::encrypt_bytes(&Subkeys::derive(&[0xee; 32]), b"x");
    for (name, blob) in [
        ("plaintext", b"hello world\n".to_vec()),
        ("empty", Vec::new()),
        ("magic-only", MAGIC.to_vec()),
        (
            "git-crypt",
            [&git_secret::gitcrypt::BLOB_MAGIC[..], b"123456789012abc"].concat(),
        ),
        ("truncated-header", valid_1[..HEADER_LEN - 1].to_vec()),
        ("header-only", valid_1[..HEADER_LEN].to_vec()),
        ("short-chunk", valid_1[..HEADER_LEN + TAG_LEN - 1].to_vec()),
        ("version-2", with(&|b| b[MAGIC.len()] = 2)),
        ("version-ff", with(&|b| b[MAGIC.len()] = 0xff)),
        ("flipped-key-id", with(&|b| b[MAGIC.len() + 1] ^= 1)),
        ("flipped-nonce", with(&|b| b[HEADER_LEN - 1] ^= 0x80)),
        ("flipped-tag", with(&|b| *b.last_mut().unwrap() ^= 1)),
        ("appended-byte", with(&|b| b.push(0))),
        ("other-key", other_key),
        (
            "first-chunk-only",
            two_chunks[..HEADER_LEN + SEALED].to_vec(),
        ),
    ] {
        blobs.push((format!("seed-invalid-{name}"), blob));
    }
    let dir = corpus_dir("blob");
    fs::create_dir_all(&dir).unwrap();
    for (name, blob) in blobs {
        fs::write(dir.join(name), blob).unwrap();
    }

    let dir = corpus_dir("key_file");
    fs::create_dir_all(&dir).unwrap();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/keyfiles");
    for entry in fs::read_dir(vectors).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("seed-{}", path.file_name().unwrap().to_string_lossy());
        fs::copy(&path, dir.join(name)).unwrap();
    }
    let key = Key::from_material("default", 1, Zeroizing::new(fuzzing::KEY)).unwrap();
    let material = Zeroizing::new([7u8; git_secret::gitcrypt::MATERIAL_LEN]);
    let git_crypt = git_secret::gitcrypt::GitCryptKey::new("default", 0, material).unwrap();
    let both = git_secret::key::format_key_file_all(&[&key], &[&git_crypt]);
    fs::write(dir.join("seed-valid-with-git-crypt.key"), both.as_bytes()).unwrap();
}
