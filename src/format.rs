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

/// Chunks sealed or opened per batch; a batch is split across the CPU cores.
const BATCH_CHUNKS: usize = 32;
/// Up to this size clean encrypts from one in-memory copy.
const SMALL_FILE: usize = BATCH_CHUNKS * CHUNK_LEN;

fn worker_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// Applies `f(index, chunk)` to every chunk of a batch, in parallel when it
/// has more than one chunk. Stops at (and returns) the first error by index.
fn for_each_chunk<E: Send, F>(first_index: u64, chunks: &mut [Vec<u8>], f: &F) -> Result<(), E>
where
    F: Fn(u64, &mut Vec<u8>) -> Result<(), E> + Sync,
{
    let workers = if chunks.len() > 1 {
        worker_count().min(chunks.len())
    } else {
        1
    };
    if workers <= 1 {
        return chunks
            .iter_mut()
            .zip(first_index..)
            .try_for_each(|(c, i)| f(i, c));
    }
    let per_worker = chunks.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .chunks_mut(per_worker)
            .enumerate()
            .map(|(w, part)| {
                let base = first_index + (w * per_worker) as u64;
                scope.spawn(move || part.iter_mut().zip(base..).try_for_each(|(c, i)| f(i, c)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("chunk workers do not panic"))
            .collect::<Result<Vec<()>, E>>()
            .map(|_| ())
    })
}

/// Reads `input` to its end in buffers of `size` bytes (only the last may be
/// shorter) on a helper thread and hands each to `consume` on this one, so
/// reading overlaps hashing or sealing. Returns the number of bytes read.
fn read_ahead<R: Read + Send + ?Sized>(
    input: &mut R,
    size: usize,
    mut consume: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        for _ in 0..2 {
            empty_tx
                .send(Vec::with_capacity(size))
                .expect("receiver is alive");
        }
        scope.spawn(move || {
            // Ends when this side is done or the consumer hung up.
            while let Ok(mut buf) = empty_rx.recv() {
                buf.resize(size, 0);
                let result = read_full(input, &mut buf).map(|n| {
                    buf.truncate(n);
                    buf
                });
                let stop = !matches!(&result, Ok(buf) if !buf.is_empty());
                if full_tx.send(result).is_err() || stop {
                    break;
                }
            }
        });
        let mut total = 0u64;
        for buf in full_rx.iter() {
            let buf = buf?;
            if buf.is_empty() {
                break;
            }
            total += buf.len() as u64;
            consume(&buf)?;
            let _ = empty_tx.send(buf);
        }
        Ok(total)
    })
}

/// Encrypts everything `input` yields from its current position and writes the
/// blob to `out`. Two passes: the keyed hash of all the plaintext gives the
/// nonce, then the chunks are sealed (in parallel batches).
pub fn encrypt<R: Read + Seek + Send + ?Sized>(
    keys: &Subkeys,
    input: &mut R,
    out: &mut dyn Write,
) -> io::Result<()> {
    let start = input.stream_position()?;
    let end = input.seek(SeekFrom::End(0))?;
    input.seek(SeekFrom::Start(start))?;
    if end - start <= SMALL_FILE as u64 {
        // Most secrets are small: one read, no helper threads, no big buffers.
        let mut plaintext = Zeroizing::new(Vec::with_capacity((end - start) as usize));
        input.read_to_end(&mut plaintext)?;
        return encrypt_in_memory(keys, &plaintext, out);
    }
    let mut hasher = keys.nonce_hasher();
    let len = read_ahead(input, 1 << 20, |data| {
        hasher.update(data);
        Ok(())
    })?;
    input.seek(SeekFrom::Start(start))?;

    let sealer = BlobSealer::start(keys, hasher, len, out)?;
    let seal = |i: u64, chunk: &mut Vec<u8>| sealer.seal(i, chunk);
    let mut pool: Vec<Vec<u8>> = (0..BATCH_CHUNKS)
        .map(|_| Vec::with_capacity(SEALED_CHUNK_LEN))
        .collect();
    let mut index = 0u64;
    read_ahead(input, BATCH_CHUNKS * CHUNK_LEN, |data| {
        let count = data.len().div_ceil(CHUNK_LEN);
        let batch = &mut pool[..count];
        for (chunk, plain) in batch.iter_mut().zip(data.chunks(CHUNK_LEN)) {
            chunk.clear();
            chunk.extend_from_slice(plain);
        }
        let _ = for_each_chunk(index, batch, &seal);
        for chunk in batch.iter() {
            out.write_all(chunk)?;
        }
        index += count as u64;
        Ok(())
    })?;
    if index != sealer.total {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the input changed while it was being encrypted",
        ));
    }
    Ok(())
}

/// Seals the chunks of one blob, after writing its header.
struct BlobSealer {
    cipher: crate::crypto::FileCipher,
    aad: [u8; HEADER_LEN],
    total: u64,
}

impl BlobSealer {
    /// Writes the header for a plaintext of `len` bytes whose keyed hash is in `hasher`.
    fn start(
        keys: &Subkeys,
        hasher: crate::crypto::NonceHasher,
        len: u64,
        out: &mut dyn Write,
    ) -> io::Result<BlobSealer> {
        let header = Header {
            key_id: keys.id(),
            nonce: hasher.finish(),
        };
        let aad = header.to_bytes();
        out.write_all(&aad)?;
        let total = len.div_ceil(CHUNK_LEN as u64).max(1);
        Ok(BlobSealer {
            cipher: keys.file_cipher(&header.nonce),
            aad,
            total,
        })
    }

    fn seal(&self, index: u64, chunk: &mut Vec<u8>) -> Result<(), ()> {
        self.cipher
            .seal_chunk(index, index + 1 == self.total, &self.aad, chunk);
        Ok(())
    }
}

/// Encrypts a plaintext already in memory (what `encrypt` does for small files).
fn encrypt_in_memory(keys: &Subkeys, plaintext: &[u8], out: &mut dyn Write) -> io::Result<()> {
    let mut hasher = keys.nonce_hasher();
    hasher.update(plaintext);
    let sealer = BlobSealer::start(keys, hasher, plaintext.len() as u64, out)?;
    let seal = |i: u64, chunk: &mut Vec<u8>| sealer.seal(i, chunk);
    let mut chunks: Vec<Vec<u8>> = if plaintext.is_empty() {
        vec![Vec::with_capacity(TAG_LEN)]
    } else {
        plaintext
            .chunks(CHUNK_LEN)
            .map(|c| {
                let mut chunk = Vec::with_capacity(c.len() + TAG_LEN);
                chunk.extend_from_slice(c);
                chunk
            })
            .collect()
    };
    let _ = for_each_chunk(0, &mut chunks, &seal);
    for chunk in &chunks {
        out.write_all(chunk)?;
    }
    Ok(())
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
    // Read a batch of sealed chunks plus one byte of look-ahead, which tells
    // whether the batch's last chunk is the blob's last.
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut carried: Option<u8> = None;
    let mut index = 0u64;
    loop {
        let mut used = 0;
        let mut last_index = None;
        while used < BATCH_CHUNKS {
            if pool.len() == used {
                pool.push(Vec::with_capacity(SEALED_CHUNK_LEN + 1));
            }
            let chunk = &mut pool[used];
            chunk.clear();
            chunk.extend(carried.take());
            let had = chunk.len();
            chunk.resize(SEALED_CHUNK_LEN + 1, 0);
            let n = had + read_full(input, &mut chunk[had..])?;
            if n == 0 {
                // Only possible before the first chunk: every full chunk carries a look-ahead byte.
                return Err(FormatError::MissingFinalChunk);
            }
            used += 1;
            if n > SEALED_CHUNK_LEN {
                carried = Some(chunk[SEALED_CHUNK_LEN]);
                chunk.truncate(SEALED_CHUNK_LEN);
            } else {
                chunk.truncate(n);
                last_index = Some(index + used as u64 - 1);
                break;
            }
        }
        let batch = &mut pool[..used];
        let open = |i: u64, chunk: &mut Vec<u8>| -> Result<(), FormatError> {
            let last = Some(i) == last_index;
            // An empty final chunk is only canonical as the sole chunk of an empty file.
            if last && chunk.len() == TAG_LEN && i > 0 {
                return Err(FormatError::Authentication(i));
            }
            cipher
                .open_chunk(i, last, &aad, chunk)
                .map_err(|_| FormatError::Authentication(i))
        };
        for_each_chunk(index, batch, &open)?;
        for chunk in batch.iter() {
            out.write_all(chunk)?;
        }
        index += used as u64;
        if last_index.is_some() {
            return Ok(());
        }
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
    fn many_batches_round_trip() {
        round_trip(BATCH_CHUNKS * 3 * CHUNK_LEN + 17);
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
