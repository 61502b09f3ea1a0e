//! `git-secret man` (the main manual page on standard output, or with
//! `--dir` every page written to a directory) and `completions`.

use crate::cli::{Cli, ManArgs};
use crate::session::Session;
use anyhow::{Context, Result};
use std::io::Write;
use std::process::ExitCode;

/// The command tree the pages describe; no `help` subcommand, which has no page.
fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().disable_help_subcommand(true)
}

pub fn run(session: &Session, args: &ManArgs) -> Result<ExitCode> {
    let Some(dir) = &args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command()).render(&mut page)?;
        write_stdout(&page)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cmd = command();
    // clap_mangen names each page after the command path (git-secret-unlock.1),
    // the names the main page's list of commands refers to.
    clap_mangen::generate_to(cmd.clone(), dir)
        .with_context(|| format!("cannot write the manual pages to {}", dir.display()))?;
    session.reporter().note(format_args!(
        "Wrote {} manual pages to {}.",
        pages(&cmd),
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// How many pages `generate_to` writes: one per visible command, nested ones included.
fn pages(cmd: &clap::Command) -> usize {
    1 + cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(pages)
        .sum::<usize>()
}

/// Prints the completion script for `shell`. Rendered into a buffer first:
/// clap_complete panics when a write fails (a closed pipe).
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut script = Vec::new();
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "git-secret", &mut script);
    write_stdout(&script)?;
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}
