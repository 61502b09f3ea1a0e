//! Key files as they arrive through editors, shells and CI variables: with
//! a UTF-8 byte-order mark, in UTF-16 (what Windows PowerShell writes), as
//! base64 of the whole file (a CI secret), or with their line breaks turned
//! into spaces (pasted into a one-line field).
//!
//! The key file format itself stays strict (FORMAT.md §4); these forms are
//! only tried after a file failed to parse as it is. They cannot yield a
//! wrong key: each block's id is recomputed from its material, so a wrong
//! guess fails like any damage. Every buffer that holds the key file is
//! zeroized and sized up front, so no unwiped copy is left by a reallocation.

use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

/// What a failed key file was turned back into.
pub struct Unwrapped {
    pub bytes: Zeroizing<Vec<u8>>,
    /// How it was read, for messages: "UTF-16", "base64", "base64 of UTF-16".
    pub read_as: Option<String>,
    pub base64: bool,
    /// Its line breaks were restored from spaces.
    pub reflowed: bool,
}

impl Unwrapped {
    /// `source` as messages name it: "standard input (read as base64)".
    pub fn source(&self, source: &str) -> String {
        match &self.read_as {
            Some(how) => format!("{source} (read as {how})"),
            None => source.to_owned(),
        }
    }
}

/// The key file `bytes` hold in one of the forms above, or None when they
/// are in none of them (then the first parse error stands).
pub fn unwrap(bytes: &[u8]) -> Option<Unwrapped> {
    let mut forms = Vec::new();
    let mut text = decode_text(bytes, &mut forms);
    let mut base64 = false;
    if let Some(decoded) = from_base64(text.as_ref().map_or(bytes, |t| t.as_slice())) {
        base64 = true;
        forms.push("base64");
        let mut inner = Vec::new();
        text = Some(decode_text(&decoded, &mut inner).unwrap_or(decoded));
        // "base64 of UTF-16": the outer form first.
        forms.extend(inner);
    }
    let mut reflowed = false;
    if let Some(flat) = std::str::from_utf8(text.as_ref().map_or(bytes, |t| t.as_slice()))
        .ok()
        .and_then(reflow)
    {
        reflowed = true;
        text = Some(flat);
    }
    let bytes = text?;
    let read_as = (!forms.is_empty()).then(|| {
        let mut how = forms[0].to_owned();
        for form in &forms[1..] {
            how.push_str(" of ");
            how.push_str(form);
        }
        how
    });
    Some(Unwrapped {
        bytes,
        read_as,
        base64,
        reflowed,
    })
}

/// Without a UTF-8 byte-order mark, or decoded from UTF-16 (with a
/// byte-order mark) to UTF-8; None when `bytes` are neither.
fn decode_text(bytes: &[u8], forms: &mut Vec<&'static str>) -> Option<Zeroizing<Vec<u8>>> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return Some(Zeroizing::new(rest.to_vec()));
    }
    let big_endian = match bytes {
        [0xff, 0xfe, ..] => false,
        [0xfe, 0xff, ..] => true,
        _ => return None,
    };
    let body = &bytes[2..];
    if body.len() % 2 != 0 {
        return None;
    }
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    // At most 3 UTF-8 bytes per 2-byte unit: never reallocates.
    let mut out = Zeroizing::new(Vec::with_capacity(body.len() / 2 * 3));
    let mut utf8 = [0u8; 4];
    for c in char::decode_utf16(units) {
        let c = c.ok()?;
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
    utf8.fill(0);
    forms.push("UTF-16");
    Some(out)
}

/// The bytes `text` encodes when it is nothing but standard base64 (line
/// wrapped or not). A key file is never that: its lines hold `-`, `:` and
/// spaces.
fn from_base64(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let is_alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if !text
        .iter()
        .all(|b| is_alphabet(b) || b.is_ascii_whitespace())
    {
        return None;
    }
    let mut word = Zeroizing::new(Vec::with_capacity(text.len()));
    word.extend(text.iter().copied().filter(is_alphabet));
    if word.len() < 16 || word.len() % 4 != 0 {
        return None;
    }
    let mut decoded = Zeroizing::new(vec![0u8; word.len() / 4 * 3]);
    let len = Base64::decode(&word[..], &mut decoded[..]).ok()?.len();
    decoded.truncate(len);
    Some(decoded)
}

/// Whether `bytes` hold a BEGIN line of a git-secret or git-crypt key block
/// (what base64 must decode to, to be taken for a key file).
pub fn looks_like_key_file(bytes: &[u8]) -> bool {
    bytes.windows(BEGIN.len()).any(|w| w == BEGIN.as_bytes())
}

const BEGIN: &str = "-----BEGIN GIT-";
const END: &str = "-----END GIT-";

/// The key file with its line breaks put back, when some line holds a
/// BEGIN or END line and more besides (its line breaks became spaces): a
/// new line at each BEGIN and END line and at each `field:`. None when no
/// line looks like that.
fn reflow(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    if !text.lines().any(flattened) {
        return None;
    }
    // Each token gains at most one separator, each marker two line breaks.
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 2 + 16));
    for line in text.lines() {
        if !flattened(line) {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
            continue;
        }
        let mut rest = line;
        loop {
            let next = [rest.find(BEGIN), rest.find(END)]
                .into_iter()
                .flatten()
                .min();
            let Some(start) = next else {
                fields(rest, &mut out);
                break;
            };
            fields(&rest[..start], &mut out);
            // The marker runs to the next "-----" after its opening one.
            let Some(close) = rest[start + 5..].find("-----") else {
                fields(&rest[start..], &mut out);
                break;
            };
            let end = start + 5 + close + 5;
            out.extend_from_slice(&rest.as_bytes()[start..end]);
            out.push(b'\n');
            rest = &rest[end..];
        }
    }
    Some(out)
}

/// A line holding a BEGIN or END line and something else.
fn flattened(line: &str) -> bool {
    let line = line.trim();
    (line.contains(BEGIN) || line.contains(END))
        && !(line.starts_with("-----")
            && line.ends_with("-----")
            && line.matches("-----").count() == 2)
}

/// `name: default generation: 1 …` as one line per field; a comment stays
/// one line.
fn fields(segment: &str, out: &mut Vec<u8>) {
    let segment = segment.trim();
    if segment.is_empty() {
        return;
    }
    if segment.starts_with('#') {
        out.extend_from_slice(segment.as_bytes());
        out.push(b'\n');
        return;
    }
    for (i, token) in segment.split_whitespace().enumerate() {
        if i > 0 {
            out.push(if token.ends_with(':') { b'\n' } else { b' ' });
        }
        out.extend_from_slice(token.as_bytes());
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment: here\n-----BEGIN GIT-SECRET KEY v1-----\nname: default\n\
                        generation: 1\nid: 00\nkey: AAAA=\n-----END GIT-SECRET KEY-----\n";

    #[test]
    fn spaces_for_line_breaks_are_put_back() {
        let flat = FILE.lines().collect::<Vec<_>>().join(" ");
        let back = unwrap(flat.as_bytes()).unwrap();
        assert!(back.reflowed);
        assert_eq!(
            std::str::from_utf8(&back.bytes).unwrap(),
            // The comment before the block swallowed nothing.
            FILE
        );
    }

    #[test]
    fn a_key_file_as_it_is_is_left_alone() {
        assert!(unwrap(FILE.as_bytes()).is_none());
    }

    #[test]
    fn base64_of_utf16_is_named_outer_form_first() {
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(FILE.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let back = unwrap(Base64::encode_string(&utf16).as_bytes()).unwrap();
        assert_eq!(back.read_as.as_deref(), Some("base64 of UTF-16"));
        assert_eq!(&back.bytes[..], FILE.as_bytes());
    }
}
