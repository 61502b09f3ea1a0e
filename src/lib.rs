//! git-secret: keep secrets in a git repository, encrypted.
//!
//! The binary is a thin wrapper (`src/main.rs`); everything lives here so that
//! tests, fuzz targets and vector checks link the same code.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod crypto;
pub mod fault;
pub mod filter;
pub mod format;
pub mod gitcrypt;
pub mod key;
pub mod pipeline;
pub mod recipients;
pub mod repo;
pub mod ring;
