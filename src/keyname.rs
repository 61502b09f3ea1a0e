//! Key names: the default one, and what a valid name is. Names become part
//! of git config section names (`filter.git-secret-NAME`) and file names
//! (`NAME.key`), so they are short and plain.

use std::error::Error as StdError;
use std::fmt;

/// The key every command acts on without `-k`.
pub const DEFAULT_NAME: &str = "default";

/// Key names become part of git config section names and file names.
pub fn validate_name(name: &str) -> Result<(), InvalidName> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !name.starts_with('-');
    if !ok {
        return Err(InvalidName::of(name));
    }
    Ok(())
}

/// A refused key name: quoted when at most 32 bytes, else only its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName(ShownName);

#[derive(Debug, Clone, PartialEq, Eq)]
enum ShownName {
    /// At most 32 bytes: shorter than any key material's encoding (44 base64
    /// characters, 128 for git-crypt), so quoting it cannot show a key.
    Quoted(String),
    Length(usize),
}

impl InvalidName {
    fn of(name: &str) -> InvalidName {
        // Echo the name only when short: a damaged line may hold key material.
        InvalidName(if name.len() <= 32 {
            ShownName::Quoted(name.to_owned())
        } else {
            ShownName::Length(name.len())
        })
    }
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid key name ")?;
        match &self.0 {
            ShownName::Quoted(name) => write!(f, "{name:?}")?,
            ShownName::Length(len) => write!(f, "({len} characters)")?,
        }
        f.write_str(": use 1-32 letters, digits, '-' or '_', not starting with '-'")
    }
}

impl StdError for InvalidName {}
