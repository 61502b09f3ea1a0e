use clap::Parser;
use git_secret::report::Reporter;
use git_secret::session::Session;
use std::process::ExitCode;

fn main() -> ExitCode {
    // git spawns a textconv per blob: that one skips clap.
    if let Some(code) = git_secret::commands::plumbing::textconv_fast_path() {
        return code;
    }
    let cli = git_secret::cli::Cli::parse();
    let reporter = Reporter;
    reporter.exit_code(git_secret::commands::run(cli, Session::new(reporter)))
}
