//! The commands git runs: clean, smudge, filter-process, textconv.

use crate::cli::FilterArgs;
use crate::filter::merge::{self, MergeArgs, Merged};
use crate::filter::process::{self, Command};
use crate::filter::spin::SpinReader;
use crate::filter::spool::Spool;
use crate::filter::FilterKeys;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::os::fd::AsFd;
use std::path::Path;

fn display_path(args: &FilterArgs) -> &str {
    args.path.as_deref().unwrap_or("<stdin>")
}

pub fn clean(args: &FilterArgs) -> Result<()> {
    let keys = FilterKeys::load(&args.key.name)?;
    let path = display_path(args);
    let mut out = raw_stdout()?;
    // Clean reads its input twice (the nonce depends on all of it). Standard
    // input redirected from a file can simply be re-read; a pipe (what git
    // gives) is spooled in bounded memory.
    match seekable_stdin() {
        Some(mut file) => keys.clean(path, &mut file, &mut out),
        None => keys.clean(
            path,
            &mut Spool::from_reader(&mut io::stdin().lock())?,
            &mut out,
        ),
    }
    .with_context(|| path.to_owned())?;
    out.flush()?;
    Ok(())
}

/// Standard output without Rust's line buffering. Clean and smudge write
/// whole chunks (64 KiB) from page-aligned memory, which a buffer would only
/// copy and misalign (see `pipeline::PageBuf`).
fn raw_stdout() -> Result<File> {
    let fd = io::stdout().as_fd().try_clone_to_owned();
    Ok(File::from(fd.context("cannot use standard output")?))
}

/// Standard input as a file positioned at its start, if it is a regular file.
fn seekable_stdin() -> Option<File> {
    let mut file = File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    let regular = file.metadata().ok()?.is_file();
    (regular && file.stream_position().ok()? == 0).then_some(file)
}

pub fn smudge(args: &FilterArgs) -> Result<()> {
    let keys = FilterKeys::load(&args.key.name)?;
    let path = display_path(args);
    let mut out = raw_stdout()?;
    keys.smudge(path, &mut io::stdin().lock(), &mut out)
        .with_context(|| path.to_owned())?;
    out.flush()?;
    Ok(())
}

pub fn filter_process(name: &str) -> Result<()> {
    let keys = FilterKeys::load(name)?;
    let stdin: Box<dyn io::Read> = match SpinReader::stdin() {
        Some(spin) => Box::new(io::BufReader::with_capacity(1 << 16, spin)),
        None => Box::new(io::stdin().lock()),
    };
    // Not `io::stdout()`: it is line-buffered and would split a response at
    // its last newline byte, costing git a second wake-up per file.
    let stdout = BufWriter::with_capacity(1 << 16, raw_stdout()?);
    process::serve(
        stdin,
        stdout,
        &mut |request, content, out| match request.command {
            Command::Clean => keys.clean(&request.pathname, content, out),
            Command::Smudge => keys.smudge(&request.pathname, content, out),
        },
    )
    .context("filter-process stopped")
}

pub fn textconv(file: &Path) -> Result<()> {
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // Textconv runs for every diff; keys are optional here (locked → placeholder).
    let keys = FilterKeys::load(crate::key::DEFAULT_NAME)
        .unwrap_or_else(|_| FilterKeys::new("", Vec::new()));
    let mut out = BufWriter::new(io::stdout().lock());
    keys.textconv(&data, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Exits 0 for a clean merge; a conflict is an `Err` only in the sense of exit
/// status 1 (git then shows the conflict markers from `%A`).
pub fn merge(
    name: &str,
    base: &Path,
    ours: &Path,
    theirs: &Path,
    marker_size: Option<&str>,
    path: Option<&str>,
    labels: &[String],
) -> Result<()> {
    let keys = FilterKeys::load(name)?;
    // Older git leaves unknown placeholders such as %X unexpanded.
    let label = |i: usize| {
        labels
            .get(i)
            .map(String::as_str)
            .filter(|l| !(l.len() == 2 && l.starts_with('%')))
    };
    let args = MergeArgs {
        base,
        ours,
        theirs,
        marker_size,
        path: path.unwrap_or("<file>"),
        labels: [label(0), label(1), label(2)],
    };
    match merge::merge(&keys, &args)? {
        Merged::Clean => Ok(()),
        Merged::Conflict => std::process::exit(1),
    }
}
