//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`) as plain
//! functions, so the normal test suite (`tests/it/hostile.rs`) runs exactly the
//! same checks on the committed corpora (`fuzz/corpus/<target>/`).
//!
//! Not part of the library: each fuzz target and `tests/it/main.rs` include
//! this file with `#[path = ...] mod`, so the release build carries none of it.
//! It uses only the library's public API (and `base64ct`, `zeroize`).
//!
//! Each function takes arbitrary bytes and panics when an invariant breaks;
//! a panic is what the fuzzer reports as a finding.
// Each fuzz target uses one body; the test suite uses all of them.
#![allow(dead_code)]

use base64ct::{Base64, Encoding};
use git_secret::crypto::{Subkeys, KEY_LEN, TAG_LEN};
use git_secret::filter::client::ClientReader;
use git_secret::filter::pktline::{Packet, Reader, Writer, MAX_DATA};
use git_secret::filter::process::{serve, Command, Request};
use git_secret::filter::spool::Spool;
use git_secret::filter::Filter;
use git_secret::format::{self, FormatError, Header, CHUNK_LEN, HEADER_LEN, MAGIC};
use git_secret::key::{self, Key};
use git_secret::keyring::Keyring;
use git_secret::report::Reporter;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// The fixed key the `blob` target decrypts with: key `k1` of
/// `tests/vectors/blobs.txt` (bytes 0x00..=0x1f), so the vectors' blobs are
/// valid seeds.
pub const KEY: [u8; KEY_LEN] = {
    let mut key = [0u8; KEY_LEN];
    let mut i = 0;
    while i < KEY_LEN {
        key[i] = i as u8;
        i += 1;
    }
    key
};

/// The subkeys of [`KEY`].
pub fn subkeys() -> Subkeys {
    Subkeys::derive(&KEY)
}

/// The blob of `plaintext` under [`KEY`] (for seeds and tests).
pub fn encrypt(plaintext: &[u8]) -> Vec<u8> {
    format::encrypt_bytes(&subkeys(), plaintext)
}

/// Runs `format::decrypt` on a whole blob into a `Vec` sink.
fn decode<'k>(
    header: &Header,
    data: &[u8],
    find_key: impl FnOnce(&git_secret::crypto::KeyId) -> Option<&'k Subkeys>,
) -> (Result<(), FormatError>, Vec<u8>) {
    let mut out = Vec::new();
    let result = format::decrypt(header, find_key, &mut &data[HEADER_LEN..], &mut out);
    (result, out)
}

/// What must hold after a failed decryption: a clear, specific error and no
/// plaintext beyond whole chunks that were authenticated before the failing one.
fn check_failure(data: &[u8], error: &FormatError, out: &[u8], what: &str) {
    assert!(
        out.len() % CHUNK_LEN == 0,
        "{what}: {} bytes of output on error ({error}): not whole chunks",
        out.len()
    );
    match error {
        FormatError::Authentication(index) => assert!(
            out.len() as u64 <= index * CHUNK_LEN as u64,
            "{what}: output reaches into chunk {index}, which failed"
        ),
        FormatError::MissingFinalChunk => {
            assert_eq!(data.len(), HEADER_LEN, "{what}: missing final chunk");
            assert!(out.is_empty());
        }
        FormatError::UnknownKey(_) => assert!(out.is_empty(), "{what}: output for unknown key"),
        FormatError::TruncatedHeader | FormatError::UnsupportedVersion(_) => {
            panic!("{what}: header error {error} after the header parsed")
        }
        FormatError::Io(e) => panic!("{what}: I/O error from memory: {e}"),
    }
    assert!(!error.to_string().is_empty());
}

/// Arbitrary bytes as a stored blob, decrypted with [`KEY`] the way smudge,
/// textconv and an in-memory decoder do. Panics unless: no decoder panics; a
/// failure yields a specific error and at most the whole chunks authenticated
/// before the failing one; all decoders agree; success is deterministic and
/// the accepted blob is exactly the encoding of its plaintext, i.e. without
/// the key nothing but the encoder's own blobs is accepted. (Someone holding
/// the key can seal a blob under another nonce, which decoders accept because
/// FORMAT.md 3.2 has them not recompute it; such an input fails this check.)
pub fn blob(data: &[u8]) {
    let keys = subkeys();
    let header = match Header::parse(data) {
        Ok(Some(header)) => header,
        Ok(None) => {
            assert!(!data.starts_with(MAGIC), "a blob parsed as plaintext");
            assert!(matches!(
                format::decrypt_bytes(data, |_| Some(&keys)),
                Ok(None)
            ));
            return;
        }
        Err(e) => {
            assert!(data.starts_with(MAGIC), "plaintext rejected: {e}");
            match e {
                FormatError::TruncatedHeader => assert!(data.len() < HEADER_LEN),
                FormatError::UnsupportedVersion(v) => {
                    assert_eq!(Some(&v), data.get(MAGIC.len()));
                    assert_ne!(v, format::VERSION);
                    assert!(e.to_string().contains(&v.to_string()), "{e}");
                }
                other => panic!("unexpected header error {other:?}"),
            }
            return;
        }
    };
    assert!(data.len() >= HEADER_LEN);
    assert_eq!(
        header.to_bytes()[..],
        data[..HEADER_LEN],
        "header re-encodes"
    );

    // A decoder that holds only the fixed key.
    let (honest, honest_out) = decode(&header, data, |id| (*id == keys.id()).then_some(&keys));
    // A decoder that holds the fixed key under whatever id the header names, so
    // mutated key ids still reach the chunk path.
    let (mapped, mapped_out) = decode(&header, data, |_| Some(&keys));

    match &mapped {
        Err(e) => check_failure(data, e, &mapped_out, "any-id decoder"),
        Ok(()) => {
            let chunks = mapped_out.len().div_ceil(CHUNK_LEN).max(1);
            assert_eq!(
                data.len(),
                HEADER_LEN + mapped_out.len() + chunks * TAG_LEN,
                "accepted blob has a non-canonical length"
            );
            let (again, again_out) = decode(&header, data, |_| Some(&keys));
            assert!(
                again.is_ok() && again_out == mapped_out,
                "not deterministic"
            );
        }
    }
    match &honest {
        Err(FormatError::UnknownKey(id)) => {
            assert_ne!(*id, keys.id());
            assert_eq!(*id, header.key_id);
            assert!(honest_out.is_empty());
            let msg = honest.as_ref().unwrap_err().to_string();
            assert!(
                msg.contains(&id.to_string()),
                "unknown key not named: {msg}"
            );
        }
        Err(e) => {
            assert_eq!(header.key_id, keys.id(), "{e} for a foreign key id");
            check_failure(data, e, &honest_out, "decoder");
        }
        Ok(()) => {
            assert_eq!(header.key_id, keys.id());
            assert!(mapped.is_ok() && mapped_out == honest_out);
            assert!(
                format::encrypt_bytes(&keys, &honest_out) == data,
                "an accepted blob is not the encoding of its plaintext"
            );
        }
    }
    if header.key_id == keys.id() {
        assert_eq!(
            honest.is_ok(),
            mapped.is_ok(),
            "decoders disagree on the same key"
        );
        assert_eq!(honest_out, mapped_out, "decoders disagree on the output");
    }

    // In memory (textconv, merge): all or nothing.
    match format::decrypt_bytes(data, |id| (*id == keys.id()).then_some(&keys)) {
        Ok(Some(plain)) => assert!(honest.is_ok() && plain == honest_out),
        Ok(None) => panic!("decrypt_bytes took a blob for plaintext"),
        Err(e) => assert!(honest.is_err(), "decrypt_bytes failed alone: {e}"),
    }

    // Streaming smudge, as git runs it, with the key installed.
    let key = Key::from_material(key::DEFAULT_NAME, 1, Zeroizing::new(KEY))
        .expect("the default name is valid");
    let mut keyring = Keyring::default();
    keyring.insert(key);
    let filter = Filter::new(key::DEFAULT_NAME, keyring, Reporter);
    let mut out = Vec::new();
    let path = git_secret::path::GitPath::from("secrets/fuzz");
    let smudged = filter.smudge(&path, &mut &data[..], &mut out);
    if header.key_id != keys.id() {
        // A generation not held here (a pulled rotation): the blob stays
        // as it is, so git never leaves the file missing.
        assert!(smudged.is_ok(), "smudge of a foreign key id: {smudged:?}");
        assert_eq!(out, data, "smudge of a foreign key id changed the blob");
        return;
    }
    assert_eq!(
        smudged.is_ok(),
        honest.is_ok(),
        "smudge disagrees: {smudged:?}"
    );
    assert_eq!(out, honest_out, "smudge output differs from the decoder's");
    // The callers (the smudge command, the filter process) name the file.
    if let (Err(e), Err(decoder)) = (&smudged, &honest) {
        let msg = format!("{e:#}");
        assert!(
            msg.contains(&decoder.to_string()),
            "smudge error {msg:?} is not the decoder's {decoder:?}"
        );
    }
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// The key material in `data`, without padding: every 44-character substring
/// that is canonical standard base64 of 32 bytes (a git-secret key), and
/// every 128-character one of 96 bytes (a git-crypt key) that starts or ends
/// a run of base64 characters.
fn key_materials(data: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut buf = [0u8; git_secret::gitcrypt::MATERIAL_LEN];
    let mut try_decode = |window: &[u8], bytes: usize, found: &mut Vec<String>| {
        let Ok(text) = std::str::from_utf8(window) else {
            return;
        };
        if Base64::decode(text, &mut buf[..bytes]).map(|d| d.len()) == Ok(bytes) {
            found.push(text.trim_end_matches('=').to_owned());
        }
    };
    for (end, &b) in data.iter().enumerate() {
        if b == b'=' && end >= 43 {
            try_decode(&data[end - 43..=end], KEY_LEN, &mut found);
        }
    }
    const LONG: usize = 128;
    for i in 0..=data.len().saturating_sub(LONG) {
        let starts_run = i == 0 || !is_base64_char(data[i - 1]);
        let ends_run = data.get(i + LONG).is_none_or(|&b| !is_base64_char(b));
        if data.len() >= LONG && (starts_run || ends_run) {
            try_decode(
                &data[i..i + LONG],
                git_secret::gitcrypt::MATERIAL_LEN,
                &mut found,
            );
        }
    }
    found
}

/// Arbitrary bytes as a key file. Panics unless: parsing never panics; an error
/// names the file and never contains key material from the input; parsed
/// keys print no material in Debug output;
/// and serialising the parsed keys then parsing again gives the same keys.
pub fn key_file(data: &[u8]) {
    const SOURCE: &str = "fuzz.key";
    let materials = key_materials(data);
    let leaks = |text: &str| materials.iter().find(|m| text.contains(m.as_str()));
    let parsed = key::parse_key_file_all(data, SOURCE);
    let file = match parsed {
        Err(e) => {
            for text in [format!("{e:#}"), format!("{e:?}")] {
                assert!(
                    text.contains(SOURCE),
                    "error does not name the file: {text}"
                );
                if let Some(m) = leaks(&text) {
                    panic!("error shows key material {m}: {text}");
                }
            }
            assert!(key::parse_key_file(data, SOURCE).is_err());
            // What unlock then tries (BOM, UTF-16, base64, lost line breaks):
            // never a panic, and its errors show no key material either.
            if let Some(pasted) = git_secret::pasted::unwrap(data) {
                if let Err(e) = key::parse_key_file_all(&pasted.bytes, &pasted.source(SOURCE)) {
                    if let Some(m) = leaks(&format!("{e:#}")) {
                        panic!("error on the unwrapped input shows key material {m}: {e:#}");
                    }
                }
            }
            return;
        }
        Ok(file) => file,
    };
    assert!(!file.keys.is_empty() || !file.git_crypt.is_empty());
    for text in file
        .keys
        .iter()
        .map(|k| format!("{k:?}"))
        .chain(file.git_crypt.iter().map(|k| format!("{k:?}")))
    {
        if let Some(m) = leaks(&text) {
            panic!("Debug shows key material {m}: {text}");
        }
    }
    match key::parse_key_file(data, SOURCE) {
        Ok(keys) => assert_eq!(keys.len(), file.keys.len()),
        Err(e) => assert!(file.keys.is_empty(), "{e:#}"),
    }

    let summary = |f: &key::KeyFile| {
        let keys: Vec<_> = f
            .keys
            .iter()
            .map(|k| (k.name().to_owned(), k.generation(), k.id()))
            .collect();
        let git_crypt: Vec<_> = f
            .git_crypt
            .iter()
            .map(|k| (k.name().to_owned(), k.version(), k.id()))
            .collect();
        (keys, git_crypt)
    };
    let text = key::format_key_file_all(
        &file.keys.iter().collect::<Vec<_>>(),
        &file.git_crypt.iter().collect::<Vec<_>>(),
    );
    let again = key::parse_key_file_all(text.as_bytes(), SOURCE)
        .unwrap_or_else(|e| panic!("our own output does not parse: {e:#}"));
    assert_eq!(summary(&again), summary(&file), "parse → format → parse");
    let text_again = key::format_key_file_all(
        &again.keys.iter().collect::<Vec<_>>(),
        &again.git_crypt.iter().collect::<Vec<_>>(),
    );
    assert!(*text_again == *text, "formatting is not stable");
}

/// Checks that `data` starts with well-formed pkt-lines that re-encode to
/// the same bytes (up to the case of the hex lengths).
fn check_packets(data: &[u8]) {
    let mut reader = Reader::new(data);
    let mut pos = 0;
    while let Ok(Some(packet)) = reader.read_packet() {
        let mut writer = Writer::new(Vec::new());
        match &packet {
            Packet::Flush => writer.write_flush().unwrap(),
            Packet::Data(bytes) => {
                assert!(!bytes.is_empty() && bytes.len() <= MAX_DATA);
                writer.write_packet(bytes).unwrap();
            }
        }
        let encoded = writer.into_inner();
        let original = &data[pos..pos + encoded.len()];
        assert_eq!(original[..4].to_ascii_lowercase(), encoded[..4]);
        assert_eq!(original[4..], encoded[4..]);
        pos += encoded.len();
    }
}

/// Arbitrary bytes as git's side of a filter-process session, served with a
/// handler that answers each file with its content reversed. Panics unless:
/// `serve` returns (Ok or Err) without panicking, and everything it wrote is
/// the exact protocol: the handshake reply, then for each request the handler
/// saw, `status=success` and the reversed content in packets of at most
/// 65516 bytes.
pub fn pktline(data: &[u8]) {
    check_packets(data);
    let mut seen: Vec<(Request, Vec<u8>)> = Vec::new();
    let mut output = Vec::new();
    let result = serve(
        data,
        &mut output,
        &mut |request: &Request, content: &mut Spool, out: &mut dyn Write| {
            let mut bytes = Vec::new();
            content.read_to_end(&mut bytes)?;
            seen.push((request.clone(), bytes.clone()));
            bytes.reverse();
            out.write_all(&bytes)?;
            Ok(())
        },
    );
    if let Err(e) = &result {
        assert!(!format!("{e:#}").is_empty());
    }

    // The reply we expect, rebuilt from what the handler saw.
    let mut reply = Writer::new(Vec::new());
    reply.write_text("git-filter-server").unwrap();
    reply.write_text("version=2").unwrap();
    reply.write_flush().unwrap();
    let hello = reply.into_inner();
    if output.is_empty() {
        assert!(result.is_err() && seen.is_empty(), "no handshake reply");
        return;
    }
    assert!(output.starts_with(&hello), "bad handshake reply");
    let mut rest = &output[hello.len()..];
    if rest.is_empty() {
        assert!(result.is_err() && seen.is_empty(), "no capabilities sent");
        return;
    }
    let capabilities = ClientReader::new(&mut rest)
        .list()
        .expect("capability list");
    assert!(
        capabilities == [b"capability=clean".to_vec(), b"capability=smudge".to_vec()]
            || capabilities == [b"capability=clean".to_vec()]
            || capabilities == [b"capability=smudge".to_vec()],
        "bad capabilities {capabilities:?}"
    );
    let mut expected = Writer::new(Vec::new());
    for (request, content) in &seen {
        assert!(matches!(request.command, Command::Clean | Command::Smudge));
        let mut reversed = content.clone();
        reversed.reverse();
        expected.write_text("status=success").unwrap();
        expected.write_flush().unwrap();
        expected.write_content(&reversed).unwrap();
        expected.write_flush().unwrap();
        expected.write_flush().unwrap();
    }
    assert!(
        rest == expected.into_inner(),
        "responses differ from the protocol"
    );
}

/// Arbitrary bytes as a dotenv file for `exec`. Panics unless: decoding,
/// parsing and loading never panic (also on text that kept its `\r`, as a
/// lossy decode gives); statements come in order of their lines, each
/// within the text; a skipped statement carries no key or value; a parsed
/// key is never empty; and what is set in the environment is exactly the
/// statements' keys whose last statement has a value.
pub fn dotenv(data: &[u8]) {
    use git_secret::dotenv::{decode, parse, Environment};
    let lossy = String::from_utf8_lossy(data);
    let texts: Vec<String> = match decode(data) {
        Ok(text) => vec![text.to_string(), lossy.into_owned()],
        Err(e) => {
            assert!(e.line >= 1 && e.line <= 1 + data.iter().filter(|&&b| b == b'\n').count());
            vec![lossy.into_owned()]
        }
    };
    for text in texts {
        let lines = 1 + text.matches(['\n', '\r']).count();
        let bindings = parse(&text);
        let mut last = 0;
        for b in &bindings {
            assert!(
                b.line >= last && b.line <= lines,
                "line {} of {lines}",
                b.line
            );
            last = b.line;
            if b.error {
                assert!(b.key.is_none() && b.value.is_none());
            }
            assert!(b.key.as_deref() != Some(""), "empty key");
        }
        for override_ in [false, true] {
            let mut env = Environment::default();
            if env.load(&bindings, override_).is_ok() {
                // The last statement of each key decides, as in a dict.
                let mut last_value = std::collections::BTreeMap::new();
                for b in &bindings {
                    if let Some(key) = b.key.as_deref() {
                        last_value.insert(key, b.value.is_some());
                    }
                }
                let want: Vec<&str> = last_value
                    .into_iter()
                    .filter_map(|(k, has)| has.then_some(k))
                    .collect();
                let mut got: Vec<String> = env
                    .vars()
                    .map(|(k, _)| k.to_string_lossy().into_owned())
                    .collect();
                got.sort_unstable();
                assert_eq!(got, want, "variables set");
            } else {
                assert_eq!(env.vars().count(), 0, "a refusal set variables");
            }
        }
    }
}
