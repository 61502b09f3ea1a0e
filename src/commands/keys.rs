//! `git-secret keys`: which keys this repository and your key ring hold.
//! Prints name, generation, id and source; never key material.

use crate::keyring::Ring;
use crate::session::Session;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

pub fn run(session: &Session) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut any = false;
    // Outside a repository only the ring is listed.
    if session.repo().is_ok() {
        for key in session.keyring()?.keys() {
            any = true;
            writeln!(
                out,
                "{:<16} gen {:<3} {}  repository",
                key.name(),
                key.generation(),
                key.id()
            )?;
        }
    }
    let ring = Ring::open()?;
    for family in ring.families(session.reporter())? {
        for key in &family.keys {
            any = true;
            writeln!(
                out,
                "{:<16} gen {:<3} {}  ring ({})",
                key.name(),
                key.generation(),
                key.id(),
                family.path.display()
            )?;
        }
    }
    if !any {
        session.reporter().note(format_args!(
            "No keys: none installed in this repository, none in your key ring ({}).",
            ring.dir().display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
