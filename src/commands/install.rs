//! `git-secret install` / `uninstall` (the git-lfs convention): the driver
//! of the default key (`filter=git-secret`) in the user's global git config,
//! so every clone on this machine is in locked mode from its first checkout
//! (smudge passes ciphertext through, clean refuses plaintext at a marked
//! path) before anyone unlocks. Repository-local config, which `init` and
//! `unlock` write, still wins. Named keys (`git-secret-NAME`) cannot be
//! configured globally ahead of time (git config has no wildcards); `unlock`
//! configures them. `uninstall` removes exactly the entries `install` wrote
//! (those whose value is still ours) and the sections it left empty.

use crate::drivers::{config_entries, earlier_form, DRIVER};
use crate::keyname::DEFAULT_NAME;
use crate::session::Session;
use anyhow::{bail, Context, Result};
use std::process::{Command, ExitCode, Stdio};

fn git_global(args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .arg("config")
        .arg("--global")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git; is it installed and on PATH?")
}

pub fn install(session: &Session) -> Result<ExitCode> {
    write_global()?;
    session.reporter().note(format!(
        "Installed the {DRIVER} driver in your global git config: every clone on this machine starts \
         locked (ciphertext in the work tree, plaintext at marked paths refused). `git-secret unlock` \
         in a clone decrypts it; `git-secret uninstall` removes these settings."
    ));
    Ok(ExitCode::SUCCESS)
}

/// Writes (or rewrites) every global entry `install` owns, naming this
/// binary; also `doctor --fix`'s repair of a stale global driver.
pub fn write_global() -> Result<()> {
    for (key, value) in config_entries(DEFAULT_NAME, DRIVER)? {
        let out = git_global(&["--replace-all", &key, &value])?;
        if !out.status.success() {
            bail!(
                "cannot write {key} to your global git config: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

pub fn uninstall(session: &Session) -> Result<ExitCode> {
    let mut removed = 0;
    let mut sections = Vec::new();
    for (key, value) in config_entries(DEFAULT_NAME, DRIVER)? {
        let section = key
            .rsplit_once('.')
            .map(|(s, _)| s.to_owned())
            .unwrap_or_default();
        if !sections.contains(&section) {
            sections.push(section);
        }
        let current = git_global(&["--get", &key])?;
        let current = String::from_utf8_lossy(&current.stdout);
        let current = current.trim_end();
        // Only what is still ours: a value the user changed stays. An
        // install by an earlier version wrote the textconv and the filter
        // process in their old forms.
        let ours =
            current == value || earlier_form(&key, DEFAULT_NAME)?.as_deref() == Some(current);
        if !current.is_empty() && ours {
            git_global(&["--unset-all", &key])?;
            removed += 1;
        }
    }
    for section in sections {
        let left = git_global(&["--get-regexp", &format!("^{}\\.", regex_quote(&section))])?;
        if left.stdout.is_empty() {
            let _ = git_global(&["--remove-section", &section])?;
        }
    }
    session.reporter().note(format!(
        "Removed {removed} git-secret setting(s) from your global git config; repositories keep their own."
    ));
    Ok(ExitCode::SUCCESS)
}

/// Escapes the extended-regex characters a section name can hold.
fn regex_quote(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' | '|' | '\\' => {
                vec!['\\', c]
            }
            c => vec![c],
        })
        .collect()
}
