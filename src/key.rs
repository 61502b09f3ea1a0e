//! Repository keys, the key file format (v1), and the key store under the
//! common git dir.
//!
//! A key file is printable ASCII and holds one or more blocks; files
//! concatenate (`cat a.key b.key` is a key file holding both):
//!
//! ```text
//! # comments and blank lines are ignored anywhere
//! -----BEGIN GIT-SECRET KEY v1-----
//! name: default
//! generation: 1
//! id: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
//! key: <32 bytes, standard base64 with padding (44 characters)>
//! -----END GIT-SECRET KEY-----
//! ```
//! The id is recomputed from the key material on read, so a typo in either is caught.

use crate::crypto::{random_key, KeyId, Subkeys, KEY_LEN};
use crate::gitcrypt::GitCryptKey;
use anyhow::{bail, Context, Result};
use base64ct::{Base64, Encoding};
use std::fmt;
use zeroize::Zeroizing;

pub const DEFAULT_NAME: &str = "default";
const BEGIN: &str = "-----BEGIN GIT-SECRET KEY v1-----";
const BEGIN_PREFIX: &str = "-----BEGIN GIT-SECRET KEY ";
const END: &str = "-----END GIT-SECRET KEY-----";
/// A git-crypt key kept read-only for history made with git-crypt.
const GIT_CRYPT_BEGIN: &str = "-----BEGIN GIT-CRYPT KEY v1-----";
const GIT_CRYPT_END: &str = "-----END GIT-CRYPT KEY-----";
const FILE_COMMENT: &str = "\
# git-secret key file. Anyone who holds it can decrypt the files it protects:
# hand it over privately, never commit it. Use it with: git-secret unlock FILE
";

/// One generation of a named repository key. Debug output never shows the material.
pub struct Key {
    name: String,
    generation: u32,
    material: Zeroizing<[u8; KEY_LEN]>,
    subkeys: Subkeys,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Key {{ name: {:?}, generation: {}, id: {}, material: <redacted> }}",
            self.name,
            self.generation,
            self.id()
        )
    }
}

impl Key {
    pub fn from_material(
        name: &str,
        generation: u32,
        material: Zeroizing<[u8; KEY_LEN]>,
    ) -> Result<Key> {
        validate_name(name)?;
        let subkeys = Subkeys::derive(&material);
        Ok(Key {
            name: name.to_owned(),
            generation,
            material,
            subkeys,
        })
    }

    /// A fresh random key.
    pub fn generate(name: &str, generation: u32) -> Result<Key> {
        Key::from_material(name, generation, random_key()?)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn generation(&self) -> u32 {
        self.generation
    }

    pub fn id(&self) -> KeyId {
        self.subkeys.id()
    }

    pub fn subkeys(&self) -> &Subkeys {
        &self.subkeys
    }

    fn write_block(&self, out: &mut String) {
        let encoded = Zeroizing::new(Base64::encode_string(self.material.as_ref()));
        out.push_str(BEGIN);
        out.push('\n');
        out.push_str(&format!(
            "name: {}\ngeneration: {}\nid: {}\n",
            self.name,
            self.generation,
            self.id()
        ));
        out.push_str("key: ");
        out.push_str(&encoded);
        out.push('\n');
        out.push_str(END);
        out.push('\n');
    }
}

/// Key names become part of git config section names and file names.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !name.starts_with('-');
    if !ok {
        // Echo the name only when short: a damaged line may hold key material.
        let shown = if name.len() <= 32 {
            format!("{name:?}")
        } else {
            format!("({} characters)", name.len())
        };
        bail!(
            "invalid key name {shown}: use 1-32 letters, digits, '-' or '_', not starting with '-'"
        );
    }
    Ok(())
}

/// Serialises keys as a key file (comment header, then one block per key).
pub fn format_key_file(keys: &[&Key]) -> Zeroizing<String> {
    format_key_file_all(keys, &[])
}

/// Serialises git-secret keys and read-only git-crypt keys. A git-crypt block
/// has the same fields; `generation` is git-crypt's key version + 1 and `key`
/// is the AES key followed by the HMAC key (96 bytes, 128 base64 characters).
pub fn format_key_file_all(keys: &[&Key], git_crypt: &[&GitCryptKey]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::from(FILE_COMMENT));
    for key in keys {
        key.write_block(&mut out);
    }
    for key in git_crypt {
        let encoded = Zeroizing::new(Base64::encode_string(key.material()));
        out.push_str(GIT_CRYPT_BEGIN);
        out.push('\n');
        out.push_str(&format!(
            "name: {}\ngeneration: {}\nid: {}\n",
            key.name(),
            key.version() + 1,
            key.id()
        ));
        out.push_str("key: ");
        out.push_str(&encoded);
        out.push('\n');
        out.push_str(GIT_CRYPT_END);
        out.push('\n');
    }
    out
}

/// Everything a key file holds.
#[derive(Default)]
pub struct KeyFile {
    pub keys: Vec<Key>,
    pub git_crypt: Vec<GitCryptKey>,
}

/// Parses a key file's git-secret keys; `source` names it in error messages.
pub fn parse_key_file(bytes: &[u8], source: &str) -> Result<Vec<Key>> {
    let file = parse_key_file_all(bytes, source)?;
    if file.keys.is_empty() {
        bail!("{source} holds no git-secret key");
    }
    Ok(file.keys)
}

/// Parses every block of a key file, git-crypt ones included.
pub fn parse_key_file_all(bytes: &[u8], source: &str) -> Result<KeyFile> {
    if bytes.starts_with(b"\0GITCRYPTKEY") {
        bail!(
            "{source} is a git-crypt key file, not a git-secret key file; \
             to move a git-crypt repository over, run `git-secret import-git-crypt {source}`"
        );
    }
    let text = std::str::from_utf8(bytes).ok().filter(|t| {
        t.bytes()
            .all(|b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
    });
    let Some(text) = text else {
        bail!("{source} is not a git-secret key file (it is not printable ASCII text)");
    };
    let mut file = KeyFile::default();
    let mut block: Option<Block> = None;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = || format!("{source} line {}", number + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match &mut block {
            None if line == BEGIN => block = Some(Block::default()),
            None if line == GIT_CRYPT_BEGIN => {
                block = Some(Block {
                    git_crypt: true,
                    ..Block::default()
                })
            }
            None if line.starts_with(BEGIN_PREFIX) => {
                if line.contains(" name:") || line.contains(" key:") {
                    bail!(
                        "{}: the key file's line breaks look lost (the whole block is on one line); \
                         pass it with its line breaks, e.g. `printf '%s\\n' \"$VAR\" | git-secret unlock -`",
                        at()
                    );
                }
                // Quote the version only when it looks like one: a damaged line may hold key material.
                let version = line[BEGIN_PREFIX.len()..].trim_end_matches('-');
                let shown = if version.len() <= 6
                    && version.starts_with('v')
                    && version[1..].bytes().all(|b| b.is_ascii_digit())
                {
                    version
                } else {
                    "unrecognised"
                };
                bail!(
                    "{}: unsupported key file version ({shown}); upgrade git-secret",
                    at()
                )
            }
            None => bail!(
                "{}: expected {BEGIN:?}; is this a git-secret key file?",
                at()
            ),
            Some(_) if line.starts_with(BEGIN_PREFIX) => {
                bail!("{}: a new key block starts before the previous one ended: the key file is truncated", at())
            }
            Some(current) if line == END && !current.git_crypt => {
                let key = current
                    .finish()
                    .with_context(|| format!("{}: incomplete key block", at()))?;
                if !file.keys.iter().any(|k| k.id() == key.id()) {
                    file.keys.push(key);
                }
                block = None;
            }
            Some(current) if line == GIT_CRYPT_END && current.git_crypt => {
                let key = current
                    .finish_git_crypt()
                    .with_context(|| format!("{}: incomplete git-crypt key block", at()))?;
                if !file.git_crypt.iter().any(|k| k.id() == key.id()) {
                    file.git_crypt.push(key);
                }
                block = None;
            }
            Some(current) => current.field(line).with_context(at)?,
        }
    }
    if block.is_some() {
        bail!("{source} is truncated: the last key block has no {END:?} line");
    }
    if file.keys.is_empty() && file.git_crypt.is_empty() {
        bail!("{source} holds no git-secret key");
    }
    Ok(file)
}

#[derive(Default)]
struct Block {
    git_crypt: bool,
    git_crypt_material: Option<Zeroizing<[u8; crate::gitcrypt::MATERIAL_LEN]>>,
    name: Option<String>,
    generation: Option<u32>,
    id: Option<KeyId>,
    material: Option<Zeroizing<[u8; KEY_LEN]>>,
}

impl Block {
    fn field(&mut self, line: &str) -> Result<()> {
        let Some((field, value)) = line.split_once(':') else {
            bail!("expected 'field: value'");
        };
        let value = value.trim();
        let field = field.trim();
        let seen = match field {
            "name" => self.name.is_some(),
            "generation" => self.generation.is_some(),
            "id" => self.id.is_some(),
            "key" => self.material.is_some() || self.git_crypt_material.is_some(),
            _ => false,
        };
        if seen {
            bail!("field {field:?} appears more than once in one key block");
        }
        match field {
            "name" => {
                validate_name(value)?;
                self.name = Some(value.to_owned());
            }
            "generation" => {
                let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                let generation = value.parse().ok().filter(|g| digits && *g > 0);
                self.generation = Some(generation.context("generation must be a positive number")?);
            }
            "id" => {
                self.id =
                    Some(KeyId::from_hex(value).context("id must be 32 lowercase hex characters")?)
            }
            "key" if self.git_crypt => {
                let mut material = Zeroizing::new([0u8; crate::gitcrypt::MATERIAL_LEN]);
                let decoded = Base64::decode(value, material.as_mut()).map(|d| d.len());
                if decoded != Ok(crate::gitcrypt::MATERIAL_LEN) {
                    bail!("git-crypt key material is damaged: expected base64 encoding 96 bytes");
                }
                self.git_crypt_material = Some(material);
            }
            "key" => {
                let mut material = Zeroizing::new([0u8; KEY_LEN]);
                let decoded = Base64::decode(value, material.as_mut()).map(|d| d.len());
                if decoded != Ok(KEY_LEN) {
                    bail!(
                        "key material is damaged: expected 44 base64 characters encoding 32 bytes"
                    );
                }
                self.material = Some(material);
            }
            // Quote only short field names: a damaged line may hold key material.
            other if other.len() <= 16 => bail!("unknown field {other:?}"),
            _ => bail!("unknown field: expected name, generation, id or key"),
        }
        Ok(())
    }

    fn finish_git_crypt(&mut self) -> Result<GitCryptKey> {
        let name = self.name.take().context("missing 'name:'")?;
        let generation = self.generation.take().context("missing 'generation:'")?;
        let id = self.id.take().context("missing 'id:'")?;
        let material = self.git_crypt_material.take().context("missing 'key:'")?;
        let key = GitCryptKey::new(&name, generation - 1, material)?;
        if key.id() != id {
            bail!("key id {id} does not match the key material (id {}): the key was mistyped or damaged", key.id());
        }
        Ok(key)
    }

    fn finish(&mut self) -> Result<Key> {
        let name = self.name.take().context("missing 'name:'")?;
        let generation = self.generation.take().context("missing 'generation:'")?;
        let id = self.id.take().context("missing 'id:'")?;
        let material = self.material.take().context("missing 'key:'")?;
        let key = Key::from_material(&name, generation, material)?;
        if key.id() != id {
            bail!("key id {id} does not match the key material (id {}): the key was mistyped or damaged", key.id());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8, name: &str, generation: u32) -> Key {
        Key::from_material(name, generation, Zeroizing::new([byte; KEY_LEN])).unwrap()
    }

    #[test]
    fn key_file_round_trips_and_concatenates() {
        let (a, b) = (key(1, "default", 1), key(2, "prod", 3));
        let text = format_key_file(&[&a]).to_string() + &format_key_file(&[&b]);
        let keys = parse_key_file(text.as_bytes(), "test").unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            (keys[0].name(), keys[0].generation(), keys[0].id()),
            ("default", 1, a.id())
        );
        assert_eq!(
            (keys[1].name(), keys[1].generation(), keys[1].id()),
            ("prod", 3, b.id())
        );
        let long_words: Vec<&str> = text.split_whitespace().filter(|w| w.len() >= 43).collect();
        assert_eq!(
            long_words.len(),
            2,
            "only the key material is 43+ characters"
        );
    }

    #[test]
    fn rejects_damage() {
        let text = format_key_file(&[&key(1, "default", 1)]).to_string();
        let key_line = text.lines().find(|l| l.starts_with("key: ")).unwrap();
        let typo = text.replace(key_line, &key_line.replacen('A', "B", 1));
        let cases = [
            (
                text.replace("-----END GIT-SECRET KEY-----\n", ""),
                "truncated",
            ),
            (
                text.replace("v1-----", "v9-----"),
                "unsupported key file version",
            ),
            (typo, "does not match"),
            (text.replace("name: ", "nmae: "), "unknown field"),
            (text.replace(key_line, "key: AAAA"), "damaged"),
            ("# only a comment\n".to_owned(), "holds no git-secret key"),
            ("hello\n".to_owned(), "is this a git-secret key file"),
        ];
        for (bad, expected) in cases {
            let err = format!("{:#}", parse_key_file(bad.as_bytes(), "k").unwrap_err());
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
            assert!(
                !err.contains(key_line.trim_start_matches("key: ")),
                "error leaks key material"
            );
        }
        assert!(parse_key_file(b"\x00\x01binary", "k").is_err());
    }

    /// Found by fuzzing: damaged lines used to be quoted in errors, with any key material on them.
    #[test]
    fn errors_never_quote_damaged_lines() {
        let text = format_key_file(&[&key(1, "default", 1)]).to_string();
        let material = text
            .lines()
            .find_map(|l| l.strip_prefix("key: "))
            .unwrap()
            .to_owned();
        for bad in [
            text.replace("v1-----", &format!("v{material}")),
            text.replace("name: default", &format!("name: defa: {material}")),
        ] {
            let err = format!("{:#}", parse_key_file(bad.as_bytes(), "k").unwrap_err());
            assert!(!err.contains(&material[..20]), "{err}");
        }
    }

    #[test]
    fn a_key_file_without_line_breaks_is_explained() {
        let text = format_key_file(&[&key(1, "default", 1)]).to_string();
        let flat: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ");
        let err = format!("{:#}", parse_key_file(flat.as_bytes(), "k").unwrap_err());
        assert!(err.contains("line breaks"), "{err}");
    }

    #[test]
    fn debug_is_redacted() {
        let k = key(9, "default", 1);
        let text = format_key_file(&[&k]).to_string();
        let material = text.lines().find_map(|l| l.strip_prefix("key: ")).unwrap();
        assert!(!format!("{k:?}").contains(material));
        assert!(format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn names_are_validated() {
        for bad in ["", "-x", "a b", "a/b", "a.key", &"x".repeat(33)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["default", "prod", "ops_2", "a-b"] {
            validate_name(good).unwrap();
        }
    }
}
