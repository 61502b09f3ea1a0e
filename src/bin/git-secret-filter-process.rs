//! `git-secret-filter-process`: the filter process that `init` and `unlock`
//! configure for the default key. One word with no shell metacharacters, so
//! git execs it directly instead of through `sh -c`, and a binary without
//! the command-line parser, so it starts faster: git starts it once per
//! command that cleans or smudges, `git status` included.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    git_secret::commands::plumbing::filter_process_main()
}
