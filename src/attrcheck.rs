//! Attributes that switch encryption off or corrupt it (issue 12, attack 9),
//! found without a key by `check` and `status`; clean never sees attributes,
//! so it cannot refuse them itself.
//!
//! The values come from `git check-attr` (exactly what git applies). To name
//! the line that sets one, the attribute files git reads for the path are
//! scanned in git's order of precedence (`$GIT_DIR/info/attributes`, then
//! `.gitattributes` from the path's own directory up to the root), each from
//! its last line up, for the first line whose pattern matches the path and
//! that mentions the attribute. Patterns are matched the way gitattributes
//! does (a pattern without `/` against the file name, else against the path
//! below the file's directory; `*`, `?`, `[...]`, `**`); a value set by a
//! macro or by `core.attributesFile` is reported without a line.

use crate::attrs::AttrSource;
use crate::drivers::{key_name_of_driver, DRIVER};
use crate::path::GitPath;
use crate::repo::Repo;
use anyhow::Result;
use std::collections::HashMap;
use std::fmt;

/// The attributes asked of `git check-attr`, `filter` first.
const ATTRS: [&str; 5] = ["filter", "text", "eol", "working-tree-encoding", "ident"];

/// One attribute value on one path, with the line that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub path: GitPath,
    /// `text`, `eol=crlf`, `filter=git-secrets`, ...
    pub value: String,
    /// `FILE:LINE (LINE TEXT)`, when a line was found.
    pub line: Option<String>,
}

impl Setting {
    pub fn origin(&self) -> String {
        match &self.line {
            Some(line) => format!("set by {line}"),
            None => "set by a macro or core.attributesFile".to_owned(),
        }
    }
}

impl fmt::Display for Setting {
    /// `PATH: VALUE, set by FILE:N (LINE)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}, {}", self.path, self.value, self.origin())
    }
}

/// What `inspect` found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Conversions (`text`, `eol`, `working-tree-encoding`, `ident`) on marked paths.
    pub conversions: Vec<Setting>,
    /// `filter` values that look like a misspelt driver of ours.
    pub near_misses: Vec<Setting>,
    /// Paths whose `filter` is set, unset or another driver, not ours: where
    /// such a path is stored encrypted, a line overrides its marking.
    pub foreign: Vec<Setting>,
}

impl Findings {
    pub fn extend(&mut self, other: Findings) {
        for s in other.conversions {
            if !self.conversions.contains(&s) {
                self.conversions.push(s);
            }
        }
        for s in other.near_misses {
            if !self.near_misses.contains(&s) {
                self.near_misses.push(s);
            }
        }
        for s in other.foreign {
            if !self.foreign.iter().any(|f| f.path == s.path) {
                self.foreign.push(s);
            }
        }
    }

    /// The foreign filter setting of `path`, if any.
    pub fn foreign_of(&self, path: &GitPath) -> Option<&Setting> {
        self.foreign.iter().find(|s| &s.path == path)
    }
}

/// The advice that ends every report of conversions.
pub const CONVERSION_ADVICE: &str = "Mark these paths `-text` and drop `text`, `eol`, \
    `working-tree-encoding` and `ident` from the lines named, then `git add --renormalize -- PATH`";

/// The reason given for every conversion.
pub const CONVERSION_WHAT: &str =
    "attributes that make git convert their ciphertext, so it fails authentication on checkout";

/// The warning about a near-miss driver name.
pub fn near_miss_warning(s: &Setting) -> String {
    format!(
        "{s}; that is not a git-secret driver this repository has, so git stores the file in \
         plaintext: a typo for filter=git-secret or filter=git-secret-NAME?"
    )
}

/// The filter, conversion attributes and near-miss driver names of `paths`,
/// with attributes read from `source`. `known` says whether a key name has a
/// key or a configured driver here.
pub fn inspect(
    repo: &Repo,
    paths: &[&GitPath],
    source: &AttrSource,
    known: &dyn Fn(&str) -> bool,
) -> Result<Findings> {
    let mut findings = Findings::default();
    if paths.is_empty() {
        return Ok(findings);
    }
    let out = crate::attrs::check_attr(repo, paths, source, &ATTRS)?;
    let fields: Vec<&[u8]> = out.split(|&b| b == 0).collect();
    let mut files = Files::new(repo, source);
    for (path, triples) in paths.iter().zip(fields.chunks(3 * ATTRS.len())) {
        let value = |attr: usize| {
            triples
                .get(attr * 3 + 2)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        let filter = value(0);
        let mut setting = |attr: &str, shown: String| Setting {
            path: (*path).clone(),
            value: shown,
            line: files.line(path, attr),
        };
        if let Some(name) = key_name_of_driver(&filter) {
            if filter.starts_with(DRIVER) && !known(name) {
                findings
                    .near_misses
                    .push(setting("filter", format!("filter={filter}")));
            }
            let text = value(1);
            let shown = |attr: &str, v: &str| match v {
                "set" => attr.to_owned(),
                v => format!("{attr}={v}"),
            };
            let text_on = text != "unset";
            if text != "unset" && text != "unspecified" {
                let s = setting("text", shown("text", &text));
                findings.conversions.push(s);
            }
            for (i, attr) in [(2, "eol"), (3, "working-tree-encoding"), (4, "ident")] {
                let v = value(i);
                // eol has no effect on a `-text` path.
                if v == "unset" || v == "unspecified" || (attr == "eol" && !text_on) {
                    continue;
                }
                let s = setting(attr, shown(attr, &v));
                findings.conversions.push(s);
            }
        } else if filter != "unspecified" {
            let shown = match filter.as_str() {
                "unset" => "-filter".to_owned(),
                "set" => "filter".to_owned(),
                v => format!("filter={v}"),
            };
            let s = setting("filter", shown);
            if is_near_miss(&filter) {
                findings.near_misses.push(s.clone());
            }
            findings.foreign.push(s);
        }
    }
    Ok(findings)
}

/// `git-secrets`, `gitsecret`, `git_secret`, `Git-Secret-` and the like:
/// not ours, but spelt almost like it.
fn is_near_miss(value: &str) -> bool {
    let folded: String = value
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    key_name_of_driver(value).is_none()
        && value != "unset"
        && value != "unspecified"
        && (folded.starts_with("gitsecret") || folded.starts_with("gitcrypt"))
}

/// The attribute files git reads, loaded on demand from `source`.
struct Files<'r> {
    repo: &'r Repo,
    source: &'r AttrSource,
    cache: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

const INFO: &[u8] = b"\0info";

impl<'r> Files<'r> {
    fn new(repo: &'r Repo, source: &'r AttrSource) -> Self {
        Files {
            repo,
            source,
            cache: HashMap::new(),
        }
    }

    /// The text of `dir/.gitattributes` (or info/attributes for `INFO`).
    fn load(&mut self, dir: &[u8]) -> Option<&[u8]> {
        if !self.cache.contains_key(dir) {
            let text = self.read(dir);
            self.cache.insert(dir.to_vec(), text);
        }
        self.cache.get(dir).and_then(|t| t.as_deref())
    }

    fn read(&self, dir: &[u8]) -> Option<Vec<u8>> {
        let repo = self.repo;
        if dir == INFO {
            let out = repo
                .run_git(
                    &[
                        "rev-parse",
                        "--path-format=absolute",
                        "--git-path",
                        "info/attributes",
                    ],
                    None,
                )
                .ok()?;
            return std::fs::read(String::from_utf8_lossy(&out).trim()).ok();
        }
        let mut rel = dir.to_vec();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(b".gitattributes");
        let spec = |rev: &str| {
            let mut s = rev.as_bytes().to_vec();
            s.push(b':');
            s.extend_from_slice(&rel);
            String::from_utf8_lossy(&s).into_owned()
        };
        match self.source {
            AttrSource::WorkTree => {
                std::fs::read(GitPath::from_bytes(&rel).in_tree(repo.top())).ok()
            }
            AttrSource::Index => repo.run_git(&["cat-file", "blob", &spec("")], None).ok(),
            AttrSource::Tree(rev) => repo.run_git(&["cat-file", "blob", &spec(rev)], None).ok(),
        }
    }

    /// `FILE:N (TEXT)` of the line that decides `attr` for `path`.
    fn line(&mut self, path: &GitPath, attr: &str) -> Option<String> {
        let path = path.as_bytes();
        let mut dirs: Vec<&[u8]> = vec![INFO];
        let mut end = path.len();
        while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
            dirs.push(&path[..slash]);
            end = slash;
        }
        dirs.push(b"");
        for dir in dirs {
            let Some(text) = self.load(dir) else { continue };
            let rel = if dir == INFO || dir.is_empty() {
                path
            } else {
                &path[dir.len() + 1..]
            };
            let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            for (n, line) in lines.iter().enumerate().rev() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let line_text = String::from_utf8_lossy(line);
                let mut words = line_text.split_whitespace();
                let Some(pattern) = words.next() else {
                    continue;
                };
                if pattern.starts_with('#') || pattern.starts_with("[attr]") {
                    continue;
                }
                let mentions = words.any(|w| {
                    let w = w.trim_start_matches(['-', '!']);
                    w == attr || w.strip_prefix(attr).is_some_and(|r| r.starts_with('='))
                });
                if mentions && pattern_matches(pattern.as_bytes(), rel) {
                    let file = if dir == INFO {
                        "info/attributes".to_owned()
                    } else if dir.is_empty() {
                        ".gitattributes".to_owned()
                    } else {
                        format!("{}/.gitattributes", String::from_utf8_lossy(dir))
                    };
                    return Some(format!("{file}:{} ({})", n + 1, line_text.trim()));
                }
            }
        }
        None
    }
}

/// Whether gitattributes pattern `pattern` matches `rel` (the path below
/// the attributes file's directory).
fn pattern_matches(pattern: &[u8], rel: &[u8]) -> bool {
    if !pattern.contains(&b'/') {
        let name = rel
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(rel, |i| &rel[i + 1..]);
        return wildmatch(pattern, name);
    }
    wildmatch(pattern.strip_prefix(b"/").unwrap_or(pattern), rel)
}

/// git's wildmatch with WM_PATHNAME: `*` and `?` stop at `/`, `**` between
/// slashes (or at either end) crosses them.
fn wildmatch(p: &[u8], t: &[u8]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some(b'*') if p.get(1) == Some(&b'*') => {
            let rest = &p[2..];
            if let Some(after) = rest.strip_prefix(b"/") {
                // `**/`: zero or more leading directories.
                if wildmatch(after, t) {
                    return true;
                }
                (0..t.len()).any(|i| t[i] == b'/' && wildmatch(after, &t[i + 1..]))
            } else {
                (0..=t.len()).any(|i| wildmatch(rest, &t[i..]))
            }
        }
        Some(b'*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if wildmatch(rest, &t[i..]) {
                    return true;
                }
                if i < t.len() && t[i] == b'/' {
                    break;
                }
            }
            false
        }
        Some(b'?') => t.first().is_some_and(|&c| c != b'/') && wildmatch(&p[1..], &t[1..]),
        Some(b'[') => {
            let Some(&c) = t.first() else { return false };
            let mut i = 1;
            let negate = matches!(p.get(1), Some(b'!' | b'^'));
            if negate {
                i += 1;
            }
            let start = i;
            let mut matched = false;
            while i < p.len() && (p[i] != b']' || i == start) {
                if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
                    matched |= p[i] <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    matched |= p[i] == c;
                    i += 1;
                }
            }
            if i >= p.len() {
                return p == t; // unterminated: literal
            }
            c != b'/' && matched != negate && wildmatch(&p[i + 1..], &t[1..])
        }
        Some(b'\\') if p.len() > 1 => t.first() == Some(&p[1]) && wildmatch(&p[2..], &t[1..]),
        Some(&c) => t.first() == Some(&c) && wildmatch(&p[1..], &t[1..]),
    }
}

/// Staged files that look like `git mergetool` backups of a marked file
/// (`FILE.orig`, `FILE.BACKUP.*`, `FILE.BASE.*`, `FILE.LOCAL.*`,
/// `FILE.REMOTE.*`, and git's own `STEM_LOCAL_PID.EXT` form), each with the
/// marked file it is beside. `unmarked` are the index's paths that no
/// attribute marks.
pub fn mergetool_backups<'a>(
    unmarked: &[&'a GitPath],
    is_marked: &dyn Fn(&[u8]) -> bool,
) -> Vec<(&'a GitPath, GitPath)> {
    const KINDS: [&str; 4] = ["BACKUP", "BASE", "LOCAL", "REMOTE"];
    let mut found = Vec::new();
    for path in unmarked {
        let bytes = path.as_bytes();
        let mut candidates: Vec<Vec<u8>> = Vec::new();
        if let Some(file) = bytes.strip_suffix(b".orig") {
            candidates.push(file.to_vec());
        }
        for kind in KINDS {
            let dotted = format!(".{kind}.");
            if let Some(i) = find(bytes, dotted.as_bytes()) {
                candidates.push(bytes[..i].to_vec());
            }
            // git mergetool: `dir/stem_LOCAL_1234.ext` beside `dir/stem.ext`.
            let under = format!("_{kind}_");
            if let Some(i) = find(bytes, under.as_bytes()) {
                let tail = &bytes[i + under.len()..];
                let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 {
                    let mut file = bytes[..i].to_vec();
                    file.extend_from_slice(&tail[digits..]);
                    candidates.push(file);
                }
            }
        }
        if let Some(file) = candidates.into_iter().find(|c| is_marked(c)) {
            found.push((*path, GitPath::from_bytes(&file)));
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::{is_near_miss, pattern_matches};

    #[test]
    fn patterns_match_as_gitattributes_does() {
        let m = |p: &str, t: &str| pattern_matches(p.as_bytes(), t.as_bytes());
        assert!(m("*.env", "secrets/a.env"));
        assert!(m("secrets/**", "secrets/x/a.env"));
        assert!(!m("secrets/*", "secrets/x/a.env"));
        assert!(m("**/a.env", "a.env"));
        assert!(m("/secrets/a.env", "secrets/a.env"));
        assert!(m("a.[ef]nv", "x/a.env"));
        assert!(!m("*.key", "db.key.orig"));
    }

    #[test]
    fn near_misses() {
        for v in [
            "git-secrets",
            "gitsecret",
            "git_secret",
            "git-secret-",
            "Git-Secret",
        ] {
            assert!(is_near_miss(v), "{v}");
        }
        for v in [
            "git-secret",
            "git-secret-prod",
            "lfs",
            "unspecified",
            "unset",
        ] {
            assert!(!is_near_miss(v), "{v}");
        }
    }
}
