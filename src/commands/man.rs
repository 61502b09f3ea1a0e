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
        write_stdout(&render(&command(), None)?)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = command();
    // Built, so each subcommand's display name is its page name
    // (git-secret-unlock), the name the main page's list refers to.
    cmd.build();
    let mut written = 0;
    write_pages(&cmd, None, dir, &mut written)?;
    session.reporter().note(format_args!(
        "Wrote {written} manual pages to {}.",
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// The roff page of `cmd`, with a SEE ALSO section naming its parent's page
/// (the main page names git's own).
fn render(cmd: &clap::Command, parent: Option<&str>) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    // Every page's footer names the program and version (clap_mangen would
    // put a subcommand's bare name there).
    clap_mangen::Man::new(cmd.clone())
        .source(concat!("git-secret ", env!("CARGO_PKG_VERSION")))
        .render(&mut page)?;
    let see_also = match parent {
        Some(parent) => format!("{}(1)", parent.replace('-', "\\-")),
        None => "git(1), gitattributes(5)".to_owned(),
    };
    page.extend_from_slice(format!(".SH \"SEE ALSO\"\n{see_also}\n").as_bytes());
    Ok(page)
}

/// Writes the page of `cmd` and of each visible subcommand.
fn write_pages(
    cmd: &clap::Command,
    parent: Option<&str>,
    dir: &std::path::Path,
    written: &mut usize,
) -> Result<()> {
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    std::fs::write(&path, render(cmd, parent)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    *written += 1;
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, Some(name), dir, written)?;
    }
    Ok(())
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
