//! Checks the Rust implementation against the test vectors in `tests/vectors/`,
//! which `scripts/reference.py` (an independent Python implementation of
//! FORMAT.md) generates. Only std and the crate itself (and zeroize, to
//! build keys): hex and SHA-256 are done by hand below.

use git_secret::crypto::{KeyId, Subkeys};
use git_secret::format::{
    decrypt_bytes, encrypt_bytes, FormatError, Header, CHUNK_LEN, HEADER_LEN, MAGIC,
};
use git_secret::key::parse_key_file;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

/// One `[kind name]` record and its `field = value` lines, in order.
struct Record {
    kind: String,
    name: String,
    fields: Vec<(String, String)>,
}

impl Record {
    fn all(&self, field: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn get(&self, field: &str) -> Option<&str> {
        let values = self.all(field);
        assert!(
            values.len() <= 1,
            "{}: field {field:?} appears more than once",
            self.name
        );
        values.first().copied()
    }

    fn one(&self, field: &str) -> &str {
        self.get(field)
            .unwrap_or_else(|| panic!("{}: missing field {field:?}", self.name))
    }
}

fn read_records(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut records: Vec<Record> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (kind, name) = inner
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad record line {line:?}"));
            records.push(Record {
                kind: kind.to_owned(),
                name: name.to_owned(),
                fields: Vec::new(),
            });
            continue;
        }
        let (field, value) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let record = records
            .last_mut()
            .unwrap_or_else(|| panic!("field before any record: {line:?}"));
        record
            .fields
            .push((field.to_owned(), value.trim().to_owned()));
    }
    records
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {text:?}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hex:HEX`, or `gen:LEN` = LEN bytes with byte i = (i * 7 + i / 251) mod 256.
fn plaintext(spec: &str) -> Vec<u8> {
    if let Some(h) = spec.strip_prefix("hex:") {
        unhex(h)
    } else if let Some(len) = spec.strip_prefix("gen:") {
        let len: usize = len.parse().expect("gen length");
        (0..len).map(|i| ((i * 7 + i / 251) % 256) as u8).collect()
    } else {
        panic!("bad plaintext spec {spec:?}")
    }
}

fn num(text: &str) -> usize {
    text.parse()
        .unwrap_or_else(|_| panic!("bad number {text:?}"))
}

/// Applies one `mutate` line (see the comment at the top of blobs.txt).
fn mutate(blob: &mut Vec<u8>, op: &str) {
    let words: Vec<&str> = op.split_whitespace().collect();
    match words.as_slice() {
        ["truncate", len] => {
            assert!(num(len) <= blob.len(), "truncate past the end: {op}");
            blob.truncate(num(len));
        }
        ["append", data] => blob.extend_from_slice(&unhex(data)),
        ["flip", offset, mask] => blob[num(offset)] ^= u8::from_str_radix(mask, 16).expect("mask"),
        ["swap", a, b, len] => {
            let (a, b, len) = (num(a), num(b), num(len));
            assert!(a + len <= b && b + len <= blob.len(), "bad swap: {op}");
            let first = blob[a..a + len].to_vec();
            blob.copy_within(b..b + len, a);
            blob[b..b + len].copy_from_slice(&first);
        }
        ["set", offset, data] => {
            let (offset, data) = (num(offset), unhex(data));
            blob[offset..offset + data.len()].copy_from_slice(&data);
        }
        ["copy_to_end", start, len] => {
            let (start, len) = (num(start), num(len));
            blob.extend_from_within(start..start + len);
        }
        _ => panic!("unknown mutation {op:?}"),
    }
}

/// The outcome of decrypting, in the vocabulary of blobs.txt's `expect` field.
fn outcome(result: &Result<Option<Vec<u8>>, FormatError>) -> String {
    match result {
        Ok(None) => "not_blob".to_owned(),
        Ok(Some(_)) => "ok".to_owned(),
        Err(FormatError::TruncatedHeader) => "truncated_header".to_owned(),
        Err(FormatError::UnsupportedVersion(v)) => format!("unsupported_version {v}"),
        Err(FormatError::UnknownKey(id)) => format!("unknown_key {id}"),
        Err(FormatError::MissingFinalChunk) => "missing_final_chunk".to_owned(),
        Err(FormatError::Authentication(n)) => format!("authentication {n}"),
        Err(FormatError::Io(e)) => panic!("I/O error decrypting from memory: {e}"),
    }
}

#[test]
fn blob_vectors() {
    let records = read_records(&vectors_dir().join("blobs.txt"));
    let mut keys: HashMap<String, Subkeys> = HashMap::new();
    let mut blobs: HashMap<String, (Vec<u8>, Vec<u8>)> = HashMap::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut lengths = BTreeSet::new();
    for record in &records {
        let name = &record.name;
        match record.kind.as_str() {
            "key" => {
                let material: [u8; 32] = unhex(record.one("material"))
                    .try_into()
                    .expect("32-byte key");
                let subkeys = Subkeys::derive(&material);
                assert_eq!(subkeys.id().to_string(), record.one("id"), "{name}: key id");
                assert_eq!(
                    KeyId::from_hex(record.one("id")),
                    Some(subkeys.id()),
                    "{name}: id parses"
                );
                // enc_key and nonce_key are private here: the blobs below check them.
                assert_eq!(unhex(record.one("enc_key")).len(), 32);
                assert_eq!(unhex(record.one("nonce_key")).len(), 32);
                keys.insert(name.clone(), subkeys);
            }
            "encrypt" => {
                let subkeys = &keys[record.one("key")];
                let plain = plaintext(record.one("plaintext"));
                let blob = encrypt_bytes(subkeys, &plain);
                assert_eq!(
                    hex(&blob[..HEADER_LEN]),
                    record.one("header"),
                    "{name}: header"
                );
                let header = Header::parse(&blob)
                    .expect("header parses")
                    .expect("is a blob");
                assert_eq!(header.key_id, subkeys.id(), "{name}: header key id");
                assert_eq!(hex(&header.nonce), record.one("nonce"), "{name}: nonce");
                assert!(blob.starts_with(MAGIC));
                let chunks = num(record.one("chunks"));
                assert_eq!(
                    chunks,
                    plain.len().div_ceil(CHUNK_LEN).max(1),
                    "{name}: chunk count"
                );
                assert_eq!(
                    blob.len(),
                    HEADER_LEN + plain.len() + 16 * chunks,
                    "{name}: blob length"
                );
                match record.get("blob") {
                    Some(expected) => assert_eq!(hex(&blob), expected, "{name}: blob"),
                    None => {
                        assert_eq!(
                            blob.len(),
                            num(record.one("blob_len")),
                            "{name}: blob length"
                        );
                        assert_eq!(
                            hex(&sha256(&blob)),
                            record.one("blob_sha256"),
                            "{name}: blob SHA-256"
                        );
                    }
                }
                let back = decrypt_bytes(&blob, |id| (*id == subkeys.id()).then_some(subkeys));
                assert_eq!(
                    back.expect("decrypts").expect("is a blob"),
                    plain,
                    "{name}: round trip"
                );
                lengths.insert(plain.len());
                blobs.insert(name.clone(), (blob, plain));
            }
            "decrypt" => {
                let (base_blob, base_plain) = &blobs[record.one("base")];
                let mut blob = base_blob.clone();
                for op in record.all("mutate") {
                    mutate(&mut blob, op);
                }
                let ring: Vec<&Subkeys> = record
                    .one("keys")
                    .split_whitespace()
                    .filter(|k| *k != "-")
                    .map(|k| &keys[k])
                    .collect();
                let result =
                    decrypt_bytes(&blob, |id| ring.iter().copied().find(|k| k.id() == *id));
                let expected = record.one("expect");
                assert_eq!(outcome(&result), expected, "{name}");
                match &result {
                    Ok(Some(plain)) => assert_eq!(plain, base_plain, "{name}: plaintext"),
                    Err(FormatError::UnsupportedVersion(v)) => {
                        let message = result.as_ref().unwrap_err().to_string();
                        assert!(
                            message.contains(&format!("version {v}")),
                            "{name}: {message:?} names the version"
                        );
                    }
                    Err(FormatError::UnknownKey(id)) => {
                        let message = result.as_ref().unwrap_err().to_string();
                        assert!(
                            message.contains(&id.to_string()),
                            "{name}: {message:?} names the key id"
                        );
                    }
                    _ => {}
                }
            }
            other => panic!("{name}: unknown record kind {other:?}"),
        }
        *counts.entry(record.kind.as_str()).or_default() += 1;
    }
    // A vector file that silently lost records must not pass.
    for len in [0, 1, 21, 65535, 65536, 65537, 3 * 65536 + 5] {
        assert!(lengths.contains(&len), "no encrypt vector of length {len}");
    }
    assert!(counts.get("key").copied().unwrap_or(0) >= 2, "{counts:?}");
    assert!(
        counts.get("encrypt").copied().unwrap_or(0) >= 9,
        "{counts:?}"
    );
    assert!(
        counts.get("decrypt").copied().unwrap_or(0) >= 40,
        "{counts:?}"
    );
}

#[test]
fn key_file_vectors() {
    let dir = vectors_dir();
    let records = read_records(&dir.join("keyfiles.txt"));
    let mut listed = BTreeSet::new();
    let (mut valid, mut invalid, mut disagreements) = (0, 0, Vec::new());
    for record in &records {
        assert_eq!(record.kind, "keyfile");
        let name = &record.name;
        listed.insert(name.clone());
        let bytes = std::fs::read(dir.join("keyfiles").join(name)).expect("key file vector");
        let result = parse_key_file(&bytes, name);
        if let Some(message) = record.get("message") {
            record.one("error");
            match result {
                Err(e) => {
                    let text = format!("{e:#}");
                    assert!(
                        text.contains(message),
                        "{name}: error {text:?} should contain {message:?}"
                    );
                    let material = String::from_utf8_lossy(&bytes)
                        .lines()
                        .filter_map(|l| l.trim().strip_prefix("key:").map(|m| m.trim().to_owned()))
                        .filter(|m| m.len() >= 20)
                        .collect::<Vec<_>>();
                    for m in material {
                        assert!(
                            !text.contains(&m),
                            "{name}: error message leaks key material"
                        );
                    }
                    invalid += 1;
                }
                Ok(keys) => match record.get("known_disagreement") {
                    Some(why) => {
                        disagreements.push(format!("{name}: accepted ({} keys): {why}", keys.len()))
                    }
                    None => panic!("{name}: accepted, expected an error mentioning {message:?}"),
                },
            }
        } else {
            let keys = result.unwrap_or_else(|e| panic!("{name}: rejected: {e:#}"));
            let expected = record.all("key");
            assert_eq!(num(record.one("keys")), expected.len(), "{name}");
            let got: Vec<String> = keys
                .iter()
                .map(|k| format!("{} {} {}", k.name(), k.generation(), k.id()))
                .collect();
            assert_eq!(got, expected, "{name}: keys");
            // Vouches (FORMAT.md §4.2): as written, and verifying under a voucher in the file.
            let vouches: Vec<String> = keys
                .iter()
                .filter_map(|k| {
                    let v = k.vouch()?;
                    let mac: String = v.mac.iter().map(|b| format!("{b:02x}")).collect();
                    Some(format!("{} {} {mac}", k.id(), v.by))
                })
                .collect();
            assert_eq!(vouches, record.all("vouch"), "{name}: vouches");
            for key in &keys {
                if let Some(voucher) = key
                    .vouch()
                    .and_then(|v| keys.iter().find(|k| k.id() == v.by))
                {
                    assert!(key.vouched_by(voucher), "{name}: vouch of {}", key.id());
                }
            }
            valid += 1;
        }
    }
    for disagreement in &disagreements {
        eprintln!("vectors: known disagreement with FORMAT.md: {disagreement}");
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir.join("keyfiles"))
        .expect("keyfiles directory")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .collect();
    assert_eq!(
        listed, on_disk,
        "keyfiles.txt and keyfiles/ list different files"
    );
    assert!(
        valid >= 4 && invalid >= 20,
        "only {valid} valid and {invalid} invalid key file vectors checked"
    );
}

/// The verdict vocabulary of recipients.txt's `copy` field for a refusal's reason.
fn copy_verdict(why: &str) -> &'static str {
    if why.contains("holds no authenticated copy") {
        "none"
    } else if why.contains("does not match that copy") {
        "forged"
    } else if why.contains("older than the newest") {
        "stale"
    } else if why.contains("names no key you hold") {
        "unknown_key"
    } else if why.contains("copy is damaged") {
        "damaged"
    } else {
        panic!("unclassified reason {why:?}")
    }
}

#[test]
fn recipient_list_vectors() {
    use git_secret::key::Key;
    use git_secret::keyring::Keyring;
    use git_secret::recipients::{self, Trust};
    let dir = vectors_dir();
    let records = read_records(&dir.join("recipients.txt"));
    let scratch = std::env::temp_dir().join(format!(
        "git-secret-recipient-vectors-{}",
        std::process::id()
    ));
    let mut keys: HashMap<String, (String, u32, [u8; 32])> = HashMap::new();
    let mut listed = BTreeSet::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for record in &records {
        let name = &record.name;
        match record.kind.as_str() {
            "key" => {
                let material: [u8; 32] = unhex(record.one("material"))
                    .try_into()
                    .expect("32-byte key");
                assert_eq!(
                    Subkeys::derive(&material).id().to_string(),
                    record.one("id"),
                    "{name}: key id"
                );
                let generation = record.one("generation").parse().expect("generation");
                keys.insert(
                    name.clone(),
                    (record.one("name").to_owned(), generation, material),
                );
            }
            "mac" => {
                let subkeys = Subkeys::derive(&keys[record.one("key")].2);
                let input = unhex(record.one("input"));
                assert_eq!(
                    hex(&subkeys.recipients_mac(&input)),
                    record.one("tag"),
                    "{name}: tag"
                );
                assert!(subkeys.verify_recipients_mac(&input, &unhex(record.one("tag"))));
            }
            "recipients" => {
                listed.insert(name.clone());
                let text = std::fs::read_to_string(dir.join("recipients").join(name))
                    .expect("recipient list vector");
                let top = scratch.join(name);
                std::fs::create_dir_all(top.join(recipients::DIR)).unwrap();
                std::fs::write(top.join(recipients::LIST), &text).unwrap();
                let mut ring = Keyring::default();
                for k in record.one("keys").split_whitespace().filter(|k| *k != "-") {
                    let (key_name, generation, material) = &keys[k];
                    let key = Key::from_material(
                        key_name,
                        *generation,
                        zeroize::Zeroizing::new(*material),
                    )
                    .expect("valid key name");
                    ring.insert(key);
                }
                let list = match recipients::read_list(&top) {
                    Ok(list) => format!("ok {}", list.len()),
                    Err(e) if format!("{e:#}").contains("lists recipient") => {
                        "duplicate".to_owned()
                    }
                    Err(_) => "invalid".to_owned(),
                };
                assert_eq!(list, record.one("list"), "{name}: list");
                let (copy, authenticated) =
                    match recipients::authenticated(&top, &ring).expect("reads the file") {
                        Trust::Verified(list) => ("verified", Some(list)),
                        Trust::Unchecked => ("unchecked", None),
                        Trust::Not(why) => (copy_verdict(&why), None),
                    };
                assert_eq!(copy, record.one("copy"), "{name}: copy");
                if let Some(list) = &authenticated {
                    let lines: Vec<String> = list.iter().map(|r| r.line()).collect();
                    assert_eq!(lines, record.all("recipient"), "{name}: authenticated list");
                    if record.get("sealed") == Some("yes") {
                        // What add-user, remove-user and rotate write: two comment lines, the list, its copy.
                        let header: String = text.split_inclusive('\n').take(2).collect();
                        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
                        assert_eq!(
                            text,
                            format!("{header}{body}{}", recipients::seal(list, &ring)),
                            "{name}: not what an encoder writes"
                        );
                    }
                } else {
                    assert!(
                        record.get("sealed").is_none(),
                        "{name}: sealed but not verified"
                    );
                }
                *counts.entry(format!("{list} {copy}")).or_default() += 1;
            }
            other => panic!("{name}: unknown record kind {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir.join("recipients"))
        .expect("recipients directory")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .collect();
    assert_eq!(
        listed, on_disk,
        "recipients.txt and recipients/ list different files"
    );
    // A vector file that silently lost records must not pass.
    for verdict in [
        "verified",
        "unchecked",
        "none",
        "damaged",
        "forged",
        "stale",
        "unknown_key",
    ] {
        assert!(
            counts.keys().any(|k| k.ends_with(&format!(" {verdict}"))),
            "no vector with copy = {verdict}: {counts:?}"
        );
    }
    for list in ["duplicate", "invalid"] {
        assert!(
            counts.keys().any(|k| k.starts_with(&format!("{list} "))),
            "no vector with list = {list}: {counts:?}"
        );
    }
    assert!(
        listed.len() >= 40,
        "only {} recipient list vectors",
        listed.len()
    );
}

/// SHA-256 (FIPS 180-4), enough to compare large blobs with their recorded digests.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (state, value) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *state = state.wrapping_add(value);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[test]
fn vectors_sha256_self_test() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}
