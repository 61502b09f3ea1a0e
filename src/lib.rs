//! git-secret: keep secrets in a git repository, encrypted.
//!
//! The binary is a thin wrapper (`src/main.rs`); everything lives here so that
//! tests, fuzz targets and vector checks link the same code. Layers, bottom up:
//! crypto and the blob format (`crypto`, `format`, `pipeline`, `gitcrypt`);
//! keys and where they come from (`key`, `keyring`, `recipients`); the
//! repository as git sees it (`repo`, `attrs`, `checkout`, `drivers`, `hook`);
//! the filters git runs (`filter`); and the commands (`session`, `commands`).
#![forbid(unsafe_code)]

pub mod attrcheck;
pub mod attrs;
pub mod checkout;
pub mod cli;
pub mod commands;
pub mod crypto;
pub mod dotenv;
pub mod drivers;
pub mod fault;
pub mod files;
pub mod filter;
pub mod format;
pub mod gitcrypt;
pub mod hook;
pub mod key;
pub mod keyname;
pub mod keyring;
pub mod passphrase;
pub mod pasted;
pub mod path;
pub mod pipeline;
pub mod recipients;
pub mod repo;
pub mod report;
pub mod session;
