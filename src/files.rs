//! Private files: atomic 0600 writes, 0700 directories, and "missing means
//! empty" reads, so key stores, the ring and markers treat an absent file
//! the same way everywhere.

use anyhow::{Context, Result};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically with mode 0600 (temp file in the same
/// directory, fsync, rename). Refuses to replace an existing file unless `overwrite`.
pub fn write_secret_file(path: &Path, contents: &[u8], overwrite: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        let why = if dir.symlink_metadata().is_ok() {
            "is not a directory"
        } else {
            "does not exist"
        };
        anyhow::bail!(
            "cannot write {}: the directory {} {why}",
            path.display(),
            dir.display()
        );
    }
    // tempfile creates files with mode 0600 on unix. Its error names the
    // temp file, which the user never asked for: keep only the OS error.
    let mut tmp = tempfile::Builder::new()
        .prefix(".git-secret-tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            e.raw_os_error()
                .map_or_else(|| io::Error::from(e.kind()), io::Error::from_raw_os_error)
        })
        .with_context(|| {
            format!(
                "cannot write {}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })?;
    tmp.write_all(contents)
        .and_then(|_| crate::fault::io_point("write-secret-file"))
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if overwrite {
        tmp.persist(path).map_err(|e| e.error)
    } else {
        tmp.persist_noclobber(path).map_err(|e| e.error)
    }
    .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Creates `dir` (and its parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// The file's bytes, or None when it does not exist.
pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The entries of `dir`, sorted; empty when it does not exist.
pub fn list_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    Ok(paths)
}

/// Removes a file; one that is already gone is fine.
pub fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
