//! One module per porcelain command, plus the plumbing git runs. Each takes
//! the [`Session`] and its clap `Args` and returns the exit code; messages go
//! through the session's reporter.

pub mod check;
pub mod doctor;
pub mod edit;
pub mod exec;
pub mod export_key;
pub mod import_git_crypt;
pub mod init;
pub mod install;
pub mod keys;
pub mod lock;
pub mod man;
pub mod plumbing;
pub mod preflight;
pub mod rotate;
pub mod status;
pub mod unlock;
pub mod users;
pub mod view;

use crate::cli::{Cli, Command};
use crate::session::Session;
use anyhow::Result;
use std::process::ExitCode;

/// Runs one parsed command line.
pub fn run(cli: Cli, session: Session) -> Result<ExitCode> {
    let s = &session;
    match cli.command {
        Command::Init(args) => init::run(s, &args),
        Command::Unlock(args) => unlock::run(s, &args),
        Command::Lock(args) => lock::run(s, &args),
        Command::ExportKey(args) => export_key::run(s, &args),
        Command::Keys => keys::run(s),
        Command::AddUser(args) => users::add(s, &args),
        Command::ListUsers => users::list(s),
        Command::RemoveUser(args) => users::remove(s, &args),
        Command::ImportGitCrypt(args) => import_git_crypt::run(s, &args),
        Command::Completions(args) => man::completions(args.shell),
        Command::Man(args) => man::run(s, &args),
        Command::Status(args) => status::run(s, &args),
        Command::View(args) => view::run(s, &args),
        Command::Doctor(args) => doctor::run(s, &args),
        Command::Edit(args) => edit::run(s, &args),
        Command::Exec(args) => exec::run(s, &args),
        Command::Install => install::install(s),
        Command::Uninstall => install::uninstall(s),
        Command::Check(args) => check::run(s, &args),
        Command::Audit(args) => check::audit(s, &args),
        Command::Rotate(args) => rotate::run(s, &args),
        Command::Clean(args) => plumbing::clean(session, &args),
        Command::Smudge(args) => plumbing::smudge(session, &args),
        Command::FilterProcess(args) => plumbing::filter_process(session, &args),
        Command::Textconv(args) => plumbing::textconv(session, &args),
        Command::Merge(args) => plumbing::merge(session, &args),
    }
}
