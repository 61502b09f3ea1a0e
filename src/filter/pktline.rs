//! pkt-line framing as git's long-running filter protocol uses it: a 4-digit
//! hex length (including the 4 header bytes) then the payload; `0000` is a
//! flush packet. Git writes lowercase hex; we accept either case.
//!
//! Hand-written rather than gitoxide's `gix-packetline`/`gix-filter`: those
//! need Rust 1.88 (we target 1.85), pull in bstr/faster-hex/thiserror/gix-*
//! on top of libgit2, and gix-filter's server owns the read/write sequencing,
//! while we must control exactly when bytes are written (never before the whole
//! request is read, never an empty `0004` packet, at most 65516 data bytes per
//! packet). The codec is ~150 lines of blocking `std::io`, plus its [`Error`].
//!
//! Strictness: `0001`..`0003` (delim/response-end, unused by this protocol),
//! lengths above 65520, non-hex lengths, EOF inside a packet and the empty data
//! packet `0004` are all rejected with an [`Error`] whose
//! [`kind`](Error::kind) is [`io::ErrorKind::InvalidData`]. Git never
//! sends `0004` (its own reader would take it for end-of-content and then
//! misparse the rest), so we treat it as a malformed stream rather than guess.
//! The [`Writer`] side stays plain `io::Result`: it is an `io::Write` adapter.
//!
//! Neither side buffers: wrap unbuffered streams in `BufReader`/`BufWriter`.

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Read, Write};

/// Largest payload of one packet (`LARGE_PACKET_DATA_MAX` in git).
pub const MAX_DATA: usize = 65516;
/// Largest packet including its 4-byte header (`LARGE_PACKET_MAX`).
pub const MAX_PACKET: usize = MAX_DATA + 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0000`: end of a list or of content.
    Flush,
    /// A data packet; never empty.
    Data(Vec<u8>),
}

/// Why reading packets failed: a malformed stream, or the stream itself.
#[derive(Debug)]
pub enum Error {
    /// The 4 length bytes are not hex digits.
    BadHeader([u8; 4]),
    /// `0001`..`0003` (delim, response-end): the value is the length.
    SpecialPacket(usize),
    /// `0004`, an empty data packet.
    EmptyPacket,
    /// A length above [`MAX_PACKET`].
    TooLong(usize),
    /// EOF after some but not all of the 4 header bytes.
    EndedInHeader,
    /// EOF inside a packet's payload.
    EndedInPacket,
    /// EOF where a list needs its flush.
    EndedInList,
    /// EOF where content needs its flush.
    EndedInContent,
    /// Reading the stream, or writing content to its sink, failed.
    Io(io::Error),
}

impl Error {
    /// [`io::ErrorKind::InvalidData`] for a malformed stream, else the I/O error's kind.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Io(e) => e.kind(),
            _ => io::ErrorKind::InvalidData,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadHeader(hdr) => write!(
                f,
                "pkt-line: bad length header {:?}",
                String::from_utf8_lossy(hdr)
            )?,
            Error::SpecialPacket(len) => {
                write!(f, "pkt-line: unsupported special packet {len:04x}")?
            }
            Error::EmptyPacket => f.write_str("pkt-line: empty data packet 0004")?,
            Error::TooLong(len) => write!(f, "pkt-line: packet length {len} exceeds {MAX_PACKET}")?,
            Error::EndedInHeader => f.write_str("pkt-line: stream ended inside a packet header")?,
            Error::EndedInPacket => f.write_str("pkt-line: stream ended inside a packet")?,
            Error::EndedInList => f.write_str("pkt-line: stream ended inside a list")?,
            Error::EndedInContent => f.write_str("pkt-line: stream ended inside content")?,
            Error::Io(e) => write!(f, "{e}")?,
        }
        crate::report::write_causes(self, f)
    }
}

impl StdError for Error {
    /// An I/O error is passed through as it is: its own causes, not itself.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Io(e) => e.source(),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// Header of the next packet: `None` = flush, `Some(n)` = `n` payload bytes (1..=MAX_DATA).
fn parse_header(hdr: [u8; 4]) -> Result<Option<usize>, Error> {
    let mut len = 0usize;
    for &b in &hdr {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(Error::BadHeader(hdr)),
        };
        len = len * 16 + usize::from(digit);
    }
    match len {
        0 => Ok(None),
        1..=3 => Err(Error::SpecialPacket(len)),
        4 => Err(Error::EmptyPacket),
        _ if len > MAX_PACKET => Err(Error::TooLong(len)),
        _ => Ok(Some(len - 4)),
    }
}

/// Reads packets from a byte stream.
pub struct Reader<R: Read> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: Vec::new(),
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// `Ok(None)` = clean EOF before the first header byte; `Ok(Some(None))` = flush;
    /// `Ok(Some(Some(n)))` = data packet with `n` payload bytes still to read.
    fn read_header(&mut self) -> Result<Option<Option<usize>>, Error> {
        let mut hdr = [0u8; 4];
        let mut filled = 0;
        while filled < hdr.len() {
            match self.inner.read(&mut hdr[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(Error::EndedInHeader),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
        parse_header(hdr).map(Some)
    }

    fn read_payload(&mut self, len: usize) -> Result<(), Error> {
        self.buf.resize(len, 0);
        self.inner.read_exact(&mut self.buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::EndedInPacket
            } else {
                Error::Io(e)
            }
        })
    }

    /// Next packet; `Ok(None)` only for EOF exactly at a packet boundary.
    pub fn read_packet(&mut self) -> Result<Option<Packet>, Error> {
        match self.read_header()? {
            None => Ok(None),
            Some(None) => Ok(Some(Packet::Flush)),
            Some(Some(len)) => {
                self.read_payload(len)?;
                Ok(Some(Packet::Data(self.buf.clone())))
            }
        }
    }

    /// Next text line with one trailing LF removed; `Ok(None)` = flush.
    /// EOF is an error here (a list must end with a flush).
    pub fn read_text_line(&mut self) -> Result<Option<Vec<u8>>, Error> {
        match self.read_packet()? {
            None => Err(Error::EndedInList),
            Some(Packet::Flush) => Ok(None),
            Some(Packet::Data(line)) => Ok(Some(strip_lf(line))),
        }
    }

    /// Copies data packets to `out` until a flush; returns the byte count.
    /// EOF before the flush is an error.
    pub fn read_content_to(&mut self, out: &mut impl Write) -> Result<u64, Error> {
        let mut total = 0u64;
        loop {
            match self.read_header()? {
                None => return Err(Error::EndedInContent),
                Some(None) => return Ok(total),
                Some(Some(len)) => {
                    self.read_payload(len)?;
                    out.write_all(&self.buf)?;
                    total += len as u64;
                }
            }
        }
    }
}

fn check_len(len: usize) -> io::Result<()> {
    if len == 0 || len > MAX_DATA {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("pkt-line: cannot send a {len}-byte packet"),
        ));
    }
    Ok(())
}

/// The 4 hex digits of a packet carrying `len` bytes (lowercase, as git writes).
fn header(len: usize) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let len = len + 4;
    [
        HEX[(len >> 12) & 15],
        HEX[(len >> 8) & 15],
        HEX[(len >> 4) & 15],
        HEX[len & 15],
    ]
}

/// Removes exactly one trailing LF, if present.
pub fn strip_lf(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    line
}

/// Writes packets. Nothing here flushes the underlying writer except
/// [`Writer::flush`]; call it once a complete response has been written.
pub struct Writer<W: Write> {
    inner: W,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W) -> Self {
        Writer { inner }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    pub fn into_inner(self) -> W {
        self.inner
    }

    /// One data packet of 1..=[`MAX_DATA`] bytes; anything else is `InvalidInput`.
    pub fn write_packet(&mut self, data: &[u8]) -> io::Result<()> {
        check_len(data.len())?;
        self.inner.write_all(&header(data.len()))?;
        self.inner.write_all(data)
    }

    /// One packet from `packet`, whose first 4 bytes are room for the header
    /// and the rest the payload, written with one `write_all`: a full packet
    /// ([`MAX_PACKET`] bytes) then bypasses a `BufWriter` of that capacity
    /// instead of being copied into it.
    pub fn write_framed(&mut self, packet: &mut [u8]) -> io::Result<()> {
        let len = packet.len().saturating_sub(4);
        check_len(len)?;
        packet[..4].copy_from_slice(&header(len));
        self.inner.write_all(packet)
    }

    /// A text packet: `line` followed by LF.
    pub fn write_text(&mut self, line: &str) -> io::Result<()> {
        let mut data = Vec::with_capacity(line.len() + 1);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        self.write_packet(&data)
    }

    pub fn write_flush(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")
    }

    /// `data` as packets of at most [`MAX_DATA`] bytes; empty data = no packets.
    /// Does not write the terminating flush.
    pub fn write_content(&mut self, data: &[u8]) -> io::Result<()> {
        for chunk in data.chunks(MAX_DATA) {
            self.write_packet(chunk)?;
        }
        Ok(())
    }

    /// Streams `src` to EOF as content packets (no terminating flush).
    pub fn write_content_from(&mut self, src: &mut impl Read) -> io::Result<u64> {
        let mut w = self.content_writer();
        io::copy(src, &mut w)?;
        w.finish()
    }

    /// A `Write` adapter that emits full-size content packets; call
    /// [`ContentWriter::finish`] to send the last partial packet.
    pub fn content_writer(&mut self) -> ContentWriter<'_, W> {
        ContentWriter {
            pkt: self,
            buf: Vec::new(),
            total: 0,
        }
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// See [`Writer::content_writer`]. Data still buffered when this is dropped
/// without [`finish`](ContentWriter::finish) is lost.
pub struct ContentWriter<'a, W: Write> {
    pkt: &'a mut Writer<W>,
    buf: Vec<u8>,
    total: u64,
}

impl<W: Write> ContentWriter<'_, W> {
    fn emit_buffered(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.pkt.write_packet(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends any buffered bytes (no flush packet); returns the total content length.
    pub fn finish(mut self) -> io::Result<u64> {
        self.emit_buffered()?;
        Ok(self.total)
    }
}

impl<W: Write> Write for ContentWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.is_empty() && data.len() >= MAX_DATA {
            self.pkt.write_packet(&data[..MAX_DATA])?;
            self.total += MAX_DATA as u64;
            return Ok(MAX_DATA);
        }
        if self.buf.capacity() < MAX_DATA {
            self.buf.reserve_exact(MAX_DATA - self.buf.len());
        }
        let n = data.len().min(MAX_DATA - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.total += n as u64;
        if self.buf.len() == MAX_DATA {
            self.emit_buffered()?;
        }
        Ok(n)
    }

    /// Sends buffered bytes as a (possibly short) packet and flushes the stream.
    fn flush(&mut self) -> io::Result<()> {
        self.emit_buffered()?;
        self.pkt.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(data: &[u8]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.write_content(data).unwrap();
        w.write_flush().unwrap();
        w.into_inner()
    }

    fn packet_sizes(mut stream: &[u8]) -> Vec<usize> {
        let mut sizes = Vec::new();
        while !stream.is_empty() {
            let len =
                usize::from_str_radix(std::str::from_utf8(&stream[..4]).unwrap(), 16).unwrap();
            if len == 0 {
                sizes.push(0);
                stream = &stream[4..];
            } else {
                sizes.push(len - 4);
                stream = &stream[len..];
            }
        }
        sizes
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn expect_invalid(stream: &[u8]) {
        let mut r = Reader::new(stream);
        let mut sink = Vec::new();
        let err = r.read_content_to(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{stream:?}: {err}");
        let mut r = Reader::new(stream);
        let err = loop {
            match r.read_packet() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("{stream:?} accepted"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{stream:?}: {err}");
    }

    #[test]
    fn content_round_trip_at_boundaries() {
        for n in [
            0,
            1,
            2,
            MAX_DATA - 1,
            MAX_DATA,
            MAX_DATA + 1,
            3 * MAX_DATA + 5,
        ] {
            let input = data(n);
            let stream = encode(&input);
            let sizes = packet_sizes(&stream);
            assert_eq!(sizes.last(), Some(&0), "ends with flush");
            assert!(sizes[..sizes.len() - 1]
                .iter()
                .all(|&s| (1..=MAX_DATA).contains(&s)));
            assert_eq!(sizes.len() - 1, n.div_ceil(MAX_DATA), "n={n}");
            let mut r = Reader::new(&stream[..]);
            let mut out = Vec::new();
            assert_eq!(r.read_content_to(&mut out).unwrap(), n as u64);
            assert_eq!(out, input);
            assert!(r.read_packet().unwrap().is_none());
        }
    }

    #[test]
    fn empty_content_is_just_a_flush() {
        assert_eq!(encode(b""), b"0000");
    }

    #[test]
    fn streaming_writers_match_write_content() {
        for n in [0, 1, MAX_DATA, MAX_DATA + 1, 3 * MAX_DATA + 5] {
            let input = data(n);
            let mut w = Writer::new(Vec::new());
            assert_eq!(w.write_content_from(&mut &input[..]).unwrap(), n as u64);
            w.write_flush().unwrap();
            assert_eq!(w.into_inner(), encode(&input), "n={n}");

            // Odd-sized writes through the adapter still give full packets.
            let mut w = Writer::new(Vec::new());
            let mut cw = w.content_writer();
            for chunk in input.chunks(1000) {
                cw.write_all(chunk).unwrap();
            }
            assert_eq!(cw.finish().unwrap(), n as u64);
            w.write_flush().unwrap();
            assert_eq!(w.into_inner(), encode(&input), "n={n}");
        }
    }

    #[test]
    fn content_in_small_packets_is_accepted() {
        let stream = b"0005a0006bc0007def0000";
        let mut out = Vec::new();
        let n = Reader::new(&stream[..]).read_content_to(&mut out).unwrap();
        assert_eq!((n, &out[..]), (6, &b"abcdef"[..]));
    }

    #[test]
    fn text_lines() {
        let mut w = Writer::new(Vec::new());
        w.write_text("version=2").unwrap();
        w.write_flush().unwrap();
        let stream = w.into_inner();
        assert_eq!(stream, b"000eversion=2\n0000");
        let mut r = Reader::new(&stream[..]);
        assert_eq!(r.read_text_line().unwrap().unwrap(), b"version=2");
        assert_eq!(r.read_text_line().unwrap(), None);
        assert_eq!(
            r.read_text_line().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );

        // Exactly one LF is stripped; lines without LF are accepted too.
        let mut r = Reader::new(&b"0008a\n\n\n0005b0000"[..]);
        assert_eq!(r.read_text_line().unwrap().unwrap(), b"a\n\n");
        assert_eq!(r.read_text_line().unwrap().unwrap(), b"b");
        assert_eq!(r.read_text_line().unwrap(), None);
    }

    #[test]
    fn uppercase_hex_accepted() {
        let mut stream = b"FFF0".to_vec();
        stream.extend(data(MAX_DATA));
        stream.extend_from_slice(b"000Aabcdef0000");
        let mut r = Reader::new(&stream[..]);
        assert_eq!(r.read_packet().unwrap(), Some(Packet::Data(data(MAX_DATA))));
        assert_eq!(
            r.read_packet().unwrap(),
            Some(Packet::Data(b"abcdef".to_vec()))
        );
        assert_eq!(r.read_packet().unwrap(), Some(Packet::Flush));
        assert_eq!(r.read_packet().unwrap(), None);
    }

    #[test]
    fn malformed_inputs_are_invalid_data() {
        let mut oversize = b"fff1".to_vec();
        oversize.extend(data(MAX_DATA + 1));
        for stream in [
            &b"0001"[..],
            b"0002",
            b"0003",
            b"0004",
            b"0005a0004",
            b"zzzz",
            b"+00f",
            b" 00f",
            b"00g5a",
            b"000",
            b"0",
            b"0009abc",
            b"ffff",
            &oversize,
        ] {
            expect_invalid(stream);
        }
        // EOF where content or a list needs a flush.
        let mut sink = Vec::new();
        let err = Reader::new(&b"0005a"[..])
            .read_content_to(&mut sink)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = Reader::new(&b""[..])
            .read_content_to(&mut sink)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn framed_packets_are_the_same_bytes_in_one_write() {
        /// Counts the writes that reach it.
        struct Counting(Vec<u8>, usize);
        impl Write for Counting {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.0.extend_from_slice(data);
                self.1 += 1;
                Ok(data.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for len in [1, 100, MAX_DATA] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut plain = Writer::new(Vec::new());
            plain.write_packet(&payload).unwrap();
            let mut framed = Writer::new(Counting(Vec::new(), 0));
            let mut packet = vec![0u8; 4];
            packet.extend_from_slice(&payload);
            framed.write_framed(&mut packet).unwrap();
            let Counting(bytes, writes) = framed.into_inner();
            assert_eq!(bytes, plain.into_inner());
            assert_eq!(writes, 1, "one write for a {len}-byte packet");
        }
        let mut w = Writer::new(Vec::new());
        assert!(w.write_framed(&mut [0u8; 4]).is_err(), "empty packet");
        assert!(
            w.write_framed(&mut [0u8; 2]).is_err(),
            "no room for a header"
        );
        assert!(w.write_framed(&mut vec![0u8; MAX_PACKET + 1]).is_err());
        assert!(w.into_inner().is_empty());
    }

    #[test]
    fn writer_refuses_bad_packets() {
        let mut w = Writer::new(Vec::new());
        assert_eq!(
            w.write_packet(b"").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(w.write_packet(&data(MAX_DATA + 1)).is_err());
        assert!(w.write_text(&"x".repeat(MAX_DATA)).is_err());
        w.write_text(&"x".repeat(MAX_DATA - 1)).unwrap();
        assert_eq!(&w.into_inner()[..4], b"fff0");
    }
}
