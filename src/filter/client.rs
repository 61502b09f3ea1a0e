//! Git's side of a filter-process session (the client, as gitoxide calls it
//! in `gix-filter/src/driver/process/client.rs`), so the tests of the server
//! (`process.rs`, `tests/it/process.rs`) and the `pktline` fuzz target
//! (`fuzz/bodies.rs`) share one copy of the handshake and request framing
//! instead of each rebuilding it. git-secret itself never plays git's side.
//!
//! The halves are separate because the server reads a whole request before
//! it answers: [`ClientWriter`] writes what git sends (into a `Vec` for an
//! in-memory session, or into a child's stdin), [`ClientReader`] reads what
//! the filter answers, the way git reads it.

use super::pktline::{self, Packet, Reader, Writer};
use std::io::{self, Read, Write};

/// What git sends: the handshake, then requests.
pub struct ClientWriter<W: Write> {
    writer: Writer<W>,
}

impl<W: Write> ClientWriter<W> {
    pub fn new(inner: W) -> Self {
        ClientWriter {
            writer: Writer::new(inner),
        }
    }

    /// A list: one text packet per line, then a flush.
    pub fn list(&mut self, lines: &[&str]) -> io::Result<()> {
        for line in lines {
            self.writer.write_text(line)?;
        }
        self.writer.write_flush()
    }

    /// The welcome list: `git-filter-client`, `version=2`.
    pub fn welcome(&mut self) -> io::Result<()> {
        self.list(&["git-filter-client", "version=2"])
    }

    /// The capabilities git offers: `clean`, `smudge` and `delay`.
    pub fn capabilities(&mut self) -> io::Result<()> {
        self.list(&["capability=clean", "capability=smudge", "capability=delay"])
    }

    /// Git's whole handshake: [`welcome`](Self::welcome), then
    /// [`capabilities`](Self::capabilities).
    pub fn handshake(&mut self) -> io::Result<()> {
        self.welcome()?;
        self.capabilities()
    }

    /// One request: `command=`, `pathname=` and the `extra` keys (such as
    /// `blob=...`) as a list, then `content` and its flush.
    pub fn request(
        &mut self,
        command: &str,
        pathname: &str,
        extra: &[&str],
        content: &[u8],
    ) -> io::Result<()> {
        let command = format!("command={command}");
        let pathname = format!("pathname={pathname}");
        let mut keys = vec![command.as_str(), pathname.as_str()];
        keys.extend_from_slice(extra);
        self.list(&keys)?;
        self.writer.write_content(content)?;
        self.writer.write_flush()
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    pub fn into_inner(self) -> W {
        self.writer.into_inner()
    }
}

/// The filter's half of the handshake, as lines without their LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// `git-filter-server` and the version.
    pub welcome: Vec<Vec<u8>>,
    /// The `capability=` lines.
    pub capabilities: Vec<Vec<u8>>,
}

/// The filter's answer to one request, as lines without their LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The list before the content (`status=success`, `status=error`, ...).
    pub status: Vec<Vec<u8>>,
    /// The content; git reads it only when the status list says success.
    pub content: Option<Vec<u8>>,
    /// The list after the content: empty keeps the status, `status=error`
    /// makes git discard the content.
    pub trailer: Vec<Vec<u8>>,
}

impl Response {
    /// The status git acts on: the value of the last `status=` line, the
    /// trailer's over the first list's (git keeps the last one it reads).
    pub fn final_status(&self) -> Option<&[u8]> {
        last_status(&self.trailer).or_else(|| last_status(&self.status))
    }
}

fn last_status(list: &[Vec<u8>]) -> Option<&[u8]> {
    list.iter().rev().find_map(|l| l.strip_prefix(b"status="))
}

/// What the filter answers, read the way git reads it.
pub struct ClientReader<R: Read> {
    reader: Reader<R>,
}

impl<R: Read> ClientReader<R> {
    pub fn new(inner: R) -> Self {
        ClientReader {
            reader: Reader::new(inner),
        }
    }

    /// A list of text lines up to its flush; EOF is an error.
    pub fn list(&mut self) -> Result<Vec<Vec<u8>>, pktline::Error> {
        let mut lines = Vec::new();
        while let Some(line) = self.reader.read_text_line()? {
            lines.push(line);
        }
        Ok(lines)
    }

    /// The filter's two handshake lists.
    pub fn handshake(&mut self) -> Result<Handshake, pktline::Error> {
        let welcome = self.list()?;
        let capabilities = self.list()?;
        Ok(Handshake {
            welcome,
            capabilities,
        })
    }

    /// The next response; `Ok(None)` at EOF before it starts. As git does,
    /// reads content and a trailing list only after `status=success`.
    pub fn response(&mut self) -> Result<Option<Response>, pktline::Error> {
        let mut status = match self.reader.read_packet()? {
            None => return Ok(None),
            Some(Packet::Flush) => Vec::new(),
            Some(Packet::Data(line)) => vec![pktline::strip_lf(line)],
        };
        if !status.is_empty() {
            status.extend(self.list()?);
        }
        let mut response = Response {
            status,
            content: None,
            trailer: Vec::new(),
        };
        if last_status(&response.status) == Some(b"success") {
            let mut content = Vec::new();
            self.reader.read_content_to(&mut content)?;
            response.content = Some(content);
            response.trailer = self.list()?;
        }
        Ok(Some(response))
    }

    pub fn into_inner(self) -> R {
        self.reader.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_git_sends() {
        let mut git = ClientWriter::new(Vec::new());
        git.handshake().unwrap();
        git.request("smudge", "a b", &["blob=12"], b"xyz").unwrap();
        assert_eq!(
            git.into_inner(),
            b"0016git-filter-client\n000eversion=2\n0000\
              0015capability=clean\n0016capability=smudge\n0015capability=delay\n0000\
              0013command=smudge\n0011pathname=a b\n000cblob=12\n0000\
              0007xyz0000"
        );
    }

    #[test]
    fn reads_responses_as_git_does() {
        let mut filter = Writer::new(Vec::new());
        let mut list = |lines: &[&str]| {
            for line in lines {
                filter.write_text(line).unwrap();
            }
            filter.write_flush().unwrap();
        };
        list(&["git-filter-server", "version=2"]);
        list(&["capability=clean"]);
        list(&["status=success"]);
        let mut bytes = filter.into_inner();
        bytes.extend_from_slice(b"0007abc00000000"); // content, flush, empty trailer
        bytes.extend_from_slice(b"0013status=success\n00000005x0000"); // partial content ...
        bytes.extend_from_slice(b"0011status=error\n0000"); // ... then an error trailer
        bytes.extend_from_slice(b"0011status=error\n0000"); // an error before any content

        let mut git = ClientReader::new(&bytes[..]);
        let handshake = git.handshake().unwrap();
        assert_eq!(handshake.welcome, [&b"git-filter-server"[..], b"version=2"]);
        assert_eq!(handshake.capabilities, [b"capability=clean"]);
        let ok = git.response().unwrap().unwrap();
        assert_eq!(ok.content.as_deref(), Some(&b"abc"[..]));
        assert_eq!(ok.final_status(), Some(&b"success"[..]));
        let partial = git.response().unwrap().unwrap();
        assert_eq!(partial.content.as_deref(), Some(&b"x"[..]));
        assert_eq!(partial.final_status(), Some(&b"error"[..]));
        let failed = git.response().unwrap().unwrap();
        assert_eq!(failed.content, None);
        assert_eq!(failed.final_status(), Some(&b"error"[..]));
        assert!(git.response().unwrap().is_none());
    }
}
