//! Leak checks that need no key (they read only blob headers):
//! `check --staged` (the pre-commit guard), `check --range` (push gate for
//! pre-receive hooks and CI) and `audit` (all of history).

use crate::attrcheck;
use crate::attrs::{key_names, marked_in_listing, only_filtered, AttrSource};
use crate::cli::{AuditArgs, CheckArgs};
use crate::crypto::KeyId;
use crate::format::{self, Header, Stored, HEADER_LEN};
use crate::keyring::Keyring;
use crate::path::GitPath;
use crate::repo::Oid;
use crate::repo::Repo;
use crate::report::{list_paths, Reporter};
use crate::session::Session;
use anyhow::{Context, Result};
use std::collections::{HashMap, HashSet};
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
    let indexed = listed_paths(&listing);
    let all: Vec<&GitPath> = indexed.iter().collect();
    let known = known_names(repo);
    let mut findings = attrcheck::inspect(repo, &all, &AttrSource::WorkTree, &known)?;
    findings.extend(attrcheck::inspect(repo, &all, &AttrSource::Index, &known)?);
    for near in &findings.near_misses {
        session.reporter().warn(attrcheck::near_miss_warning(near));
    }
    let mut leaks = Vec::new();
    for file in &marked {
        if let Some(oid) = file.index_oid {
            if repo.stored(oid)? == Stored::Plaintext {
                leaks.push(file.path.clone());
            }
        }
    }
    let keyring = Keyring::load(&repo.key_store()).unwrap_or_default();
    let marked_paths: HashSet<&[u8]> = marked.iter().map(|m| m.path.as_bytes()).collect();
    let mut unmarked = Vec::new();
    let mut damaged = Vec::new();
    let has_head = repo
        .run_git(&["rev-parse", "-q", "--verify", "HEAD^{commit}"], None)
        .is_ok();
    let staged_changes = if has_head {
        changes(
            repo,
            &["diff-index", "--cached", "-r", "-z", "--no-renames", "HEAD"],
        )?
    } else {
        Vec::new()
    };
    for change in staged_changes {
        let (Some(old), Some(new)) = (change.old, change.new) else {
            continue;
        };
        let (before, after) = (repo.stored(old)?, repo.stored(new)?);
        match (before, after) {
            (Stored::Encrypted(_) | Stored::GitCrypt, Stored::Plaintext)
                if !marked_paths.contains(change.path.as_bytes()) =>
            {
                unmarked.push(change.path)
            }
            (_, Stored::Damaged) => damaged.push(change.path),
            (Stored::Encrypted(a), Stored::Encrypted(b)) => {
                if let Some((from, to)) = name_change(&keyring, &HashMap::new(), a, b) {
                    session.reporter().warn(format_args!(
                        "{}: its key changes from '{from}' (HEAD) to '{to}' (staged); if that is not what you \
                         meant, check .gitattributes",
                        change.path
                    ));
                }
            }
            _ => {}
        }
    }
    if !unmarked.is_empty() {
        let shown: Vec<String> = unmarked
            .iter()
            .map(|p| match findings.foreign_of(p) {
                Some(setting) => setting.to_string(),
                None => p.to_string(),
            })
            .collect();
        return Ok(session.reporter().fail(format_args!(
            "these files were stored encrypted in HEAD and are now staged in plaintext \
             (their .gitattributes line no longer marks them?):{}\nNothing was committed. Restore the marking \
             in .gitattributes and `git add --renormalize -- PATH`; to stop encrypting a file on purpose, \
             `git rm --cached -- PATH` and commit that first",
            list_paths(&shown)
        )));
    }
    let overridden = overridden(repo, &listing, &findings)?;
    if !overridden.is_empty() {
        return Ok(session.reporter().fail(format_args!(
            "{OVERRIDDEN}:{}\nNothing was committed. {OVERRIDDEN_ADVICE}",
            list_settings(&overridden)
        )));
    }
    if !damaged.is_empty() {
        return Ok(session.reporter().fail(format_args!(
            "these files are staged with a damaged git-secret header:{}\nNothing was committed. \
             `git checkout HEAD -- PATH` restores the stored version",
            list_paths(&damaged)
        )));
    }
    if !leaks.is_empty() {
        return Ok(session.reporter().fail(format_args!(
            "these marked files are staged in plaintext:{}\nNothing was committed. Unlock (`git-secret unlock`) and run \
             `git-secret status --fix` (or `git add --renormalize -- PATH`, which re-runs the filter even on a \
             file git thinks unchanged) so they are encrypted, or unstage them with `git rm --cached -- PATH`",
            list_paths(&leaks)
        )));
    }
    if !findings.conversions.is_empty() {
        return Ok(session.reporter().fail(format_args!(
            "these marked files have {}:{}\nNothing was committed. {}",
            attrcheck::CONVERSION_WHAT,
            list_settings(&findings.conversions),
            attrcheck::CONVERSION_ADVICE
        )));
    }
    let unmarked: Vec<&GitPath> = all
        .iter()
        .copied()
        .filter(|p| !marked_paths.contains(p.as_bytes()))
        .collect();
    let mut backups = attrcheck::mergetool_backups(&unmarked, &|p| marked_paths.contains(p));
    if !backups.is_empty() {
        backups.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let shown: Vec<String> = backups
            .iter()
            .map(|(backup, file)| format!("{backup} (beside {file})"))
            .collect();
        return Ok(session.reporter().fail(format_args!(
            "these staged files look like `git mergetool` backups of marked files, stored in plaintext:{}\n\
             Nothing was committed. Delete them (`git rm --cached -- PATH`, then remove the file) and stop \
             mergetool from leaving them: `git config mergetool.keepBackup false`",
            list_paths(&shown)
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// Why a path in [`overridden`] is reported.
pub(crate) const OVERRIDDEN: &str = "these files are stored encrypted, but a .gitattributes line now \
    gives them another filter (or none), so their next `git add` stores plaintext or hands it to that filter";
/// What to do about it.
pub(crate) const OVERRIDDEN_ADVICE: &str =
    "Remove or fix that line (a later line overrides an earlier \
    one); to stop encrypting a file on purpose, `git rm --cached -- PATH` and commit that first";

/// Index entries (stage 0) stored encrypted (by us or git-crypt) whose
/// `filter` is set to something not ours, with the line that sets it. Only
/// paths whose filter is explicitly set, unset or foreign are read, so a
/// repository's ordinary files cost nothing.
pub(crate) fn overridden(
    repo: &Repo,
    listing: &[u8],
    findings: &attrcheck::Findings,
) -> Result<Vec<attrcheck::Setting>> {
    let mut found = Vec::new();
    if findings.foreign.is_empty() {
        return Ok(found);
    }
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = record.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let path = GitPath::from_bytes(&record[tab + 1..]);
        let Some(setting) = findings.foreign_of(&path) else {
            continue;
        };
        let meta = String::from_utf8_lossy(&record[..tab]);
        let fields: Vec<&str> = meta.split(' ').collect();
        if fields.get(2) != Some(&"0") {
            continue;
        }
        let Some(oid) = fields.get(1).and_then(|o| Oid::from_hex(o).ok()) else {
            continue;
        };
        if matches!(repo.stored(oid)?, Stored::Encrypted(_) | Stored::GitCrypt) {
            found.push(setting.clone());
        }
    }
    Ok(found)
}

/// The paths of a `git ls-files -s -z` listing, each once.
pub(crate) fn listed_paths(listing: &[u8]) -> Vec<GitPath> {
    let mut paths: Vec<GitPath> = Vec::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        if let Some(tab) = record.iter().position(|&b| b == b'\t') {
            let path = &record[tab + 1..];
            if paths.last().is_none_or(|l| l.as_bytes() != path) {
                paths.push(GitPath::from_bytes(path));
            }
        }
    }
    paths
}

/// Whether a key name has a key here or a configured driver. The default
/// name always counts, and so does every name in a clone that has no key and
/// no driver at all (a fresh clone cannot tell a typo from a key name).
pub(crate) fn known_names(repo: &Repo) -> impl Fn(&str) -> bool + '_ {
    let held: HashSet<String> = repo
        .key_store()
        .names()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let blind = held.is_empty()
        && crate::drivers::configured_locally(repo).is_empty()
        && !crate::drivers::is_configured(repo, crate::drivers::DRIVER);
    move |name: &str| {
        blind
            || name == crate::key::DEFAULT_NAME
            || held.contains(name)
            || crate::drivers::is_configured(repo, &crate::drivers::driver_name(name))
    }
}

/// Settings, one per line, every one shown (each names a line to fix).
pub(crate) fn list_settings(settings: &[attrcheck::Setting]) -> String {
    settings.iter().map(|s| format!("\n  {s}")).collect()
}

/// One plaintext (or damaged) blob found at a marked path in history.
struct Leak {
    commit: String,
    path: GitPath,
    blob: Oid,
    /// What is wrong, when it is not plain plaintext at a marked path.
    problem: Option<String>,
}

/// One changed path between two trees (`git diff-tree`/`diff-index -z` raw).
pub(crate) struct Change {
    pub path: GitPath,
    pub old: Option<Oid>,
    pub new: Option<Oid>,
}

/// Parses raw `-z` diff output; blobs only (no symlinks or gitlinks).
pub(crate) fn changes(repo: &Repo, args: &[&str]) -> Result<Vec<Change>> {
    let out = repo.run_git(args, None)?;
    let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
    let mut found = Vec::new();
    while let Some(meta) = fields.next() {
        if !meta.starts_with(b":") {
            continue; // a commit id line (diff-tree -m)
        }
        let Some(path) = fields.next() else { break };
        let meta = String::from_utf8_lossy(&meta[1..]);
        let parts: Vec<&str> = meta.split(' ').collect();
        if parts.len() < 5 {
            continue;
        }
        let blob = |mode: &str, oid: &str| {
            (mode.starts_with("100"))
                .then(|| Oid::from_hex(oid).ok())
                .flatten()
                .filter(|o| !o.to_string().bytes().all(|b| b == b'0'))
        };
        if crate::recipients::is_own_file(path) {
            continue;
        }
        found.push(Change {
            path: GitPath::from_bytes(path),
            old: blob(parts[0], parts[2]),
            new: blob(parts[1], parts[3]),
        });
    }
    Ok(found)
}

/// The key names of two key ids, if they are known (held keys, else `names`
/// learnt from the trees) and differ.
fn name_change(
    keyring: &Keyring,
    names: &HashMap<KeyId, String>,
    a: KeyId,
    b: KeyId,
) -> Option<(String, String)> {
    let name = |id: &KeyId| {
        keyring
            .find(id)
            .map(|k| k.name().to_owned())
            .or_else(|| names.get(id).cloned())
    };
    let (from, to) = (name(&a)?, name(&b)?);
    (from != to).then_some((from, to))
}

/// What is wrong with an encrypted-looking blob, without a key where none
/// is held: an unreadable header, a key id the repository does not know
/// (when `known` is given), or a body that fails authentication under a
/// held key.
fn blob_problem(
    repo: &Repo,
    keyring: &Keyring,
    known: Option<&HashSet<KeyId>>,
    oid: Oid,
) -> Result<Option<String>> {
    let data = repo.read_blob(oid)?;
    let header = match Header::parse(&data) {
        Ok(Some(header)) => header,
        Ok(None) => return Ok(None),
        Err(e) => return Ok(Some(format!("damaged: {e}"))),
    };
    if data.len() < HEADER_LEN + crate::crypto::TAG_LEN {
        return Ok(Some("damaged: the encrypted file is truncated".to_owned()));
    }
    if !format::framing_is_valid(data.len()) {
        return Ok(Some(format!(
            "damaged: the chunk framing is wrong ({} bytes is no length an encoder writes)",
            data.len()
        )));
    }
    if keyring.holds(&header.key_id) {
        let find = |id: &KeyId| keyring.find(id).map(|k| k.subkeys());
        if let Err(e) = format::decrypt(
            &header,
            find,
            &mut &data[HEADER_LEN..],
            &mut std::io::sink(),
        ) {
            return Ok(Some(format!("damaged: {e}")));
        }
    } else if known.is_some_and(|k| !k.contains(&header.key_id)) {
        return Ok(Some(format!(
            "unknown key id {}: no key file, held key or earlier blob of this repository uses it",
            header.key_id
        )));
    }
    Ok(None)
}

/// Every blob the commits of `rev_args` add: plaintext where the path's
/// previous blob was encrypted (whatever the attributes say now), damaged
/// or (with `check_ids`) unknown ciphertext; key-name changes are warned about.
fn verify_changes(
    repo: &Repo,
    rev_args: &[String],
    keyring: &Keyring,
    check_ids: bool,
    reporter: &Reporter,
) -> Result<Vec<Leak>> {
    let mut args = vec!["rev-list", "--reverse"];
    args.extend(rev_args.iter().map(String::as_str));
    args.push("--");
    let commits =
        String::from_utf8(repo.run_git(&args, None)?).context("unexpected rev-list output")?;
    let commits: Vec<&str> = commits.lines().collect();
    let in_range: HashSet<&str> = commits.iter().copied().collect();
    // Key ids known before the range, with their key names there: the
    // encrypted blobs at marked paths of the commits the range starts from.
    let mut names: HashMap<KeyId, String> = HashMap::new();
    let mut known: HashSet<KeyId> = keyring.keys().iter().map(|k| k.id()).collect();
    if check_ids {
        let mut boundary = HashSet::new();
        for commit in &commits {
            let parents = repo.run_git(&["rev-parse", &format!("{commit}^@")], None)?;
            for parent in String::from_utf8_lossy(&parents).lines() {
                if !in_range.contains(parent) {
                    boundary.insert(parent.to_owned());
                }
            }
        }
        for commit in &boundary {
            for (_, oid, name) in marked_blobs(repo, commit)? {
                if let Stored::Encrypted(id) = repo.stored(oid)? {
                    known.insert(id);
                    names.entry(id).or_insert(name);
                }
            }
        }
    }
    let mut seen: HashSet<Oid> = HashSet::new();
    let mut leaks = Vec::new();
    let mut generations = HashMap::new();
    for commit in &commits {
        let short = commit[..12.min(commit.len())].to_owned();
        let diff = changes(
            repo,
            &[
                "diff-tree",
                "-r",
                "-z",
                "-m",
                "--root",
                "--no-renames",
                "--no-commit-id",
                commit,
            ],
        )?;
        for change in diff {
            let Some(new) = change.new else { continue };
            let after = repo.stored(new)?;
            let before = change.old.map(|o| repo.stored(o)).transpose()?;
            if matches!(before, Some(Stored::Encrypted(_) | Stored::GitCrypt))
                && after == Stored::Plaintext
            {
                if seen.insert(new) {
                    leaks.push(Leak {
                        commit: short.clone(),
                        path: change.path.clone(),
                        blob: new,
                        problem: Some(
                            "plaintext where the previous version was encrypted".to_owned(),
                        ),
                    });
                }
                continue;
            }
            if let (Some(Stored::Encrypted(a)), Stored::Encrypted(b)) = (before, after) {
                if let Some((from, to)) = name_change(keyring, &names, a, b) {
                    reporter.warn(format_args!(
                        "{}: its key changes from '{from}' to '{to}' in commit {short}",
                        change.path
                    ));
                }
            }
            if let Stored::Encrypted(id) = after {
                if let Some(problem) = retired(repo, keyring, commit, id, &mut generations)? {
                    if seen.insert(new) {
                        leaks.push(Leak {
                            commit: short.clone(),
                            path: change.path.clone(),
                            blob: new,
                            problem: Some(format!(
                                "encrypted with key '{}' generation {}, retired: generation {} was in use \
                                 in the commit before",
                                problem.name, problem.generation, problem.newer
                            )),
                        });
                    }
                    continue;
                }
            }
            if !matches!(after, Stored::Encrypted(_) | Stored::Damaged) || !seen.insert(new) {
                continue;
            }
            let known = check_ids.then_some(&known);
            if let Some(problem) = blob_problem(repo, keyring, known, new)? {
                leaks.push(Leak {
                    commit: short.clone(),
                    path: change.path.clone(),
                    blob: new,
                    problem: Some(problem),
                });
            }
        }
    }
    Ok(leaks)
}

/// A blob written under a retired generation: one older than a generation
/// of the same name that the parent commit(s) already used.
pub(crate) struct Retired {
    pub name: String,
    pub generation: u32,
    pub newer: u32,
}

/// Whether a blob under key id `id` that `commit` introduces is under a
/// retired generation. A generation is retired once a commit stores a blob
/// under a newer one of the same name (a rotation does, for every file): a
/// newer generation is trusted only when the one before vouched for it, so
/// nobody who can push makes one retire. Needs the key held (to know its
/// name and generation); `cache` keeps each commit's newest generations.
pub(crate) fn retired(
    repo: &Repo,
    keyring: &Keyring,
    commit: &str,
    id: KeyId,
    cache: &mut HashMap<String, HashMap<String, u32>>,
) -> Result<Option<Retired>> {
    let Some(key) = keyring.find(&id) else {
        return Ok(None);
    };
    let newest_held = keyring.current(key.name()).map_or(0, |k| k.generation());
    if newest_held <= key.generation() {
        return Ok(None);
    }
    if !cache.contains_key(commit) {
        let mut newest: HashMap<String, u32> = HashMap::new();
        let parents = repo.run_git(&["rev-parse", &format!("{commit}^@")], None)?;
        for parent in String::from_utf8_lossy(&parents).lines() {
            for (_, oid, _) in marked_blobs(repo, parent)? {
                if let Stored::Encrypted(id) = repo.stored(oid)? {
                    if let Some(k) = keyring.find(&id) {
                        let g = newest.entry(k.name().to_owned()).or_default();
                        *g = (*g).max(k.generation());
                    }
                }
            }
        }
        cache.insert(commit.to_owned(), newest);
    }
    let newer = cache[commit].get(key.name()).copied().unwrap_or(0);
    Ok((newer > key.generation()).then(|| Retired {
        name: key.name().to_owned(),
        generation: key.generation(),
        newer,
    }))
}

/// The blobs at marked paths of `commit` (by its own `.gitattributes`), with key names.
fn marked_blobs(repo: &Repo, commit: &str) -> Result<Vec<(GitPath, Oid, String)>> {
    let entries = tree_blobs(repo, commit)?;
    let paths: Vec<&GitPath> = entries.iter().map(|(p, _)| p).collect();
    let names = key_names(repo, &paths, &AttrSource::Tree(commit.to_owned()))?;
    Ok(entries
        .into_iter()
        .zip(names)
        .filter_map(|((path, oid), name)| Some((path, oid, name?)))
        .collect())
}

/// Regular-file blobs of `commit`'s tree, the tool's own files left out.
fn tree_blobs(repo: &Repo, commit: &str) -> Result<Vec<(GitPath, Oid)>> {
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
    Ok(entries)
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
    let repo = session.any_repo()?;
    let mut leaks = scan(repo, &args, None)?;
    let keyring = Keyring::load(&repo.key_store()).unwrap_or_default();
    leaks.extend(verify_changes(
        repo,
        &args,
        &keyring,
        true,
        session.reporter(),
    )?);
    let conversions = range_conversions(repo, &args)?;
    if !conversions.is_empty() {
        session.reporter().fail(format_args!(
            "these commits give marked files {}:{}\n{}",
            attrcheck::CONVERSION_WHAT,
            list_settings(&conversions),
            attrcheck::CONVERSION_ADVICE
        ));
        if leaks.is_empty() {
            return Ok(ExitCode::FAILURE);
        }
    }
    report(
        &leaks,
        "these commits store marked files in plaintext, or ciphertext that is damaged or under a key id this repository does not know",
        session.reporter(),
    )
}

/// Conversion attributes on marked paths in any commit of `rev_args`, each
/// (path, value, line) once. Misspelt driver names are not reported here: a
/// server holds no keys or drivers to tell a typo from a key name.
fn range_conversions(repo: &Repo, rev_args: &[String]) -> Result<Vec<attrcheck::Setting>> {
    let mut args = vec!["rev-list", "--reverse"];
    args.extend(rev_args.iter().map(String::as_str));
    args.push("--");
    let commits =
        String::from_utf8(repo.run_git(&args, None)?).context("unexpected rev-list output")?;
    let mut found = attrcheck::Findings::default();
    for commit in commits.lines() {
        let entries = tree_blobs(repo, commit)?;
        let paths: Vec<&GitPath> = entries.iter().map(|(p, _)| p).collect();
        let mut findings =
            attrcheck::inspect(repo, &paths, &AttrSource::Tree(commit.to_owned()), &|_| {
                true
            })?;
        findings.near_misses.clear();
        found.extend(findings);
    }
    Ok(found.conversions)
}

/// Walks every commit reachable from REV-RANGE (default: all refs).
pub fn audit(session: &Session, args: &AuditArgs) -> Result<ExitCode> {
    let range = &args.range;
    let args = if range.is_empty() {
        vec!["--all".to_owned()]
    } else {
        range.to_vec()
    };
    let repo = session.any_repo()?;
    let tip = if range.is_empty() {
        "HEAD".to_owned()
    } else {
        let mut tip_args = vec!["rev-list", "--max-count=1"];
        tip_args.extend(args.iter().map(String::as_str));
        String::from_utf8_lossy(&repo.run_git(&tip_args, None)?)
            .trim()
            .to_owned()
    };
    let tip = repo
        .run_git(&["rev-parse", "-q", "--verify", &tip], None)
        .is_ok()
        .then_some(tip);
    let mut leaks = scan(repo, &args, tip.as_deref())?;
    let keyring = Keyring::load(&repo.key_store()).unwrap_or_default();
    let reporter = session.reporter();
    leaks.extend(verify_changes(repo, &args, &keyring, false, reporter)?);
    let code = report(
        &leaks,
        "history stores marked files in plaintext, or ciphertext that is damaged",
        reporter,
    )?;
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
        match &leak.problem {
            None => writeln!(
                out,
                "LEAK {}  {}  (blob {})",
                leak.commit, leak.path, leak.blob
            )?,
            Some(problem) => writeln!(
                out,
                "BAD {}  {}  (blob {}: {problem})",
                leak.commit, leak.path, leak.blob
            )?,
        }
    }
    out.flush()?;
    Ok(reporter.fail(format_args!(
        "{what}: {} blob(s). First rotate the secrets in them: change those secrets where they are used \
         (a new password, token or key), since anyone with a clone can already read them and rewriting history \
         does not unshare them. Then, to purge the blobs from history, rewrite it (e.g. `git filter-repo \
         --path PATH --invert-paths`) and force-push; every clone must then be re-cloned",
        leaks.len()
    )))
}

/// Each plaintext blob at a path its commit's `.gitattributes` marks (or,
/// with `tip`, that the tip's `.gitattributes` marks: a secret committed
/// before it was marked), reported once, at the oldest commit in `rev_args`
/// that holds it.
fn scan(repo: &Repo, rev_args: &[String], tip: Option<&str>) -> Result<Vec<Leak>> {
    let mut args = vec!["rev-list", "--reverse"];
    args.extend(rev_args.iter().map(String::as_str));
    args.push("--");
    let commits =
        String::from_utf8(repo.run_git(&args, None)?).context("unexpected rev-list output")?;
    let mut seen: HashSet<Oid> = HashSet::new();
    let mut before_marking: HashMap<Oid, Leak> = HashMap::new();
    let mut leaks = Vec::new();
    for commit in commits.lines() {
        let entries = tree_blobs(repo, commit)?;
        let paths: Vec<&GitPath> = entries.iter().map(|(p, _)| p).collect();
        let names = key_names(repo, &paths, &AttrSource::Tree(commit.to_owned()))?;
        let at_tip = match tip {
            Some(tip) => key_names(repo, &paths, &AttrSource::Tree(tip.to_owned()))?,
            None => vec![None; paths.len()],
        };
        for (((path, oid), name), tip_name) in entries.iter().zip(names).zip(at_tip) {
            let leak = || Leak {
                commit: commit[..12.min(commit.len())].to_owned(),
                path: path.clone(),
                blob: *oid,
                problem: None,
            };
            if name.is_some() {
                if seen.insert(*oid) && repo.stored(*oid)? == Stored::Plaintext {
                    leaks.push(leak());
                }
            } else if tip_name.is_some()
                && !before_marking.contains_key(oid)
                && repo.stored(*oid)? == Stored::Plaintext
            {
                before_marking.insert(*oid, leak());
            }
        }
    }
    // Plaintext at a path marked only at the tip (committed before it was
    // marked), unless its own commits' attributes already reported it.
    let mut early: Vec<Leak> = before_marking
        .into_values()
        .filter(|l| !seen.contains(&l.blob))
        .collect();
    early.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    leaks.extend(early);
    Ok(leaks)
}
