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

impl GitPath {
    /// The path as git prints it (`git ls-files`, `git diff --name-only`):
    /// as it is, unless it holds a control character, `"` or `\\` — or a byte
    /// above 0x7f when `quote_path` (git's `core.quotePath`, on by default) —
    /// then C-style in double quotes (`\\n`, `\\t`, `\\"`, `\\ooo` octal).
    /// Spaces are not quoted. Without `quote_path`, bytes that are not UTF-8
    /// are still escaped, so the result is text.
    pub fn quoted(&self, quote_path: bool) -> String {
        let mut out = String::with_capacity(self.0.len() + 2);
        let mut escaped = false;
        let mut octal = |out: &mut String, b: u8| {
            escaped = true;
            match b {
                0x07 => out.push_str("\\a"),
                0x08 => out.push_str("\\b"),
                b'\t' => out.push_str("\\t"),
                b'\n' => out.push_str("\\n"),
                0x0b => out.push_str("\\v"),
                0x0c => out.push_str("\\f"),
                b'\r' => out.push_str("\\r"),
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b => out.push_str(&format!("\\{b:03o}")),
            }
        };
        for chunk in self.0.utf8_chunks() {
            for ch in chunk.valid().chars() {
                let ascii_plain =
                    ch.is_ascii() && !ch.is_ascii_control() && ch != '"' && ch != '\\';
                if ascii_plain || (!ch.is_ascii() && !quote_path) {
                    out.push(ch);
                } else {
                    let mut buf = [0u8; 4];
                    ch.encode_utf8(&mut buf)
                        .bytes()
                        .for_each(|b| octal(&mut out, b));
                }
            }
            chunk.invalid().iter().for_each(|&b| octal(&mut out, b));
        }
        if escaped {
            format!("\"{out}\"")
        } else {
            out
        }
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

/// Why a command-line path names no file of the work tree.
#[derive(Debug, PartialEq, Eq)]
pub enum NotInTree {
    /// It lies outside the work tree (through `..` or a symlinked directory).
    Outside,
    /// It is the top of the work tree itself.
    Top,
}

/// `arg` (relative to `cwd`, or absolute) as a path from `top`, the top of
/// the work tree. Directories that exist are resolved through the file
/// system, so `..` after a symlinked directory goes where the kernel goes
/// and a link cannot lead out unnoticed; the rest (a directory that exists
/// only in a commit) is taken lexically. The last component is kept as it
/// is: a symlink at a marked path is git's to store, not ours to follow.
pub fn from_cwd(top: &Path, cwd: &Path, arg: &OsStr) -> Result<GitPath, NotInTree> {
    use std::path::Component;
    let top = top.canonicalize().map_err(|_| NotInTree::Outside)?;
    let abs = cwd.join(arg);
    let parts: Vec<Component> = abs.components().collect();
    let mut out = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Component::Prefix(_) | Component::RootDir => out.push(part),
            Component::CurDir => {}
            // `out` is already real wherever it exists, so popping is right.
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if i + 1 < parts.len() {
                    if let Ok(real) = out.canonicalize() {
                        out = real;
                    }
                }
            }
        }
    }
    match out.strip_prefix(&top) {
        Ok(rel) if rel.as_os_str().is_empty() => Err(NotInTree::Top),
        Ok(rel) => Ok(GitPath::from(rel.as_os_str())),
        Err(_) => Err(NotInTree::Outside),
    }
}

#[cfg(test)]
mod tests {
    use super::{from_cwd, GitPath, NotInTree};
    use std::ffi::OsStr;

    #[test]
    fn command_line_paths_resolve_through_real_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().join("repo");
        std::fs::create_dir_all(top.join("a/b")).unwrap();
        std::fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), top.join("out")).unwrap();
        std::os::unix::fs::symlink(top.join("a/b"), top.join("deep")).unwrap();
        let cwd = top.join("a/b").canonicalize().unwrap();
        let at = |arg: &str| from_cwd(&top, &cwd, OsStr::new(arg));
        assert_eq!(at("x.env"), Ok(GitPath::from("a/b/x.env")));
        assert_eq!(at("../x.env"), Ok(GitPath::from("a/x.env")));
        assert_eq!(at("./../../x.env"), Ok(GitPath::from("x.env")));
        assert_eq!(at("../../out/x.env"), Err(NotInTree::Outside));
        assert_eq!(at("../../deep/../x.env"), Ok(GitPath::from("a/x.env")));
        assert_eq!(at("gone/dir/../x.env"), Ok(GitPath::from("a/b/gone/x.env")));
        assert_eq!(at("../../../x.env"), Err(NotInTree::Outside));
        assert_eq!(at("../.."), Err(NotInTree::Top));
        assert_eq!(
            at("../../out"),
            Ok(GitPath::from("out")),
            "a link itself is kept"
        );
        let abs = top.join("a/x.env");
        assert_eq!(at(abs.to_str().unwrap()), Ok(GitPath::from("a/x.env")));
    }

    #[test]
    fn within_a_directory_means_below_it() {
        let path = GitPath::from_bytes(b"secrets/caf\xe9.env");
        assert!(path.is_within(b"secrets"));
        assert!(path.is_within(b""));
        assert!(path.is_within(b"secrets/caf\xe9.env"));
        assert!(!path.is_within(b"secret"));
        assert_eq!(path.to_string(), "secrets/caf\u{fffd}.env");
    }

    /// Expected strings are what `git ls-files` prints for these names
    /// (git 2.47, core.quotePath on and off).
    #[test]
    fn quoted_as_git_quotes_paths() {
        let q = |bytes: &[u8], on: bool| GitPath::from_bytes(bytes).quoted(on);
        assert_eq!(q(b"a b", true), "a b");
        assert_eq!(q(b"n\nl", true), r#""n\nl""#);
        assert_eq!(q(b"t\tab", true), r#""t\tab""#);
        assert_eq!(q(b"q\"t", true), r#""q\"t""#);
        assert_eq!(q(b"b\\s", true), r#""b\\s""#);
        assert_eq!(q("café".as_bytes(), true), r#""caf\303\251""#);
        assert_eq!(q("café".as_bytes(), false), "café");
        assert_eq!(q("café\n".as_bytes(), false), "\"café\\n\"");
        assert_eq!(q(b"\x01\x7f", true), r#""\001\177""#);
        assert_eq!(q(b"caf\xe9", false), r#""caf\351""#);
    }
}
