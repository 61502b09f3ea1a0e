//! The pre-commit hook `init` and `unlock` install: it runs `check --staged`,
//! so a plaintext blob at a marked path (a libgit2-based tool, a filter that
//! was not configured) is never committed. It honours `core.hooksPath` and
//! chains a hook that was already there instead of replacing it.

use crate::repo::Repo;
use crate::report::Reporter;
use anyhow::{Context, Result};
use std::fs;
use std::path::PathBuf;

/// Marks the hook as ours, so reinstalling updates it in place.
const MARKER: &str = "# installed by git-secret";
const CHAINED_SUFFIX: &str = ".git-secret-chained";

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

/// Installs (or refreshes) the pre-commit hook; returns its path, or None
/// when `outside_work_tree_only` and `core.hooksPath` points into the work
/// tree (init promises to write nothing there).
pub fn install(
    repo: &Repo,
    outside_work_tree_only: bool,
    reporter: &Reporter,
) -> Result<Option<PathBuf>> {
    let dir = hooks_dir(repo)?;
    let top = repo
        .top()
        .canonicalize()
        .unwrap_or_else(|_| repo.top().to_path_buf());
    let resolved = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    if outside_work_tree_only
        && resolved.starts_with(&top)
        && !resolved.starts_with(top.join(".git"))
    {
        reporter.note(format_args!(
            "Note: core.hooksPath points into the work tree ({}); init writes nothing there. \
             `git-secret unlock` installs the pre-commit guard, or add `git-secret check --staged` to your hook.",
            dir.display()
        ));
        return Ok(None);
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let hook = dir.join("pre-commit");
    let chained = dir.join(format!("pre-commit{CHAINED_SUFFIX}"));
    if let Ok(existing) = fs::read_to_string(&hook) {
        if !existing.contains(MARKER) && !chained.exists() {
            fs::rename(&hook, &chained)
                .with_context(|| format!("cannot move the existing hook {}", hook.display()))?;
            reporter.note(format_args!(
                "Kept your existing pre-commit hook; it now runs after git-secret's check ({}).",
                chained.display()
            ));
        }
    } else if hook.symlink_metadata().is_ok() && !chained.exists() {
        // A hook we cannot read as text (binary, broken link): keep it, chained.
        fs::rename(&hook, &chained)
            .with_context(|| format!("cannot move the existing hook {}", hook.display()))?;
    }
    let exe = crate::drivers::quoted_exe()?;
    let script = format!(
        "#!/bin/sh\n{MARKER}: refuses to commit plaintext at paths marked for encryption.\n\
         {exe} check --staged || exit 1\n\
         chained=\"$0{CHAINED_SUFFIX}\"\n\
         if [ -x \"$chained\" ]; then exec \"$chained\" \"$@\"; fi\n"
    );
    fs::write(&hook, script).with_context(|| format!("cannot write {}", hook.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))?;
    }
    Ok(Some(hook))
}

/// Installs the hook as a safety net, not a precondition: a failure is a warning.
pub fn install_or_warn(repo: &Repo, outside_work_tree_only: bool, reporter: &Reporter) {
    if let Err(e) = install(repo, outside_work_tree_only, reporter) {
        reporter.warn(format_args!("could not install the pre-commit hook: {e:#}"));
    }
}
