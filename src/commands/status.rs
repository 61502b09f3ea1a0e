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
    // With -k, only paths marked for that key; files no longer marked have
    // no key name and are left out.
    let of_key = |name: Option<&str>| args.key_name.is_none() || args.key_name.as_deref() == name;
    // One record per marked path, in path order: files, and symlinks (which
    // git stores as their target and never filters).
    let mut lines: Vec<Entry> = Vec::new();
    // The index, listed once: symlinks, marked files and untracked filters all read it.
    let ls_files = repo.run_git(&["ls-files", "-s", "-z"], None)?;
    for (path, key_name) in marked_symlinks(repo, &ls_files)? {
        if selected(&path) && of_key(Some(&key_name)) {
            shown += 1;
            let detail = format!(
                "a symbolic link: git stores its target and never filters it; \
                 not encrypted, by design; key '{key_name}'"
            );
            lines.push(Entry::new(
                State::Symlink,
                path,
                Some(&key_name),
                None,
                detail,
            ));
        }
    }
    let marked = marked_files(repo)?;
    let listing = crate::attrs::only_filtered(&ls_files);
    let indexed = super::check::listed_paths(&listing);
    let mut all: Vec<&GitPath> = indexed.iter().filter(|p| selected(p)).collect();
    if args.key_name.is_some() {
        let names = key_names(repo, &all, &AttrSource::WorkTree)?;
        let mut names = names.into_iter();
        all.retain(|_| of_key(names.next().flatten().as_deref()));
    }
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
            if marked_paths.contains(change.path.as_bytes())
                || !selected(&change.path)
                || args.key_name.is_some()
            {
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
                let detail = format!(
                    "encrypted in HEAD, staged in plaintext: .gitattributes no longer marks it{by}"
                );
                lines.push(Entry::new(
                    State::Plaintext,
                    change.path,
                    None,
                    None,
                    detail,
                ));
            }
        }
    }
    let overridden = super::check::overridden(repo, &listing, &findings)?;
    for setting in &overridden {
        shown += 1;
        let detail = format!(
            "stored encrypted, but {}, {}: its next `git add` stores plaintext",
            setting.value,
            setting.origin()
        );
        let path = setting.path.clone();
        lines.push(Entry::new(State::Unmarked, path, None, None, detail));
    }
    for file in marked {
        if !selected(&file.path) || !of_key(Some(&file.key_name)) {
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
        let name = Some(file.key_name.as_str());
        let (state, id, detail) = if !leaked_in.is_empty() {
            leaks += 1;
            if index == Some(Stored::Plaintext) {
                fixable.push(file.path.clone());
            }
            let detail = format!(
                "stored in plaintext in {}; key '{}'",
                leaked_in.join(" and "),
                file.key_name
            );
            (State::Plaintext, None, detail)
        } else {
            match index.or(head) {
                Some(Stored::Encrypted(id)) => match keyring.find(&id) {
                    Some(key) if key.name() != file.key_name => {
                        reporter.warn(format_args!(
                            "{} is marked for key '{}' but stored under key '{}': a changed .gitattributes \
                             line? `git add` refuses to re-encrypt it; to move it on purpose, \
                             `git update-index --force-remove -- PATH` and `git add PATH`",
                            file.path,
                            file.key_name,
                            key.name()
                        ));
                        let detail = format!(
                            "marked for key '{}' but stored under key '{}' id {id}, {key_state}",
                            file.key_name,
                            key.name()
                        );
                        (State::OtherKey, Some(id), detail)
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
                            let detail = format!(
                                "key '{}' generation {}, retired: generation {} was in use \
                                 before commit {commit}; re-encrypt it with `git add --renormalize -- PATH` \
                                 and change the secret",
                                r.name, r.generation, r.newer
                            );
                            (State::Retired, Some(id), detail)
                        }
                        None => {
                            let detail = format!("key '{}' id {id}, {key_state}", file.key_name);
                            (State::Encrypted, Some(id), detail)
                        }
                    },
                },
                Some(Stored::GitCrypt) => (
                    State::GitCrypt,
                    None,
                    format!(
                        "by git-crypt; key '{}'; run `git-secret import-git-crypt` to move it over",
                        file.key_name
                    ),
                ),
                Some(Stored::Empty) => (
                    State::Empty,
                    None,
                    format!(
                        "an empty file, stored as git's empty blob: nothing to hide; key '{}'",
                        file.key_name
                    ),
                ),
                Some(Stored::Damaged) => (
                    State::Damaged,
                    None,
                    format!("git-secret header unreadable; key '{}'", file.key_name),
                ),
                _ => (State::Unmerged, None, format!("key '{}'", file.key_name)),
            }
        };
        lines.push(Entry::new(state, file.path, name, id, detail));
    }
    lines.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let quote_path = quote_path(repo);
    for entry in &lines {
        if args.z {
            out.write_all(entry.porcelain_head().as_bytes())?;
            out.write_all(entry.path.as_bytes())?;
            out.write_all(b"\0")?;
        } else if args.porcelain {
            writeln!(
                out,
                "{}{}",
                entry.porcelain_head(),
                entry.path.quoted(quote_path)
            )?;
        } else {
            writeln!(out, "{}", entry.human(quote_path))?;
        }
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
    if let (0, Some(name)) = (shown, &args.key_name) {
        reporter.note(format_args!("No tracked file is marked for key '{name}'."));
        return Ok(ExitCode::SUCCESS);
    }
    if shown == 0 {
        // A path git does not track (a typo, a file never added) is not
        // "nothing marked": say which.
        let tracked = super::check::listed_paths(&ls_files);
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

/// What `status` found for one path; `--porcelain` shows its state word.
#[derive(Clone, Copy)]
enum State {
    Encrypted,
    OtherKey,
    Retired,
    GitCrypt,
    Empty,
    Plaintext,
    Unmarked,
    Symlink,
    Damaged,
    Unmerged,
}

impl State {
    /// The stable word of `--porcelain` (documented in `status --help`).
    fn word(self) -> &'static str {
        match self {
            State::Encrypted => "encrypted",
            State::OtherKey => "other-key",
            State::Retired => "retired",
            State::GitCrypt => "git-crypt",
            State::Empty => "empty",
            State::Plaintext => "plaintext",
            State::Unmarked => "unmarked",
            State::Symlink => "symlink",
            State::Damaged => "damaged",
            State::Unmerged => "unmerged",
        }
    }

    /// The first column of the human form: problems in capitals.
    fn human(self) -> &'static str {
        match self {
            State::Encrypted | State::OtherKey | State::GitCrypt => "encrypted",
            State::Retired => "RETIRED",
            State::Empty => "empty",
            State::Plaintext => "NOT ENCRYPTED",
            State::Unmarked => "NOT MARKED",
            State::Symlink => "symlink",
            State::Damaged => "DAMAGED",
            State::Unmerged => "unmerged",
        }
    }
}

/// One line of `status` output.
struct Entry {
    state: State,
    path: GitPath,
    key_name: Option<String>,
    key_id: Option<crate::crypto::KeyId>,
    /// The human form's explanation, in parentheses after the path.
    detail: String,
}

impl Entry {
    fn new(
        state: State,
        path: GitPath,
        key_name: Option<&str>,
        key_id: Option<crate::crypto::KeyId>,
        detail: String,
    ) -> Entry {
        Entry {
            state,
            path,
            key_name: key_name.map(str::to_owned),
            key_id,
            detail,
        }
    }

    /// `STATE KEY-NAME KEY-ID ` — the porcelain record up to its path.
    fn porcelain_head(&self) -> String {
        let id = self
            .key_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string());
        let name = self.key_name.as_deref().unwrap_or("-");
        format!("{} {name} {id} ", self.state.word())
    }

    fn human(&self, quote_path: bool) -> String {
        format!(
            "{:<13}  {}  ({})",
            self.state.human(),
            self.path.quoted(quote_path),
            self.detail
        )
    }
}

/// git's `core.quotePath` (on unless set false): whether paths shown quote
/// bytes above 0x7f, as `git status` and `git ls-files` do.
fn quote_path(repo: &Repo) -> bool {
    repo.run_git(&["config", "--type=bool", "--get", "core.quotePath"], None)
        .map_or(true, |out| out.trim_ascii() != b"false")
}

/// Symlinks in the index (stage 0) at paths marked for one of our drivers,
/// with the key name; `listing` is `git ls-files -s -z` output.
fn marked_symlinks(repo: &Repo, listing: &[u8]) -> Result<Vec<(GitPath, String)>> {
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
