//! The pre-commit hook `init` and `unlock` install: it runs `check --staged`,
//! so a plaintext blob at a marked path (a libgit2-based tool, a filter that
//! was not configured) is never committed. It honours `core.hooksPath` and
//! chains a hook that was already there instead of replacing it.
//!
//! Nothing is ever written into the work tree: when `core.hooksPath` points
//! there (husky and the like keep hooks as tracked, shared files), the user
//! is shown the line to add instead. The hook is written to a temp file in
//! the hooks directory and renamed into place, after an lstat of the old
//! one, so no write ever goes through a symlink.

use crate::repo::Repo;
use crate::report::Reporter;
use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Marks the hook as ours, so reinstalling updates it in place.
const MARKER: &str = "# installed by git-secret";
const CHAINED_SUFFIX: &str = ".git-secret-chained";
const TEMP_NAME: &str = ".pre-commit.git-secret-tmp";
/// The line to add to a hook git-secret does not write itself.
pub const HOOK_LINE: &str = "git-secret check --staged || exit 1";

fn hooks_dir(repo: &Repo) -> Result<PathBuf> {
    let out = repo.run_git(
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
        None,
    )?;
    Ok(PathBuf::from(
        String::from_utf8(out)
            .context("hooks path is not UTF-8")?
            .trim(),
    ))
}

/// `path` with symlinks resolved as far as it exists (the rest appended).
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(resolved) = existing.canonicalize() {
            return rest.iter().rev().fold(resolved, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Whether `dir` lies in the work tree (and not in a git dir inside it).
fn in_work_tree(repo: &Repo, dir: &Path) -> bool {
    let dir = resolve(dir);
    dir.starts_with(resolve(repo.top()))
        && !dir.starts_with(resolve(repo.git_dir()))
        && !dir.starts_with(resolve(repo.common_dir()))
}

/// Installs (or refreshes) the pre-commit hook; returns its path, or None
/// when it wrote nothing (the hooks path is in the work tree, or a foreign
/// hook could not be chained) and told the user the line to add instead.
pub fn install(repo: &Repo, reporter: &Reporter) -> Result<Option<PathBuf>> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join("pre-commit");
    if in_work_tree(repo, &dir) {
        reporter.note(format_args!(
            "Note: core.hooksPath points into the work tree ({}); git-secret writes nothing there \
             (such hooks are usually tracked and shared). To refuse commits of plaintext at marked \
             paths, add this line to {}:\n    {HOOK_LINE}",
            dir.display(),
            hook.display()
        ));
        return Ok(None);
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let chained = dir.join(format!("pre-commit{CHAINED_SUFFIX}"));
    match fs::symlink_metadata(&hook) {
        Ok(meta) => {
            // Read only a regular file: never follow a link to see whether it is ours.
            let ours = meta.file_type().is_file()
                && fs::read_to_string(&hook).is_ok_and(|text| text.contains(MARKER));
            if !ours {
                if chained.symlink_metadata().is_ok() {
                    reporter.warn(format_args!(
                        "{} is not git-secret's hook and {} already exists; changed neither. \
                         Add this line to your hook:\n    {HOOK_LINE}",
                        hook.display(),
                        chained.display()
                    ));
                    return Ok(None);
                }
                // rename moves a symlink itself, never its target.
                fs::rename(&hook, &chained)
                    .with_context(|| format!("cannot move the existing hook {}", hook.display()))?;
                reporter.note(format_args!(
                    "Kept your existing pre-commit hook; it now runs after git-secret's check ({}).",
                    chained.display()
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", hook.display())),
    }
    let exe = crate::drivers::quoted_exe()?;
    let script = format!(
        "#!/bin/sh\n{MARKER}: refuses to commit plaintext at paths marked for encryption.\n\
         {exe} check --staged || exit 1\n\
         chained=\"$0{CHAINED_SUFFIX}\"\n\
         if [ -x \"$chained\" ]; then exec \"$chained\" \"$@\"; fi\n"
    );
    write_by_rename(&hook, script.as_bytes())?;
    Ok(Some(hook))
}

/// Writes `target` (mode 0755) through a new temp file beside it, then a
/// rename: a symlink at either name is replaced, never written through.
fn write_by_rename(target: &Path, content: &[u8]) -> Result<()> {
    let temp = target.with_file_name(TEMP_NAME);
    crate::files::remove_if_exists(&temp)
        .with_context(|| format!("cannot remove {}", temp.display()))?;
    let result = (|| -> Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o755);
        let mut file = options
            .open(&temp)
            .with_context(|| format!("cannot create {}", temp.display()))?;
        file.write_all(content)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o755))?;
        }
        drop(file);
        fs::rename(&temp, target).with_context(|| format!("cannot write {}", target.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Installs the hook as a safety net, not a precondition: a failure is a warning.
pub fn install_or_warn(repo: &Repo, reporter: &Reporter) {
    if let Err(e) = install(repo, reporter) {
        reporter.warn(format_args!("could not install the pre-commit hook: {e:#}"));
    }
}

/// The pre-commit hook as it is now (for `doctor`).
#[derive(Debug, PartialEq, Eq)]
pub enum HookState {
    /// Ours and running this binary, or a hook of the user's that runs the check.
    Installed,
    /// No hook at this path.
    Missing(PathBuf),
    /// Ours, but it runs `program`, which is missing or another binary.
    Stale { hook: PathBuf, program: String },
    /// Someone else's hook without the check; `install` chains it after ours.
    Foreign(PathBuf),
    /// Someone else's hook without the check, and a chained hook exists
    /// already, so `install` changes neither: the user adds [`HOOK_LINE`].
    ForeignChained(PathBuf),
    /// `core.hooksPath` points into the work tree and the hook there lacks
    /// the check: the user adds [`HOOK_LINE`] (nothing is written there).
    InWorkTree(PathBuf),
}

/// Reads the pre-commit hook (never through a symlink for ours) and says
/// whether it guards commits.
pub fn inspect(repo: &Repo) -> Result<HookState> {
    let dir = hooks_dir(repo)?;
    let hook = dir.join("pre-commit");
    let meta = match fs::symlink_metadata(&hook) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(if in_work_tree(repo, &dir) {
                HookState::InWorkTree(hook)
            } else {
                HookState::Missing(hook)
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", hook.display())),
        Ok(meta) => meta,
    };
    // A link is someone else's (ours is a regular file); what it runs is theirs too.
    let text = fs::read_to_string(&hook).unwrap_or_default();
    let ours = meta.file_type().is_file() && text.contains(MARKER);
    if ours {
        let program = text
            .lines()
            .find(|l| l.ends_with(" check --staged || exit 1"))
            .map(crate::drivers::command_program)
            .unwrap_or_default();
        return Ok(if crate::drivers::is_this_binary(&program) {
            HookState::Installed
        } else {
            HookState::Stale { hook, program }
        });
    }
    if text.contains("check --staged") {
        return Ok(HookState::Installed);
    }
    Ok(if in_work_tree(repo, &dir) {
        HookState::InWorkTree(hook)
    } else if dir
        .join(format!("pre-commit{CHAINED_SUFFIX}"))
        .symlink_metadata()
        .is_ok()
    {
        HookState::ForeignChained(hook)
    } else {
        HookState::Foreign(hook)
    })
}

/// The temp file [`install`] writes before its rename (left by a kill).
pub fn temp_file(repo: &Repo) -> Result<PathBuf> {
    Ok(hooks_dir(repo)?.join(TEMP_NAME))
}
