//! A long-running filter process that returns every file unchanged: the
//! floor under any filter process, measured by `scripts/bench.sh` next to
//! git-secret. It speaks protocol version 2 with std only (blocking reads,
//! one write per response) and does no crypto, so what it costs on top of
//! plain git is what git's filter protocol costs on the machine.
//!
//! Its codec is its own on purpose, not `git_secret::filter::pktline`,
//! `process` or `client`: a floor that linked our protocol code would
//! measure that code too, and would move whenever it changes.
//!
//! Configure it as `filter.<name>.process = /path/to/identity_filter`.

use std::io::{self, BufReader, BufWriter, Read, Write};

/// Reads one packet: `Some(payload)`, or `None` for a flush packet.
fn packet(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    input.read_exact(&mut header)?;
    let text = std::str::from_utf8(&header).map_err(|_| bad("packet header"))?;
    let len = usize::from_str_radix(text, 16).map_err(|_| bad("packet header"))?;
    match len {
        0 => Ok(None),
        1..=4 => Err(bad("packet length")),
        _ => {
            let mut payload = vec![0u8; len - 4];
            input.read_exact(&mut payload)?;
            Ok(Some(payload))
        }
    }
}

/// Reads packets up to the next flush and returns their payloads joined.
fn until_flush(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    while let Some(payload) = packet(input)? {
        all.extend_from_slice(&payload);
    }
    Ok(all)
}

fn write_packet(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    write!(out, "{:04x}", payload.len() + 4)?;
    out.write_all(payload)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad {what}"))
}

fn main() -> io::Result<()> {
    let mut input = BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut out = BufWriter::with_capacity(1 << 16, std::fs::File::create("/dev/stdout")?);
    until_flush(&mut input)?; // git-filter-client, version=2
    write_packet(&mut out, b"git-filter-server\n")?;
    write_packet(&mut out, b"version=2\n")?;
    out.write_all(b"0000")?;
    out.flush()?;
    until_flush(&mut input)?; // capabilities
    write_packet(&mut out, b"capability=clean\n")?;
    write_packet(&mut out, b"capability=smudge\n")?;
    out.write_all(b"0000")?;
    out.flush()?;
    loop {
        // command=..., pathname=..., then the content.
        match until_flush(&mut input) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        };
        let content = until_flush(&mut input)?;
        write_packet(&mut out, b"status=success\n")?;
        out.write_all(b"0000")?;
        for piece in content.chunks(65516) {
            write_packet(&mut out, piece)?;
        }
        out.write_all(b"00000000")?; // end of content, status unchanged
        out.flush()?;
    }
}
