//! The one place that prints messages for people. Library code hands what it
//! has to say to a [`Reporter`] instead of printing, so standard output stays
//! the command's data (or git's protocol) and every message has one route.

use std::fmt::Display;
use std::process::ExitCode;

/// Messages on standard error: notes as they are, warnings and errors with
/// the `git-secret: warning:` / `git-secret: error:` prefix.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reporter;

impl Reporter {
    /// A message for the user, printed as it is.
    pub fn note(&self, message: impl Display) {
        eprintln!("{message}");
    }

    /// Something the user should fix, though the command goes on.
    pub fn warn(&self, message: impl Display) {
        eprintln!("git-secret: warning: {message}");
    }

    /// Asks a yes/no question when standard input and standard error are a
    /// terminal; `None` when not interactive (no one to ask).
    pub fn confirm(&self, question: impl Display) -> Option<bool> {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok()?;
        Some(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
    }

    /// Why the command failed (the whole cause chain on one line).
    pub fn error(&self, error: &anyhow::Error) {
        eprintln!("git-secret: error: {error:#}");
    }

    /// A finding that fails the command (a leak, a refusal that is a result,
    /// not an error): printed like an error, exit status 1.
    pub fn fail(&self, message: impl Display) -> ExitCode {
        eprintln!("git-secret: error: {message}");
        ExitCode::FAILURE
    }

    /// How a binary exits with a command's result: the command's own code;
    /// 141, quietly, when standard output was closed (as git under a shell);
    /// else the error, and 1.
    pub fn exit_code(&self, result: anyhow::Result<ExitCode>) -> ExitCode {
        match result {
            Ok(code) => code,
            Err(e) if is_closed_stdout(&e) => ExitCode::from(CLOSED_STDOUT),
            Err(e) => {
                self.error(&e);
                ExitCode::FAILURE
            }
        }
    }
}

/// "a, b and 3 more" — keeps messages about many files readable.
pub fn list_paths(paths: &[impl Display]) -> String {
    const SHOWN: usize = 10;
    let mut text = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("\n  {p}"))
        .collect::<String>();
    if paths.len() > SHOWN {
        text.push_str(&format!("\n  … and {} more", paths.len() - SHOWN));
    }
    text
}

/// With `{:#}`, appends the causes of `error` as `: cause`, the way anyhow's
/// `{:#}` prints a chain, so a typed error reads the same printed directly or
/// through anyhow (which prints each level with `{}`).
pub fn write_causes(
    error: &dyn std::error::Error,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    if f.alternate() {
        let mut cause = error.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
    }
    Ok(())
}

/// The exit status when standard output's reader has gone (`git-secret
/// status | head -1`): 141, what a shell reports for git in the same place
/// (killed by SIGPIPE, 128 + 13). Not 0: the output was cut short, so a
/// script with `set -o pipefail` must not take it for a complete success.
pub const CLOSED_STDOUT: u8 = 141;

/// Whether `error` is a write to a standard output nobody reads any more:
/// then the command ends quietly, as git and ripgrep do. A broken pipe to
/// a child process (git) is a real error and still reported.
pub fn is_closed_stdout(error: &anyhow::Error) -> bool {
    let broken_pipe = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    });
    broken_pipe && stdout_reader_gone()
}

/// poll(2) reports POLLERR on a pipe's write end once the read end is
/// closed, and POLLHUP on a socket whose peer has gone.
fn stdout_reader_gone() -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(&stdout, PollFlags::empty())];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).is_ok()
        && fds[0].revents().intersects(PollFlags::ERR | PollFlags::HUP)
}
