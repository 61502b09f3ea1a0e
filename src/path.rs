//! A path as git stores it: bytes, relative to the top of the work tree.
//! File names need not be UTF-8, so paths are never `String`s on their way
//! between git and the work tree; they are shown lossily in messages only.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GitPath(Vec<u8>);

impl GitPath {
    pub fn from_bytes(bytes: &[u8]) -> GitPath {
        GitPath(bytes.to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    /// The file in the work tree whose top is `top`.
    pub fn in_tree(&self, top: &Path) -> PathBuf {
        top.join(self.as_os_str())
    }

    /// Whether this is `dir` or lies below it (`dir` without a trailing `/`;
    /// an empty `dir` is the top, which holds everything).
    pub fn is_within(&self, dir: &[u8]) -> bool {
        dir.is_empty()
            || self.0 == dir
            || (self.0.starts_with(dir) && self.0.get(dir.len()) == Some(&b'/'))
    }
}

impl From<&str> for GitPath {
    fn from(path: &str) -> GitPath {
        GitPath(path.as_bytes().to_vec())
    }
}

impl From<&OsStr> for GitPath {
    fn from(path: &OsStr) -> GitPath {
        GitPath(path.as_bytes().to_vec())
    }
}

impl PartialEq<&str> for GitPath {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// Lossy: for messages only.
impl fmt::Display for GitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for GitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::GitPath;

    #[test]
    fn within_a_directory_means_below_it() {
        let path = GitPath::from_bytes(b"secrets/caf\xe9.env");
        assert!(path.is_within(b"secrets"));
        assert!(path.is_within(b""));
        assert!(path.is_within(b"secrets/caf\xe9.env"));
        assert!(!path.is_within(b"secret"));
        assert_eq!(path.to_string(), "secrets/caf\u{fffd}.env");
    }
}
