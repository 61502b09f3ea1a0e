//! Server side of git's long-running filter protocol, version 2
//! (`filter.<driver>.process`). See gitprotocol-common / long-running-process-protocol.
//!
//! Rules this follows (git 2.47 behaviour):
//! * Only `clean` and `smudge` are advertised, never `delay`, so git never
//!   sends `can-delay` or `command=list_available_blobs`.
//! * A request is read completely (keys, content, flush) before anything is
//!   written: git writes the whole file before reading, so writing early
//!   deadlocks once the pipe fills.
//! * Content is spooled (bounded memory, see [`Spool`]) and the response is
//!   streamed: `status=success` goes out with the first output byte. A handler
//!   error before any output becomes `status=error`; after some output, the
//!   content ends and the trailing list says `status=error`, so git discards
//!   what it got. Either way git fails the file (with `required=true` the git
//!   command fails) and the loop goes on.
//! * A malformed stream, an unknown `command=` (git only sends commands for
//!   negotiated capabilities, and we cannot tell whether content would follow)
//!   or EOF inside a request is fatal: `serve` returns `Err` and the caller exits.
//!   EOF between requests is the normal end.
//!
//! Errors are typed per operation ([`HandshakeError`], [`RequestError`], and
//! [`Error`] for a whole session). Only the [`Handler`] returns
//! `anyhow::Result`: its errors are the application's, and the server merely
//! prints them and answers `status=error`. Git's side of a session, which
//! the tests use, is [`super::client`].

use super::pktline::{self, strip_lf, Packet, Reader, Writer, MAX_DATA};
use super::spool::Spool;
use crate::report::write_causes;
use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Read, Seek, Write};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Clean,
    Smudge,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Clean => "clean",
            Command::Smudge => "smudge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: Command,
    /// Path relative to the top of the worktree (lossily decoded if not UTF-8).
    pub pathname: String,
    /// The same path as git sent it (file names need not be UTF-8).
    pub path: crate::path::GitPath,
}

/// Filters one file: reads its content from the spool, writes the result.
pub type Handler<'a> = dyn FnMut(&Request, &mut Spool, &mut dyn Write) -> anyhow::Result<()> + 'a;

/// The hasher to run over a request's content while it is spooled (clean's nonce).
pub type Prepare<'a> = dyn FnMut(&Request) -> Option<crate::crypto::NonceHasher> + 'a;

/// Which list of the handshake was being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeList {
    /// `git-filter-client` and the versions.
    Welcome,
    /// The `capability=` lines.
    Capabilities,
}

/// Why the handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// A list of the handshake could not be read.
    Read {
        list: HandshakeList,
        error: pktline::Error,
    },
    /// The welcome list does not start with `git-filter-client`: the line
    /// (quoted, at most 100 bytes), or `None` for an empty list.
    NotAClient(Option<String>),
    /// Git offers no version 2: the versions it offers, quoted, at most 100 bytes each.
    NoVersion2(Vec<String>),
    /// Git offers neither `clean` nor `smudge`.
    NoCapability,
    /// Writing our side of the handshake failed.
    Write(io::Error),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Read { list, .. } => f.write_str(match list {
                HandshakeList::Welcome => "while reading the handshake",
                HandshakeList::Capabilities => "while reading capabilities",
            })?,
            HandshakeError::NotAClient(Some(line)) => {
                write!(f, "expected `git-filter-client` from git, got {line}")?
            }
            HandshakeError::NotAClient(None) => {
                f.write_str("expected `git-filter-client` from git, got an empty list")?
            }
            HandshakeError::NoVersion2(offered) => write!(
                f,
                "git offers filter protocol version(s) [{}]; only version 2 is supported",
                offered.join(", ")
            )?,
            HandshakeError::NoCapability => {
                f.write_str("git offered neither the `clean` nor the `smudge` capability")?
            }
            HandshakeError::Write(e) => write!(f, "{e}")?,
        }
        write_causes(self, f)
    }
}

impl StdError for HandshakeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            HandshakeError::Read { error, .. } => Some(error),
            HandshakeError::Write(e) => e.source(),
            _ => None,
        }
    }
}

impl From<io::Error> for HandshakeError {
    fn from(e: io::Error) -> HandshakeError {
        HandshakeError::Write(e)
    }
}

/// Why a request could not be read. All of these end the session.
#[derive(Debug)]
pub enum RequestError {
    /// The request's keys could not be read.
    Read(pktline::Error),
    /// A flush where the keys should start.
    Empty,
    /// A `command=` other than `clean` or `smudge` (quoted, at most 100 bytes).
    UnsupportedCommand(String),
    /// No `command=` key.
    NoCommand,
    /// No `pathname=` key.
    NoPathname,
    /// The content of the file (its path quoted, at most 100 bytes) could not be read.
    Content {
        pathname: String,
        error: pktline::Error,
    },
    /// The spooled content could not be rewound.
    Spool(io::Error),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Read(_) => f.write_str("while reading a request")?,
            RequestError::Empty => f.write_str("git sent an empty request (flush without keys)")?,
            RequestError::UnsupportedCommand(command) => {
                write!(f, "git sent unsupported command={command}")?
            }
            RequestError::NoCommand => f.write_str("git sent a request without `command=`")?,
            RequestError::NoPathname => f.write_str("git sent a request without `pathname=`")?,
            RequestError::Content { pathname, .. } => {
                write!(f, "while reading the content of {pathname}")?
            }
            RequestError::Spool(e) => write!(f, "{e}")?,
        }
        write_causes(self, f)
    }
}

impl StdError for RequestError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            RequestError::Read(e) | RequestError::Content { error: e, .. } => Some(e),
            RequestError::Spool(e) => e.source(),
            _ => None,
        }
    }
}

/// Why [`serve`] stopped.
#[derive(Debug)]
pub enum Error {
    Handshake(HandshakeError),
    Request(RequestError),
    /// Writing a response failed.
    Write(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Handshake(_) => f.write_str("filter protocol handshake failed")?,
            Error::Request(e) => write!(f, "{e}")?,
            Error::Write(e) => write!(f, "{e}")?,
        }
        write_causes(self, f)
    }
}

impl StdError for Error {
    /// A request or write error is passed through as it is: its causes, not itself.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Handshake(e) => Some(e),
            Error::Request(e) => e.source(),
            Error::Write(e) => e.source(),
        }
    }
}

/// Quotes (and truncates) protocol bytes for error messages.
fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(100)]);
    let ellipsis = if bytes.len() > 100 { "..." } else { "" };
    format!("{text:?}{ellipsis}")
}

/// Reads a list of text lines up to its flush.
fn read_list<R: Read>(reader: &mut Reader<R>) -> Result<Vec<Vec<u8>>, pktline::Error> {
    let mut lines = Vec::new();
    while let Some(line) = reader.read_text_line()? {
        lines.push(line);
    }
    Ok(lines)
}

/// Handshake: returns the commands both sides support.
fn handshake<R: Read, W: Write>(
    reader: &mut Reader<R>,
    writer: &mut Writer<W>,
) -> Result<Vec<Command>, HandshakeError> {
    let welcome = read_list(reader).map_err(|error| HandshakeError::Read {
        list: HandshakeList::Welcome,
        error,
    })?;
    match welcome.first() {
        Some(line) if line == b"git-filter-client" => {}
        Some(line) => return Err(HandshakeError::NotAClient(Some(show(line)))),
        None => return Err(HandshakeError::NotAClient(None)),
    }
    let versions: Vec<&[u8]> = welcome[1..]
        .iter()
        .filter_map(|line| line.strip_prefix(b"version="))
        .collect();
    if !versions.iter().any(|v| *v == b"2") {
        let offered: Vec<String> = versions.iter().map(|v| show(v)).collect();
        return Err(HandshakeError::NoVersion2(offered));
    }
    writer.write_text("git-filter-server")?;
    writer.write_text("version=2")?;
    writer.write_flush()?;
    writer.flush()?;

    let offered = read_list(reader).map_err(|error| HandshakeError::Read {
        list: HandshakeList::Capabilities,
        error,
    })?;
    let commands: Vec<Command> = [Command::Clean, Command::Smudge]
        .into_iter()
        .filter(|c| {
            offered
                .iter()
                .any(|line| line.strip_prefix(b"capability=") == Some(c.name().as_bytes()))
        })
        .collect();
    if commands.is_empty() {
        return Err(HandshakeError::NoCapability);
    }
    for c in &commands {
        writer.write_text(&format!("capability={}", c.name()))?;
    }
    writer.write_flush()?;
    writer.flush()?;
    Ok(commands)
}

/// Reads one whole request; `Ok(None)` at a clean EOF between requests.
fn read_request<R: Read>(
    reader: &mut Reader<R>,
    prepare: &mut Prepare<'_>,
) -> Result<Option<(Request, Spool)>, RequestError> {
    let first = match reader.read_packet().map_err(RequestError::Read)? {
        None => return Ok(None),
        Some(Packet::Flush) => return Err(RequestError::Empty),
        Some(Packet::Data(line)) => strip_lf(line),
    };
    let mut command = None;
    let mut pathname = None;
    for line in std::iter::once(first).chain(read_list(reader).map_err(RequestError::Read)?) {
        // Keys never contain '='; values may.
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        match key {
            b"command" => {
                command = Some(match value {
                    b"clean" => Command::Clean,
                    b"smudge" => Command::Smudge,
                    other => return Err(RequestError::UnsupportedCommand(show(other))),
                })
            }
            b"pathname" => pathname = Some(value.to_vec()),
            _ => {} // ref, treeish, blob, can-delay, future keys
        }
    }
    let command = command.ok_or(RequestError::NoCommand)?;
    let path = crate::path::GitPath::from_bytes(&pathname.ok_or(RequestError::NoPathname)?);
    let pathname = path.to_string();
    let request = Request {
        command,
        pathname,
        path,
    };
    let mut content = Spool::new();
    if let Some(hasher) = prepare(&request) {
        content.hash_with(hasher);
    }
    let pathname = &request.pathname;
    reader
        .read_content_to(&mut content)
        .map_err(|error| RequestError::Content {
            pathname: show(pathname.as_bytes()),
            error,
        })?;
    content.rewind().map_err(RequestError::Spool)?;
    Ok(Some((request, content)))
}

/// The response content: sends `status=success` before the first byte, then
/// content in full-size packets.
struct Response<'a, W: Write> {
    writer: &'a mut Writer<W>,
    started: bool,
    /// One packet being filled: 4 bytes of room for the header, then the
    /// payload, so a full packet goes out in one write (see `write_framed`).
    /// One buffer for the whole session (empty between responses): no
    /// allocation per file, and the plaintext a smudge passes through it is
    /// overwritten by the next response, then wiped when the session ends.
    buf: &'a mut Vec<u8>,
}

/// The header room at the start of [`Response::buf`].
const FRAME: usize = 4;

impl<W: Write> Response<'_, W> {
    /// Ends the response after the handler returned `result`.
    fn finish(mut self, result: &anyhow::Result<()>) -> io::Result<()> {
        match (result.is_ok(), self.started) {
            (true, _) => {
                self.start()?;
                self.emit()?;
                self.writer.write_flush()?; // end of content
                self.writer.write_flush()?; // empty list: status stays "success"
            }
            (false, false) => {
                self.writer.write_text("status=error")?;
                self.writer.write_flush()?;
            }
            (false, true) => {
                // Git discards the partial content when the trailing status is an error.
                self.emit()?;
                self.writer.write_flush()?;
                self.writer.write_text("status=error")?;
                self.writer.write_flush()?;
            }
        }
        self.writer.flush()
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.writer.write_text("status=success")?;
            self.writer.write_flush()?;
            self.started = true;
        }
        Ok(())
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.buf.len() > FRAME {
            self.writer.write_framed(self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> Write for Response<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.start()?;
        if self.buf.is_empty() {
            self.buf.reserve_exact(FRAME + MAX_DATA);
            self.buf.extend_from_slice(&[0; FRAME]);
        }
        let n = data.len().min(FRAME + MAX_DATA - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == FRAME + MAX_DATA {
            self.emit()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs the protocol on `input`/`output` (git's pipes: wrap stdout in a
/// `BufWriter`; it is flushed after every response) until git closes `input`.
/// `handler` maps one file's content to the filtered content.
pub fn serve<R: Read, W: Write>(
    input: R,
    output: W,
    handler: &mut Handler<'_>,
) -> Result<(), Error> {
    serve_hashing(input, output, &mut |_| None, handler)
}

/// [`serve`], with `prepare` giving, for each request before its content is
/// read, a hasher to run over the content as it is spooled.
pub fn serve_hashing<R: Read, W: Write>(
    input: R,
    output: W,
    prepare: &mut Prepare<'_>,
    handler: &mut Handler<'_>,
) -> Result<(), Error> {
    let mut reader = Reader::new(input);
    let mut writer = Writer::new(output);
    handshake(&mut reader, &mut writer).map_err(Error::Handshake)?;
    let mut buf = Zeroizing::new(Vec::new());
    while let Some((request, mut content)) =
        read_request(&mut reader, prepare).map_err(Error::Request)?
    {
        buf.clear();
        let mut response = Response {
            writer: &mut writer,
            started: false,
            buf: &mut buf,
        };
        let result = handler(&request, &mut content, &mut response);
        if let Err(e) = &result {
            let msg = format!("{e:#}").replace(['\n', '\r'], " ");
            let path = request.pathname.replace(['\n', '\r'], "\\n");
            // Ignore failures to report: stdout carries the protocol, not stderr.
            let _ = writeln!(io::stderr().lock(), "git-secret: {path}: {msg}");
        }
        response.finish(&result).map_err(Error::Write)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::client::{ClientReader, ClientWriter};
    use crate::filter::pktline::MAX_DATA;
    use anyhow::anyhow;

    /// Git's side of a session, as `build` writes it with the shared client.
    fn git(build: impl FnOnce(&mut ClientWriter<Vec<u8>>) -> io::Result<()>) -> Vec<u8> {
        let mut git = ClientWriter::new(Vec::new());
        build(&mut git).expect("a Vec takes any packet of our test sessions");
        git.into_inner()
    }

    /// Parses the filter's output into text lines / "<flush>" / "<N bytes>".
    fn transcript(out: &[u8]) -> Vec<String> {
        let mut r = Reader::new(out);
        let mut items = Vec::new();
        while let Some(p) = r.read_packet().unwrap() {
            items.push(match p {
                Packet::Flush => "<flush>".to_string(),
                Packet::Data(d) if d.ends_with(b"\n") => {
                    String::from_utf8(d[..d.len() - 1].to_vec()).unwrap()
                }
                Packet::Data(d) => format!("<{} bytes>", d.len()),
            });
        }
        items
    }

    /// Serves `input` with a handler that reverses content (clean appends `!`)
    /// and fails on content starting with `FAIL`; returns (result, output, requests seen).
    /// A request as the handler saw it.
    #[derive(Debug)]
    struct Seen {
        command: Command,
        pathname: String,
        content: Vec<u8>,
    }

    fn run(input: &[u8]) -> (Result<(), Error>, Vec<u8>, Vec<Seen>) {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        let result = serve(input, &mut out, &mut |req, spool, response| {
            let mut content = Vec::new();
            spool.read_to_end(&mut content)?;
            seen.push(Seen {
                command: req.command,
                pathname: req.pathname.clone(),
                content: content.clone(),
            });
            if content.starts_with(b"FAIL") {
                return Err(anyhow!("bad input").context("cannot filter"));
            }
            let mut v = content;
            v.reverse();
            if req.command == Command::Clean {
                v.extend_from_slice(b"!");
            }
            response.write_all(&v)?;
            Ok(())
        });
        (result, out, seen)
    }

    const HANDSHAKE_REPLY: [&str; 6] = [
        "git-filter-server",
        "version=2",
        "<flush>",
        "capability=clean",
        "capability=smudge",
        "<flush>",
    ];

    #[test]
    fn full_session() {
        let big: Vec<u8> = (0..2 * MAX_DATA + 3).map(|i| i as u8).collect();
        let input = git(|git| {
            git.handshake()?;
            git.request("clean", "secrets/a", &[], b"hello")?;
            git.request(
                "smudge",
                "secrets/b",
                &[
                    "ref=refs/heads/main",
                    "treeish=abc",
                    "blob=def",
                    "can-delay=1",
                ],
                b"dlrow",
            )?;
            git.request("clean", "secrets/empty", &[], b"")?;
            git.request("clean", "big", &[], &big)
        });
        let (result, out, seen) = run(&input);
        result.unwrap();
        let mut expected: Vec<String> = HANDSHAKE_REPLY.iter().map(|s| s.to_string()).collect();
        for body in [
            &["<6 bytes>"][..],
            &["<5 bytes>"],
            &["<1 bytes>"],
            &["<65516 bytes>", "<65516 bytes>", "<4 bytes>"],
        ] {
            expected.extend(["status=success".into(), "<flush>".into()]);
            expected.extend(body.iter().map(|s| s.to_string()));
            expected.extend(["<flush>".into(), "<flush>".into()]);
        }
        assert_eq!(transcript(&out), expected);
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[0].command, Command::Clean);
        assert_eq!(seen[0].pathname, "secrets/a");
        assert_eq!(seen[1].command, Command::Smudge);
        assert_eq!(seen[1].content, b"dlrow");
        assert_eq!(seen[2].content, b"");
        assert_eq!(seen[3].content, big);

        // Content bytes are the handler's output.
        let mut filter = ClientReader::new(&out[..]);
        filter.handshake().unwrap();
        let content = filter.response().unwrap().unwrap().content.unwrap();
        assert_eq!(content, b"olleh!");
    }

    #[test]
    fn empty_result_is_status_flush_flush_flush() {
        let input = git(|git| {
            git.handshake()?;
            git.request("smudge", "e", &[], b"")
        });
        let (result, out, _) = run(&input);
        result.unwrap();
        assert!(out.ends_with(b"0013status=success\n000000000000"));
    }

    #[test]
    fn error_after_partial_output_ends_with_status_error() {
        let input = git(|git| {
            git.handshake()?;
            git.request("smudge", "a", &[], b"x")
        });
        let mut out = Vec::new();
        serve(&input[..], &mut out, &mut |_, _, response| {
            response.write_all(b"partial")?;
            Err(anyhow!("chunk 3 failed authentication"))
        })
        .unwrap();
        let items = transcript(&out);
        assert_eq!(
            items[HANDSHAKE_REPLY.len()..],
            [
                "status=success",
                "<flush>",
                "<7 bytes>",
                "<flush>",
                "status=error",
                "<flush>"
            ]
        );
    }

    #[test]
    fn handler_error_then_success() {
        let input = git(|git| {
            git.handshake()?;
            git.request("clean", "secrets/a", &[], b"FAIL me")?;
            git.request("clean", "secrets/b", &[], b"ok")
        });
        let (result, out, seen) = run(&input);
        result.unwrap();
        assert_eq!(seen.len(), 2);
        let t = transcript(&out);
        assert_eq!(
            &t[HANDSHAKE_REPLY.len()..],
            [
                "status=error",
                "<flush>",
                "status=success",
                "<flush>",
                "<3 bytes>",
                "<flush>",
                "<flush>"
            ]
        );
    }

    #[test]
    fn pathname_with_newline_and_equals() {
        let input = git(|git| {
            git.handshake()?;
            git.request("clean", "dir/a=b\nc=d\n", &[], b"x")
        });
        let (result, _, seen) = run(&input);
        result.unwrap();
        // write_text added one LF; exactly that one is stripped.
        assert_eq!(seen[0].pathname, "dir/a=b\nc=d\n");

        let input = git(|git| {
            git.handshake()?;
            git.request("clean", "new\nline", &[], b"x")
        });
        assert_eq!(run(&input).2[0].pathname, "new\nline");
    }

    #[test]
    fn only_offered_capabilities_are_accepted() {
        let input = git(|git| {
            git.welcome()?;
            git.list(&["capability=clean", "capability=delay", "other"])?;
            git.request("clean", "a", &[], b"x")
        });
        let (result, out, _) = run(&input);
        result.unwrap();
        assert_eq!(
            transcript(&out)[..5],
            [
                "git-filter-server",
                "version=2",
                "<flush>",
                "capability=clean",
                "<flush>"
            ]
        );

        let input = git(|git| {
            git.welcome()?;
            git.list(&["capability=delay"])
        });
        let err = run(&input).0.unwrap_err();
        assert!(format!("{err:#}").contains("neither"), "{err:#}");
    }

    #[test]
    fn version_list_without_2() {
        let input = git(|git| git.list(&["git-filter-client", "version=1", "version=3"]));
        let (result, out, _) = run(&input);
        let err = format!("{:#}", result.unwrap_err());
        assert!(err.contains("only version 2"), "{err}");
        assert!(out.is_empty(), "nothing written");
    }

    #[test]
    fn bad_handshakes() {
        for input in [
            Vec::new(),
            git(|git| git.list(&["git-filter-server", "version=2"])),
            git(|git| git.list(&[])),
            b"0016git-filter-client\n000eversion=2\n".to_vec(),
            git(|git| git.welcome()),
        ] {
            let (result, _, seen) = run(&input);
            assert!(result.is_err(), "{input:?}");
            assert!(seen.is_empty());
        }
    }

    #[test]
    fn eof_after_handshake_is_clean() {
        let (result, out, seen) = run(&git(|git| git.handshake()));
        result.unwrap();
        assert!(seen.is_empty());
        assert_eq!(transcript(&out), HANDSHAKE_REPLY);
    }

    #[test]
    fn truncated_streams_are_errors_without_calling_the_handler_early() {
        let full = git(|git| {
            git.handshake()?;
            git.request("clean", "a", &["blob=1234"], b"some content")
        });
        let handshake_len = git(|git| git.handshake()).len();
        for cut in handshake_len + 1..full.len() {
            let (result, out, seen) = run(&full[..cut]);
            let err = result.expect_err("truncated stream accepted");
            assert!(seen.is_empty(), "handler called at cut {cut}");
            assert_eq!(
                transcript(&out),
                HANDSHAKE_REPLY,
                "wrote early at cut {cut}"
            );
            let msg = format!("{err:#}");
            assert!(msg.contains("ended"), "{msg}");
        }
    }

    #[test]
    fn protocol_violations_in_requests() {
        let base = git(|git| git.handshake());
        for input in [
            base.iter().copied().chain(*b"0000").collect::<Vec<u8>>(),
            git(|git| {
                git.handshake()?;
                git.request("list_available_blobs", "a", &[], b"")
            }),
            git(|git| {
                git.handshake()?;
                git.list(&["pathname=a"])?;
                git.list(&[])
            }),
            git(|git| {
                git.handshake()?;
                git.list(&["command=clean"])?;
                git.list(&[])
            }),
            base.iter()
                .copied()
                .chain(*b"0013command=clean\n0004")
                .collect(),
        ] {
            let (result, _, seen) = run(&input);
            assert!(result.is_err());
            assert!(seen.is_empty());
        }
    }

    #[test]
    fn write_failure_is_an_error() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let input = git(|git| git.handshake());
        assert!(serve(&input[..], Broken, &mut |_, _, _| Ok(())).is_err());
    }
}
