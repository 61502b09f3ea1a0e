//! Leak checks that need no key (they read only blob headers):
//! `check --staged` (the pre-commit guard), `check --range` (push gate for
//! pre-receive hooks and CI) and `audit` (all of history).

use crate::attrs::{key_names, marked_in_listing, only_filtered, AttrSource};
use crate::cli::{AuditArgs, CheckArgs};
use crate::format::Stored;
use crate::path::GitPath;
use crate::repo::Oid;
use crate::repo::Repo;
use crate::report::{list_paths, Reporter};
use crate::session::Session;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;

pub fn run(session: &Session, args: &CheckArgs) -> Result<ExitCode> {
    if args.staged {
        staged(session)
    } else {
        range(session, args.range.as_deref().unwrap_or_default())
    }
}

/// Fails when a staged blob at a marked path (marked by the work tree's or
/// the index's `.gitattributes`) is not encrypted.
fn staged(session: &Session) -> Result<ExitCode> {
    let repo = session.repo()?;
    let listing = only_filtered(&repo.run_git(&["ls-files", "-s", "-z"], None)?);
    let marked = marked_in_listing(repo, &listing, &[AttrSource::WorkTree, AttrSource::Index])?;
    let mut leaks = Vec::new();
    for file in &marked {
        if let Some(oid) = file.index_oid {
            if repo.stored(oid)? == Stored::Plaintext {
                leaks.push(file.path.clone());
            }
        }
    }
    if !leaks.is_empty() {
        return Ok(session.reporter().fail(format_args!(
            "these marked files are staged in plaintext:{}\nNothing was committed. Unlock (`git-secret unlock`) and run \
             `git-secret status --fix` (or `git add --renormalize -- PATH`, which re-runs the filter even on a \
             file git thinks unchanged) so they are encrypted, or unstage them with `git rm --cached -- PATH`",
            list_paths(&leaks)
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// One plaintext blob found at a marked path in history.
struct Leak {
    commit: String,
    path: GitPath,
    blob: Oid,
}

/// Checks the commits a push adds (`OLD..NEW`, all-zero ids as pre-receive gives them).
fn range(session: &Session, range: &str) -> Result<ExitCode> {
    let (old, new) = range
        .split_once("..")
        .context("expected a range OLD..NEW")?;
    let zero = |id: &str| !id.is_empty() && id.bytes().all(|b| b == b'0');
    let args: Vec<String> = if zero(new) {
        return Ok(ExitCode::SUCCESS); // a deletion adds nothing
    } else if zero(old) || old.is_empty() {
        vec![new.to_owned(), "--not".to_owned(), "--all".to_owned()]
    } else {
        vec![format!("{old}..{new}")]
    };
    let leaks = scan(session.any_repo()?, &args)?;
    report(
        &leaks,
        "these commits store marked files in plaintext",
        session.reporter(),
    )
}

/// Walks every commit reachable from REV-RANGE (default: all refs).
pub fn audit(session: &Session, args: &AuditArgs) -> Result<ExitCode> {
    let range = &args.range;
    let args = if range.is_empty() {
        vec!["--all".to_owned()]
    } else {
        range.to_vec()
    };
    let leaks = scan(session.any_repo()?, &args)?;
    let reporter = session.reporter();
    let code = report(&leaks, "history stores marked files in plaintext", reporter)?;
    if leaks.is_empty() {
        reporter.note("No plaintext found at marked paths in the commits checked.");
    }
    Ok(code)
}

/// Lists the leaks on stdout; with any, fails with the advice on stderr.
fn report(leaks: &[Leak], what: &str, reporter: &Reporter) -> Result<ExitCode> {
    if leaks.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    for leak in leaks {
        writeln!(
            out,
            "LEAK {}  {}  (blob {})",
            leak.commit, leak.path, leak.blob
        )?;
    }
    out.flush()?;
    Ok(reporter.fail(format_args!(
        "{what}: {} blob(s). Anyone with a clone can read them, so the real fix is to change those secrets. \
         To also purge them from history, rewrite it (e.g. `git filter-repo --path PATH --invert-paths`) and force-push; \
         every clone must then be re-cloned",
        leaks.len()
    )))
}

/// Each plaintext blob at a path its commit's `.gitattributes` marks, reported
/// once, at the oldest commit in `rev_args` that holds it.
fn scan(repo: &Repo, rev_args: &[String]) -> Result<Vec<Leak>> {
    let mut args = vec!["rev-list", "--reverse"];
    args.extend(rev_args.iter().map(String::as_str));
    args.push("--");
    let commits =
        String::from_utf8(repo.run_git(&args, None)?).context("unexpected rev-list output")?;
    let mut seen: HashSet<Oid> = HashSet::new();
    let mut leaks = Vec::new();
    for commit in commits.lines() {
        let listing = repo.run_git(&["ls-tree", "-r", "-z", "--full-tree", commit], None)?;
        let mut entries = Vec::new();
        for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let Some(tab) = record.iter().position(|&b| b == b'\t') else {
                continue;
            };
            let meta = String::from_utf8_lossy(&record[..tab]);
            let fields: Vec<&str> = meta.split(' ').collect();
            // Symlinks (120000) are blobs git never filters, and the tool's
            // own files are never encrypted: neither is a leak.
            if fields.get(1) == Some(&"blob")
                && fields.first() != Some(&"120000")
                && !crate::recipients::is_own_file(&record[tab + 1..])
            {
                if let Some(oid) = fields.get(2).and_then(|o| Oid::from_hex(o).ok()) {
                    entries.push((GitPath::from_bytes(&record[tab + 1..]), oid));
                }
            }
        }
        let paths: Vec<&GitPath> = entries.iter().map(|(p, _)| p).collect();
        let names = key_names(repo, &paths, &AttrSource::Tree(commit.to_owned()))?;
        for ((path, oid), name) in entries.iter().zip(names) {
            if name.is_none() || !seen.insert(*oid) {
                continue;
            }
            if repo.stored(*oid)? == Stored::Plaintext {
                leaks.push(Leak {
                    commit: commit[..12.min(commit.len())].to_owned(),
                    path: path.clone(),
                    blob: *oid,
                });
            }
        }
    }
    Ok(leaks)
}
