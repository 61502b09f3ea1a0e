use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = git_secret::cli::Cli::parse();
    match git_secret::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("git-secret: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
