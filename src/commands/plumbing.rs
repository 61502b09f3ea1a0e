//! The commands git runs: clean, smudge, filter-process, textconv, merge.
//! Each takes the session by value: the filter keeps the repository for its
//! whole run.

use crate::cli::{FilterArgs, FilterProcessArgs, MergeArgs, TextconvArgs};
use crate::filter::merge::{self, Merged};
use crate::filter::pktline;
use crate::filter::process::{self, Command};
use crate::filter::spin::SpinReader;
use crate::filter::spool::Spool;
use crate::filter::Filter;
use crate::format::has_magic;
use crate::gitcrypt;
use crate::key::DEFAULT_NAME;
use crate::keyring::Keyring;
use crate::path::GitPath;
use crate::repo::{self, Repo};
use crate::report::Reporter;
use crate::session::Session;
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::ExitCode;

/// The path git named (`%f`), or `<stdin>` when run by hand.
fn path_of(args: &FilterArgs) -> GitPath {
    args.path
        .as_deref()
        .map_or_else(|| GitPath::from("<stdin>"), GitPath::from)
}

/// The filter for key `name` in the session's repository.
fn load(session: Session, name: &str) -> Result<Filter> {
    let reporter = *session.reporter();
    Filter::load(name, session.into_repo()?, reporter)
}

pub fn clean(session: Session, args: &FilterArgs) -> Result<ExitCode> {
    let filter = load(session, &args.key.name)?;
    let path = &path_of(args);
    let mut out = raw_stdout()?;
    // Clean reads its input twice (the nonce depends on all of it). Standard
    // input redirected from a file can simply be re-read; a pipe (what git
    // gives) is spooled in bounded memory.
    match seekable_stdin() {
        Some(mut file) => filter.clean(path, &mut file, &mut out),
        None => {
            let hasher = filter.clean_hasher(path);
            let mut spool = Spool::from_reader_hashed(&mut io::stdin().lock(), hasher)?;
            filter.clean_spooled(path, &mut spool, &mut out)
        }
    }
    .with_context(|| path.to_string())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
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

pub fn smudge(session: Session, args: &FilterArgs) -> Result<ExitCode> {
    let filter = load(session, &args.key.name)?;
    let path = &path_of(args);
    let mut out = raw_stdout()?;
    filter
        .smudge(path, &mut io::stdin().lock(), &mut out)
        .with_context(|| path.to_string())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn filter_process(session: Session, args: &FilterProcessArgs) -> Result<ExitCode> {
    serve(&args.key.name, *session.reporter())
}

/// `git-secret-filter-process`, the one-word `filter.git-secret.process`
/// git can exec without a shell: the default key's filter process; any
/// argument is a usage error (exit 2).
pub fn filter_process_main() -> ExitCode {
    let reporter = Reporter;
    if std::env::args_os().len() > 1 {
        reporter.note(
            "usage: git-secret-filter-process\n\
             git's long-running filter process for the default key (what \
             `git-secret filter-process` does); configured as filter.git-secret.process.",
        );
        return ExitCode::from(2);
    }
    reporter.exit_code(serve(DEFAULT_NAME, reporter))
}

/// Serves git's filter protocol for key `name` until git closes the pipe.
/// The repository is found without `git rev-parse` where git's environment
/// makes that certain: git starts this once per command that filters.
fn serve(name: &str, reporter: Reporter) -> Result<ExitCode> {
    let filter = Filter::load(name, Repo::discover_here()?, reporter)?;
    let stdin: Box<dyn io::Read> = match SpinReader::stdin() {
        // Smaller than a full packet's payload: once its few buffered
        // bytes are taken, the rest of a 64 KiB payload is read from the
        // pipe straight into place instead of through this buffer.
        Some(spin) => Box::new(io::BufReader::with_capacity(8 << 10, spin)),
        None => Box::new(io::stdin().lock()),
    };
    // Not `io::stdout()`: it is line-buffered and would split a response at
    // its last newline byte, costing git a second wake-up per file. One full
    // packet's capacity: full content packets go straight to the pipe
    // instead of being copied into the buffer first.
    let stdout = BufWriter::with_capacity(pktline::MAX_PACKET, raw_stdout()?);
    process::serve_hashing(
        stdin,
        stdout,
        // Clean hashes while the content is spooled: the spool is read back once.
        &mut |request| match request.command {
            Command::Clean => filter.clean_hasher(&request.path),
            Command::Smudge => None,
        },
        &mut |request, content, out| match request.command {
            Command::Clean => filter.clean_spooled(&request.path, content, out),
            Command::Smudge => filter.smudge(&request.path, content, out),
        },
    )
    .context("filter-process stopped")?;
    Ok(ExitCode::SUCCESS)
}

pub fn textconv(_session: Session, args: &TextconvArgs) -> Result<ExitCode> {
    textconv_file(&args.file, Reporter)
}

/// `git-secret textconv [--] FILE` read straight from the command line, or
/// `None` for anything else (then clap parses it). git spawns a textconv
/// for every blob of `git log -p`, so this path skips clap's set-up.
pub fn textconv_fast_path() -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().skip(1).take(4).collect();
    match &args[..] {
        [cmd, rest @ ..] if cmd == "textconv" => file_operand(rest).map(run_textconv),
        _ => None,
    }
}

/// `git-secret-textconv FILE`, the one-word command git can exec without
/// a shell; anything else is a usage error (exit 2).
pub fn textconv_main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).take(3).collect();
    match file_operand(&args) {
        Some(file) => run_textconv(file),
        None => {
            Reporter.note(
                "usage: git-secret-textconv FILE\n\
                 Prints the plaintext of FILE for git diff (what `git-secret textconv FILE` does).",
            );
            ExitCode::from(2)
        }
    }
}

/// The one FILE operand of a textconv: `FILE` (not an option) or `-- FILE`.
fn file_operand(args: &[OsString]) -> Option<&Path> {
    match args {
        [file] if !file.as_encoded_bytes().starts_with(b"-") => Some(Path::new(file)),
        [dashes, file] if dashes == "--" => Some(Path::new(file)),
        _ => None,
    }
}

fn run_textconv(file: &Path) -> ExitCode {
    let reporter = Reporter;
    textconv_file(file, reporter).unwrap_or_else(|e| {
        reporter.error(&e);
        ExitCode::FAILURE
    })
}

/// Prints what git diffs for FILE. Git hands textconv plaintext when
/// unlocked, so the repository and its keys are looked up only for a blob
/// that needs them (ciphertext: locked, or `git diff --no-textconv` output
/// fed back by hand); a missing repository or key gives the placeholder.
fn textconv_file(file: &Path, reporter: Reporter) -> Result<ExitCode> {
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let encrypted = has_magic(&data) || gitcrypt::is_blob(&data);
    let filter = if encrypted {
        textconv_keys()
            .map(|keyring| Filter::new(DEFAULT_NAME, keyring, reporter))
            .unwrap_or_else(|_| Filter::new("", Keyring::default(), reporter))
    } else {
        Filter::new("", Keyring::default(), reporter)
    };
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    filter.textconv(&data, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The keys installed in the repository around the current directory,
/// found without spawning git where that is certain.
fn textconv_keys() -> Result<Keyring> {
    let common_dir = match repo::common_dir_here() {
        Some(dir) => dir,
        None => Repo::discover_any()?.common_dir().to_path_buf(),
    };
    Keyring::load(&repo::key_store_in(&common_dir))
}

/// Exit 0 for a clean merge, 1 for a conflict (git then shows the conflict
/// markers from `%A`) or a merge that could not be made (ours is kept).
pub fn merge(session: Session, args: &MergeArgs) -> Result<ExitCode> {
    let reporter = *session.reporter();
    let filter = load(session, &args.key.name)?;
    // Older git leaves unknown placeholders such as %X unexpanded.
    let label = |i: usize| {
        args.labels
            .get(i)
            .map(String::as_str)
            .filter(|l| !(l.len() == 2 && l.starts_with('%')))
    };
    let path = args
        .path
        .as_deref()
        .map_or_else(|| GitPath::from("<file>"), GitPath::from);
    let driver_args = merge::MergeArgs {
        base: &args.base,
        ours: &args.ours,
        theirs: &args.theirs,
        marker_size: args.marker_size.as_deref(),
        path: &path,
        labels: [label(0), label(1), label(2)],
    };
    Ok(match merge::merge(&filter, &driver_args)? {
        Merged::Clean => ExitCode::SUCCESS,
        Merged::Conflict => ExitCode::FAILURE,
        Merged::KeptOurs(why) => {
            reporter.note(why);
            ExitCode::FAILURE
        }
    })
}
