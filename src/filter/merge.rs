//! The merge driver (`merge.git-secret.driver`): git hands it the three
//! versions in repository form (ciphertext) and stores whatever it leaves in
//! `%A` as a blob *without cleaning it*, so `%A` must be ciphertext on success
//! and on conflict alike. The text merge itself is `git merge-file`, so the
//! result and the conflict markers are exactly git's.

use super::{Filter, Opened};
use crate::drivers::CONFLICT_STYLE;
use crate::format::{has_magic, FormatError};
use crate::gitcrypt;
use anyhow::{bail, Context, Result};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// What git passes to the driver.
pub struct MergeArgs<'a> {
    pub base: &'a Path,
    pub ours: &'a Path,
    pub theirs: &'a Path,
    pub marker_size: Option<&'a str>,
    pub path: &'a crate::path::GitPath,
    /// Labels for ours, base and theirs (`%X %S %Y`), when git provides them.
    pub labels: [Option<&'a str>; 3],
}

/// Outcome for git: clean (exit 0) or conflict (exit 1).
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    Clean,
    /// `%A` holds git's conflict markers, encrypted.
    Conflict,
    /// No merge was possible; `%A` keeps our version. Says why and what to do.
    KeptOurs(String),
}

/// Bytes git's own merge would treat as binary (a NUL in the first 8000).
fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

pub fn merge(keys: &Filter, args: &MergeArgs) -> Result<Merged> {
    let path = args.path;
    let read =
        |file: &Path| fs::read(file).with_context(|| format!("cannot read {}", file.display()));
    let mut versions = Vec::with_capacity(3);
    let mut any_stored_form = false;
    for (side, file) in [
        ("base", args.base),
        ("ours", args.ours),
        ("theirs", args.theirs),
    ] {
        let data = read(file)?;
        any_stored_form |= has_magic(&data) || gitcrypt::is_blob(&data);
        // An add/add conflict has an empty base, which is not a blob of ours.
        match keys.open_blob(&data) {
            Ok(Some(plaintext)) => versions.push(plaintext),
            Ok(None) => versions.push(data),
            Err(e) => {
                let next = match e {
                    Opened::Format(FormatError::UnknownKey(_)) | Opened::GitCryptLocked
                        if !keys.is_unlocked() =>
                    {
                        "; run `git-secret unlock` and merge again. Keeping ours; resolve it by hand."
                    }
                    // Unlocked, but a generation is missing (a pulled rotation):
                    // no hand resolution is possible without the new key.
                    Opened::Format(FormatError::UnknownKey(_)) => {
                        ". Keeping ours: run `git merge --abort` (or `git rebase --abort`), then \
                         `git-secret unlock NEWKEYFILE` with the new key, and merge again"
                    }
                    _ => ". Keeping ours; resolve it by hand.",
                };
                return Ok(Merged::KeptOurs(format!(
                    "git-secret: cannot merge {path}: {side} version: {e}{next}"
                )));
            }
        }
    }
    if versions.iter().any(|v| is_binary(v)) {
        return Ok(Merged::KeptOurs(format!(
            "git-secret: cannot merge {path}: it is binary; keeping ours. Pick a side with \
             `git checkout --ours -- {path}` or `--theirs`, then `git add`."
        )));
    }
    if !keys.is_unlocked() {
        return Ok(Merged::KeptOurs(format!(
            "git-secret: cannot merge {path}: the repository is locked; keeping ours. Unlock, then merge again."
        )));
    }
    let (merged, conflicts) = merge_file(keys, &versions, args)?;
    if is_rerere_replay(args, any_stored_form) {
        // The result goes to the work tree: plaintext, like its inputs.
        write_result(args.ours, &merged)?;
    } else {
        let mut blob = Vec::new();
        keys.clean(path, &mut std::io::Cursor::new(&merged[..]), &mut blob)?;
        write_result(args.ours, &blob)?;
    }
    Ok(if conflicts {
        Merged::Conflict
    } else {
        Merged::Clean
    })
}

/// Whether git runs the driver for rerere's replay of a recorded resolution
/// rather than for a merge. rerere (rerere.c `try_merge`) calls the same
/// low-level merge as a merge does, so it runs our driver, but with the
/// work-tree form: the recorded preimage, this conflict (read from the work
/// tree) and the recorded resolution, all plaintext, with empty labels
/// (`%X %S %Y` expand to ''), and it writes what the driver leaves in `%A`
/// straight into the work-tree file, never into the object store. A merge
/// (merge-ort, also for rebase, cherry-pick, stash) hands the stored form
/// and always names its sides. So: all three labels given and empty, and no
/// input in stored (encrypted) form.
fn is_rerere_replay(args: &MergeArgs, any_stored_form: bool) -> bool {
    !any_stored_form && args.labels.iter().all(|l| *l == Some(""))
}

/// Runs `git merge-file -p` on plaintext copies in a private temporary
/// directory (0700, files 0600, removed on return). Returns the merged text
/// and whether it has conflicts.
fn merge_file(keys: &Filter, versions: &[Vec<u8>], args: &MergeArgs) -> Result<(Vec<u8>, bool)> {
    let dir = tempfile::Builder::new()
        .prefix("git-secret-merge")
        .tempdir()
        .context("cannot create a private temp dir")?;
    let mut files = Vec::new();
    for (name, data) in ["base", "ours", "theirs"].iter().zip(versions) {
        let file = dir.path().join(name);
        crate::files::write_secret_file(&file, data, false)?;
        files.push(file);
    }
    let repo = keys
        .repo()
        .context("the merge driver runs only inside a repository")?;
    let mut cmd = repo.git();
    cmd.arg("merge-file").arg("-p");
    if let Some(size) = args.marker_size.filter(|s| s.parse::<u32>().is_ok()) {
        cmd.arg(format!("--marker-size={size}"));
    }
    match repo.config_string(CONFLICT_STYLE).as_deref() {
        Some("diff3") => drop(cmd.arg("--diff3")),
        Some("zdiff3") => drop(cmd.arg("--zdiff3")),
        _ => {}
    }
    let [ours, base, theirs] = args.labels;
    for label in [
        ours.unwrap_or("ours"),
        base.unwrap_or("base"),
        theirs.unwrap_or("theirs"),
    ] {
        cmd.arg("-L").arg(label);
    }
    cmd.arg(&files[1]).arg(&files[0]).arg(&files[2]);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .context("cannot run git merge-file")?;
    // Exit status: 0 clean, 1..=127 number of conflicts, anything else an error.
    match output.status.code() {
        Some(0) => Ok((output.stdout, false)),
        Some(1..=127) => Ok((output.stdout, true)),
        _ => bail!(
            "git merge-file failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// Replaces `%A` with the encrypted result.
fn write_result(ours: &Path, blob: &[u8]) -> Result<()> {
    let mut file =
        fs::File::create(ours).with_context(|| format!("cannot write {}", ours.display()))?;
    file.write_all(blob)?;
    file.sync_all()?;
    Ok(())
}
