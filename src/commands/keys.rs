//! `git-secret keys`: which keys this repository and your key ring hold.
//! Prints name, generation, id and source; never key material.

use crate::repo::Repo;
use crate::ring::Ring;
use anyhow::Result;
use std::io::Write;

pub fn run() -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut any = false;
    if let Ok(repo) = Repo::discover() {
        for key in repo.key_store().load_all()? {
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
    for family in ring.families()? {
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
        eprintln!(
            "No keys: none installed in this repository, none in your key ring ({}).",
            ring.dir().display()
        );
    }
    Ok(())
}
