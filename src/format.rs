//! The encrypted blob format, version 1 (FORMAT.md is the specification).
//!
//! ```text
//! header = MAGIC (10) ‖ VERSION (1) ‖ key id (16) ‖ nonce (32)      59 bytes
//! body   = chunk₀ ‖ chunk₁ ‖ … ‖ chunkₙ   each = AES-GCM-SIV(ciphertext ‖ tag)
//! ```
//! Every chunk but the last carries exactly [`CHUNK_LEN`] plaintext bytes; the
//! last carries 1..=CHUNK_LEN, or 0 only when it is the only chunk (empty file).

use crate::crypto::{KeyId, Subkeys, KEY_ID_LEN, NONCE_LEN, TAG_LEN};
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Starts with NUL so git, `text=auto` and diff treat every blob as binary.
pub const MAGIC: &[u8; 10] = b"\0GITSECRET";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = MAGIC.len() + 1 + KEY_ID_LEN + NONCE_LEN;
/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;
/// Plaintext kept in memory while clean hashes it; the rest spills to an unlinked temp file.
const SPILL_THRESHOLD: usize = 8 << 20;

/// A parsed blob header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    pub key_id: KeyId,
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..MAGIC.len()].copy_from_slice(MAGIC);
        out[MAGIC.len()] = VERSION;
        out[MAGIC.len() + 1..MAGIC.len() + 1 + KEY_ID_LEN].copy_from_slice(&self.key_id.0);
        out[HEADER_LEN - NONCE_LEN..].copy_from_slice(&self.nonce);
        out
    }

    /// Parses a header from the start of `data`. `Ok(None)` means the data is not
    /// a git-secret blob at all (no magic); errors mean it claims to be one but is unusable.
    pub fn parse(data: &[u8]) -> Result<Option<Header>, FormatError> {
        if !data.starts_with(MAGIC) {
            return Ok(None);
        }
        let version = *data.get(MAGIC.len()).ok_or(FormatError::TruncatedHeader)?;
        if version != VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        if data.len() < HEADER_LEN {
            return Err(FormatError::TruncatedHeader);
        }
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&data[MAGIC.len() + 1..MAGIC.len() + 1 + KEY_ID_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&data[HEADER_LEN - NONCE_LEN..HEADER_LEN]);
        Ok(Some(Header {
            key_id: KeyId(key_id),
            nonce,
        }))
    }
}

/// Why a blob cannot be decrypted. Messages never contain key material or plaintext.
#[derive(Debug)]
pub enum FormatError {
    TruncatedHeader,
    UnsupportedVersion(u8),
    UnknownKey(KeyId),
    /// Chunk `n` failed authentication: wrong key, corruption, truncation, reordering or appended data.
    Authentication(u64),
    MissingFinalChunk,
    Io(io::Error),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::TruncatedHeader => write!(f, "the encrypted file is truncated (incomplete git-secret header)"),
            FormatError::UnsupportedVersion(v) => write!(
                f,
                "the file uses git-secret format version {v}, which this git-secret does not support; upgrade git-secret"
            ),
            FormatError::UnknownKey(id) => write!(
                f,
                "the file is encrypted with key id {id}, which is not installed here; unlock with the key that has this id"
            ),
            FormatError::Authentication(n) => write!(
                f,
                "the encrypted file is corrupt or was tampered with (chunk {n} failed authentication)"
            ),
            FormatError::MissingFinalChunk => write!(f, "the encrypted file is truncated (its final chunk is missing)"),
            FormatError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FormatError {}

impl From<io::Error> for FormatError {
    fn from(e: io::Error) -> Self {
        FormatError::Io(e)
    }
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
pub fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Plaintext gathered in full before encryption (the nonce depends on all of it):
/// up to [`SPILL_THRESHOLD`] bytes in memory, the rest in an unlinked temp file.
struct Gathered {
    head: Vec<u8>,
    spill: Option<std::fs::File>,
    len: u64,
}

impl Gathered {
    fn read(input: &mut dyn Read, hasher: &mut crate::crypto::NonceHasher) -> io::Result<Gathered> {
        let mut head = Vec::new();
        input.take(SPILL_THRESHOLD as u64).read_to_end(&mut head)?;
        hasher.update(&head);
        let mut len = head.len() as u64;
        let mut spill = None;
        if head.len() == SPILL_THRESHOLD {
            let mut buf = vec![0u8; CHUNK_LEN];
            loop {
                let n = read_full(input, &mut buf)?;
                if n == 0 {
                    break;
                }
                let file = match &mut spill {
                    Some(file) => file,
                    None => spill.insert(tempfile::tempfile()?),
                };
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n])?;
                len += n as u64;
            }
            if let Some(file) = &mut spill {
                file.seek(SeekFrom::Start(0))?;
            }
        }
        Ok(Gathered { head, spill, len })
    }
}

/// Encrypts everything `input` yields and writes the blob to `out`.
pub fn encrypt(keys: &Subkeys, input: &mut dyn Read, out: &mut dyn Write) -> io::Result<()> {
    let mut hasher = keys.nonce_hasher();
    let gathered = Gathered::read(input, &mut hasher)?;
    let header = Header {
        key_id: keys.id(),
        nonce: hasher.finish(),
    };
    let aad = header.to_bytes();
    out.write_all(&aad)?;
    let cipher = keys.file_cipher(&header.nonce);
    let chunks = gathered.len.div_ceil(CHUNK_LEN as u64).max(1);
    let spill: Box<dyn Read + '_> = match &gathered.spill {
        Some(file) => Box::new(file),
        None => Box::new(io::empty()),
    };
    let mut source = (&gathered.head[..]).chain(spill);
    let mut chunk = Vec::with_capacity(SEALED_CHUNK_LEN);
    for index in 0..chunks {
        chunk.resize(CHUNK_LEN, 0);
        let n = read_full(&mut source, &mut chunk)?;
        chunk.truncate(n);
        cipher.seal_chunk(index, index + 1 == chunks, &aad, &mut chunk);
        out.write_all(&chunk)?;
    }
    Ok(())
}

/// Encrypts a plaintext held in memory.
pub fn encrypt_bytes(keys: &Subkeys, plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        HEADER_LEN + plaintext.len() + TAG_LEN * (plaintext.len() / CHUNK_LEN + 1),
    );
    encrypt(keys, &mut &plaintext[..], &mut out).expect("writing to memory cannot fail");
    out
}

/// Decrypts a blob whose header has already been read (and parsed as `header`)
/// from `input`, writing plaintext chunk by chunk to `out` in bounded memory.
/// `find_key` maps a key id to the subkeys that hold it.
pub fn decrypt<'k>(
    header: &Header,
    find_key: impl FnOnce(&KeyId) -> Option<&'k Subkeys>,
    input: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<(), FormatError> {
    let keys = find_key(&header.key_id).ok_or(FormatError::UnknownKey(header.key_id))?;
    let aad = header.to_bytes();
    let cipher = keys.file_cipher(&header.nonce);
    // One byte of look-ahead tells whether a full chunk is the last one.
    let mut buf = vec![0u8; SEALED_CHUNK_LEN + 1];
    let mut carried = 0usize;
    let mut index = 0u64;
    loop {
        let n = carried + read_full(input, &mut buf[carried..])?;
        if n == 0 {
            return Err(FormatError::MissingFinalChunk);
        }
        let last = n <= SEALED_CHUNK_LEN;
        let len = n.min(SEALED_CHUNK_LEN);
        // An empty final chunk is only canonical as the sole chunk of an empty file.
        if last && len == TAG_LEN && index > 0 {
            return Err(FormatError::Authentication(index));
        }
        let mut chunk = buf[..len].to_vec();
        cipher
            .open_chunk(index, last, &aad, &mut chunk)
            .map_err(|_| FormatError::Authentication(index))?;
        out.write_all(&chunk)?;
        if last {
            return Ok(());
        }
        buf[0] = buf[SEALED_CHUNK_LEN];
        carried = 1;
        index += 1;
    }
}

/// Decrypts a whole blob held in memory. `Ok(None)` if it is not a git-secret blob.
pub fn decrypt_bytes<'k>(
    blob: &[u8],
    find_key: impl FnOnce(&KeyId) -> Option<&'k Subkeys>,
) -> Result<Option<Vec<u8>>, FormatError> {
    let Some(header) = Header::parse(blob)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(blob.len());
    decrypt(&header, find_key, &mut &blob[HEADER_LEN..], &mut out)?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Subkeys {
        Subkeys::derive(&[42; 32])
    }

    fn round_trip(len: usize) {
        let keys = keys();
        let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        let blob = encrypt_bytes(&keys, &plaintext);
        let chunks = len.div_ceil(CHUNK_LEN).max(1);
        assert_eq!(blob.len(), HEADER_LEN + len + chunks * TAG_LEN);
        assert_eq!(encrypt_bytes(&keys, &plaintext), blob, "deterministic");
        let back = decrypt_bytes(&blob, |_| Some(&keys)).unwrap().unwrap();
        assert_eq!(back, plaintext);
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        for len in [
            0,
            1,
            21,
            CHUNK_LEN - 1,
            CHUNK_LEN,
            CHUNK_LEN + 1,
            3 * CHUNK_LEN,
            3 * CHUNK_LEN + 5,
        ] {
            round_trip(len);
        }
    }

    #[test]
    fn spills_large_plaintext_and_stays_deterministic() {
        round_trip(SPILL_THRESHOLD + 3 * CHUNK_LEN + 17);
    }

    #[test]
    fn rejects_truncation_extension_and_reordering() {
        let keys = keys();
        let plaintext = vec![5u8; 2 * CHUNK_LEN + 10];
        let blob = encrypt_bytes(&keys, &plaintext);
        let find = |_: &KeyId| Some(&keys);
        let sealed = SEALED_CHUNK_LEN;
        // Drop the last chunk: the now-last chunk was sealed as non-final.
        let truncated = &blob[..HEADER_LEN + 2 * sealed];
        assert!(matches!(
            decrypt_bytes(truncated, find),
            Err(FormatError::Authentication(1))
        ));
        // Header only.
        assert!(matches!(
            decrypt_bytes(&blob[..HEADER_LEN], find),
            Err(FormatError::MissingFinalChunk)
        ));
        // Appended byte.
        let mut extended = blob.clone();
        extended.push(0);
        assert!(decrypt_bytes(&extended, find).is_err());
        // Swap the first two chunks.
        let mut swapped = blob.clone();
        let (a, b) = (HEADER_LEN, HEADER_LEN + sealed);
        let first = blob[a..b].to_vec();
        swapped.copy_within(b..b + sealed, a);
        swapped[b..b + sealed].copy_from_slice(&first);
        assert!(matches!(
            decrypt_bytes(&swapped, find),
            Err(FormatError::Authentication(0))
        ));
        // Any flipped bit anywhere after the magic and version fails.
        for pos in [MAGIC.len() + 1, HEADER_LEN - 1, HEADER_LEN, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[pos] ^= 0x10;
            let other = Subkeys::derive(&[1; 32]);
            let result = decrypt_bytes(&bad, |id| {
                if *id == keys.id() {
                    Some(&keys)
                } else {
                    Some(&other)
                }
            });
            assert!(result.is_err(), "flip at {pos} accepted");
        }
    }

    #[test]
    fn rejects_unknown_version_and_short_header() {
        let mut blob = encrypt_bytes(&keys(), b"x");
        assert!(
            matches!(Header::parse(&blob[..5]), Ok(None)),
            "a prefix of the magic is plaintext"
        );
        assert!(matches!(
            Header::parse(&blob[..MAGIC.len()]),
            Err(FormatError::TruncatedHeader)
        ));
        assert!(matches!(
            Header::parse(&blob[..HEADER_LEN - 1]),
            Err(FormatError::TruncatedHeader)
        ));
        blob[MAGIC.len()] = 2;
        assert!(matches!(
            Header::parse(&blob),
            Err(FormatError::UnsupportedVersion(2))
        ));
        assert!(matches!(Header::parse(b"plain text"), Ok(None)));
        assert!(matches!(Header::parse(b""), Ok(None)));
    }

    #[test]
    fn unknown_key_is_named() {
        let blob = encrypt_bytes(&keys(), b"x");
        let err = decrypt_bytes(&blob, |_| None).unwrap_err();
        assert!(err.to_string().contains(&keys().id().to_string()));
    }
}
