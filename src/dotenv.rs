//! Dotenv files read exactly as python-dotenv 1.2.x reads them
//! (`load_dotenv(path, override=…, interpolate=True)`), so `exec` gives a
//! command the same environment the deploy project's Python code would get.
//!
//! Three steps, each mirroring python-dotenv: [`decode`] (the file opened as
//! UTF-8 text with universal newlines, a leading BOM dropped), [`parse`] (its
//! statement grammar, invalid statements skipped and reported by line), and
//! [`Environment::load`] (`${VAR}` / `${VAR:-default}` expansion and the
//! `override` rule). Never panics, whatever the input.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use zeroize::{Zeroize, Zeroizing};

/// One statement of a dotenv file.
#[derive(Debug, Clone, PartialEq, Eq, Zeroize)]
pub struct Binding {
    /// `None` for comments and blank input.
    pub key: Option<String>,
    /// `None` for a key without `=` (python-dotenv then sets nothing).
    pub value: Option<String>,
    /// The line the statement starts on (1-based). python-dotenv's warning
    /// counts from the blank lines before it, if any; this is the line of
    /// the statement itself.
    pub line: usize,
    /// The statement could not be parsed; it is skipped.
    pub error: bool,
}

/// Why a file's bytes are not dotenv text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// The line of the first invalid byte (1-based).
    pub line: usize,
}

/// The bytes of a dotenv file as python-dotenv sees them: strict UTF-8,
/// `\r\n` and lone `\r` turned into `\n` (text mode), one leading BOM removed.
pub fn decode(bytes: &[u8]) -> Result<Zeroizing<String>, NotUtf8> {
    let text = std::str::from_utf8(bytes).map_err(|e| NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Python's `str.isspace()`, which `\s` in its regexes means: Unicode
/// White_Space plus the separators U+001C..U+001F.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `[^\S\r\n]`: whitespace that does not end a line.
fn is_blank(c: char) -> bool {
    is_space(c) && c != '\r' && c != '\n'
}

struct Invalid;

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Moves over `len` bytes, counting line ends as python-dotenv does
    /// (`\r\n`, `\n` or `\r`, each one line).
    fn advance(&mut self, len: usize) {
        let taken = &self.text[self.pos..self.pos + len];
        let bytes = taken.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.pos += len;
    }

    /// Moves over the longest prefix whose characters satisfy `pred`.
    fn skip_while(&mut self, pred: impl Fn(char) -> bool) -> usize {
        let len = self
            .rest()
            .char_indices()
            .find(|&(_, c)| !pred(c))
            .map_or(self.rest().len(), |(i, _)| i);
        self.advance(len);
        len
    }

    /// `export[^\S\r\n]+`, optional.
    fn export(&mut self) {
        if let Some(after) = self.rest().strip_prefix("export") {
            if after.chars().next().is_some_and(is_blank) {
                self.advance("export".len());
                self.skip_while(is_blank);
            }
        }
    }

    /// `'([^']+)'` or `([^=\#\s]+)`; `None` for a comment.
    fn key(&mut self) -> Result<Option<String>, Invalid> {
        match self.peek() {
            Some('#') => Ok(None),
            Some('\'') => {
                let inner = &self.rest()[1..];
                match inner.find('\'') {
                    Some(end) if end > 0 => {
                        let key = inner[..end].to_owned();
                        self.advance(end + 2);
                        Ok(Some(key))
                    }
                    _ => Err(Invalid),
                }
            }
            _ => {
                let start = self.pos;
                let len = self.skip_while(|c| c != '=' && c != '#' && !is_space(c));
                if len == 0 {
                    return Err(Invalid);
                }
                Ok(Some(self.text[start..start + len].to_owned()))
            }
        }
    }

    /// A quoted value up to its closing `quote`; a backslash always takes
    /// the next character with it. The raw inside, escapes not yet decoded.
    fn quoted(&mut self, quote: char) -> Result<&str, Invalid> {
        let inner = &self.rest()[1..];
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                chars.next().ok_or(Invalid)?;
            } else if c == quote {
                let start = self.pos + 1;
                self.advance(i + 2);
                return Ok(&self.text[start..start + i]);
            }
        }
        Err(Invalid)
    }

    fn value(&mut self) -> Result<String, Invalid> {
        match self.peek() {
            Some('\'') => Ok(unescape(self.quoted('\'')?, |c| {
                matches!(c, '\\' | '\'').then_some(c)
            })),
            Some('"') => Ok(unescape(self.quoted('"')?, |c| {
                Some(match c {
                    '\\' | '\'' | '"' => c,
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    _ => return None,
                })
            })),
            None | Some('\n' | '\r') => Ok(String::new()),
            Some(_) => {
                let start = self.pos;
                let len = self.skip_while(|c| c != '\r' && c != '\n');
                Ok(unquoted(&self.text[start..start + len]).to_owned())
            }
        }
    }

    /// The rest of a statement after its leading whitespace.
    fn statement(&mut self) -> Result<(Option<String>, Option<String>), Invalid> {
        self.export();
        let key = self.key()?;
        self.skip_while(is_blank);
        let value = if self.peek() == Some('=') {
            self.advance(1);
            let blanks = self.skip_while(is_blank);
            // `KEY= # note` is empty with a comment; `KEY=#x` is the value `#x`.
            if blanks > 0 && self.peek() == Some('#') {
                Some(String::new())
            } else {
                Some(self.value()?)
            }
        } else {
            None
        };
        // An optional comment, then the end of the line.
        self.skip_while(is_blank);
        if self.peek() == Some('#') {
            self.skip_while(|c| c != '\r' && c != '\n');
        }
        if !self.line_end() && !self.rest().is_empty() {
            return Err(Invalid);
        }
        Ok((key, value))
    }

    /// Moves over one line end (`\r\n`, `\n` or `\r`); false when there
    /// is none here.
    fn line_end(&mut self) -> bool {
        let rest = self.rest();
        let len = if rest.starts_with("\r\n") {
            2
        } else {
            usize::from(rest.starts_with(['\n', '\r']))
        };
        self.advance(len);
        len > 0
    }
}

/// Decodes the backslash escapes `map` knows; any other backslash stays.
fn unescape(raw: &str, map: impl Fn(char) -> Option<char>) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(decoded) = chars.peek().and_then(|&next| map(next)) {
                chars.next();
                out.push(decoded);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// An unquoted value: cut at the first `#` that follows whitespace (an
/// inline comment), trailing whitespace removed.
fn unquoted(part: &str) -> &str {
    let mut prev_space = false;
    let mut end = part.len();
    for (i, c) in part.char_indices() {
        if c == '#' && prev_space {
            end = i;
            break;
        }
        prev_space = is_space(c);
    }
    part[..end].trim_end_matches(is_space)
}

/// Every statement of `text` (already [`decode`]d), in order.
pub fn parse(text: &str) -> Vec<Binding> {
    let mut reader = Reader {
        text,
        pos: 0,
        line: 1,
    };
    let mut bindings = Vec::new();
    loop {
        reader.skip_while(is_space);
        if reader.rest().is_empty() {
            return bindings;
        }
        let line = reader.line;
        let binding = match reader.statement() {
            Ok((key, value)) => Binding {
                key,
                value,
                line,
                error: false,
            },
            Err(Invalid) => {
                // Skip the rest of the line where parsing stopped.
                reader.skip_while(|c| c != '\r' && c != '\n');
                reader.line_end();
                Binding {
                    key: None,
                    value: None,
                    line,
                    error: true,
                }
            }
        };
        bindings.push(binding);
    }
}

/// `${NAME}` or `${NAME:-DEFAULT}` (python-dotenv's `_posix_variable`) at
/// the start of `s`: the name, the default and the length matched.
fn variable(s: &str) -> Option<(&str, Option<&str>, usize)> {
    let body = s.strip_prefix("${")?;
    let name_len = body.find(['}', ':']).unwrap_or(body.len());
    let (name, after) = body.split_at(name_len);
    if after.starts_with('}') {
        return Some((name, None, 2 + name_len + 1));
    }
    let default_part = after.strip_prefix(":-")?;
    let default_len = default_part.find('}')?;
    Some((
        name,
        Some(&default_part[..default_len]),
        2 + name_len + 2 + default_len + 1,
    ))
}

/// Why a statement cannot go into the environment (python-dotenv fails
/// with an exception on these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsettable {
    /// The key holds `=` (a quoted key).
    EqualsInKey,
    /// The key or the value holds a NUL character.
    Nul,
}

impl std::fmt::Display for Unsettable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsettable::EqualsInKey => "a variable name cannot contain '='",
            Unsettable::Nul => "a variable cannot contain a NUL character",
        })
    }
}

/// The process environment being built (python-dotenv's `os.environ`).
/// Values are wiped when it is dropped.
#[derive(Debug, Default)]
pub struct Environment {
    vars: HashMap<OsString, OsString>,
}

impl Environment {
    pub fn new(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Environment {
        Environment {
            vars: vars.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    pub fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// `load_dotenv` of one file's statements: expands each value against
    /// the earlier values of this file and the environment (the file's win
    /// with `override`, the environment's without), then sets each key that
    /// has a value and, unless `override`, is not set already. Checks every
    /// variable before setting any; a failure names the statement's line.
    pub fn load(
        &mut self,
        bindings: &[Binding],
        override_: bool,
    ) -> Result<(), (usize, Unsettable)> {
        // Insertion order with the last value, as a Python dict keeps them.
        let mut order: Vec<&str> = Vec::new();
        let mut values: HashMap<&str, (Option<OsString>, usize)> = HashMap::new();
        for binding in bindings {
            let Some(key) = binding.key.as_deref() else {
                continue;
            };
            let value = binding
                .value
                .as_deref()
                .map(|value| self.expand(value, &values, override_));
            match values.insert(key, (value, binding.line)) {
                None => order.push(key),
                Some((old, _)) => {
                    if let Some(old) = old {
                        old.into_vec().zeroize();
                    }
                }
            }
        }
        let mut set = Vec::new();
        for key in order {
            let Some((value, line)) = values.remove(key) else {
                continue;
            };
            let Some(value) = value else { continue };
            if self.vars.contains_key(OsStr::new(key)) && !override_ {
                value.into_vec().zeroize();
                continue;
            }
            let problem = if key.contains('\0') || value.as_bytes().contains(&0) {
                Some(Unsettable::Nul)
            } else if key.contains('=') {
                Some(Unsettable::EqualsInKey)
            } else {
                None
            };
            if let Some(problem) = problem {
                value.into_vec().zeroize();
                for (_, v) in set {
                    OsString::into_vec(v).zeroize();
                }
                for (_, (v, _)) in values {
                    if let Some(v) = v {
                        v.into_vec().zeroize();
                    }
                }
                return Err((line, problem));
            }
            set.push((OsString::from(key), value));
        }
        for (key, value) in set {
            if let Some(old) = self.vars.insert(key, value) {
                old.into_vec().zeroize();
            }
        }
        Ok(())
    }

    fn expand(
        &self,
        value: &str,
        earlier: &HashMap<&str, (Option<OsString>, usize)>,
        override_: bool,
    ) -> OsString {
        let lookup = |name: &str| -> Option<Option<&OsStr>> {
            let file = earlier.get(name).map(|(v, _)| v.as_deref());
            let env = self.get(name).map(Some);
            if override_ {
                file.or(env)
            } else {
                env.or(file)
            }
        };
        // Measured first, then written once: a growing buffer would leave
        // unwiped copies of the values behind.
        let pieces = |emit: &mut dyn FnMut(&[u8])| {
            let mut rest = value;
            while let Some(start) = rest.find("${") {
                emit(&rest.as_bytes()[..start]);
                rest = &rest[start..];
                match variable(rest) {
                    Some((name, default, len)) => {
                        match lookup(name) {
                            Some(found) => emit(found.unwrap_or_default().as_bytes()),
                            None => emit(default.unwrap_or("").as_bytes()),
                        }
                        rest = &rest[len..];
                    }
                    None => {
                        emit(b"$");
                        rest = &rest[1..];
                    }
                }
            }
            emit(rest.as_bytes());
        };
        let mut len = 0;
        pieces(&mut |piece| len += piece.len());
        let mut out = Vec::with_capacity(len);
        pieces(&mut |piece| out.extend_from_slice(piece));
        OsString::from_vec(out)
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        for (_, value) in self.vars.drain() {
            value.into_vec().zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(Option<String>, Option<String>, bool)> {
        parse(&decode(text.as_bytes()).unwrap())
            .into_iter()
            .map(|b| (b.key, b.value, b.error))
            .collect()
    }

    fn kv(k: &str, v: &str) -> (Option<String>, Option<String>, bool) {
        (Some(k.into()), Some(v.into()), false)
    }

    #[test]
    fn statements_parse_as_python_dotenv_parses_them() {
        assert_eq!(
            values("A=1\nexport B = two # c\n"),
            [kv("A", "1"), kv("B", "two")]
        );
        assert_eq!(values("A='x\\'y\\n'"), [kv("A", "x'y\\n")]);
        assert_eq!(values("A=\"x\\ty\\$\""), [kv("A", "x\ty\\$")]);
        assert_eq!(
            values("A=a#b\nB=a #b\nC= #c"),
            [kv("A", "a#b"), kv("B", "a"), kv("C", "")]
        );
        assert_eq!(
            values("\u{feff}A=\"1\r\n2\"\r\nB"),
            [kv("A", "1\n2"), (Some("B".into()), None, false)]
        );
        assert_eq!(
            values("A=\"open\nB=2\nC D=3\n"),
            [(None, None, true), kv("B", "2"), (None, None, true)]
        );
    }

    #[test]
    fn invalid_statements_are_reported_on_the_line_they_start() {
        let lines: Vec<usize> = parse("\n\nA B\n# c\nB='x\ny'\n=1\n")
            .iter()
            .map(|b| b.line)
            .collect();
        assert_eq!(lines, [3, 4, 5, 7]);
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_with_its_line() {
        assert_eq!(decode(b"A=1\nB=\xff\n"), Err(NotUtf8 { line: 2 }));
    }

    #[test]
    fn variables_expand_with_python_dotenv_precedence() {
        let text = "A=file\nB=${A}\nC=${N:-d}${A:x}\nD=${E}\nE\nF=${E:-x}\n";
        for override_ in [false, true] {
            let mut env = Environment::new([("A".into(), "env".into())]);
            env.load(&parse(text), override_).unwrap();
            let got = |k| env.get(k).map(|v| v.to_str().unwrap().to_owned());
            let a = if override_ { "file" } else { "env" };
            assert_eq!(got("A").as_deref(), Some(a));
            assert_eq!(got("B").as_deref(), Some(a));
            assert_eq!(got("C").as_deref(), Some("d${A:x}"));
            assert_eq!(got("D").as_deref(), Some(""));
            assert_eq!(got("E"), None);
            assert_eq!(got("F").as_deref(), Some(""), "E is known, as None");
        }
    }

    #[test]
    fn unsettable_variables_are_refused_and_nothing_is_set() {
        let mut env = Environment::default();
        assert_eq!(
            env.load(&parse("A=1\n'B=C'=2\n"), false),
            Err((2, Unsettable::EqualsInKey))
        );
        assert_eq!(
            env.load(&parse("A=1\nB=\"\0\"\n"), false),
            Err((2, Unsettable::Nul))
        );
        assert_eq!(env.vars().count(), 0);
    }

    /// Malformed input of every kind: no panic, and the parse consumes it.
    #[test]
    fn malformed_input_never_panics() {
        let pieces = [
            "", "A", "=", "'", "\"", "\\", "#", " ", "\t", "\n", "\r", "\r\n", "export", "export ",
            "${", "}", ":-", "$", "é", "\u{feff}", "\u{2028}", "\u{1c}", "\u{85}", "\0", "x",
        ];
        let mut count = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in ["", "=", "'", "\"", "\n", "\\"] {
                        let text = format!("{a}{b}{c}{d}");
                        let bindings = parse(&text);
                        let lines = 1 + text.matches(['\n', '\r']).count();
                        assert!(
                            bindings.iter().all(|b| (1..=lines).contains(&b.line)),
                            "{text:?}"
                        );
                        for override_ in [false, true] {
                            let _ = Environment::default().load(&bindings, override_);
                        }
                        count += 1;
                    }
                }
            }
        }
        assert!(count > 90_000);
        for bytes in [&b"\xff"[..], b"\xef\xbb", b"A=\xc3", b"\xed\xa0\x80"] {
            assert!(decode(bytes).is_err());
        }
    }
}
