//! The commands git runs: clean, smudge, filter-process, textconv.

use crate::cli::FilterArgs;
use crate::filter::process::{self, Command};
use crate::filter::FilterKeys;
use anyhow::{Context, Result};
use std::io::{self, BufWriter, Write};
use std::path::Path;

fn display_path(args: &FilterArgs) -> &str {
    args.path.as_deref().unwrap_or("<stdin>")
}

pub fn clean(args: &FilterArgs) -> Result<()> {
    let keys = FilterKeys::load(&args.key.name)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let path = display_path(args);
    keys.clean(path, &mut io::stdin().lock(), &mut out)
        .with_context(|| path.to_owned())?;
    out.flush()?;
    Ok(())
}

pub fn smudge(args: &FilterArgs) -> Result<()> {
    let keys = FilterKeys::load(&args.key.name)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let path = display_path(args);
    keys.smudge(path, &mut io::stdin().lock(), &mut out)
        .with_context(|| path.to_owned())?;
    out.flush()?;
    Ok(())
}

pub fn filter_process(name: &str) -> Result<()> {
    let keys = FilterKeys::load(name)?;
    let stdin = io::stdin().lock();
    let stdout = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    process::serve(stdin, stdout, &mut |request| {
        let mut out = Vec::with_capacity(request.content.len() + 128);
        let mut input = &request.content[..];
        match request.command {
            Command::Clean => keys.clean(&request.pathname, &mut input, &mut out)?,
            Command::Smudge => keys.smudge(&request.pathname, &mut input, &mut out)?,
        }
        Ok(out)
    })
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
