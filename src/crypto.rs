//! The one place that touches the primitives: HKDF-SHA256, HMAC-SHA256 and
//! AES-256-GCM-SIV, composed exactly as FORMAT.md specifies.

use aes_gcm_siv::aead::inout::InOutBuf;
use aes_gcm_siv::{AeadInOut, Aes256GcmSiv, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a repository key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a key id in bytes (shown as 32 lowercase hex characters).
pub const KEY_ID_LEN: usize = 16;
/// Length of the synthetic nonce stored in every blob header.
pub const NONCE_LEN: usize = 32;
/// Length of an AES-GCM-SIV tag.
pub const TAG_LEN: usize = 16;

const HKDF_SALT: &[u8] = b"git-secret v1";
const INFO_ENCRYPTION: &[u8] = b"git-secret v1 encryption";
const INFO_NONCE: &[u8] = b"git-secret v1 nonce";
const INFO_KEY_ID: &[u8] = b"git-secret v1 key id";
const INFO_FILE_KEY: &[u8] = b"git-secret v1 file key";
const INFO_RECIPIENTS: &[u8] = b"git-secret v1 recipients";
const INFO_VOUCH: &[u8] = b"git-secret v1 vouch";
/// Length of a vouch: HMAC-SHA256 truncated to 16 bytes (32 hex characters).
pub const VOUCH_LEN: usize = 16;

/// A public fingerprint of a key: HKDF output, so it reveals nothing about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl KeyId {
    /// Parses the 32-character lowercase hex form.
    pub fn from_hex(text: &str) -> Option<KeyId> {
        if text.len() != KEY_ID_LEN * 2
            || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let mut id = [0u8; KEY_ID_LEN];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(KeyId(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The subkeys derived from one repository key. Zeroized on drop; Debug is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Subkeys {
    vouch: [u8; 32],
    #[zeroize(skip)]
    id: KeyId,
    /// HMAC keyed with the nonce key and HKDF with the encryption key as
    /// PRK (FORMAT.md §2), keyed once:
    /// every blob clones them instead of hashing the key blocks again (six
    /// SHA-256 blocks of the ~25 a 1 KB secret costs). Their states are
    /// key material too; they wipe themselves when dropped (digest's
    /// `zeroize` feature), hence skipped here.
    #[zeroize(skip)]
    nonce_mac: Hmac<Sha256>,
    /// HKDF-Expand with the encryption key: file keys, the recipients MAC key.
    #[zeroize(skip)]
    file_kdf: Hkdf<Sha256>,
}

impl fmt::Debug for Subkeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subkeys {{ id: {}, .. }}", self.id)
    }
}

impl Subkeys {
    /// Derives the encryption key, the nonce key and the key id from a repository key.
    pub fn derive(key: &[u8; KEY_LEN]) -> Subkeys {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), key);
        let expand = |info: &[u8], out: &mut [u8]| {
            hkdf.expand(info, out)
                .expect("HKDF-SHA256 output of 16 or 32 bytes is valid")
        };
        let mut encryption = Zeroizing::new([0u8; 32]);
        let mut nonce = Zeroizing::new([0u8; 32]);
        let mut vouch = Zeroizing::new([0u8; 32]);
        let mut id = KeyId([0; KEY_ID_LEN]);
        expand(INFO_ENCRYPTION, encryption.as_mut());
        expand(INFO_NONCE, nonce.as_mut());
        expand(INFO_KEY_ID, &mut id.0);
        expand(INFO_VOUCH, vouch.as_mut());
        Subkeys {
            vouch: *vouch,
            id,
            nonce_mac: <Hmac<Sha256> as KeyInit>::new_from_slice(nonce.as_ref())
                .expect("HMAC accepts any key length"),
            file_kdf: Hkdf::<Sha256>::from_prk(encryption.as_ref())
                .expect("a 32-byte PRK is valid for HKDF-SHA256"),
        }
    }

    /// The vouch this key gives another key (FORMAT.md §4.2): HMAC-SHA256
    /// under the vouch subkey over `"git-secret v1 vouch" || 0x00 ||
    /// len8(name) || name || be64(generation) || child id`, first 16 bytes.
    pub fn vouch_for(&self, name: &str, generation: u32, child: &KeyId) -> [u8; VOUCH_LEN] {
        let tag = self
            .vouch_mac(name, generation, child)
            .finalize()
            .into_bytes();
        let mut vouch = [0u8; VOUCH_LEN];
        vouch.copy_from_slice(&tag[..VOUCH_LEN]);
        vouch
    }

    /// Whether `vouch` is this key's vouch for (name, generation, child), in constant time.
    pub fn verify_vouch(
        &self,
        name: &str,
        generation: u32,
        child: &KeyId,
        vouch: &[u8; VOUCH_LEN],
    ) -> bool {
        self.vouch_mac(name, generation, child)
            .verify_truncated_left(vouch)
            .is_ok()
    }

    fn vouch_mac(&self, name: &str, generation: u32, child: &KeyId) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.vouch)
            .expect("HMAC accepts any key length");
        let name_len = u8::try_from(name.len()).expect("key names are at most 32 bytes");
        mac.update(INFO_VOUCH);
        mac.update(&[0, name_len]);
        mac.update(name.as_bytes());
        mac.update(&u64::from(generation).to_be_bytes());
        mac.update(&child.0);
        mac
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Starts the keyed hash of a plaintext whose result is the blob's nonce.
    pub fn nonce_hasher(&self) -> NonceHasher {
        NonceHasher(self.nonce_mac.clone())
    }

    /// The AEAD for one blob: a file key expanded from the encryption key and the blob's nonce.
    pub fn file_cipher(&self, nonce: &[u8; NONCE_LEN]) -> FileCipher {
        let mut file_key = Zeroizing::new([0u8; 32]);
        self.file_kdf
            .expand_multi_info(&[INFO_FILE_KEY, nonce], file_key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let aead =
            Aes256GcmSiv::new_from_slice(file_key.as_ref()).expect("the file key is 32 bytes");
        FileCipher { aead }
    }
}

impl Subkeys {
    /// The tag that authenticates a recipient list (FORMAT.md §6.2):
    /// HMAC-SHA256 of `list` under HKDF-Expand(encryption key, "git-secret v1
    /// recipients", 32). Whoever holds the key can make it; nobody else can.
    pub fn recipients_mac(&self, list: &[u8]) -> [u8; 32] {
        self.recipients_hmac(list).finalize().into_bytes().into()
    }

    /// Whether `tag` is the recipient-list tag of `list` (constant time).
    pub fn verify_recipients_mac(&self, list: &[u8], tag: &[u8]) -> bool {
        self.recipients_hmac(list).verify_slice(tag).is_ok()
    }

    fn recipients_hmac(&self, list: &[u8]) -> Hmac<Sha256> {
        let mut mac_key = Zeroizing::new([0u8; 32]);
        self.file_kdf
            .expand(INFO_RECIPIENTS, mac_key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut hmac = <Hmac<Sha256> as KeyInit>::new_from_slice(mac_key.as_ref())
            .expect("HMAC accepts any key length");
        hmac.update(list);
        hmac
    }
}

/// HMAC-SHA256 over the plaintext, fed incrementally.
pub struct NonceHasher(Hmac<Sha256>);

impl NonceHasher {
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> [u8; NONCE_LEN] {
        self.0.finalize().into_bytes().into()
    }
}

/// AES-256-GCM-SIV under one blob's file key. Each chunk's AEAD nonce encodes
/// its index and whether it is the last chunk (STREAM construction).
pub struct FileCipher {
    aead: Aes256GcmSiv,
}

/// An authentication failure: wrong key, corruption, truncation, reordering or appended data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthError;

impl FileCipher {
    fn chunk_nonce(index: u64, last: bool) -> Nonce {
        let mut nonce = Nonce::default();
        nonce[3..11].copy_from_slice(&index.to_be_bytes());
        nonce[11] = u8::from(last);
        nonce
    }

    /// Encrypts `body` in place and returns its tag.
    pub fn seal(&self, index: u64, last: bool, aad: &[u8], body: &mut [u8]) -> [u8; TAG_LEN] {
        self.aead
            .encrypt_inout_detached(&Self::chunk_nonce(index, last), aad, InOutBuf::from(body))
            .expect("chunks are far below the AES-GCM-SIV length limit")
            .into()
    }

    /// Verifies `tag` and decrypts `body` in place (left as it was on failure).
    pub fn open(
        &self,
        index: u64,
        last: bool,
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8],
    ) -> Result<(), AuthError> {
        let tag = Tag::try_from(tag).map_err(|_| AuthError)?;
        self.aead
            .decrypt_inout_detached(
                &Self::chunk_nonce(index, last),
                aad,
                InOutBuf::from(body),
                &tag,
            )
            .map_err(|_| AuthError)
    }

    /// Encrypts `chunk` in place and appends its tag.
    pub fn seal_chunk(&self, index: u64, last: bool, aad: &[u8], chunk: &mut Vec<u8>) {
        let tag = self.seal(index, last, aad, chunk);
        chunk.extend_from_slice(&tag);
    }

    /// Verifies and decrypts `chunk` (ciphertext followed by its tag) in place,
    /// leaving only the plaintext.
    pub fn open_chunk(
        &self,
        index: u64,
        last: bool,
        aad: &[u8],
        chunk: &mut Vec<u8>,
    ) -> Result<(), AuthError> {
        let body_len = chunk.len().checked_sub(TAG_LEN).ok_or(AuthError)?;
        let (body, tag) = chunk.split_at_mut(body_len);
        self.open(index, last, aad, body, tag)?;
        chunk.truncate(body_len);
        Ok(())
    }
}

/// Fills a fresh key from the operating system's random source.
pub fn random_key() -> anyhow::Result<Zeroizing<[u8; KEY_LEN]>> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(key.as_mut())
        .map_err(|e| anyhow::anyhow!("cannot read random bytes from the operating system: {e}"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8452 Appendix C.2 (AEAD_AES_256_GCM_SIV), checked through the same
    /// `aes-gcm-siv` calls that `FileCipher` makes.
    #[test]
    fn rfc8452_vectors() {
        struct V(
            &'static str,
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        );
        let vectors = [
            V(
                "0100000000000000000000000000000000000000000000000000000000000000",
                "030000000000000000000000",
                "",
                "",
                "07f5f4169bbf55a8400cd47ea6fd400f",
            ),
            V(
                "0100000000000000000000000000000000000000000000000000000000000000",
                "030000000000000000000000",
                "0100000000000000",
                "",
                "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28",
            ),
            V(
                "0100000000000000000000000000000000000000000000000000000000000000",
                "030000000000000000000000",
                "010000000000000000000000",
                "",
                "9aab2aeb3faa0a34aea8e2b18ca50da9ae6559e48fd10f6e5c9ca17e",
            ),
            V(
                "0100000000000000000000000000000000000000000000000000000000000000",
                "030000000000000000000000",
                "0200000000000000",
                "01",
                "1de22967237a813291213f267e3b452f02d01ae33e4ec854",
            ),
        ];
        for V(key, nonce, pt, aad, expected) in vectors {
            let key = hex(key);
            let aead = Aes256GcmSiv::new_from_slice(&key).unwrap();
            let mut buf = hex(pt);
            let tag = aead
                .encrypt_inout_detached(
                    &Nonce::try_from(&hex(nonce)[..]).unwrap(),
                    &hex(aad),
                    InOutBuf::from(buf.as_mut_slice()),
                )
                .unwrap();
            buf.extend_from_slice(&tag);
            assert_eq!(buf, hex(expected));
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn key_id_round_trips_and_differs_per_key() {
        let a = Subkeys::derive(&[1; 32]).id();
        let b = Subkeys::derive(&[2; 32]).id();
        assert_ne!(a, b);
        assert_eq!(KeyId::from_hex(&a.to_string()), Some(a));
        assert_eq!(KeyId::from_hex("ABCD"), None);
    }

    #[test]
    fn chunk_tamper_and_position_are_detected() {
        let keys = Subkeys::derive(&[7; 32]);
        let cipher = keys.file_cipher(&[9; 32]);
        let mut chunk = b"hello".to_vec();
        cipher.seal_chunk(0, true, b"aad", &mut chunk);
        let sealed = chunk.clone();
        for (index, last, aad) in [
            (1, true, &b"aad"[..]),
            (0, false, b"aad"),
            (0, true, b"aaD"),
        ] {
            let mut c = sealed.clone();
            assert_eq!(cipher.open_chunk(index, last, aad, &mut c), Err(AuthError));
        }
        cipher.open_chunk(0, true, b"aad", &mut chunk).unwrap();
        assert_eq!(chunk, b"hello");
    }
}
