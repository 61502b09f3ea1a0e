//! What git runs: clean and smudge (one file, or many through the
//! long-running process protocol) and textconv.

pub mod client;
pub mod merge;
pub mod pktline;
pub mod process;
pub mod spin;
pub mod spool;

use crate::crypto::{KeyId, Subkeys};
use crate::format::{self, has_magic, read_full, FormatError, Header, HEADER_LEN};
use crate::gitcrypt;
use crate::keyring::Keyring;
use crate::path::GitPath;
use crate::recipients;
use crate::repo::Repo;
use crate::report::Reporter;
use anyhow::{bail, Result};
use std::io::{self, Read, Seek, SeekFrom, Write};

/// What clean knows of its input besides reading it.
enum Source<'a> {
    /// Only what reading it gives.
    Read,
    /// Its nonce and length, hashed while it was spooled.
    Hashed([u8; crate::crypto::NONCE_LEN], u64),
    /// The whole content, in memory (the same bytes the input reads).
    Memory(&'a [u8]),
}

/// The filter git runs for one driver: the keyring it decrypts with (smudge
/// and textconv pick a key by the id in the blob header) and the key name it
/// encrypts with, whose newest generation is the current key when it is
/// installed (unlocked).
pub struct Filter {
    name: String,
    keyring: Keyring,
    /// For clean's look at the index after a rotation.
    repo: Option<Repo>,
    reporter: Reporter,
}

impl Filter {
    /// The read-only git-crypt keys are used only while this driver's key
    /// is unlocked.
    pub fn new(name: &str, mut keyring: Keyring, reporter: Reporter) -> Filter {
        if keyring.current(name).is_none() {
            keyring = keyring.without_git_crypt();
        }
        Filter {
            name: name.to_owned(),
            keyring,
            repo: None,
            reporter,
        }
    }

    /// The filter for driver `name` in `repo`, with the keys installed there.
    pub fn load(name: &str, repo: Repo, reporter: Reporter) -> Result<Filter> {
        let keyring = Keyring::load(&repo.key_store())?;
        let mut filter = Filter::new(name, keyring, reporter);
        filter.repo = Some(repo);
        Ok(filter)
    }

    pub fn find(&self, id: &KeyId) -> Option<&Subkeys> {
        self.keyring.find(id).map(|k| k.subkeys())
    }

    pub fn is_unlocked(&self) -> bool {
        self.keyring.current(&self.name).is_some()
    }

    /// The repository this filter runs in, if it was loaded from one.
    pub fn repo(&self) -> Option<&Repo> {
        self.repo.as_ref()
    }

    /// Plaintext → blob. `path` (relative to the top of the work tree) is
    /// used in messages and to pass the tool's own files under `.git-secret/`
    /// through unchanged, whatever the attributes say; callers name the file
    /// in errors. Input that is already a git-secret blob passes through
    /// unchanged (clean must be idempotent); in a locked repo plaintext is refused.
    pub fn clean<R: Read + Seek + Send + ?Sized>(
        &self,
        path: &GitPath,
        input: &mut R,
        out: &mut dyn Write,
    ) -> Result<()> {
        self.clean_hashed(path, input, out, Source::Read)
    }

    /// The hasher clean's nonce needs for `path`, to run while the content
    /// is spooled ([`Spool::hash_with`]); `None` when clean will not encrypt
    /// with the current key (locked, or the tool's own files).
    pub fn clean_hasher(&self, path: &GitPath) -> Option<crate::crypto::NonceHasher> {
        if recipients::is_own_file(path.as_bytes()) {
            return None;
        }
        Some(self.keyring.current(&self.name)?.subkeys().nonce_hasher())
    }

    /// [`Filter::clean`] of spooled content, using the nonce hashed while
    /// spooling (if any), so the spool is read back once, to seal it.
    pub fn clean_spooled(
        &self,
        path: &GitPath,
        spool: &mut spool::Spool,
        out: &mut dyn Write,
    ) -> Result<()> {
        // Content in memory (most secrets) is sealed where it lies, not
        // copied out of the spool first.
        if let Some(content) = spool.take_in_memory() {
            let mut input = io::Cursor::new(&content[..]);
            return self.clean_hashed(path, &mut input, out, Source::Memory(&content));
        }
        let source = match spool.take_hash() {
            Some((nonce, len)) => Source::Hashed(nonce, len),
            None => Source::Read,
        };
        self.clean_hashed(path, spool, out, source)
    }

    fn clean_hashed<R: Read + Seek + Send + ?Sized>(
        &self,
        path: &GitPath,
        input: &mut R,
        out: &mut dyn Write,
        source: Source<'_>,
    ) -> Result<()> {
        if recipients::is_own_file(path.as_bytes()) {
            io::copy(input, out)?;
            return Ok(());
        }
        let start = input.stream_position()?;
        let mut prefix = [0u8; HEADER_LEN];
        let n = read_full(&mut *input, &mut prefix)?;
        input.seek(SeekFrom::Start(start))?;
        let prefix = &prefix[..n];
        let looks_encrypted = has_magic(prefix) || gitcrypt::is_blob(prefix);
        if n == 0 {
            // An empty file is stored as git's empty blob, so its zero-size
            // index entry matches (an encrypted empty blob never would), and
            // it hides nothing its size does not. An encrypted empty blob
            // from before stays as it is while the file stays empty.
            if let Some(blob) = self.encrypted_empty_index_blob(path) {
                out.write_all(&blob)?;
            }
            return Ok(());
        }
        let Some(current) = self.keyring.current(&self.name) else {
            // Locked. Only what is already stored for this path (its index or
            // HEAD blob, byte for byte) passes: ciphertext (checkouts, `git
            // status`) or a plaintext blob committed before the file was
            // marked. Changed ciphertext cannot be checked without the key,
            // so it is refused like plaintext.
            if self.matches_stored_blob(path, input)? {
                io::copy(input, out)?;
                return Ok(());
            }
            if has_magic(prefix)
                || (gitcrypt::is_blob(prefix) && self.path_has_git_crypt_blob(path))
            {
                bail!(
                    "refusing to store ciphertext that differs from the stored version: key '{}' is locked \
                     in this repository, and changing an encrypted file needs its key. Run `git-secret unlock \
                     KEYFILE` and edit the plaintext, or `git checkout -- {path}` to restore the stored file",
                    self.name
                );
            }
            bail!(
                "refusing to store plaintext: key '{}' is locked in this repository. \
                 Run `git-secret unlock KEYFILE` first, or `git checkout -- {path}` to restore the encrypted file",
                self.name
            );
        };
        // Content that looks encrypted passes through only when it is: a
        // header with a key id this repository holds and a body that
        // authenticates (or the very blob already stored for the path).
        // Anything else, `\0GITCRYPT\0API_TOKEN=…` included, is encrypted.
        if looks_encrypted && self.is_genuine_blob(path, input)? {
            io::copy(input, out)?;
            return Ok(());
        }
        // The index blob is looked up only where the case needs it: more than
        // one key name held (a path could change key name), several
        // generations or git-crypt keys (an older blob may be kept).
        let index = if self.needs_index_blob() {
            self.repo.as_ref().and_then(|r| r.index_blob(path))
        } else {
            None
        };
        if let Some(blob) = &index {
            self.refuse_key_name_change(path, blob)?;
        }
        if let Some(stored) = self.older_generation_blob(index, input)? {
            out.write_all(&stored)?;
            return Ok(());
        }
        match source {
            // The hash covers the whole content, so only from its start.
            Source::Hashed(nonce, len) if input.stream_position()? == 0 => {
                format::encrypt_hashed(current.subkeys(), nonce, len, input, out)?
            }
            Source::Memory(content) => format::encrypt_in_memory(current.subkeys(), content, out)?,
            _ => format::encrypt(current.subkeys(), input, out)?,
        }
        Ok(())
    }

    fn needs_index_blob(&self) -> bool {
        self.repo.is_some()
            && (self.keyring.names().len() > 1
                || self.keyring.named(&self.name).len() > 1
                || !self.keyring.git_crypt().is_empty())
    }

    /// Clean never moves a path from one key name to another silently: when
    /// the index blob is under a held key of another name, the attributes
    /// changed (by mistake or by someone who holds only the other key).
    fn refuse_key_name_change(&self, path: &GitPath, blob: &[u8]) -> Result<()> {
        let Ok(Some(header)) = Header::parse(blob) else {
            return Ok(());
        };
        let Some(stored) = self.keyring.find(&header.key_id) else {
            return Ok(());
        };
        if stored.name() != self.name {
            bail!(
                "refusing to change its key from '{}' (the stored version) to '{}' (what .gitattributes \
                 says now). If that is not a mistake or an attack on .gitattributes, move it deliberately: \
                 `git update-index --force-remove -- {path}`, then `git add {path}`",
                stored.name(),
                self.name
            );
        }
        Ok(())
    }

    /// Whether `input` (it starts with a magic) is a blob to pass through
    /// as it is: it authenticates under a held key (git-secret or imported
    /// git-crypt), or it is byte for byte the blob stored at `path`.
    fn is_genuine_blob<R: Read + Seek + ?Sized>(
        &self,
        path: &GitPath,
        input: &mut R,
    ) -> Result<bool> {
        let start = input.stream_position()?;
        let mut data = Vec::new();
        input.read_to_end(&mut data)?;
        input.seek(SeekFrom::Start(start))?;
        let opens = if gitcrypt::is_blob(&data) {
            !self.keyring.git_crypt().is_empty() && self.open_blob(&data).is_ok()
        } else {
            match Header::parse(&data) {
                Ok(Some(header)) if self.keyring.holds(&header.key_id) => format::decrypt(
                    &header,
                    |id| self.find(id),
                    &mut &data[HEADER_LEN..],
                    &mut io::sink(),
                )
                .is_ok(),
                _ => false,
            }
        };
        Ok(opens
            || self
                .repo
                .as_ref()
                .and_then(|r| r.index_blob(path))
                .as_deref()
                == Some(&data[..]))
    }

    /// Whether the index or HEAD blob at `path` is a git-crypt blob.
    fn path_has_git_crypt_blob(&self, path: &GitPath) -> bool {
        let Some(repo) = &self.repo else {
            return false;
        };
        [repo.index_blob(path), repo.head_blob(path)]
            .iter()
            .flatten()
            .any(|b| gitcrypt::is_blob(b))
    }

    /// Whether `input` equals the index or the HEAD blob at `path`.
    fn matches_stored_blob<R: Read + Seek + ?Sized>(
        &self,
        path: &GitPath,
        input: &mut R,
    ) -> Result<bool> {
        let Some(repo) = &self.repo else {
            return Ok(false);
        };
        if let Some(blob) = repo.index_blob(path) {
            if same_content(input, &blob)? {
                return Ok(true);
            }
        }
        match repo.head_blob(path) {
            Some(blob) => same_content(input, &blob),
            None => Ok(false),
        }
    }

    /// The index blob at `path` if it is an encrypted empty file (written
    /// before empty files were stored as the empty blob, or by git-crypt)
    /// that a held key opens.
    fn encrypted_empty_index_blob(&self, path: &GitPath) -> Option<Vec<u8>> {
        let blob = self.repo.as_ref()?.index_blob(path)?;
        if !has_magic(&blob) && !gitcrypt::is_blob(&blob) {
            return None;
        }
        match self.open_blob(&blob) {
            Ok(Some(plaintext)) if plaintext.is_empty() => Some(blob),
            _ => None,
        }
    }

    /// After a rotation (or an import from git-crypt), the blob in the index
    /// may come from an older key generation (or from git-crypt). If it encrypts exactly this plaintext (its nonce is the
    /// keyed hash of the plaintext under that generation), return it unchanged,
    /// so checking out an old commit does not make every secret look modified.
    fn older_generation_blob<R: Read + Seek + ?Sized>(
        &self,
        index: Option<Vec<u8>>,
        input: &mut R,
    ) -> Result<Option<Vec<u8>>> {
        let generations = self.keyring.named(&self.name).len();
        let Some(current) = self.keyring.current(&self.name) else {
            return Ok(None);
        };
        if generations < 2 && self.keyring.git_crypt().is_empty() {
            return Ok(None);
        }
        let Some(blob) = index else {
            return Ok(None);
        };
        if gitcrypt::is_blob(&blob) {
            // git-crypt's nonce is HMAC-SHA1 of the plaintext: compare, then keep its blob.
            let mut plaintext = Vec::new();
            let start = input.stream_position()?;
            input.read_to_end(&mut plaintext)?;
            input.seek(SeekFrom::Start(start))?;
            let same = self
                .keyring
                .git_crypt()
                .iter()
                .any(|k| blob[gitcrypt::BLOB_MAGIC.len()..].starts_with(&k.nonce(&plaintext)));
            return Ok(same.then_some(blob));
        }
        let Ok(Some(header)) = Header::parse(&blob) else {
            return Ok(None);
        };
        let older = self
            .keyring
            .named(&self.name)
            .into_iter()
            .find(|k| k.id() == header.key_id && k.id() != current.id());
        let Some(older) = older else {
            return Ok(None);
        };
        let start = input.stream_position()?;
        let mut hasher = older.subkeys().nonce_hasher();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = read_full(&mut *input, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        input.seek(SeekFrom::Start(start))?;
        Ok((hasher.finish() == header.nonce).then_some(blob))
    }

    /// Blob → plaintext. Plaintext blobs (committed before the file was marked)
    /// pass through with a warning; while this driver's key is locked,
    /// ciphertext passes through so clones and checkouts keep working. The
    /// tool's own files under `.git-secret/` pass through unchanged.
    pub fn smudge(&self, path: &GitPath, input: &mut dyn Read, out: &mut dyn Write) -> Result<()> {
        if recipients::is_own_file(path.as_bytes()) {
            io::copy(input, out)?;
            return Ok(());
        }
        let mut prefix = [0u8; HEADER_LEN];
        let n = read_full(input, &mut prefix)?;
        let prefix = &prefix[..n];
        if gitcrypt::is_blob(prefix) {
            if self.keyring.git_crypt().is_empty() {
                return passthrough(prefix, input, out);
            }
            let mut blob = prefix.to_vec();
            input.read_to_end(&mut blob)?;
            out.write_all(&gitcrypt::decrypt(self.keyring.git_crypt(), &blob)?)?;
            return Ok(());
        }
        let header = match Header::parse(prefix) {
            Ok(Some(header)) if self.is_unlocked() => {
                if let Some(key) = self.keyring.find(&header.key_id) {
                    if key.name() != self.name {
                        self.reporter.warn(format_args!(
                            "{path} is encrypted with key '{}' but .gitattributes marks it for key '{}' \
                             (a changed .gitattributes line?); `git add` will refuse to re-encrypt it \
                             under '{}'",
                            key.name(),
                            self.name,
                            self.name
                        ));
                    }
                } else {
                    // A generation this clone lacks (a pulled rotation). git
                    // has already removed the old file, and a failed smudge
                    // under `required` would leave it missing; ciphertext
                    // keeps the file (clean for git) until `unlock`.
                    self.reporter.warn(format_args!(
                        "{path} is encrypted with key id {}, which is not installed here \
                         (a newer generation, after a teammate's `git-secret rotate` or `remove-user`?): \
                         left encrypted in the work tree. Get the new key and run \
                         `git-secret unlock NEWKEYFILE` (or plain `git-secret unlock` when the new key \
                         was shared with you) to decrypt it",
                        header.key_id
                    ));
                    return passthrough(prefix, input, out);
                }
                header
            }
            Ok(Some(_)) => return passthrough(prefix, input, out),
            Ok(None) => {
                if n > 0 {
                    self.reporter.warn(format_args!(
                        "{path} is stored unencrypted in the repository \
                         (committed before it was marked?); run `git-secret status`"
                    ));
                }
                return passthrough(prefix, input, out);
            }
            // Written by a newer git-secret: unreadable here, not damaged.
            // Failing would leave the file missing, as for a new generation.
            Err(FormatError::UnsupportedVersion(v)) => {
                self.reporter.warn(format_args!(
                    "{path} uses git-secret format version {v}, which this git-secret does not \
                     support: left encrypted in the work tree. Upgrade git-secret, then run \
                     `git-secret unlock` to decrypt it"
                ));
                return passthrough(prefix, input, out);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(format::decrypt(&header, |id| self.find(id), input, out)?)
    }

    /// Whatever git hands textconv (plaintext normally, a blob when locked) →
    /// text to diff. Never fails on content: a failure would break `git log -p`.
    pub fn textconv(&self, data: &[u8], out: &mut dyn Write) -> Result<()> {
        match self.open_blob(data) {
            Ok(Some(plaintext)) => out.write_all(&plaintext)?,
            Ok(None) => out.write_all(data)?,
            Err(Opened::Format(FormatError::UnknownKey(id))) => {
                writeln!(out, "{}", placeholder(Some(&id), data))?
            }
            Err(Opened::GitCryptLocked) => writeln!(out, "{}", placeholder(None, data))?,
            Err(e) => {
                self.reporter.warn(&e);
                writeln!(
                    out,
                    "[git-secret: cannot decrypt this version (content {}): {e}]",
                    content_id(data)
                )?
            }
        }
        Ok(())
    }

    /// Decrypts a whole blob in memory: a git-secret blob, or a git-crypt blob
    /// with an imported key. `Ok(None)` for anything else (plaintext).
    pub fn open_blob(&self, data: &[u8]) -> Result<Option<Vec<u8>>, Opened> {
        if gitcrypt::is_blob(data) {
            if self.keyring.git_crypt().is_empty() {
                return Err(Opened::GitCryptLocked);
            }
            return gitcrypt::decrypt(self.keyring.git_crypt(), data)
                .map(Some)
                .map_err(Opened::GitCrypt);
        }
        format::decrypt_bytes(data, |id| self.find(id)).map_err(Opened::Format)
    }
}

/// The line textconv shows for a blob no held key opens (a locked clone): the
/// key id (none for git-crypt) and a content id of this version, so `git diff`
/// and `git log -p` see a change wherever the stored blob changed.
pub fn placeholder(key_id: Option<&KeyId>, blob: &[u8]) -> String {
    let content = content_id(blob);
    match key_id {
        Some(id) => format!(
            "[git-secret: encrypted with key {id}, content {content}; \
             run `git-secret unlock` to see the contents]"
        ),
        None => format!(
            "[git-crypt: encrypted, content {content}; run `git-secret unlock` to see the contents]"
        ),
    }
}

/// The first 12 hex digits of the SHA-256 of the stored blob: a function of
/// the ciphertext only, so it shows nothing the blob does not (equal
/// plaintexts under one key are equal blobs already).
pub fn content_id(blob: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(blob)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What git stores for a marked file with this plaintext: git's empty blob
/// for an empty file, else the file encrypted with `subkeys`.
pub fn blob_for(subkeys: &Subkeys, plaintext: &[u8]) -> Vec<u8> {
    if plaintext.is_empty() {
        return Vec::new();
    }
    format::encrypt_bytes(subkeys, plaintext)
}

/// Why a blob could not be opened.
#[derive(Debug)]
pub enum Opened {
    Format(FormatError),
    GitCrypt(anyhow::Error),
    GitCryptLocked,
}

impl std::fmt::Display for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opened::Format(e) => write!(f, "{e}"),
            Opened::GitCrypt(e) => write!(f, "{e:#}"),
            Opened::GitCryptLocked => write!(
                f,
                "the file is encrypted with git-crypt and no git-crypt key is installed"
            ),
        }
    }
}

/// Whether `input` (from its current position, which is kept) yields exactly `blob`.
fn same_content<R: Read + Seek + ?Sized>(input: &mut R, blob: &[u8]) -> Result<bool> {
    let start = input.stream_position()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut offset = 0;
    let same = loop {
        let n = read_full(&mut *input, &mut buf)?;
        if n == 0 {
            break offset == blob.len();
        }
        if blob.get(offset..offset + n) != Some(&buf[..n]) {
            break false;
        }
        offset += n;
    };
    input.seek(SeekFrom::Start(start))?;
    Ok(same)
}

fn passthrough(prefix: &[u8], input: &mut dyn Read, out: &mut dyn Write) -> Result<()> {
    out.write_all(prefix)?;
    io::copy(input, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{content_id, placeholder};
    use crate::crypto::KeyId;

    #[test]
    fn placeholder_names_the_key_and_the_version() {
        let id = KeyId::from_hex("00112233445566778899aabbccddeeff").unwrap();
        // SHA-256("abc") = ba7816bf8f01cfea…
        assert_eq!(content_id(b"abc"), "ba7816bf8f01");
        assert_eq!(
            placeholder(Some(&id), b"abc"),
            "[git-secret: encrypted with key 00112233445566778899aabbccddeeff, content ba7816bf8f01; \
             run `git-secret unlock` to see the contents]"
        );
        assert_eq!(
            placeholder(None, b"abc"),
            "[git-crypt: encrypted, content ba7816bf8f01; run `git-secret unlock` to see the contents]"
        );
        assert_ne!(
            placeholder(Some(&id), b"abd"),
            placeholder(Some(&id), b"abc")
        );
    }
}
