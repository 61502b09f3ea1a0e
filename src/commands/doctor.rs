//! `git-secret doctor [--fix]`: checks the setup and names every problem
//! with its fix, one line each on standard output (the command's result, as
//! `status` prints its lines there; stderr is for doctor's own failures):
//! `problem: …; fix: …`, `note: …` for what is reported but is no problem
//! (a locked key), `fixed: …` for what `--fix` did, and a last `doctor:`
//! summary line. Exit 1 while any problem remains.
//!
//! Checked, in this order: the filter/diff/merge drivers of every key name
//! in use (missing, partial, wrong values, a binary that is missing or not
//! this one); attributes that break encryption (`attrcheck`); the key ids
//! the stored blobs need, against the keys held; stale temp files of killed
//! commands; modes of the key store and the personal ring; the pre-commit
//! hook; marked files missing from the work tree. A repository that git-crypt
//! still runs gets only a pointer to `import-git-crypt`. `--fix` does only
//! what cannot lose anything: it rewrites drivers (locked mode until
//! unlocked; in the global config when `install`'s entries there are the
//! stale ones), chmods, removes temp files while no git-secret command holds
//! the repository's lock, checks out missing marked files from the index,
//! and reinstalls the hook;
//! `.gitattributes`, keys and the index are the user's to change. Only
//! paths, key names and key ids are printed, never key material.

use crate::attrcheck::{self, near_miss_warning};
use crate::attrs::{marked_files, AttrSource, Marked};
use crate::cli::DoctorArgs;
use crate::crypto::KeyId;
use crate::drivers::{self, config_entries, driver_name, is_this_binary, split_command};
use crate::format::{file_has_magic, Stored};
use crate::hook::{self, HookState, HOOK_LINE};
use crate::keyring::{Keyring, Ring};
use crate::path::GitPath;
use crate::repo::Repo;
use crate::session::Session;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `--fix` may do about a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fix {
    /// Rewrite every config entry of driver `driver` (key `name`).
    Driver {
        driver: String,
        name: String,
    },
    Chmod {
        path: PathBuf,
        mode: u32,
    },
    /// Remove a temp file or directory a killed command left.
    Remove(PathBuf),
    /// Drop ids of keys that are not in the store from the unsaved list.
    Unsaved(Vec<KeyId>),
    /// Rewrite the global entries `install` owns (its default driver).
    Global,
    /// Check out a marked file that the index has and the work tree lacks.
    Restore(GitPath),
    Hook,
}

enum Line {
    Problem(String, Option<Fix>),
    /// Works as it is; `--fix` applies the fix, if any, all the same.
    Note(String, Option<Fix>),
}

#[derive(Default)]
struct Report {
    lines: Vec<Line>,
}

impl Report {
    fn problem(&mut self, text: String, fix: Option<Fix>) {
        self.lines.push(Line::Problem(text, fix));
    }
    fn note(&mut self, text: String) {
        self.lines.push(Line::Note(text, None));
    }
    fn note_with_fix(&mut self, text: String, fix: Fix) {
        self.lines.push(Line::Note(text, Some(fix)));
    }
    fn problems(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l, Line::Problem(..)))
            .count()
    }
    fn fixes(&self) -> Vec<Fix> {
        let mut fixes: Vec<Fix> = Vec::new();
        for line in &self.lines {
            if let Line::Problem(_, Some(fix)) | Line::Note(_, Some(fix)) = line {
                if !fixes.contains(fix) {
                    fixes.push(fix.clone());
                }
            }
        }
        fixes
    }
}

pub fn run(session: &Session, args: &DoctorArgs) -> Result<ExitCode> {
    let repo = session.repo().map_err(|e| {
        // Discovery's own advice ("run this inside a git work tree") fits
        // less well than saying where doctor can check.
        let text = format!("{e:#}");
        let text = text
            .strip_suffix("; run this inside a git work tree")
            .unwrap_or(&text)
            .to_owned();
        anyhow::anyhow!("{text}; run doctor inside the git work tree to check")
    })?;
    let mut out = std::io::stdout().lock();
    let mut report = check(session, repo)?;
    if args.fix {
        let fixes = report.fixes();
        if !fixes.is_empty() {
            {
                // Held while fixing, so no command starts writing meanwhile;
                // released before the re-check, which takes it again.
                let lock = crate::checkout::try_lock(repo)?;
                for fix in fixes {
                    if matches!(fix, Fix::Remove(_)) && lock.is_none() {
                        continue; // a command started since the check: its files are in use
                    }
                    let done = apply(session, repo, &fix)?;
                    writeln!(out, "fixed: {done}")?;
                }
            }
            report = check(session, repo)?;
        }
    }
    for line in &report.lines {
        match line {
            Line::Problem(text, _) => writeln!(out, "problem: {text}")?,
            Line::Note(text, _) => writeln!(out, "note: {text}")?,
        }
    }
    let problems = report.problems();
    if problems == 0 {
        writeln!(out, "doctor: no problems found")?;
        return Ok(ExitCode::SUCCESS);
    }
    let fixable = report
        .lines
        .iter()
        .filter(|l| matches!(l, Line::Problem(_, Some(_))))
        .count();
    writeln!(
        out,
        "doctor: {problems} problem(s) found ({fixable} fixable with git-secret doctor --fix)"
    )?;
    Ok(ExitCode::FAILURE)
}

const FIX_DRIVER: &str = "git-secret doctor --fix points it at this binary";

fn check(session: &Session, repo: &Repo) -> Result<Report> {
    let mut report = Report::default();
    let store = repo.key_store();
    let held: BTreeSet<String> = store.names()?.into_iter().collect();
    let marked = marked_files(repo)?;
    let local = drivers::configured_locally(repo);
    if marked.is_empty() && held.is_empty() && local.is_empty() {
        report.note(
            "git-secret is not set up in this repository: no file is marked for encryption and \
             no key is held; to start: git-secret init, then mark files in .gitattributes \
             (filter=git-secret diff=git-secret merge=git-secret -text)"
                .to_owned(),
        );
        return Ok(report);
    }
    if held.is_empty() && uses_git_crypt_only(repo, &marked, &local)? {
        report.note(format!(
            "this repository uses git-crypt: {} file(s) are marked filter=git-crypt (or \
             filter=git-crypt-NAME) in .gitattributes and git-secret has not taken them over; to \
             move it to git-secret: git-secret import-git-crypt KEYFILE... with the git-crypt key \
             files (git-crypt export-key), then commit",
            marked.len()
        ));
        return Ok(report);
    }
    let mut names: BTreeSet<String> = marked.iter().map(|m| m.key_name.clone()).collect();
    names.extend(held.iter().cloned());
    let mut wanted: BTreeSet<(String, String)> =
        names.iter().map(|n| (driver_name(n), n.clone())).collect();
    wanted.extend(local);
    for (driver, name) in &wanted {
        // git-crypt's own driver (no process command) is not ours to check;
        // one that an import pointed at git-secret is.
        let git_crypt = *driver != driver_name(name);
        if git_crypt
            && repo
                .config_string(&format!("filter.{driver}.process"))
                .is_none()
        {
            continue;
        }
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        check_driver(repo, driver, name, count, &mut report)?;
    }
    check_attributes(repo, &mut report)?;
    // A running unlock/lock is mid-rewrite: its files and temp files are in use.
    let busy = crate::checkout::busy(repo);
    check_keys(session, repo, &marked, &names, &held, busy, &mut report)?;
    if !busy {
        check_missing(repo, &marked, &mut report)?;
    }
    check_markers(repo, &marked, busy, &mut report)?;
    check_modes(repo, &mut report)?;
    check_hook(repo, &mut report)?;
    Ok(report)
}

/// Whether every marked file is marked for git-crypt's own driver and no
/// driver of ours is configured here (an import points git-crypt's driver at
/// git-secret): a repository git-crypt still runs, where our checks would
/// only report git-crypt's setup as broken.
fn uses_git_crypt_only(repo: &Repo, marked: &[Marked], local: &[(String, String)]) -> Result<bool> {
    let ours_configured = local.iter().any(|(driver, _)| {
        !driver.starts_with(drivers::GIT_CRYPT_DRIVER)
            || repo
                .config_string(&format!("filter.{driver}.process"))
                .is_some()
    });
    if marked.is_empty() || ours_configured {
        return Ok(false);
    }
    let paths: Vec<&GitPath> = marked.iter().map(|m| &m.path).collect();
    let attrs = crate::attrs::check_attr(repo, &paths, &AttrSource::WorkTree, &["filter"])?;
    let fields: Vec<&[u8]> = attrs.split(|&b| b == 0).collect();
    Ok(fields
        .chunks(3)
        .take(paths.len())
        .all(|triple| triple.get(2).is_some_and(|v| v.starts_with(b"git-crypt"))))
}

/// A configured command's program, described: "X, which does not exist" or
/// "another binary, X"; None when it is this binary.
fn stale_program(program: &str) -> Option<String> {
    if is_this_binary(program) {
        None
    } else if program.is_empty() || !Path::new(program).exists() {
        Some(format!("{program}, which does not exist"))
    } else {
        Some(format!("another binary, {program}"))
    }
}

fn check_driver(
    repo: &Repo,
    driver: &str,
    name: &str,
    marked: usize,
    report: &mut Report,
) -> Result<()> {
    let fix = Fix::Driver {
        driver: driver.to_owned(),
        name: name.to_owned(),
    };
    let mut missing = Vec::new();
    let mut stale: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut earlier = Vec::new();
    let entries: Vec<(String, String)> = config_entries(name, driver)?
        .into_iter()
        .filter(|(key, _)| !key.ends_with(".name")) // merge.*.name is only a label
        .collect();
    for (key, expected) in &entries {
        let Some(actual) = repo.config_string(key) else {
            missing.push(key.clone());
            continue;
        };
        let command = [".clean", ".smudge", ".process", ".textconv", ".driver"]
            .iter()
            .any(|s| key.ends_with(s));
        if command {
            let (program, rest) = split_command(&actual);
            if let Some(described) = stale_program(&program) {
                stale.entry(described).or_default().push(key.clone());
            } else if rest != split_command(expected).1 {
                match drivers::earlier_form(key, name)? {
                    Some(form) if split_command(&form).1 == rest => earlier.push(key.clone()),
                    _ => wrong.push((key.clone(), actual, expected.clone())),
                }
            }
        } else if !same_bool(&actual, expected) {
            wrong.push((key.clone(), actual, expected.clone()));
        }
    }
    if missing.len() == entries.len() {
        report.problem(
            format!(
                "driver {driver} is not configured, so git would store {marked} marked file(s) \
                 as the work tree has them, plaintext included; fix: git-secret doctor --fix \
                 configures it (in locked mode until you unlock)"
            ),
            Some(fix),
        );
        return Ok(());
    }
    // Every entry set comes from the global config: `install` wrote them,
    // and only rewriting them there repairs every clone (a local copy would
    // fix this one and hide the rest).
    let global = driver == crate::drivers::DRIVER
        && entries
            .iter()
            .filter(|(key, _)| !missing.contains(key))
            .all(|(key, _)| config_scope(repo, key).as_deref() == Some("global"));
    let (fix, place, by, fix_driver, also) = if global {
        (
            Fix::Global,
            " in your global git config (written by git-secret install)",
            "git-secret install",
            "git-secret install rewrites it (so does git-secret doctor --fix)",
            " (so does git-secret doctor --fix)",
        )
    } else {
        (fix, "", "git-secret doctor --fix", FIX_DRIVER, "")
    };
    for (described, keys) in stale {
        report.problem(
            format!(
                "driver {driver}{place} runs {described} ({}); fix: {fix_driver}",
                keys.join(", ")
            ),
            Some(fix.clone()),
        );
    }
    if !missing.is_empty() {
        report.problem(
            format!(
                "driver {driver}{place} is partly configured: {} not set; fix: {by} adds them{also}",
                missing.join(", "),
            ),
            Some(fix.clone()),
        );
    }
    if !earlier.is_empty() {
        let process = earlier.iter().any(|k| k.ends_with(".process"));
        let textconv = earlier.iter().any(|k| k.ends_with(".textconv"));
        let cost = match (process, textconv) {
            (true, true) => "per git command and per diffed file",
            (true, false) => "per git command",
            _ => "per diffed file",
        };
        report.note_with_fix(
            format!(
                "driver {driver}{place} runs git-secret in the form of earlier versions, through \
                 the shell ({}): it works, with one process more {cost}; fix: {by} moves it to the \
                 binaries git runs directly{also}",
                earlier.join(", ")
            ),
            fix.clone(),
        );
    }
    for (key, actual, expected) in wrong {
        report.problem(
            format!("{key}{place} is {actual:?}, not {expected:?}; fix: {by} resets it{also}"),
            Some(fix.clone()),
        );
    }
    Ok(())
}

/// Where git reads `key` from: "local", "global", "system", "worktree", "command".
fn config_scope(repo: &Repo, key: &str) -> Option<String> {
    let out = repo
        .run_git(&["config", "--show-scope", "--get", key], None)
        .ok()?;
    let text = String::from_utf8_lossy(&out);
    text.split_once('\t').map(|(scope, _)| scope.to_owned())
}

/// git's boolean spellings.
fn same_bool(actual: &str, expected: &str) -> bool {
    let norm = |v: &str| match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => "true".to_owned(),
        "false" | "no" | "off" | "0" | "" => "false".to_owned(),
        other => other.to_owned(),
    };
    norm(actual) == norm(expected)
}

fn check_attributes(repo: &Repo, report: &mut Report) -> Result<()> {
    let listing = crate::attrs::only_filtered(&repo.run_git(&["ls-files", "-s", "-z"], None)?);
    let indexed = super::check::listed_paths(&listing);
    let all: Vec<&crate::path::GitPath> = indexed.iter().collect();
    let findings = attrcheck::inspect(
        repo,
        &all,
        &AttrSource::WorkTree,
        &super::check::known_names(repo),
    )?;
    for s in &findings.conversions {
        report.problem(
            format!(
                "{s}: git converts the ciphertext, which then fails authentication on checkout; \
                 fix: mark the path -text and drop text, eol, working-tree-encoding and ident from \
                 that line, then git add --renormalize -- {}",
                s.path
            ),
            None,
        );
    }
    for s in &findings.near_misses {
        report.problem(
            format!(
                "{}; fix: correct the filter value on that line",
                near_miss_warning(s)
            ),
            None,
        );
    }
    for s in super::check::overridden(repo, &listing, &findings)? {
        report.problem(
            format!(
                "{} is stored encrypted, but {}, {}: its next git add stores plaintext; \
                 fix: remove or fix that line (to stop encrypting it on purpose: \
                 git rm --cached -- {}, and commit that first)",
                s.path,
                s.value,
                s.origin(),
                s.path
            ),
            None,
        );
    }
    Ok(())
}

fn check_keys(
    session: &Session,
    repo: &Repo,
    marked: &[Marked],
    names: &BTreeSet<String>,
    held: &BTreeSet<String>,
    busy: bool,
    report: &mut Report,
) -> Result<()> {
    let installed = Keyring::load(&repo.key_store())?;
    // Store and ring: enough to tell which key name an id belongs to.
    let known = super::view::keys_without_unlocking(session, None)?;
    // Ids needed but held under no name, per key name: id → paths.
    let mut missing: BTreeMap<&str, BTreeMap<KeyId, Vec<String>>> = BTreeMap::new();
    for file in marked {
        let oids: BTreeSet<_> = file
            .index_oid
            .into_iter()
            .chain(repo.head_oid(&file.path))
            .collect();
        for oid in oids {
            let Stored::Encrypted(id) = repo.stored(oid)? else {
                continue;
            };
            match known.find(&id) {
                Some(key) if key.name() != file.key_name => {
                    let path = &file.path;
                    let (other, name) = (key.name(), &file.key_name);
                    report.problem(
                        format!(
                            "{path} is stored under key '{other}' (id {id}), but .gitattributes gives it \
                             key '{name}' (filter={}); fix: mark it filter={} in .gitattributes, or \
                             store it anew under key '{name}' (git rm --cached -- {path}, then git add -- {path})",
                            driver_name(name),
                            driver_name(other)
                        ),
                        None,
                    );
                }
                None if held.contains(&file.key_name) => {
                    let paths = missing
                        .entry(&file.key_name)
                        .or_default()
                        .entry(id)
                        .or_default();
                    if !paths.contains(&file.path.to_string()) {
                        paths.push(file.path.to_string());
                    }
                }
                _ => {}
            }
        }
        // Ciphertext that a held key opens: a rewrite was interrupted.
        let in_tree = file.path.in_tree(repo.top());
        if !busy && held.contains(&file.key_name) && file_has_magic(&in_tree) {
            let blob = fs::read(&in_tree).unwrap_or_default();
            if let Stored::Encrypted(id) = Stored::classify(&blob) {
                if installed.holds(&id) {
                    report.problem(
                        format!(
                            "{} holds ciphertext in the work tree though key '{}' is unlocked \
                             (an interrupted lock or unlock); fix: run that command again \
                             (git-secret lock, or git-secret unlock KEYFILE)",
                            file.path, file.key_name
                        ),
                        None,
                    );
                }
            }
        }
    }
    for (name, ids) in missing {
        for (id, paths) in ids {
            report.problem(
                format!(
                    "{} marked file(s) of key '{name}' are stored under key id {id}, which this clone \
                     does not hold ({}); fix: git-secret unlock KEYFILE with a key file that holds it \
                     (from a teammate: git-secret export-key FILE)",
                    paths.len(),
                    shorten(&paths)
                ),
                None,
            );
        }
    }
    for name in names {
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        if held.contains(name) {
            if count == 0 {
                report.note(format!(
                    "key '{name}' is unlocked: no file is marked filter={}",
                    driver_name(name)
                ));
            } else {
                // Ciphertext of a generation not held, an interrupted
                // rewrite or a missing file is not plaintext (while a
                // command rewrites the files, they are not judged).
                let plain = marked
                    .iter()
                    .filter(|m| &m.key_name == name)
                    .filter(|m| {
                        let file = m.path.in_tree(repo.top());
                        file.symlink_metadata().is_ok() && !file_has_magic(&file)
                    })
                    .count();
                let shown = if plain == count || busy {
                    count.to_string()
                } else {
                    format!("{plain} of {count}")
                };
                report.note(format!(
                    "key '{name}' is unlocked: {shown} marked file(s) in plaintext in the work tree"
                ));
            }
        } else {
            report.note(format!(
                "key '{name}' is locked (not held here): {count} marked file(s) stay ciphertext; \
                 to decrypt them: git-secret unlock KEYFILE (to read one: git-secret view PATH)"
            ));
        }
    }
    Ok(())
}

/// Marked files the index has (stage 0) and the work tree should hold but
/// does not: a checkout or pull that stopped halfway, or a plain `rm`. A
/// `git rm` removes the index entry too, so it is not reported. Restoring
/// loses nothing: the file is absent and its content is in the index.
fn check_missing(repo: &Repo, marked: &[Marked], report: &mut Report) -> Result<()> {
    let staged: Vec<&GitPath> = marked
        .iter()
        .filter(|m| m.index_oid.is_some())
        .map(|m| &m.path)
        .collect();
    for path in crate::checkout::present(repo, &staged)? {
        if path.in_tree(repo.top()).symlink_metadata().is_ok() {
            continue;
        }
        report.problem(
            format!(
                "{path} is marked and in the index but missing from the work tree (a checkout or \
                 pull that stopped halfway?); fix: git-secret doctor --fix restores it from the \
                 index (git checkout -- {path}; git-secret unlock first for its plaintext); to \
                 delete it on purpose: git rm -- {path}"
            ),
            Some(Fix::Restore(path.clone())),
        );
    }
    Ok(())
}

/// "a, b and 3 more".
fn shorten(paths: &[String]) -> String {
    match paths {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

fn check_markers(repo: &Repo, marked: &[Marked], busy: bool, report: &mut Report) -> Result<()> {
    let mut left: Vec<(PathBuf, &str)> = Vec::new();
    let temp = crate::checkout::temp_dir(repo);
    if temp.symlink_metadata().is_ok() {
        left.push((temp, "plaintext"));
    }
    for file in marked {
        let beside = crate::checkout::beside(&file.path.in_tree(repo.top()));
        if beside.symlink_metadata().is_ok() {
            left.push((beside, "plaintext"));
        }
    }
    // write_secret_file's temp files (`.git-secret-tmpXXXXXX`) beside what it writes.
    let store_dir = repo.key_store().path("x");
    let mut dirs = vec![repo.common_dir().to_path_buf()];
    dirs.extend(store_dir.parent().map(Path::to_path_buf));
    if let Ok(ring) = Ring::open() {
        dirs.push(ring.dir().to_path_buf());
    }
    for dir in dirs {
        for path in crate::files::list_dir(&dir).unwrap_or_default() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with(".git-secret-tmp") {
                left.push((path, "key material"));
            }
        }
    }
    let hook_temp = hook::temp_file(repo)?;
    if hook_temp.symlink_metadata().is_ok() {
        left.push((hook_temp, "a half-written hook"));
    }
    if busy {
        report.note(
            "another git-secret command is running in this repository; the work tree and its \
             temp files were not checked (run git-secret doctor again when it has finished)"
                .to_owned(),
        );
        return Ok(());
    }
    if !left.is_empty() {
        for (path, what) in left {
            report.problem(
                format!(
                    "{} was left by an interrupted git-secret command (it may hold {what}); \
                     fix: git-secret doctor --fix removes it",
                    path.display()
                ),
                Some(Fix::Remove(path)),
            );
        }
    }
    // Ids recorded as born here whose key never reached the store (a rotate
    // killed between the two writes): they protect nothing.
    let store = repo.key_store();
    let unsaved = store.unsaved();
    if !unsaved.is_empty() {
        let stored = Keyring::load(&store)?;
        let stale: Vec<KeyId> = unsaved.into_iter().filter(|id| !stored.holds(id)).collect();
        if !stale.is_empty() {
            let shown: Vec<String> = stale.iter().map(KeyId::to_string).collect();
            report.problem(
                format!(
                    "{} lists key id(s) {} that are not in the key store (left by an interrupted \
                     command); fix: git-secret doctor --fix drops them",
                    store.unsaved_path().display(),
                    shown.join(", ")
                ),
                Some(Fix::Unsaved(stale)),
            );
        }
    }
    Ok(())
}

fn check_modes(repo: &Repo, report: &mut Report) -> Result<()> {
    let store = repo.key_store();
    let store_file = store.path("x");
    let mut private: Vec<(PathBuf, u32)> = Vec::new();
    let add_dir = |dir: &Path, private: &mut Vec<(PathBuf, u32)>| {
        if dir.is_dir() {
            private.push((dir.to_path_buf(), 0o700));
            for path in crate::files::list_dir(dir).unwrap_or_default() {
                if path.is_file() {
                    private.push((path, 0o600));
                }
            }
        }
    };
    if let Some(dir) = store_file.parent() {
        add_dir(dir, &mut private);
    }
    let unsaved = store.unsaved_path();
    if unsaved.is_file() {
        private.push((unsaved, 0o600));
    }
    if let Ok(ring) = Ring::open() {
        add_dir(ring.dir(), &mut private);
    }
    for (path, want) in private {
        let Some(mode) = mode_of(&path) else { continue };
        if mode & 0o077 != 0 {
            report.problem(
                format!(
                    "{} has mode {mode:04o}, so other users may read it; \
                     fix: git-secret doctor --fix runs chmod {want:o} on it",
                    path.display()
                ),
                Some(Fix::Chmod { path, mode: want }),
            );
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    // lstat: a symlink's own mode means nothing, and chmod would follow it.
    let meta = fs::symlink_metadata(path).ok()?;
    (!meta.file_type().is_symlink()).then(|| meta.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode_of(_: &Path) -> Option<u32> {
    None
}

fn check_hook(repo: &Repo, report: &mut Report) -> Result<()> {
    match hook::inspect(repo)? {
        HookState::Installed => {}
        HookState::Missing(path) => report.problem(
            format!(
                "no pre-commit hook refuses plaintext at marked paths ({} is missing); \
                 fix: git-secret doctor --fix installs it",
                path.display()
            ),
            Some(Fix::Hook),
        ),
        HookState::Stale { hook, program } => report.problem(
            format!(
                "the pre-commit hook {} runs {}; fix: git-secret doctor --fix rewrites it",
                hook.display(),
                stale_program(&program).unwrap_or(program)
            ),
            Some(Fix::Hook),
        ),
        HookState::Foreign(path) => report.problem(
            format!(
                "the pre-commit hook {} does not run git-secret check --staged; \
                 fix: git-secret doctor --fix keeps it and runs it after the check",
                path.display()
            ),
            Some(Fix::Hook),
        ),
        HookState::ForeignChained(path) | HookState::InWorkTree(path) => report.problem(
            format!(
                "the pre-commit hook {} does not run git-secret check --staged; \
                 fix: add this line to it: {HOOK_LINE}",
                path.display()
            ),
            None,
        ),
    }
    Ok(())
}

/// Applies one fix; returns what it did, for the `fixed:` line.
fn apply(session: &Session, repo: &Repo, fix: &Fix) -> Result<String> {
    Ok(match fix {
        Fix::Driver { driver, name } => {
            if *driver == driver_name(name) {
                drivers::configure(repo, name)?;
            } else {
                drivers::configure_git_crypt_driver(repo, name)?;
            }
            format!(
                "configured driver {driver} to run this binary ({})",
                this_exe()
            )
        }
        Fix::Global => {
            super::install::write_global()?;
            format!(
                "rewrote driver {} in your global git config to run this binary ({}), as \
                 git-secret install does",
                crate::drivers::DRIVER,
                this_exe()
            )
        }
        Fix::Chmod { path, mode } => {
            chmod(path, *mode)?;
            format!("chmod {mode:o} {}", path.display())
        }
        Fix::Remove(path) => {
            let meta = fs::symlink_metadata(path);
            let removed = if meta.is_ok_and(|m| m.is_dir()) {
                fs::remove_dir_all(path)
            } else {
                crate::files::remove_if_exists(path)
            };
            removed.with_context(|| format!("cannot remove {}", path.display()))?;
            format!("removed {}", path.display())
        }
        Fix::Unsaved(ids) => {
            let store = repo.key_store();
            store.mark_saved(ids)?;
            let shown: Vec<String> = ids.iter().map(KeyId::to_string).collect();
            format!(
                "dropped key id(s) {} from {}",
                shown.join(", "),
                store.unsaved_path().display()
            )
        }
        Fix::Restore(path) => {
            // Still missing? A command may have written it since the check.
            if path.in_tree(repo.top()).symlink_metadata().is_err() {
                let args = ["--literal-pathspecs", "checkout", "--"].map(std::ffi::OsStr::new);
                repo.run_git_os(&[&args[..], &[path.as_os_str()]].concat(), None)
                    .with_context(|| format!("cannot restore {path}"))?;
            }
            format!("restored {path} from the index")
        }
        Fix::Hook => match hook::install(repo, session.reporter())? {
            Some(path) => format!("installed the pre-commit hook {}", path.display()),
            None => "left the pre-commit hook as it is (see the message above)".to_owned(),
        },
    })
}

/// This binary's path, for the `fixed:` lines ("" when unknown).
fn this_exe() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

#[cfg(not(unix))]
fn chmod(_: &Path, _: u32) -> Result<()> {
    Ok(())
}
