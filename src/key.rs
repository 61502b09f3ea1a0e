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
//!
//! Parsing fails with a [`KeyFileError`], whose variants cannot hold key
//! material: they name the file and line, a field by [`Field`], and quote
//! input only where it is too short or too constrained to be material.

use crate::crypto::{random_key, KeyId, Subkeys, KEY_LEN, VOUCH_LEN};
use crate::gitcrypt::GitCryptKey;
use anyhow::Result;
use base64ct::{Base64, Encoding};
use std::error::Error as StdError;
use std::fmt;
use zeroize::Zeroizing;

// Key names are their own leaf module so that gitcrypt.rs can use them
// without depending on this one.
pub use crate::keyname::{validate_name, InvalidName, DEFAULT_NAME};

const BEGIN: &str = "-----BEGIN GIT-SECRET KEY v1-----";
/// A block that carries a vouch (`vouched-by:` and `vouch:`); FORMAT.md §4.2.
const BEGIN_V2: &str = "-----BEGIN GIT-SECRET KEY v2-----";
/// The highest generation a key may have: far more rotations than anyone
/// makes, and far from any counter's limit, so a key cannot claim to outrank
/// every future rotation.
pub const MAX_GENERATION: u32 = 1_000_000;
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
    vouch: Option<Vouch>,
}

/// Another key's statement that this key (its name, generation and id) is
/// the team's: a MAC only a holder of the vouching key can make (FORMAT.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vouch {
    pub by: KeyId,
    pub mac: [u8; VOUCH_LEN],
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
    ) -> Result<Key, InvalidName> {
        validate_name(name)?;
        let subkeys = Subkeys::derive(&material);
        Ok(Key {
            name: name.to_owned(),
            generation,
            material,
            subkeys,
            vouch: None,
        })
    }

    /// A fresh random key.
    pub fn generate(name: &str, generation: u32) -> Result<Key> {
        Ok(Key::from_material(name, generation, random_key()?)?)
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

    /// Who vouched for this key, if anyone.
    pub fn vouch(&self) -> Option<&Vouch> {
        self.vouch.as_ref()
    }

    /// Records `voucher`'s vouch for this key.
    pub fn vouch_with(&mut self, voucher: &Key) {
        let mac = voucher
            .subkeys
            .vouch_for(&self.name, self.generation, &self.id());
        self.vouch = Some(Vouch {
            by: voucher.id(),
            mac,
        });
    }

    /// Whether this key's vouch is `voucher`'s and verifies.
    pub fn vouched_by(&self, voucher: &Key) -> bool {
        self.vouch.is_some_and(|v| {
            v.by == voucher.id()
                && voucher
                    .subkeys
                    .verify_vouch(&self.name, self.generation, &self.id(), &v.mac)
        })
    }

    fn write_block(&self, out: &mut String) {
        let encoded = Zeroizing::new(Base64::encode_string(self.material.as_ref()));
        out.push_str(if self.vouch.is_some() {
            BEGIN_V2
        } else {
            BEGIN
        });
        out.push('\n');
        out.push_str(&format!(
            "name: {}\ngeneration: {}\nid: {}\n",
            self.name,
            self.generation,
            self.id()
        ));
        if let Some(vouch) = &self.vouch {
            let mac: String = vouch.mac.iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!("vouched-by: {}\nvouch: {mac}\n", vouch.by));
        }
        out.push_str("key: ");
        out.push_str(&encoded);
        out.push('\n');
        out.push_str(END);
        out.push('\n');
    }
}

/// A field of a key block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Generation,
    Id,
    Key,
    VouchedBy,
    Vouch,
}

impl Field {
    fn parse(field: &str) -> Option<Field> {
        match field {
            "name" => Some(Field::Name),
            "generation" => Some(Field::Generation),
            "id" => Some(Field::Id),
            "key" => Some(Field::Key),
            "vouched-by" => Some(Field::VouchedBy),
            "vouch" => Some(Field::Vouch),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Generation => "generation",
            Field::Id => "id",
            Field::Key => "key",
            Field::VouchedBy => "vouched-by",
            Field::Vouch => "vouch",
        }
    }
}

/// An unknown field name of at most 16 bytes, for quoting. Longer names are
/// not kept: a damaged line may hold key material, and 16 bytes are far
/// shorter than any key's encoding (44 base64 characters, 128 for git-crypt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortFieldName(String);

impl ShortFieldName {
    fn of(field: &str) -> Option<ShortFieldName> {
        (field.len() <= 16).then(|| ShortFieldName(field.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The version of an unsupported `-----BEGIN GIT-SECRET KEY vN-----` line,
/// kept only when it looks like one (`v` and at most 5 digits), so it cannot
/// hold key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownVersion(String);

impl ShownVersion {
    fn of(version: &str) -> Option<ShownVersion> {
        let looks_like_one = version.len() <= 6
            && version.starts_with('v')
            && version[1..].bytes().all(|b| b.is_ascii_digit());
        looks_like_one.then(|| ShownVersion(version.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a key file was rejected. `file` names the key file as the caller
/// gave it (a path, or "standard input"); no variant holds key material.
#[derive(Debug)]
pub enum KeyFileError {
    /// A git-crypt key file (`\0GITCRYPTKEY`) where a git-secret one was expected.
    GitCryptKeyFile { file: String },
    /// Not printable ASCII text.
    NotText { file: String },
    /// No key block, or (for [`parse_key_file`]) no git-secret key block.
    NoKey { file: String },
    /// The last key block has no END line.
    Truncated { file: String },
    /// A vouch that does not verify under the vouching key held in the same
    /// file, or a key vouching for itself.
    BadVouch {
        file: String,
        name: String,
        generation: u32,
        id: KeyId,
    },
    /// Something wrong at `line` (1-based).
    Line {
        file: String,
        line: usize,
        problem: LineError,
    },
}

/// What is wrong on one line of a key file.
#[derive(Debug)]
pub enum LineError {
    /// A BEGIN line with the block's fields on it.
    LineBreaksLost,
    /// A BEGIN line of another version: the version if it looks like one.
    UnsupportedVersion(Option<ShownVersion>),
    /// Something other than a BEGIN line outside a block.
    ExpectedBegin,
    /// A BEGIN line inside a block.
    BlockNotEnded,
    /// The block ending here is incomplete or inconsistent.
    Incomplete { git_crypt: bool, error: BlockError },
    /// The id on this line, or the key material on it, does not match the
    /// other (on `other_line`): `id` says which one looks mistyped (an id
    /// one or two characters off the computed one), else the material.
    Mistyped {
        id: bool,
        other_line: usize,
        stated: KeyId,
        computed: KeyId,
    },
    /// A bad `field: value` line inside a block.
    Field(FieldError),
}

/// A bad `field: value` line.
#[derive(Debug)]
pub enum FieldError {
    /// No `:` on the line.
    NotAField,
    Duplicate(Field),
    InvalidName(InvalidName),
    BadGeneration,
    /// A generation above [`MAX_GENERATION`]: the number when it is short.
    GenerationTooHigh(Option<u64>),
    BadId,
    /// A `vouch:` value that is not 32 lowercase hex characters.
    BadVouch,
    /// The key material does not decode to a key (of git-crypt's length for
    /// a git-crypt block).
    DamagedMaterial {
        git_crypt: bool,
    },
    /// A field other than name, generation, id and key: its name when short.
    Unknown(Option<ShortFieldName>),
}

/// Why a complete-looking key block gives no key.
#[derive(Debug)]
pub enum BlockError {
    Missing(Field),
    InvalidName(InvalidName),
    /// The id line does not match the id computed from the material.
    IdMismatch {
        stated: KeyId,
        computed: KeyId,
    },
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::GitCryptKeyFile { file } => write!(
                f,
                "{file} is a git-crypt key file, not a git-secret key file; \
                 to move a git-crypt repository over, run `git-secret import-git-crypt {file}`"
            )?,
            KeyFileError::NotText { file } => write!(
                f,
                "{file} is not a git-secret key file (it is not printable ASCII text)"
            )?,
            KeyFileError::NoKey { file } => write!(f, "{file} holds no git-secret key")?,
            KeyFileError::BadVouch {
                file,
                name,
                generation,
                id,
            } => write!(
                f,
                "{file}: the vouch for key '{name}' generation {generation} (id {id}) does not verify: \
                 the key file was forged or damaged"
            )?,
            KeyFileError::Truncated { file } => write!(
                f,
                "{file} is truncated: the last key block has no {END:?} line"
            )?,
            KeyFileError::Line {
                file,
                line,
                problem,
            } => {
                write!(f, "{file} line {line}")?;
                match problem {
                    // The field's error is the cause, as `{file} line {n}` was its context.
                    LineError::Field(_) => {}
                    LineError::Incomplete { git_crypt, .. } => {
                        let kind = if *git_crypt { "git-crypt " } else { "" };
                        write!(f, ": incomplete {kind}key block")?
                    }
                    LineError::Mistyped {
                        id: false,
                        other_line,
                        stated,
                        ..
                    } => write!(
                        f,
                        ": the key material was mistyped or damaged: it does not match the key id \
                         on line {other_line} ({stated}); copy the key file again from where it was exported"
                    )?,
                    LineError::Mistyped {
                        id: true,
                        other_line,
                        stated,
                        computed,
                    } => write!(
                        f,
                        ": the key id {stated} was mistyped or damaged: it does not match the key \
                         material on line {other_line} (id {computed}); copy the key file again from \
                         where it was exported"
                    )?,
                    LineError::LineBreaksLost => write!(
                        f,
                        ": the key file's line breaks look lost (the whole block is on one line); \
                         pass it with its line breaks, e.g. `printf '%s\\n' \"$VAR\" | git-secret unlock -`"
                    )?,
                    LineError::UnsupportedVersion(version) => write!(
                        f,
                        ": unsupported key file version ({}); upgrade git-secret",
                        version.as_ref().map_or("unrecognised", ShownVersion::as_str)
                    )?,
                    LineError::ExpectedBegin => {
                        write!(f, ": expected {BEGIN:?}; is this a git-secret key file?")?
                    }
                    LineError::BlockNotEnded => f.write_str(
                        ": a new key block starts before the previous one ended: \
                         the key file is truncated",
                    )?,
                }
            }
        }
        crate::report::write_causes(self, f)
    }
}

impl StdError for KeyFileError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            KeyFileError::Line {
                problem: LineError::Field(e),
                ..
            } => Some(e),
            KeyFileError::Line {
                problem: LineError::Incomplete { error, .. },
                ..
            } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::NotAField => f.write_str("expected 'field: value'"),
            FieldError::Duplicate(field) => write!(
                f,
                "field {:?} appears more than once in one key block",
                field.as_str()
            ),
            FieldError::InvalidName(e) => write!(f, "{e}"),
            FieldError::BadGeneration => f.write_str("generation must be a positive number"),
            FieldError::GenerationTooHigh(shown) => write!(
                f,
                "generation {}is out of range: expected a positive decimal number of at most {MAX_GENERATION}",
                shown.map(|g| format!("{g} ")).unwrap_or_default()
            ),
            FieldError::BadId => f.write_str("id must be 32 lowercase hex characters"),
            FieldError::BadVouch => f.write_str("vouch must be 32 lowercase hex characters"),
            FieldError::DamagedMaterial { git_crypt: true } => {
                f.write_str("git-crypt key material is damaged: expected base64 encoding 96 bytes")
            }
            FieldError::DamagedMaterial { git_crypt: false } => f.write_str(
                "key material is damaged: expected 44 base64 characters encoding 32 bytes",
            ),
            FieldError::Unknown(Some(name)) => write!(f, "unknown field {:?}", name.as_str()),
            FieldError::Unknown(None) => {
                f.write_str("unknown field: expected name, generation, id or key")
            }
        }
    }
}

impl StdError for FieldError {}

impl From<InvalidName> for FieldError {
    fn from(e: InvalidName) -> FieldError {
        FieldError::InvalidName(e)
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Missing(field) => write!(f, "missing '{}:'", field.as_str()),
            BlockError::InvalidName(e) => write!(f, "{e}"),
            BlockError::IdMismatch { stated, computed } => write!(
                f,
                "key id {stated} does not match the key material (id {computed}): \
                 the key was mistyped or damaged"
            ),
        }
    }
}

impl StdError for BlockError {}

impl From<InvalidName> for BlockError {
    fn from(e: InvalidName) -> BlockError {
        BlockError::InvalidName(e)
    }
}

/// Serialises keys as a key file (comment header, then one block per key).
pub fn format_key_file(keys: &[&Key]) -> Zeroizing<String> {
    format_key_file_all(keys, &[])
}

/// Serialises git-secret keys and read-only git-crypt keys. A git-crypt block
/// has the same fields; `generation` is git-crypt's key version + 1 and `key`
/// is the AES key followed by the HMAC key (96 bytes, 128 base64 characters).
pub fn format_key_file_all(keys: &[&Key], git_crypt: &[&GitCryptKey]) -> Zeroizing<String> {
    // Sized up front: a growing String would leave unwiped copies of the key
    // material behind in the memory it moved out of. A block is under 512
    // bytes (the longest name is 32 bytes, git-crypt material 128 characters).
    const BLOCK: usize = 512;
    let capacity = FILE_COMMENT.len() + (keys.len() + git_crypt.len()) * BLOCK;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(FILE_COMMENT);
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
    debug_assert_eq!(out.capacity(), capacity, "the key file outgrew its buffer");
    out
}

/// Everything a key file holds.
#[derive(Default)]
pub struct KeyFile {
    pub keys: Vec<Key>,
    pub git_crypt: Vec<GitCryptKey>,
}

/// Parses a key file's git-secret keys; `source` names it in error messages.
pub fn parse_key_file(bytes: &[u8], source: &str) -> Result<Vec<Key>, KeyFileError> {
    let file = parse_key_file_all(bytes, source)?;
    if file.keys.is_empty() {
        return Err(KeyFileError::NoKey {
            file: source.to_owned(),
        });
    }
    Ok(file.keys)
}

/// Parses every block of a key file, git-crypt ones included.
pub fn parse_key_file_all(bytes: &[u8], source: &str) -> Result<KeyFile, KeyFileError> {
    let file = || source.to_owned();
    if bytes.starts_with(b"\0GITCRYPTKEY") {
        return Err(KeyFileError::GitCryptKeyFile { file: file() });
    }
    let text = std::str::from_utf8(bytes).ok().filter(|t| {
        t.bytes()
            .all(|b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
    });
    let Some(text) = text else {
        return Err(KeyFileError::NotText { file: file() });
    };
    let mut keys = KeyFile::default();
    let mut block: Option<Block> = None;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = |problem| KeyFileError::Line {
            file: file(),
            line: number + 1,
            problem,
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match &mut block {
            None if line == BEGIN => block = Some(Block::default()),
            None if line == BEGIN_V2 => {
                block = Some(Block {
                    vouched: true,
                    ..Block::default()
                })
            }
            None if line == GIT_CRYPT_BEGIN => {
                block = Some(Block {
                    git_crypt: true,
                    ..Block::default()
                })
            }
            None if line.starts_with(BEGIN_PREFIX) => {
                // A version never holds ':'; a field glued on does.
                if line[BEGIN_PREFIX.len()..].contains(':') {
                    return Err(at(LineError::LineBreaksLost));
                }
                // Quote the version only when it looks like one: a damaged line may hold key material.
                let version = line[BEGIN_PREFIX.len()..].trim_end_matches('-');
                return Err(at(LineError::UnsupportedVersion(ShownVersion::of(version))));
            }
            None => return Err(at(LineError::ExpectedBegin)),
            Some(_) if line.starts_with(BEGIN_PREFIX) => return Err(at(LineError::BlockNotEnded)),
            Some(current) if line == END && !current.git_crypt => {
                let (id_line, key_line) = (current.id_line, current.key_line);
                let key = current.finish().map_err(|error| {
                    block_error(error, false, id_line, key_line, file(), number + 1)
                })?;
                if !keys.keys.iter().any(|k| k.id() == key.id()) {
                    keys.keys.push(key);
                }
                block = None;
            }
            Some(current) if line == GIT_CRYPT_END && current.git_crypt => {
                let (id_line, key_line) = (current.id_line, current.key_line);
                let key = current.finish_git_crypt().map_err(|error| {
                    block_error(error, true, id_line, key_line, file(), number + 1)
                })?;
                if !keys.git_crypt.iter().any(|k| k.id() == key.id()) {
                    keys.git_crypt.push(key);
                }
                block = None;
            }
            Some(current) => current
                .field(line, number + 1)
                .map_err(|e| at(LineError::Field(e)))?,
        }
    }
    if block.is_some() {
        return Err(KeyFileError::Truncated { file: file() });
    }
    if keys.keys.is_empty() && keys.git_crypt.is_empty() {
        return Err(KeyFileError::NoKey { file: file() });
    }
    // A vouch by a key held in the same file MUST verify; one by a key held
    // elsewhere is checked by whoever trusts that key (unlock).
    for key in &keys.keys {
        let Some(vouch) = key.vouch() else { continue };
        let forged = vouch.by == key.id()
            || keys
                .keys
                .iter()
                .find(|k| k.id() == vouch.by)
                .is_some_and(|voucher| !key.vouched_by(voucher));
        if forged {
            return Err(KeyFileError::BadVouch {
                file: file(),
                name: key.name().to_owned(),
                generation: key.generation(),
                id: key.id(),
            });
        }
    }
    Ok(keys)
}

/// A block's error, at the END line, or for an id that does not match the
/// material at the line that looks mistyped: a typo in the material gives
/// a random id, one in the id an id one or two characters off.
fn block_error(
    error: BlockError,
    git_crypt: bool,
    id_line: usize,
    key_line: usize,
    file: String,
    end_line: usize,
) -> KeyFileError {
    let BlockError::IdMismatch { stated, computed } = error else {
        return KeyFileError::Line {
            file,
            line: end_line,
            problem: LineError::Incomplete { git_crypt, error },
        };
    };
    let (stated_hex, computed_hex) = (stated.to_string(), computed.to_string());
    let differing = stated_hex
        .bytes()
        .zip(computed_hex.bytes())
        .filter(|(a, b)| a != b)
        .count();
    let id = differing <= 2;
    let (line, other_line) = if id {
        (id_line, key_line)
    } else {
        (key_line, id_line)
    };
    KeyFileError::Line {
        file,
        line,
        problem: LineError::Mistyped {
            id,
            other_line,
            stated,
            computed,
        },
    }
}

#[derive(Default)]
struct Block {
    /// Where the id and key fields were (1-based), for messages.
    id_line: usize,
    key_line: usize,
    git_crypt: bool,
    /// A v2 block: `vouched-by:` and `vouch:` are required.
    vouched: bool,
    vouched_by: Option<KeyId>,
    vouch: Option<[u8; VOUCH_LEN]>,
    git_crypt_material: Option<Zeroizing<[u8; crate::gitcrypt::MATERIAL_LEN]>>,
    name: Option<String>,
    generation: Option<u32>,
    id: Option<KeyId>,
    material: Option<Zeroizing<[u8; KEY_LEN]>>,
}

impl Block {
    fn field(&mut self, line: &str, number: usize) -> Result<(), FieldError> {
        let Some((field, value)) = line.split_once(':') else {
            return Err(FieldError::NotAField);
        };
        let value = value.trim();
        let field = field.trim();
        // v1 and git-crypt blocks have no vouch fields: they are unknown there.
        let known = Field::parse(field)
            .filter(|f| self.vouched || !matches!(f, Field::VouchedBy | Field::Vouch));
        let seen = match known {
            Some(Field::Name) => self.name.is_some(),
            Some(Field::Generation) => self.generation.is_some(),
            Some(Field::Id) => self.id.is_some(),
            Some(Field::Key) => self.material.is_some() || self.git_crypt_material.is_some(),
            Some(Field::VouchedBy) => self.vouched_by.is_some(),
            Some(Field::Vouch) => self.vouch.is_some(),
            None => false,
        };
        if let (true, Some(field)) = (seen, known) {
            return Err(FieldError::Duplicate(field));
        }
        match known {
            Some(Field::Name) => {
                validate_name(value)?;
                self.name = Some(value.to_owned());
            }
            Some(Field::Generation) => {
                let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                let generation: Option<u64> = value.parse().ok().filter(|g| digits && *g > 0);
                let Some(generation) = generation else {
                    // Quote only short numbers: a damaged line may hold key material.
                    let too_high = digits && value.bytes().any(|b| b != b'0');
                    return Err(if too_high {
                        FieldError::GenerationTooHigh(
                            (value.len() <= 12).then(|| value.parse().ok()).flatten(),
                        )
                    } else {
                        FieldError::BadGeneration
                    });
                };
                if generation > u64::from(MAX_GENERATION) {
                    return Err(FieldError::GenerationTooHigh(Some(generation)));
                }
                self.generation = Some(generation as u32);
            }
            Some(Field::VouchedBy) => {
                self.vouched_by = Some(KeyId::from_hex(value).ok_or(FieldError::BadId)?)
            }
            Some(Field::Vouch) => {
                let hex = KeyId::from_hex(value).ok_or(FieldError::BadVouch)?;
                self.vouch = Some(hex.0);
            }
            Some(Field::Id) => {
                self.id = Some(KeyId::from_hex(value).ok_or(FieldError::BadId)?);
                self.id_line = number;
            }
            Some(Field::Key) if self.git_crypt => {
                let mut material = Zeroizing::new([0u8; crate::gitcrypt::MATERIAL_LEN]);
                let decoded = Base64::decode(value, material.as_mut()).map(|d| d.len());
                if decoded != Ok(crate::gitcrypt::MATERIAL_LEN) {
                    return Err(FieldError::DamagedMaterial { git_crypt: true });
                }
                self.git_crypt_material = Some(material);
                self.key_line = number;
            }
            Some(Field::Key) => {
                let mut material = Zeroizing::new([0u8; KEY_LEN]);
                let decoded = Base64::decode(value, material.as_mut()).map(|d| d.len());
                if decoded != Ok(KEY_LEN) {
                    return Err(FieldError::DamagedMaterial { git_crypt: false });
                }
                self.material = Some(material);
                self.key_line = number;
            }
            // Quote only short field names: a damaged line may hold key material.
            None => return Err(FieldError::Unknown(ShortFieldName::of(field))),
        }
        Ok(())
    }

    /// The fields every block has: name, generation, id.
    fn take_common(&mut self) -> Result<(String, u32, KeyId), BlockError> {
        let name = self.name.take().ok_or(BlockError::Missing(Field::Name))?;
        let generation = self
            .generation
            .take()
            .ok_or(BlockError::Missing(Field::Generation))?;
        let id = self.id.take().ok_or(BlockError::Missing(Field::Id))?;
        Ok((name, generation, id))
    }

    fn finish_git_crypt(&mut self) -> Result<GitCryptKey, BlockError> {
        let (name, generation, id) = self.take_common()?;
        let material = self
            .git_crypt_material
            .take()
            .ok_or(BlockError::Missing(Field::Key))?;
        // GitCryptKey::new fails only on an invalid name: check it here, typed.
        validate_name(&name)?;
        let key = GitCryptKey::new(&name, generation - 1, material)
            .expect("the name is valid: checked just above");
        if key.id() != id {
            return Err(BlockError::IdMismatch {
                stated: id,
                computed: key.id(),
            });
        }
        Ok(key)
    }

    fn finish(&mut self) -> Result<Key, BlockError> {
        let (name, generation, id) = self.take_common()?;
        let material = self
            .material
            .take()
            .ok_or(BlockError::Missing(Field::Key))?;
        let mut key = Key::from_material(&name, generation, material)?;
        if self.vouched {
            let by = self
                .vouched_by
                .take()
                .ok_or(BlockError::Missing(Field::VouchedBy))?;
            let mac = self.vouch.take().ok_or(BlockError::Missing(Field::Vouch))?;
            key.vouch = Some(Vouch { by, mac });
        }
        if key.id() != id {
            return Err(BlockError::IdMismatch {
                stated: id,
                computed: key.id(),
            });
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
