//! `git-secret status`: one line per marked file, flagging plaintext leaks.
//! Reads only blob headers, so it needs no key and runs in any CI.

use crate::attrs::{key_names, marked_files, AttrSource};
use crate::cli::StatusArgs;
use crate::format::{has_magic, Stored};
use crate::path::GitPath;
use crate::repo::Repo;
use crate::report::{list_paths, Reporter};
use crate::session::Session;
use anyhow::{bail, Result};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Write;
use std::process::ExitCode;

pub fn run(session: &Session, args: &StatusArgs) -> Result<ExitCode> {
    let (filters, fix) = (&args.paths, args.fix);
    let reporter = session.reporter();
    let repo = session.repo()?;
    let prefix = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.strip_prefix(repo.top().canonicalize().ok()?)
                .ok()
                .map(|p| p.to_path_buf())
        })
        .unwrap_or_default();
    let wanted: Vec<String> = filters
        .iter()
        .map(|f| normalize(&prefix.join(f).to_string_lossy()))
        .collect();
    let held: BTreeSet<String> = repo.key_store().names()?.into_iter().collect();
    let keyring = crate::keyring::Keyring::load(&repo.key_store()).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let mut leaks = 0;
    let mut retired = 0;
    let mut fixable: Vec<GitPath> = Vec::new();
    let mut shown = 0;
    let selected =
        |path: &GitPath| wanted.is_empty() || wanted.iter().any(|w| path.is_within(w.as_bytes()));
    // One line per marked path, in path order: files, and symlinks (which git
    // stores as their target and never filters).
    let mut lines: Vec<(GitPath, String)> = Vec::new();
    for (path, key_name) in marked_symlinks(repo)? {
        if selected(&path) {
            shown += 1;
            let line = format!(
                "symlink        {path}  (a symbolic link: git stores its target and never filters it; \
                 not encrypted, by design; key '{key_name}')"
            );
            lines.push((path, line));
        }
    }
    let marked = marked_files(repo)?;
    let listing = crate::attrs::only_filtered(&repo.run_git(&["ls-files", "-s", "-z"], None)?);
    let indexed = super::check::listed_paths(&listing);
    let all: Vec<&GitPath> = indexed.iter().filter(|p| selected(p)).collect();
    let findings = crate::attrcheck::inspect(
        repo,
        &all,
        &AttrSource::WorkTree,
        &super::check::known_names(repo),
    )?;
    for near in &findings.near_misses {
        reporter.warn(crate::attrcheck::near_miss_warning(near));
    }
    // Files stored encrypted in HEAD that are staged in plaintext although
    // no longer marked (an un-marking line in .gitattributes).
    let marked_paths: BTreeSet<&[u8]> = marked.iter().map(|m| m.path.as_bytes()).collect();
    let has_head = repo
        .run_git(&["rev-parse", "-q", "--verify", "HEAD^{commit}"], None)
        .is_ok();
    if has_head {
        let staged = super::check::changes(
            repo,
            &["diff-index", "--cached", "-r", "-z", "--no-renames", "HEAD"],
        )?;
        for change in staged {
            let (Some(old), Some(new)) = (change.old, change.new) else {
                continue;
            };
            if marked_paths.contains(change.path.as_bytes()) || !selected(&change.path) {
                continue;
            }
            if matches!(repo.stored(old)?, Stored::Encrypted(_) | Stored::GitCrypt)
                && repo.stored(new)? == Stored::Plaintext
            {
                leaks += 1;
                shown += 1;
                let by = findings
                    .foreign_of(&change.path)
                    .map(|s| format!(": {}, {}", s.value, s.origin()))
                    .unwrap_or_default();
                let line = format!(
                    "NOT ENCRYPTED  {}  (encrypted in HEAD, staged in plaintext: .gitattributes no longer marks it{by})",
                    change.path
                );
                lines.push((change.path, line));
            }
        }
    }
    let overridden = super::check::overridden(repo, &listing, &findings)?;
    for setting in &overridden {
        shown += 1;
        let line = format!(
            "NOT MARKED     {}  (stored encrypted, but {}, {}: its next `git add` stores plaintext)",
            setting.path,
            setting.value,
            setting.origin()
        );
        lines.push((setting.path.clone(), line));
    }
    for file in marked {
        if !selected(&file.path) {
            continue;
        }
        shown += 1;
        let index = file.index_oid.map(|oid| repo.stored(oid)).transpose()?;
        let head = repo
            .head_oid(&file.path)
            .map(|oid| repo.stored(oid))
            .transpose()?;
        let key_state = if held.contains(&file.key_name) {
            "unlocked"
        } else {
            "locked"
        };
        let leaked_in: Vec<&str> = [("index", index), ("HEAD", head)]
            .iter()
            .filter(|(_, s)| *s == Some(Stored::Plaintext))
            .map(|(w, _)| *w)
            .collect();
        let line = if !leaked_in.is_empty() {
            leaks += 1;
            if index == Some(Stored::Plaintext) {
                fixable.push(file.path.clone());
            }
            format!(
                "NOT ENCRYPTED  {}  (stored in plaintext in {}; key '{}')",
                file.path,
                leaked_in.join(" and "),
                file.key_name
            )
        } else {
            match index.or(head) {
                Some(Stored::Encrypted(id)) => match keyring.find(&id) {
                    Some(key) if key.name() != file.key_name => {
                        reporter.warn(format_args!(
                            "{} is marked for key '{}' but stored under key '{}': a changed .gitattributes \
                             line? `git add` refuses to re-encrypt it; to move it on purpose, \
                             `git rm --cached -- PATH` and `git add PATH`",
                            file.path,
                            file.key_name,
                            key.name()
                        ));
                        format!(
                            "encrypted      {}  (marked for key '{}' but stored under key '{}' id {id}, {key_state})",
                            file.path,
                            file.key_name,
                            key.name()
                        )
                    }
                    _ => match retired_here(
                        repo,
                        &keyring,
                        &file,
                        id,
                        file.index_oid == repo.head_oid(&file.path),
                    )? {
                        Some((commit, r)) => {
                            retired += 1;
                            format!(
                                "RETIRED        {}  (key '{}' generation {}, retired: generation {} was in use \
                                 before commit {commit}; re-encrypt it with `git add --renormalize -- PATH` \
                                 and change the secret)",
                                file.path, r.name, r.generation, r.newer
                            )
                        }
                        None => format!(
                            "encrypted      {}  (key '{}' id {id}, {key_state})",
                            file.path, file.key_name
                        ),
                    },
                },
                Some(Stored::GitCrypt) => format!(
                    "encrypted      {}  (by git-crypt; key '{}'; run `git-secret import-git-crypt` to move it over)",
                    file.path, file.key_name
                ),
                Some(Stored::Empty) => format!(
                    "empty          {}  (an empty file, stored as git's empty blob: nothing to hide; key '{}')",
                    file.path, file.key_name
                ),
                Some(Stored::Damaged) => format!(
                    "DAMAGED        {}  (git-secret header unreadable; key '{}')",
                    file.path, file.key_name
                ),
                _ => format!("unmerged       {}  (key '{}')", file.path, file.key_name),
            }
        };
        lines.push((file.path, line));
    }
    lines.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (_, line) in &lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if fix && !fixable.is_empty() {
        refuse_others_plaintext(repo, &fixable, reporter)?;
        fix_leaks(repo, &fixable, reporter)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !findings.conversions.is_empty() {
        reporter.fail(format_args!(
            "these marked files have {}:{}\n{}",
            crate::attrcheck::CONVERSION_WHAT,
            super::check::list_settings(&findings.conversions),
            crate::attrcheck::CONVERSION_ADVICE
        ));
    }
    if !overridden.is_empty() {
        reporter.fail(format_args!(
            "{}:{}\n{}",
            super::check::OVERRIDDEN,
            super::check::list_settings(&overridden),
            super::check::OVERRIDDEN_ADVICE
        ));
    }
    if leaks == 0 && !(findings.conversions.is_empty() && overridden.is_empty()) {
        return Ok(ExitCode::FAILURE);
    }
    if leaks > 0 {
        return Ok(reporter.fail(format_args!(
            "{leaks} of {shown} marked file(s) are stored in plaintext. With the key unlocked, \
             `git add --renormalize -- PATH` and a commit store them encrypted; the old plaintext stays in \
             history, so change those secrets"
        )));
    }
    if retired > 0 {
        return Ok(reporter.fail(format_args!(
            "{retired} marked file(s) were last written under a retired key generation: someone who holds \
             an old generation (a removed member?) wrote them after the rotation. Check who, re-encrypt \
             them (`git add --renormalize -- PATH`, commit) and change those secrets"
        )));
    }
    if shown == 0 {
        // A path git does not track (a typo, a file never added) is not
        // "nothing marked": say which.
        let tracked = super::check::listed_paths(&repo.run_git(&["ls-files", "-s", "-z"], None)?);
        let untracked: Vec<&String> = filters
            .iter()
            .zip(&wanted)
            .filter(|(_, w)| !tracked.iter().any(|p| p.is_within(w.as_bytes())))
            .map(|(given, _)| given)
            .collect();
        for given in &untracked {
            reporter.note(format_args!(
                "{given} is not tracked by git: status lists only tracked files (`git add` it first)"
            ));
        }
        if untracked.is_empty() {
            reporter.note("No tracked file is marked for git-secret (see .gitattributes.example).");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Symlinks in the index (stage 0) at paths marked for one of our drivers,
/// with the key name.
fn marked_symlinks(repo: &Repo) -> Result<Vec<(GitPath, String)>> {
    let listing = repo.run_git(&["ls-files", "-s", "-z"], None)?;
    let paths: Vec<GitPath> = listing
        .split(|&b| b == 0)
        .filter_map(|record| {
            let tab = record.iter().position(|&b| b == b'\t')?;
            let meta = &record[..tab];
            (meta.starts_with(b"120000 ") && meta.ends_with(b" 0"))
                .then(|| GitPath::from_bytes(&record[tab + 1..]))
        })
        .collect();
    let refs: Vec<&GitPath> = paths.iter().collect();
    let names = key_names(repo, &refs, &AttrSource::WorkTree)?;
    Ok(paths
        .into_iter()
        .zip(names)
        .filter_map(|(path, name)| Some((path, name?)))
        .collect())
}

/// Lexically normalises a repo-relative path (`a/./b/../c/` → `a/c`).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Deterministic encryption lets whoever wrote a plaintext blob learn whether
/// it equals a stored secret once a key holder re-stages it encrypted (a
/// guess confirmed; SECURITY.md). So plaintext committed by someone else
/// (the last commit that changed the file has another author e-mail) is
/// re-staged only when the user says yes on a terminal; otherwise nothing is
/// changed and the files are named.
fn refuse_others_plaintext(repo: &Repo, paths: &[GitPath], reporter: &Reporter) -> Result<()> {
    let me = repo.config_string("user.email").unwrap_or_default();
    let mut others = Vec::new();
    for path in paths {
        let committed = repo.index_blob(path).is_some()
            && repo.head_oid(path).map(|oid| repo.read_blob(oid).ok())
                == Some(repo.index_blob(path));
        if !committed {
            continue; // staged here, not committed yet: the user's own
        }
        let args = [
            OsStr::new("log"),
            OsStr::new("-1"),
            OsStr::new("--format=%ae"),
            OsStr::new("--"),
            path.as_os_str(),
        ];
        let author = String::from_utf8_lossy(&repo.run_git_os(&args, None)?)
            .trim()
            .to_owned();
        if !author.is_empty() && author != me {
            others.push(format!("{path} (by {author})"));
        }
    }
    if others.is_empty() {
        return Ok(());
    }
    let question = format!(
        "These were committed in plaintext by someone else:{}
Encrypt them under your key anyway? [y/N] ",
        list_paths(&others)
    );
    if reporter.confirm(question) == Some(true) {
        return Ok(());
    }
    bail!(
        "not re-staged: these were committed in plaintext by someone else:{}
\
         Encrypting someone else's plaintext under your key shows them whether it matches a stored secret \
         (a guess confirmed). Review each file; to encrypt it anyway: `git add --renormalize -- PATH`",
        list_paths(&others)
    )
}

/// Re-stages leaked files through the (unlocked) clean filter so the index
/// holds ciphertext; the plaintext already committed stays in history.
fn fix_leaks(repo: &Repo, paths: &[GitPath], reporter: &Reporter) -> Result<()> {
    let mut args: Vec<&OsStr> = ["--literal-pathspecs", "add", "--renormalize", "--"]
        .map(OsStr::new)
        .to_vec();
    args.extend(paths.iter().map(GitPath::as_os_str));
    repo.run_git_os(&args, None).map_err(|e| {
        e.context("could not re-stage the leaked files (is the key unlocked? `git-secret unlock`)")
    })?;
    let still: Vec<&GitPath> = paths
        .iter()
        .filter(|p| repo.index_blob(p).is_none_or(|b| !has_magic(&b)))
        .collect();
    if !still.is_empty() {
        bail!("still not encrypted in the index:{}", list_paths(&still));
    }
    reporter.note(format_args!(
        "Re-staged {} file(s) encrypted:{}\nCommit them. The plaintext versions remain in history: change those secrets.",
        paths.len(),
        list_paths(paths)
    ));
    Ok(())
}

/// A file whose HEAD blob (the index agreeing) is under a retired generation:
/// the commit that last changed it (abbreviated), and what retired it.
fn retired_here(
    repo: &Repo,
    keyring: &crate::keyring::Keyring,
    file: &crate::attrs::Marked,
    id: crate::crypto::KeyId,
    index_is_head: bool,
) -> Result<Option<(String, super::check::Retired)>> {
    let newer_held = keyring
        .find(&id)
        .zip(keyring.find(&id).and_then(|k| keyring.current(k.name())))
        .is_some_and(|(k, current)| current.generation() > k.generation());
    if !index_is_head || !newer_held {
        return Ok(None);
    }
    let args: [&OsStr; 6] = [
        OsStr::new("--literal-pathspecs"),
        OsStr::new("rev-list"),
        OsStr::new("-1"),
        OsStr::new("HEAD"),
        OsStr::new("--"),
        file.path.as_os_str(),
    ];
    let out = repo.run_git_os(&args, None)?;
    let commit = String::from_utf8_lossy(&out).trim().to_owned();
    if commit.is_empty() {
        return Ok(None);
    }
    let mut cache = std::collections::HashMap::new();
    Ok(
        super::check::retired(repo, keyring, &commit, id, &mut cache)?
            .map(|r| (commit[..12.min(commit.len())].to_owned(), r)),
    )
}
