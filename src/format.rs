//! The encrypted blob format, version 1 (FORMAT.md is the specification).
//!
//! ```text
//! header = MAGIC (10) ‖ VERSION (1) ‖ key id (16) ‖ nonce (32)      59 bytes
//! body   = chunk₀ ‖ chunk₁ ‖ … ‖ chunkₙ   each = AES-GCM-SIV(ciphertext ‖ tag)
//! ```
//! Every chunk but the last carries exactly [`CHUNK_LEN`] plaintext bytes; the
//! last carries 1..=CHUNK_LEN, or 0 only when it is the only chunk (empty file).

use crate::crypto::{KeyId, Subkeys, KEY_ID_LEN, NONCE_LEN, TAG_LEN};
use crate::pipeline::{self, PageBuf};
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::mpsc;
use zeroize::Zeroizing;

/// Starts with NUL so git, `text=auto` and diff treat every blob as binary.
pub const MAGIC: &[u8; 10] = b"\0GITSECRET";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = MAGIC.len() + 1 + KEY_ID_LEN + NONCE_LEN;
/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;

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

    /// Parses a header from the start of `data` (a whole blob will do: bytes past
    /// the header are not read). `Ok(None)` means the data is not
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
pub fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
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

/// How a stored blob looks from its first bytes (no key needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Encrypted(KeyId),
    /// Carries the magic but the header is unusable (e.g. unknown version).
    Damaged,
    /// Encrypted by git-crypt (history from before `import-git-crypt`).
    GitCrypt,
    /// git's empty blob: what an empty marked file is stored as (it hides
    /// nothing its size does not), never a leak.
    Empty,
    Plaintext,
}

impl Stored {
    /// Classifies a blob (or its first [`HEADER_LEN`] bytes or more).
    pub fn classify(data: &[u8]) -> Stored {
        if data.is_empty() {
            return Stored::Empty;
        }
        match Header::parse(data) {
            Ok(Some(header)) => Stored::Encrypted(header.key_id),
            Ok(None) if crate::gitcrypt::is_blob(data) => Stored::GitCrypt,
            Ok(None) => Stored::Plaintext,
            Err(_) => Stored::Damaged,
        }
    }
}

/// Whether a blob of `len` bytes can be one an encoder wrote, judged by its
/// length alone (no key): after the header, chunks of `CHUNK_LEN + TAG_LEN`
/// bytes and a last chunk carrying at least one plaintext byte, or a single
/// tag-only chunk (the empty file). A keyless push gate uses it; where the key
/// is held, authentication decides.
pub fn framing_is_valid(len: usize) -> bool {
    let Some(body) = len.checked_sub(HEADER_LEN) else {
        return false;
    };
    let full = CHUNK_LEN + TAG_LEN;
    let (chunks, last) = (body / full, body % full);
    match last {
        0 => chunks >= 1,
        n if n == TAG_LEN => chunks == 0,
        n => n > TAG_LEN,
    }
}

/// Whether `data` starts with git-secret's magic (whatever follows).
pub fn has_magic(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// Whether the file at `path` starts with git-secret's magic; false when it
/// cannot be read.
pub fn file_has_magic(path: &std::path::Path) -> bool {
    let mut magic = [0u8; MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| read_full(&mut f, &mut magic))
        .is_ok_and(|n| has_magic(&magic[..n]))
}

/// Up to this size clean encrypts from one in-memory copy (one read of the input).
const SMALL_FILE: usize = 2 << 20;
/// The keyed-hash pass reads this much at a time: it fits in the CPU's cache.
const HASH_READ: usize = 256 << 10;

/// Encrypts everything `input` yields from its current position and writes the
/// blob to `out`. Two passes: the keyed hash of all the plaintext gives the
/// nonce, then the chunks are sealed on all cores.
pub fn encrypt<R: Read + Seek + Send + ?Sized>(
    keys: &Subkeys,
    input: &mut R,
    out: &mut dyn Write,
) -> io::Result<()> {
    let start = input.stream_position()?;
    let end = input.seek(SeekFrom::End(0))?;
    input.seek(SeekFrom::Start(start))?;
    if end - start <= SMALL_FILE as u64 {
        // Most secrets are small: read once, hash and seal from memory.
        let mut plaintext = Zeroizing::new(Vec::with_capacity((end - start) as usize));
        input.read_to_end(&mut plaintext)?;
        return encrypt_in_memory(keys, &plaintext, out);
    }
    let mut hasher = keys.nonce_hasher();
    let len = read_ahead(&mut *input, |data| hasher.update(data))?;
    input.seek(SeekFrom::Start(start))?;
    encrypt_hashed(keys, hasher.finish(), len, input, out)
}

/// [`encrypt`] of `input` from its position, whose `len` bytes were hashed
/// with `keys.nonce_hasher()` into `nonce` as they arrived (while spooling):
/// one read of the input, sealing. Gives the bytes [`encrypt`] gives, as
/// long as `nonce` is that hash of exactly these bytes.
pub fn encrypt_hashed<R: Read + ?Sized>(
    keys: &Subkeys,
    nonce: [u8; NONCE_LEN],
    len: u64,
    input: &mut R,
    out: &mut dyn Write,
) -> io::Result<()> {
    seal_chunks(
        keys,
        nonce,
        len,
        &mut |room| read_full(&mut *input, room),
        out,
    )?;
    if read_full(input, &mut [0u8])? != 0 {
        return Err(changed_while_encrypting());
    }
    Ok(())
}

/// Reads `input` to its end on a helper thread and hands what it read to
/// `consume` on this one, so reading overlaps hashing. Returns the length.
fn read_ahead<R: Read + Send + ?Sized>(
    input: &mut R,
    mut consume: impl FnMut(&[u8]),
) -> io::Result<u64> {
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<PageBuf>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<PageBuf>();
        for _ in 0..3 {
            empty_tx
                .send(PageBuf::new(HASH_READ))
                .expect("receiver is alive");
        }
        let reader = scope.spawn(move || -> io::Result<()> {
            // Ends at the end of the input or when the consumer hung up.
            while let Ok(mut buf) = empty_rx.recv() {
                let n = read_full(input, buf.room(HASH_READ))?;
                buf.set_len(n);
                if n == 0 || full_tx.send(buf).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let mut len = 0u64;
        for buf in full_rx.iter() {
            consume(buf.data());
            len += buf.data().len() as u64;
            let _ = empty_tx.send(buf);
        }
        reader.join().expect("the reader does not panic")?;
        Ok(len)
    })
}

fn changed_while_encrypting() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the input changed while it was being encrypted",
    )
}

/// Encrypts a plaintext already in memory (what `encrypt` does for small
/// files): the same bytes as [`encrypt`], without copying it first.
pub fn encrypt_in_memory(keys: &Subkeys, plaintext: &[u8], out: &mut dyn Write) -> io::Result<()> {
    let mut hasher = keys.nonce_hasher();
    hasher.update(plaintext);
    let mut rest = plaintext;
    let mut fill = |room: &mut [u8]| {
        let (now, later) = rest.split_at(room.len().min(rest.len()));
        room[..now.len()].copy_from_slice(now);
        rest = later;
        Ok(now.len())
    };
    seal_chunks(
        keys,
        hasher.finish(),
        plaintext.len() as u64,
        &mut fill,
        out,
    )
}

/// Writes the header for `len` plaintext bytes whose keyed hash is in
/// `hasher`, then seals the chunks that `fill` supplies (it fills the buffer
/// it is given and returns how much it filled) and writes them in order.
fn seal_chunks(
    keys: &Subkeys,
    nonce: [u8; NONCE_LEN],
    len: u64,
    fill: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let header = Header {
        key_id: keys.id(),
        nonce,
    };
    let aad = header.to_bytes();
    out.write_all(&aad)?;
    let cipher = keys.file_cipher(&header.nonce);
    let total = len.div_ceil(CHUNK_LEN as u64).max(1);
    let size = |index: u64| (len - index * CHUNK_LEN as u64).min(CHUNK_LEN as u64) as usize;
    pipeline::run(
        size(0) + TAG_LEN,
        |chunk| {
            if chunk.index == total {
                return Ok(false);
            }
            let want = size(chunk.index);
            if fill(chunk.buf.room(want))? != want {
                return Err(changed_while_encrypting());
            }
            chunk.buf.set_len(want);
            chunk.last = chunk.index + 1 == total;
            Ok(true)
        },
        &|chunk| {
            let n = chunk.buf.data().len();
            let tag = cipher.seal(chunk.index, chunk.last, &aad, chunk.buf.data_mut());
            chunk.buf.room(n + TAG_LEN)[n..].copy_from_slice(&tag);
            chunk.buf.set_len(n + TAG_LEN);
            Ok(())
        },
        |chunk| out.write_all(chunk.buf.data()),
    )
}

/// Encrypts a plaintext held in memory.
pub fn encrypt_bytes(keys: &Subkeys, plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        HEADER_LEN + plaintext.len() + TAG_LEN * (plaintext.len() / CHUNK_LEN + 1),
    );
    encrypt(keys, &mut io::Cursor::new(plaintext), &mut out)
        .expect("writing to memory cannot fail");
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
    // Each read takes a sealed chunk plus one byte of look-ahead, which tells
    // whether the chunk is the blob's last; the byte is carried to the next.
    let mut carried: Option<u8> = None;
    // Plaintext is held back until its first 2 MiB are verified, so a damaged
    // blob of up to that size writes nothing at all (SECURITY.md); beyond
    // that, verified chunks stream out in order.
    let mut held = Zeroizing::new(Vec::new());
    let mut streaming = false;
    pipeline::run(
        SEALED_CHUNK_LEN + 1,
        |chunk| {
            let room = chunk.buf.room(SEALED_CHUNK_LEN + 1);
            let had = match carried.take() {
                Some(byte) => {
                    room[0] = byte;
                    1
                }
                None => 0,
            };
            let n = had + read_full(input, &mut room[had..])?;
            if n == 0 {
                // Only possible before the first chunk: every full chunk carries a look-ahead byte.
                return Err(FormatError::MissingFinalChunk);
            }
            if n > SEALED_CHUNK_LEN {
                carried = Some(room[SEALED_CHUNK_LEN]);
                chunk.buf.set_len(SEALED_CHUNK_LEN);
            } else {
                chunk.buf.set_len(n);
                chunk.last = true;
            }
            Ok(true)
        },
        &|chunk| {
            let (i, last) = (chunk.index, chunk.last);
            let sealed = chunk.buf.data_mut();
            // An empty final chunk is only canonical as the sole chunk of an empty file.
            if sealed.len() < TAG_LEN || (last && sealed.len() == TAG_LEN && i > 0) {
                return Err(FormatError::Authentication(i));
            }
            let (body, tag) = sealed.split_at_mut(sealed.len() - TAG_LEN);
            cipher
                .open(i, last, &aad, body, tag)
                .map_err(|_| FormatError::Authentication(i))?;
            let plain = body.len();
            chunk.buf.set_len(plain);
            Ok(())
        },
        |chunk| {
            let plain = chunk.buf.data();
            if streaming {
                out.write_all(plain)?;
            } else if held.len() + plain.len() <= SMALL_FILE {
                held.extend_from_slice(plain);
            } else {
                out.write_all(&held)?;
                out.write_all(plain)?;
                held.clear();
                streaming = true;
            }
            Ok(())
        },
    )?;
    Ok(out.write_all(&held)?)
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

    #[test]
    fn framing_accepts_every_encoded_length_and_rejects_the_others() {
        let keys = keys();
        for len in [
            0,
            1,
            5,
            CHUNK_LEN - 1,
            CHUNK_LEN,
            CHUNK_LEN + 1,
            2 * CHUNK_LEN + 3,
        ] {
            let blob = encrypt_bytes(&keys, &vec![7u8; len]);
            assert!(framing_is_valid(blob.len()), "{len}");
        }
        let full = CHUNK_LEN + TAG_LEN;
        for bad in [
            0,
            HEADER_LEN - 1,
            HEADER_LEN,
            HEADER_LEN + TAG_LEN - 1,
            HEADER_LEN + full + TAG_LEN, // an empty chunk after a full one
            HEADER_LEN + full + 5,
        ] {
            assert!(!framing_is_valid(bad), "{bad}");
        }
    }

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
    fn large_file_round_trips() {
        round_trip(SMALL_FILE + 40 * CHUNK_LEN + 17);
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

    /// A file whose content is `first` while it is hashed and `second` when
    /// it is read again for sealing (someone wrote to it in between).
    struct ChangesBetweenPasses {
        first: Vec<u8>,
        second: Vec<u8>,
        rewinds: usize,
        pos: usize,
    }

    impl ChangesBetweenPasses {
        fn data(&self) -> &[u8] {
            // encrypt rewinds once before hashing and once before sealing.
            if self.rewinds < 2 {
                &self.first
            } else {
                &self.second
            }
        }
    }

    impl Read for ChangesBetweenPasses {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let data = &self.data()[self.pos.min(self.data().len())..];
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Seek for ChangesBetweenPasses {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.pos = match to {
                SeekFrom::Start(n) => {
                    self.rewinds += 1;
                    n as usize
                }
                SeekFrom::End(0) => self.data().len(),
                SeekFrom::Current(0) => self.pos,
                _ => unreachable!("encrypt seeks only like this"),
            };
            Ok(self.pos as u64)
        }
    }

    #[test]
    fn a_large_file_changing_while_it_is_encrypted_is_an_error() {
        let len = SMALL_FILE + 3 * CHUNK_LEN + 5;
        let plain = vec![7u8; len];
        for second in [plain[..len - 1].to_vec(), [&plain[..], b"more"].concat()] {
            let mut input = ChangesBetweenPasses {
                first: plain.clone(),
                second,
                rewinds: 0,
                pos: 0,
            };
            let err = encrypt(&keys(), &mut input, &mut Vec::new()).unwrap_err();
            assert!(err.to_string().contains("changed"), "{err}");
        }
        // Unchanged, the same reader encrypts as the in-memory path does.
        let mut input = ChangesBetweenPasses {
            first: plain.clone(),
            second: plain.clone(),
            rewinds: 0,
            pos: 0,
        };
        let mut out = Vec::new();
        encrypt(&keys(), &mut input, &mut out).unwrap();
        assert_eq!(out, encrypt_bytes(&keys(), &plain));
    }
}
