//! Reading git-crypt's formats, for `import-git-crypt` and for decrypting
//! history made with git-crypt (its keys are kept read-only: git-secret never
//! encrypts with them).
//!
//! - Key file: `"\0GITCRYPTKEY"`, be32 format version 2, header fields
//!   (be32 id, be32 length, data; id 0 ends; 1 = key name; an unknown odd id
//!   is critical), then entries of fields (1 = be32 key version, 3 = 32-byte
//!   AES key, 5 = 64-byte HMAC key, 0 ends the entry). Before git-crypt 0.4 a
//!   key file was just the AES key followed by the HMAC key (96 bytes).
//! - Blob: `"\0GITCRYPT\0"`, a 12-byte nonce = HMAC-SHA1(hmac key,
//!   plaintext)[..12], then AES-256-CTR with counter block nonce ‖ be32(block
//!   index). Decryption is verified by recomputing the HMAC.

use crate::crypto::KeyId;
use aes::cipher::{KeyIvInit, StreamCipher};
use anyhow::{bail, Context, Result};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

pub const BLOB_MAGIC: &[u8; 10] = b"\0GITCRYPT\0";
const KEY_MAGIC: &[u8; 12] = b"\0GITCRYPTKEY";
const NONCE_LEN: usize = 12;
/// AES key followed by HMAC key.
pub const MATERIAL_LEN: usize = 96;

type Aes256Ctr32 = ctr::Ctr32BE<aes::Aes256>;

/// One git-crypt key version. Debug output never shows the material.
pub struct GitCryptKey {
    name: String,
    version: u32,
    material: Zeroizing<[u8; MATERIAL_LEN]>,
    id: KeyId,
}

impl fmt::Debug for GitCryptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GitCryptKey {{ name: {:?}, version: {}, id: {}, material: <redacted> }}",
            self.name, self.version, self.id
        )
    }
}

impl GitCryptKey {
    pub fn new(
        name: &str,
        version: u32,
        material: Zeroizing<[u8; MATERIAL_LEN]>,
    ) -> Result<GitCryptKey> {
        crate::keyname::validate_name(name)?;
        let mut id = KeyId([0; crate::crypto::KEY_ID_LEN]);
        Hkdf::<Sha256>::new(Some(b"git-secret v1"), material.as_ref())
            .expand(b"git-secret v1 git-crypt key id", &mut id.0)
            .expect("16 bytes is a valid HKDF-SHA256 output length");
        Ok(GitCryptKey {
            name: name.to_owned(),
            version,
            material,
            id,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// A fingerprint for messages and key files (git-crypt blobs carry no key id).
    pub fn id(&self) -> KeyId {
        self.id
    }

    pub fn material(&self) -> &[u8; MATERIAL_LEN] {
        &self.material
    }

    fn hmac(&self) -> Hmac<Sha1> {
        <Hmac<Sha1> as KeyInit>::new_from_slice(&self.material[32..])
            .expect("HMAC accepts any key length")
    }

    /// git-crypt's nonce for `plaintext`.
    pub fn nonce(&self, plaintext: &[u8]) -> [u8; NONCE_LEN] {
        let mut mac = self.hmac();
        mac.update(plaintext);
        let digest = mac.finalize().into_bytes();
        digest[..NONCE_LEN]
            .try_into()
            .expect("SHA-1 output is 20 bytes")
    }

    /// Decrypts a git-crypt blob; None when this key did not encrypt it.
    pub fn decrypt(&self, blob: &[u8]) -> Option<Vec<u8>> {
        let nonce = blob.get(BLOB_MAGIC.len()..BLOB_MAGIC.len() + NONCE_LEN)?;
        let mut data = blob[BLOB_MAGIC.len() + NONCE_LEN..].to_vec();
        let mut iv = [0u8; 16];
        iv[..NONCE_LEN].copy_from_slice(nonce);
        let mut cipher = Aes256Ctr32::new_from_slices(&self.material[..32], &iv)
            .expect("key 32 bytes, iv 16 bytes");
        cipher.apply_keystream(&mut data);
        (self.nonce(&data) == nonce).then_some(data)
    }
}

/// Whether `data` is a git-crypt blob.
pub fn is_blob(data: &[u8]) -> bool {
    data.starts_with(BLOB_MAGIC)
}

/// Decrypts a git-crypt blob with whichever key verifies.
pub fn decrypt(keys: &[GitCryptKey], blob: &[u8]) -> Result<Vec<u8>> {
    if blob.len() < BLOB_MAGIC.len() + NONCE_LEN {
        bail!("the git-crypt file is truncated");
    }
    keys.iter().find_map(|k| k.decrypt(blob)).context(
        "no installed git-crypt key decrypts this file (wrong key, or the file was tampered with)",
    )
}

/// Parses a git-crypt key file (format 2, or the 96-byte legacy format).
/// `default_name` names keys whose file carries no name.
pub fn parse_key_file(bytes: &[u8], source: &str) -> Result<Vec<GitCryptKey>> {
    if !bytes.starts_with(KEY_MAGIC) {
        if bytes.len() == MATERIAL_LEN {
            let mut material = Zeroizing::new([0u8; MATERIAL_LEN]);
            material.copy_from_slice(bytes);
            return Ok(vec![GitCryptKey::new(
                crate::keyname::DEFAULT_NAME,
                0,
                material,
            )?]);
        }
        bail!("{source} is not a git-crypt key file (no \\0GITCRYPTKEY header, and not a 96-byte legacy key)");
    }
    let mut reader = Fields {
        data: bytes,
        pos: KEY_MAGIC.len(),
        source,
    };
    let format = reader.be32()?;
    if format != 2 {
        bail!("{source}: git-crypt key format version {format} is not supported (only 2)");
    }
    let mut name = crate::keyname::DEFAULT_NAME.to_owned();
    while let Some((id, data)) = reader.field()? {
        match id {
            1 => {
                name = String::from_utf8(data.to_vec())
                    .ok()
                    .context("the key name is not UTF-8")?
            }
            id if id % 2 == 1 => bail!("{source}: unknown critical header field {id}"),
            _ => {}
        }
    }
    let mut keys = Vec::new();
    while reader.pos < bytes.len() {
        let (mut version, mut aes, mut hmac) = (None, None, None);
        while let Some((id, data)) = reader.field()? {
            match (id, data.len()) {
                (1, 4) => {
                    version = Some(u32::from_be_bytes(data.try_into().expect("length checked")))
                }
                (3, 32) => aes = Some(data),
                (5, 64) => hmac = Some(data),
                (1 | 3 | 5, len) => bail!("{source}: key field {id} has the wrong length {len}"),
                (id, _) if id % 2 == 1 => bail!("{source}: unknown critical key field {id}"),
                _ => {}
            }
        }
        let (Some(version), Some(aes), Some(hmac)) = (version, aes, hmac) else {
            bail!("{source}: a key entry lacks its version, AES key or HMAC key");
        };
        let mut material = Zeroizing::new([0u8; MATERIAL_LEN]);
        material[..32].copy_from_slice(aes);
        material[32..].copy_from_slice(hmac);
        keys.push(GitCryptKey::new(&name, version, material)?);
    }
    if keys.is_empty() {
        bail!("{source} holds no git-crypt key");
    }
    Ok(keys)
}

struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    source: &'a str,
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.with_context(|| format!("{} is truncated", self.source))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn be32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// The next (id, data) field, or None at the list's terminating id 0.
    fn field(&mut self) -> Result<Option<(u32, &'a [u8])>> {
        let id = self.be32()?;
        if id == 0 {
            return Ok(None);
        }
        let len = self.be32()? as usize;
        if len > 1 << 20 {
            bail!("{}: field {id} is implausibly long", self.source);
        }
        Ok(Some((id, self.take(len)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/git-crypt/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn reads_real_git_crypt_key_files() {
        let default = parse_key_file(&fixture("default.key"), "default.key").unwrap();
        assert_eq!(
            (default.len(), default[0].name(), default[0].version()),
            (1, "default", 0)
        );
        let prod = parse_key_file(&fixture("prod.key"), "prod.key").unwrap();
        assert_eq!(prod[0].name(), "prod");
        let legacy = parse_key_file(&fixture("legacy.key"), "legacy.key").unwrap();
        assert_eq!(
            legacy[0].material(),
            default[0].material(),
            "legacy = raw AES ‖ HMAC keys"
        );
        assert_eq!(legacy[0].id(), default[0].id());
    }

    #[test]
    fn rejects_damaged_key_files() {
        let good = fixture("prod.key");
        for (bad, expected) in [
            (good[..good.len() - 10].to_vec(), "truncated"),
            ([&good[..15], &[3u8][..], &good[16..]].concat(), "version 3"),
            (b"hello".to_vec(), "not a git-crypt key file"),
        ] {
            let err = format!("{:#}", parse_key_file(&bad, "k").unwrap_err());
            assert!(err.contains(expected), "{err}");
        }
        // An unknown odd (critical) header field.
        let mut critical = good[..16].to_vec();
        critical.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 1, b'x']);
        critical.extend_from_slice(&good[16..]);
        assert!(format!("{:#}", parse_key_file(&critical, "k").unwrap_err()).contains("critical"));
    }

    #[test]
    fn nonce_is_hmac_sha1_prefix_and_decrypt_verifies() {
        let key = &parse_key_file(&fixture("default.key"), "k").unwrap()[0];
        // Encrypt as git-crypt does, then decrypt and tamper.
        let plaintext = b"API_TOKEN=first\n";
        let nonce = key.nonce(plaintext);
        let mut iv = [0u8; 16];
        iv[..12].copy_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        Aes256Ctr32::new_from_slices(&key.material()[..32], &iv)
            .unwrap()
            .apply_keystream(&mut body);
        let blob = [&BLOB_MAGIC[..], &nonce, &body].concat();
        assert_eq!(key.decrypt(&blob).unwrap(), plaintext);
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.decrypt(&tampered).is_none());
    }
}
