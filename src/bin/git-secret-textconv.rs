//! `git-secret-textconv FILE`: the textconv that `init` and `unlock`
//! configure. One word with no shell metacharacters, so git execs it
//! directly instead of through `sh -c`, once per blob of `git log -p`; and
//! a binary without the command-line parser, so it starts faster.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    git_secret::commands::plumbing::textconv_main()
}
