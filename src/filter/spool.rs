//! A rewindable buffer for a file's content in bounded memory: the first
//! [`MEMORY_LIMIT`] bytes stay in memory, the rest goes to an unlinked temp
//! file (so a crash leaves nothing behind). Clean needs two passes over the
//! plaintext (the nonce depends on all of it) and the filter protocol must read
//! a whole file before answering, so both keep content here.
//!
//! Content that spills to disk can be hashed for clean's nonce as it is
//! written ([`Spool::hash_with`]), so sealing is the only pass that reads
//! the temp file back.

use crate::crypto::{NonceHasher, NONCE_LEN};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use zeroize::{Zeroize, Zeroizing};

/// Bytes kept in memory before spilling to disk.
pub const MEMORY_LIMIT: usize = 8 << 20;

#[derive(Default)]
pub struct Spool {
    head: Vec<u8>,
    tail: Option<File>,
    len: u64,
    pos: u64,
    /// Hashes everything written, from the moment the content spills
    /// (the head first): content that fits in memory is hashed from there.
    hasher: Option<NonceHasher>,
}

impl Drop for Spool {
    /// The head holds plaintext during a clean.
    fn drop(&mut self) {
        self.head.zeroize();
    }
}

impl Spool {
    pub fn new() -> Spool {
        Spool::default()
    }

    /// The whole content, when it never spilled to disk: taken out of the
    /// spool (which is left empty), to be read in place rather than copied.
    pub fn take_in_memory(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        if self.tail.is_some() {
            return None;
        }
        self.len = 0;
        self.pos = 0;
        Some(Zeroizing::new(std::mem::take(&mut self.head)))
    }

    /// Reads `input` to its end into a new spool, positioned at the start.
    /// Reads and spills in 1 MiB pieces: `io::copy`'s 8 KiB ones cost a
    /// system call pair per 8 KiB, over a second per GiB here.
    pub fn from_reader(input: &mut dyn Read) -> io::Result<Spool> {
        Spool::from_reader_hashed(input, None)
    }

    /// [`Spool::from_reader`], hashing spilled content with `hasher` (see
    /// [`Spool::hash_with`]).
    pub fn from_reader_hashed(
        input: &mut dyn Read,
        hasher: Option<NonceHasher>,
    ) -> io::Result<Spool> {
        let mut spool = Spool::new();
        if let Some(hasher) = hasher {
            spool.hash_with(hasher);
        }
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = crate::format::read_full(input, &mut buf)?;
            if n == 0 {
                break;
            }
            spool.write_all(&buf[..n])?;
        }
        spool.rewind()?;
        Ok(spool)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Hashes the content with `hasher` as it is written, once it spills to
    /// disk; call before the first write.
    pub fn hash_with(&mut self, hasher: NonceHasher) {
        debug_assert_eq!(self.len, 0, "hash_with after content was written");
        if self.len == 0 {
            self.hasher = Some(hasher);
        }
    }

    /// The hash of the whole content and its length, when the content spilled
    /// to disk and was hashed as it was written (else `None`: content in
    /// memory is cheap to hash again).
    pub fn take_hash(&mut self) -> Option<([u8; NONCE_LEN], u64)> {
        self.tail.as_ref()?;
        let hasher = self.hasher.take()?;
        Some((hasher.finish(), self.len))
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Write for Spool {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = MEMORY_LIMIT - self.head.len();
        let n = if room > 0 {
            let n = data.len().min(room);
            self.head.extend_from_slice(&data[..n]);
            n
        } else {
            let file = match &mut self.tail {
                Some(file) => file,
                None => {
                    if let Some(hasher) = &mut self.hasher {
                        hasher.update(&self.head);
                    }
                    self.tail.insert(tempfile::tempfile()?)
                }
            };
            let n = file.write(data)?;
            if let Some(hasher) = &mut self.hasher {
                hasher.update(&data[..n]);
            }
            n
        };
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Spool {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head_len = self.head.len() as u64;
        if self.pos < head_len {
            let start = self.pos as usize;
            let n = buf.len().min(self.head.len() - start);
            buf[..n].copy_from_slice(&self.head[start..start + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let Some(file) = &mut self.tail else {
            return Ok(0);
        };
        let n = file.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Spool {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        let target = target.filter(|t| *t <= self.len).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the spooled content",
            )
        })?;
        let head_len = self.head.len() as u64;
        if let Some(file) = &mut self.tail {
            file.seek(SeekFrom::Start(target.saturating_sub(head_len)))?;
        }
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_rewinds() {
        let data: Vec<u8> = (0..MEMORY_LIMIT + 100_000)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut spool = Spool::from_reader(&mut &data[..]).unwrap();
        assert_eq!(spool.len(), data.len() as u64);
        assert!(spool.tail.is_some(), "content past the limit goes to disk");
        for _ in 0..2 {
            let mut back = Vec::new();
            spool.read_to_end(&mut back).unwrap();
            assert_eq!(back, data);
            spool.rewind().unwrap();
        }
        spool
            .seek(SeekFrom::Start(MEMORY_LIMIT as u64 - 1))
            .unwrap();
        let mut two = [0u8; 2];
        spool.read_exact(&mut two).unwrap();
        assert_eq!(two, data[MEMORY_LIMIT - 1..MEMORY_LIMIT + 1]);
    }

    #[test]
    fn spilled_content_is_hashed_as_written_and_seals_to_the_same_blob() {
        let keys = crate::crypto::Subkeys::derive(&[7u8; crate::crypto::KEY_LEN]);
        let data: Vec<u8> = (0..MEMORY_LIMIT + (3 << 20) + 12_345)
            .map(|i| (i % 253) as u8)
            .collect();
        // In git's packet sizes, as the filter process receives it.
        let mut spool = Spool::new();
        spool.hash_with(keys.nonce_hasher());
        for packet in data.chunks(65516) {
            spool.write_all(packet).unwrap();
        }
        spool.rewind().unwrap();
        let (nonce, len) = spool.take_hash().expect("spilled content is hashed");
        let mut whole = keys.nonce_hasher();
        whole.update(&data);
        assert_eq!(nonce, whole.finish());
        assert_eq!(len, data.len() as u64);
        let mut sealed = Vec::new();
        crate::format::encrypt_hashed(&keys, nonce, len, &mut spool, &mut sealed).unwrap();
        assert!(sealed == crate::format::encrypt_bytes(&keys, &data));
    }

    #[test]
    fn content_in_memory_is_not_hashed_while_spooling() {
        let keys = crate::crypto::Subkeys::derive(&[7u8; crate::crypto::KEY_LEN]);
        let mut spool =
            Spool::from_reader_hashed(&mut &[1u8; 1000][..], Some(keys.nonce_hasher())).unwrap();
        assert!(spool.take_hash().is_none());
    }

    #[test]
    fn small_content_stays_in_memory() {
        let mut spool = Spool::from_reader(&mut &b"abc"[..]).unwrap();
        assert!(spool.tail.is_none());
        let mut back = String::new();
        spool.read_to_string(&mut back).unwrap();
        assert_eq!(back, "abc");
    }

    #[test]
    fn content_in_memory_is_taken_out_whole_and_spilled_content_is_not() {
        let mut spool = Spool::from_reader(&mut &b"abc"[..]).unwrap();
        spool.read_exact(&mut [0u8; 2]).unwrap();
        assert_eq!(spool.take_in_memory().unwrap().as_slice(), b"abc");
        assert_eq!((spool.len(), spool.read(&mut [0u8; 4]).unwrap()), (0, 0));
        let big = vec![7u8; MEMORY_LIMIT + 1];
        let mut spool = Spool::from_reader(&mut &big[..]).unwrap();
        assert!(spool.take_in_memory().is_none());
        let mut back = Vec::new();
        spool.read_to_end(&mut back).unwrap();
        assert!(back == big, "a spilled spool keeps its content");
    }
}
