//! Driver names and the git config that `init`, `unlock` and `import-git-crypt`
//! write: which `.gitattributes` values are ours, and the filter/diff/merge
//! entries that route those files through this binary. Every config key this
//! tool writes or reads is spelled here.

use crate::key::DEFAULT_NAME;
use crate::repo::Repo;
use anyhow::{Context, Result};

/// The attribute value prefix that marks a file: `filter=git-secret[-NAME]`.
pub const DRIVER: &str = "git-secret";
/// git-crypt's driver name, configured to run git-secret after an import.
pub const GIT_CRYPT_DRIVER: &str = "git-crypt";
/// The config key that picks the diff3/zdiff3 conflict style for the merge driver.
pub const CONFLICT_STYLE: &str = "merge.conflictStyle";

/// The filter/diff/merge driver name for a key name.
pub fn driver_name(key_name: &str) -> String {
    prefixed(DRIVER, key_name)
}

/// git-crypt's driver name for a key name.
pub fn git_crypt_driver(key_name: &str) -> String {
    prefixed(GIT_CRYPT_DRIVER, key_name)
}

fn prefixed(driver: &str, key_name: &str) -> String {
    if key_name == DEFAULT_NAME {
        driver.to_owned()
    } else {
        format!("{driver}-{key_name}")
    }
}

/// The key name a `filter` attribute value refers to, if it is one of ours.
/// git-crypt's drivers count too: after `import-git-crypt`, commits made with
/// git-crypt still mark their files `filter=git-crypt[-NAME]`.
pub fn key_name_of_driver(value: &str) -> Option<&str> {
    let rest = value
        .strip_prefix(DRIVER)
        .or_else(|| value.strip_prefix(GIT_CRYPT_DRIVER))?;
    match rest {
        "" => Some(DEFAULT_NAME),
        rest => rest.strip_prefix('-').filter(|n| !n.is_empty()),
    }
}

/// Quotes a word for the POSIX shell git runs filter commands with.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// This binary's path, quoted for the shell git runs drivers and hooks with.
pub fn quoted_exe() -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the path of the git-secret binary")?;
    Ok(shell_quote(exe.to_str().context(
        "the path of the git-secret binary is not valid UTF-8",
    )?))
}

/// The characters that make git run a configured command through `sh -c`
/// instead of exec'ing it (git's run-command.c, `prepare_shell_cmd`).
const SHELL_METACHARACTERS: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', ' ', '\t', '\n', '*', '?', '[',
    '#', '~', '=', '%',
];

/// The name of the textconv binary installed beside `git-secret`.
pub const TEXTCONV_BIN: &str = "git-secret-textconv";

/// The name of the default key's filter-process binary installed beside `git-secret`.
pub const FILTER_PROCESS_BIN: &str = "git-secret-filter-process";

/// The binary `bin` beside this one as one bare word, which git execs
/// without a shell; `None` when it is missing or its path holds a shell
/// metacharacter (git would hand it to `sh -c`, which splits it).
fn direct_command(bin: &str) -> Result<Option<String>> {
    let exe = std::env::current_exe().context("cannot find the path of the git-secret binary")?;
    let direct = exe.with_file_name(bin);
    Ok(match direct.to_str() {
        Some(word) if !word.contains(SHELL_METACHARACTERS) && direct.is_file() => {
            Some(word.to_owned())
        }
        _ => None,
    })
}

/// What `diff.<driver>.textconv` runs: the `git-secret-textconv` binary
/// beside this one, as one bare word git execs without a shell; when it is
/// missing or its path holds a shell metacharacter, `git-secret textconv --`
/// (quoted, so run through the shell, one spawn more per blob).
pub fn textconv_command() -> Result<String> {
    direct_command(TEXTCONV_BIN)?.map_or_else(legacy_textconv_command, Ok)
}

/// The textconv command of earlier versions (and the fallback): this
/// binary, quoted, with arguments, which git runs through `sh -c`.
pub fn legacy_textconv_command() -> Result<String> {
    Ok(format!("{} textconv --", quoted_exe()?))
}

/// What `filter.<driver>.process` runs for key `name`: for the default key
/// the `git-secret-filter-process` binary beside this one, one bare word git
/// execs without a shell (git starts it once per command that filters,
/// `git status` included); for a named key, or when that binary is missing
/// or its path holds a shell metacharacter, `git-secret filter-process [-k
/// NAME]`, which git runs through `sh -c` (the key name is an argument).
pub fn process_command(name: &str) -> Result<String> {
    if name == DEFAULT_NAME {
        if let Some(word) = direct_command(FILTER_PROCESS_BIN)? {
            return Ok(word);
        }
    }
    legacy_process_command(name)
}

/// The filter-process command of earlier versions (and the fallback).
pub fn legacy_process_command(name: &str) -> Result<String> {
    Ok(format!("{} filter-process{}", quoted_exe()?, key_arg(name)))
}

/// ` -k NAME` for a named key, nothing for the default one.
fn key_arg(name: &str) -> String {
    if name == DEFAULT_NAME {
        String::new()
    } else {
        format!(" -k {name}")
    }
}

/// The value earlier versions wrote for config entry `key` of key `name`
/// where this version writes another: the textconv and the default key's
/// filter process, which git now execs without a shell. Both forms work.
pub fn earlier_form(key: &str, name: &str) -> Result<Option<String>> {
    let (earlier, now) = if key.ends_with(".textconv") {
        (legacy_textconv_command()?, textconv_command()?)
    } else if key.ends_with(".process") {
        (legacy_process_command(name)?, process_command(name)?)
    } else {
        return Ok(None);
    };
    Ok((earlier != now).then_some(earlier))
}

/// The config sections one driver owns.
fn sections(driver: &str) -> [String; 3] {
    [
        format!("filter.{driver}"),
        format!("diff.{driver}"),
        format!("merge.{driver}"),
    ]
}

/// The config entries that make driver `driver` run git-secret with key `name`.
/// `required` makes any filter failure stop git instead of storing plaintext;
/// textconv output is never cached (it would keep plaintext in notes refs).
pub fn config_entries(name: &str, driver: &str) -> Result<Vec<(String, String)>> {
    let exe = quoted_exe()?;
    let key_arg = key_arg(name);
    let [filter, diff, merge] = sections(driver);
    Ok(vec![
        (
            format!("{filter}.clean"),
            format!("{exe} clean{key_arg} -- %f"),
        ),
        (
            format!("{filter}.smudge"),
            format!("{exe} smudge{key_arg} -- %f"),
        ),
        (format!("{filter}.process"), process_command(name)?),
        (format!("{filter}.required"), "true".to_owned()),
        (format!("{diff}.textconv"), textconv_command()?),
        (format!("{diff}.cachetextconv"), "false".to_owned()),
        (
            format!("{merge}.name"),
            format!("git-secret merge driver (key {name})"),
        ),
        (
            format!("{merge}.driver"),
            format!("{exe} merge{key_arg} -- %O %A %B %L %P %X %S %Y"),
        ),
    ])
}

/// Writes the filter configuration for key `name` into the repository's local config.
pub fn configure(repo: &Repo, name: &str) -> Result<()> {
    write_entries(repo, name, &driver_name(name))
}

/// Points git-crypt's driver for key `name` at git-secret, so commits made
/// with git-crypt (marked `filter=git-crypt[-NAME]`) check out through us.
pub fn configure_git_crypt_driver(repo: &Repo, name: &str) -> Result<()> {
    write_entries(repo, name, &git_crypt_driver(name))
}

fn write_entries(repo: &Repo, name: &str, driver: &str) -> Result<()> {
    for (key, value) in config_entries(name, driver)? {
        repo.set_config(&key, &value)?;
    }
    Ok(())
}

/// Whether filter `driver` (ours or git-crypt's) is configured (in any config git reads).
pub fn is_configured(repo: &Repo, driver: &str) -> bool {
    repo.config_string(&format!("filter.{driver}.clean"))
        .is_some()
}

/// The drivers (ours, and git-crypt's pointed at git-secret by an import)
/// whose filter is configured in the repository's local config, with the
/// key name each one serves, sorted.
pub fn configured_locally(repo: &Repo) -> Vec<(String, String)> {
    let Ok(out) = repo.run_git(
        &[
            "config",
            "--local",
            "--name-only",
            "--get-regexp",
            r"^filter\.git-(secret|crypt)(-[^.]+)?\.",
        ],
        None,
    ) else {
        return Vec::new(); // exit 1: none
    };
    let mut found: Vec<(String, String)> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|key| {
            let driver = key.strip_prefix("filter.")?.rsplit_once('.')?.0;
            let name = key_name_of_driver(driver)?;
            Some((driver.to_owned(), name.to_owned()))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The program a configured command runs: its first shell word, unquoted
/// (`'/abs/path/git-secret' filter-process` → `/abs/path/git-secret`).
pub fn command_program(command: &str) -> String {
    split_command(command).0
}

/// A configured command's first shell word, unquoted, and the rest after it
/// (`'/a b/git-secret' clean -- %f` → (`/a b/git-secret`, `clean -- %f`)).
pub fn split_command(command: &str) -> (String, &str) {
    let command = command.trim_start();
    let mut program = String::new();
    let mut chars = command.char_indices();
    let mut rest = command.len();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => program.extend(chars.by_ref().map(|(_, c)| c).take_while(|&c| c != '\'')),
            '\\' => program.extend(chars.next().map(|(_, c)| c)),
            c if c.is_whitespace() => {
                rest = i;
                break;
            }
            c => program.push(c),
        }
    }
    (program, command[rest..].trim_start())
}

/// Whether `program` is this very binary, or the textconv or
/// filter-process binary installed beside it (symlinks resolved).
pub fn is_this_binary(program: &str) -> bool {
    let Ok(this) = std::env::current_exe().and_then(|p| p.canonicalize()) else {
        return false;
    };
    let Ok(that) = std::path::Path::new(program).canonicalize() else {
        return false;
    };
    that == this
        || that == this.with_file_name(TEXTCONV_BIN)
        || that == this.with_file_name(FILTER_PROCESS_BIN)
}

/// Points every driver that runs git-secret at this binary when its
/// configured command names a binary that is missing or is not this one
/// (the binary was moved, deleted or upgraded elsewhere): ours for each key
/// name in `names` or configured locally, and git-crypt's where an import
/// pointed it at git-secret. A driver of `names` not configured at all is
/// configured too. Returns the drivers rewritten, each with the program it
/// named (empty when it named none).
pub fn refresh_stale(repo: &Repo, names: &[String]) -> Result<Vec<(String, String)>> {
    let mut wanted: Vec<(String, String)> = configured_locally(repo);
    wanted.extend(names.iter().map(|n| (driver_name(n), n.clone())));
    wanted.sort();
    wanted.dedup();
    let mut rewritten = Vec::new();
    for (driver, name) in wanted {
        let process = repo.config_string(&format!("filter.{driver}.process"));
        let ours = driver == driver_name(&name);
        let program = match &process {
            Some(command) => command_program(command),
            // git-crypt's own configuration (no process command): not ours to touch.
            None if !ours => continue,
            None => String::new(),
        };
        if !program.is_empty() && is_this_binary(&program) {
            // Same binary: a textconv or filter process in the form of
            // earlier versions (run through the shell) moves to the binary
            // git execs directly; a command the user chose stays.
            move_earlier_forms(repo, &driver, &name)?;
            continue;
        }
        if ours {
            configure(repo, &name)?;
        } else {
            configure_git_crypt_driver(repo, &name)?;
        }
        rewritten.push((driver, program));
    }
    Ok(rewritten)
}

/// Rewrites the entries of `driver` (key `name`) that hold the form of
/// earlier versions (or, for the textconv, nothing) to this version's.
fn move_earlier_forms(repo: &Repo, driver: &str, name: &str) -> Result<()> {
    for (key, wanted) in config_entries(name, driver)? {
        let Some(earlier) = earlier_form(&key, name)? else {
            continue;
        };
        let current = repo.config_string(&key);
        let textconv = key.ends_with(".textconv");
        if current.as_deref() == Some(earlier.as_str()) || (textconv && current.is_none()) {
            repo.set_config(&key, &wanted)?;
        }
    }
    Ok(())
}

/// Removes the local configuration of filter `driver` that `configure` or
/// `configure_git_crypt_driver` wrote (used to undo a failed unlock).
pub fn unconfigure(repo: &Repo, driver: &str) {
    for section in sections(driver) {
        let _ = repo.run_git(&["config", "--local", "--remove-section", &section], None);
    }
}

#[cfg(test)]
mod tests {
    use super::command_program;

    #[test]
    fn command_program_unquotes_the_first_word() {
        assert_eq!(
            command_program("'/a b/git-secret' filter-process -k x"),
            "/a b/git-secret"
        );
        assert_eq!(
            command_program("'/it'\\''s/git-secret' clean"),
            "/it's/git-secret"
        );
        assert_eq!(
            command_program("/usr/bin/git-secret smudge -- %f"),
            "/usr/bin/git-secret"
        );
        assert_eq!(command_program("git-secret"), "git-secret");
        assert_eq!(
            super::split_command("'/a b/git-secret' clean -k x -- %f"),
            ("/a b/git-secret".to_owned(), "clean -k x -- %f")
        );
        assert_eq!(
            super::split_command("git-secret"),
            ("git-secret".to_owned(), "")
        );
    }
}
