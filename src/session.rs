//! What every command works with: the repository (discovered once, on first
//! use, so commands that need none work anywhere), the keys installed there,
//! and the reporter that prints messages.

use crate::keyring::{KeyStore, Keyring};
use crate::repo::Repo;
use crate::report::Reporter;
use anyhow::Result;
use std::cell::OnceCell;

pub struct Session {
    repo: OnceCell<Repo>,
    reporter: Reporter,
}

impl Session {
    pub fn new(reporter: Reporter) -> Session {
        Session {
            repo: OnceCell::new(),
            reporter,
        }
    }

    pub fn reporter(&self) -> &Reporter {
        &self.reporter
    }

    /// The repository with its work tree (most commands need one).
    pub fn repo(&self) -> Result<&Repo> {
        if let Some(repo) = self.repo.get() {
            return repo.require_work_tree().map(|()| repo);
        }
        let repo = Repo::discover()?;
        Ok(self.repo.get_or_init(|| repo))
    }

    /// The repository, bare ones included (history checks in server hooks).
    pub fn any_repo(&self) -> Result<&Repo> {
        if let Some(repo) = self.repo.get() {
            return Ok(repo);
        }
        let repo = Repo::discover_any()?;
        Ok(self.repo.get_or_init(|| repo))
    }

    /// The key store of the repository.
    pub fn store(&self) -> Result<KeyStore> {
        Ok(self.repo()?.key_store())
    }

    /// The keys installed in the repository, read afresh on each call so a
    /// command that changed the store sees its change.
    pub fn keyring(&self) -> Result<Keyring> {
        Keyring::load(&self.store()?)
    }

    /// The repository, handed over to a filter that outlives this session's
    /// borrow (the filter process keeps it for its whole life).
    pub fn into_repo(self) -> Result<Repo> {
        self.repo()?;
        Ok(self.repo.into_inner().expect("discovered above"))
    }
}
