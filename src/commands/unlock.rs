//! `git-secret unlock`: install keys, then decrypt the marked files in the work tree.
//!
//! Three steps, each its own function: gather the offered keys (key files, or
//! else the personal ring and, when it falls short or a newer one arrived,
//! `.git-secret/keys.age`), plan what to
//! install (checked against the key ids the repository's blobs need; nothing
//! has changed yet, so every refusal leaves the repository as it was), then
//! apply: keys, config, re-checkout. If the re-checkout fails, keys and config
//! are put back as they were.

use super::preflight::{no_operation_in_progress, no_uncommitted_changes};
use crate::attrs::{marked_files, paths_for, Marked};
use crate::checkout::{self, rewrite};
use crate::cli::UnlockArgs;
use crate::crypto::KeyId;
use crate::drivers::{self, driver_name, git_crypt_driver};
use crate::format::{file_has_magic, Stored};
use crate::key::{parse_key_file_all, Key};
use crate::keyring::ring::Provenance;
use crate::keyring::{read_key_file, trust, KeyStore, Keyring, Ring};
use crate::path::GitPath;
use crate::recipients;
use crate::repo::Repo;
use crate::report::Reporter;
use crate::session::Session;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

/// Key ids the stored blobs (index and HEAD) of marked files carry, per key name.
type Needed = BTreeMap<String, BTreeSet<KeyId>>;

/// One key name to install: what the store held before, and the generations to add.
struct Install<'k> {
    name: String,
    installed: Vec<Key>,
    given: Vec<&'k Key>,
}

/// Where the offered keys came from.
#[derive(Clone, Copy)]
enum Source {
    Files,
    Ring,
    Wrapped,
}

pub fn run(session: &Session, args: &UnlockArgs) -> Result<ExitCode> {
    let reporter = session.reporter();
    // Keys piped in on standard input (CI) are never saved in the ring: a
    // runner must keep no key material once `lock` has run.
    let mut offered = Keyring::default();
    let mut from_stdin = BTreeSet::new();
    for file in &args.files {
        let keys = read_key_file(file, reporter)?;
        if file == "-" {
            from_stdin.extend(keys.keys.iter().map(|k| k.id()));
        }
        offered.extend(keys);
    }
    let repo = session.repo()?;
    no_operation_in_progress(repo, "unlock")?;
    let _transaction = checkout::begin(repo, reporter)?;
    let store = repo.key_store();
    let marked = marked_files(repo)?;
    let needed = needed_ids(repo, &marked)?;
    let (offered, source, from_ring) = if args.files.is_empty() {
        match offered_without_files(repo, &needed, args.passphrase_fd, reporter) {
            Ok(offered) => offered,
            Err(e) => {
                // Nothing offered, but nothing missing either: a no-op, not a
                // failure. Unless a newer keys.age (a rotation on its way) was
                // what could not be opened: that the user must hear.
                let held = already_unlocked(repo, &store, &marked, &needed)?;
                if held.is_empty() || wrapped_versions(repo).iter().any(|v| v.newer) {
                    return Err(e);
                }
                for (name, id) in held {
                    reporter.note(format_args!(
                        "Key '{name}' (id {id}) is already unlocked here; nothing to do."
                    ));
                }
                refresh_drivers(repo, &marked_names(&marked), reporter)?;
                return Ok(ExitCode::SUCCESS);
            }
        }
    } else {
        (offered, Source::Files, BTreeSet::new())
    };

    let plan = plan(repo, &store, &offered, &marked, &needed, reporter)?;
    vet_plan(&store, &plan, &offered, source, &from_ring, reporter)?;
    let marked_names = marked_names(&marked);
    if plan.is_empty() {
        if refresh_drivers(repo, &marked_names, reporter)? {
            crate::hook::install_or_warn(repo, reporter);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<String> = plan.iter().map(|i| i.name.clone()).collect();
    let paths = paths_for(&marked, &names);
    no_uncommitted_changes(repo, &paths, ", then unlock again")?;

    apply(repo, &store, &plan, &offered, &marked, reporter)?;
    refresh_drivers(repo, &marked_names, reporter)?;
    restore_arrived_own_files(repo, reporter);
    crate::hook::install_or_warn(repo, reporter);
    if !args.no_ring && matches!(source, Source::Files | Source::Wrapped) {
        save_in_ring(repo, &plan, &from_stdin, reporter);
    }
    for install in &plan {
        let name = &install.name;
        let count = marked.iter().filter(|m| &m.key_name == name).count();
        let newest = install
            .given
            .iter()
            .max_by_key(|k| k.generation())
            .expect("at least one key per name");
        reporter.note(format_args!(
            "Unlocked key '{name}' (id {}): {count} marked file(s) decrypted in the work tree.",
            newest.id()
        ));
        if count == 0 {
            reporter.note(format_args!(
                "Note: no tracked file is marked filter={} in .gitattributes yet.",
                driver_name(name)
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Points drivers that name a missing binary, or another one, at this
/// binary (also when there is nothing else to do). Returns whether any was
/// rewritten (then the hook, which names the binary too, needs refreshing).
fn refresh_drivers(repo: &Repo, marked_names: &[String], reporter: &Reporter) -> Result<bool> {
    let rewritten = drivers::refresh_stale(repo, marked_names)?;
    if rewritten.is_empty() {
        return Ok(false);
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for (driver, program) in &rewritten {
        if program.is_empty() {
            reporter.note(format_args!(
                "Configured driver {driver} to run this binary ({exe})."
            ));
            continue;
        }
        let why = if std::path::Path::new(program).exists() {
            format!("ran another binary, {program}")
        } else {
            format!("ran {program}, which no longer exists")
        };
        reporter.note(format_args!(
            "Pointed driver {driver} at this binary ({exe}): it {why}."
        ));
    }
    Ok(true)
}

/// The key names the marked files use, each once.
fn marked_names(marked: &[Marked]) -> Vec<String> {
    marked
        .iter()
        .map(|m| m.key_name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// When the store already holds every key id the repository needs and the
/// work tree holds their plaintext: each key name with its newest held id.
/// Empty otherwise (or when nothing is needed).
fn already_unlocked(
    repo: &Repo,
    store: &KeyStore,
    marked: &[Marked],
    needed: &Needed,
) -> Result<Vec<(String, KeyId)>> {
    let held = Keyring::load(store)?;
    let mut unlocked = Vec::new();
    for (name, ids) in needed {
        if !ids.iter().all(|id| held.holds(id)) || needs_checkout(repo, marked, name)? {
            return Ok(Vec::new());
        }
        let Some(newest) = held.current(name) else {
            return Ok(Vec::new());
        };
        unlocked.push((name.clone(), newest.id()));
    }
    Ok(unlocked)
}

fn needed_ids(repo: &Repo, marked: &[Marked]) -> Result<Needed> {
    let mut needed = Needed::new();
    for file in marked {
        for oid in file.index_oid.into_iter().chain(repo.head_oid(&file.path)) {
            if let Stored::Encrypted(id) = repo.stored(oid)? {
                needed.entry(file.key_name.clone()).or_default().insert(id);
            }
        }
    }
    Ok(needed)
}

/// No key file given: the personal key ring, and the keys wrapped for this
/// repository's recipients (`.git-secret/keys.age`) when the ring does not
/// cover every id the repository needs, or when a keys.age other than
/// HEAD's has arrived (a pull of a rotation: written to the work tree by a
/// checkout that then failed, or still only in the branch's upstream).
///
/// When no identity opens keys.age and the list has a passphrase recipient,
/// the passphrase is asked on the terminal (or read from `passphrase_fd`,
/// which skips the identities).
fn offered_without_files(
    repo: &Repo,
    needed: &Needed,
    passphrase_fd: Option<u32>,
    reporter: &Reporter,
) -> Result<(Keyring, Source, BTreeSet<KeyId>)> {
    let ring = keys_from_ring(repo, needed, reporter);
    let covered = ring
        .as_ref()
        .is_ok_and(|r| needed.values().flatten().all(|id| r.holds(id)));
    let versions = wrapped_versions(repo);
    let ids = |ring: &Keyring| ring.keys().iter().map(Key::id).collect::<BTreeSet<_>>();
    if versions.is_empty() || (covered && !versions.iter().any(|v| v.newer)) {
        return ring.map(|r| {
            let from_ring = ids(&r);
            (r, Source::Ring, from_ring)
        });
    }
    let mut opened = Vec::new();
    let mut failure = None;
    let listed = recipients::read_list(repo.top()).unwrap_or_default();
    let by_passphrase = passphrase_recipient(repo, &listed);
    if passphrase_fd.is_some() && by_passphrase.is_none() {
        reporter.note(format_args!(
            "git-secret: --passphrase-fd is not used: this repository lists no passphrase recipient with its {}.",
            recipients::PASSPHRASE_FILE
        ));
    }
    for version in versions
        .iter()
        .filter(|_| passphrase_fd.is_none() || by_passphrase.is_none())
    {
        match recipients::unwrap_bytes(&version.bytes, &listed, reporter) {
            Ok((text, identity)) => {
                opened.push(parse_key_file_all(&text, recipients::WRAPPED)?);
                reporter.note(format_args!(
                    "Opened {}{} with {}.",
                    recipients::WRAPPED,
                    version.from,
                    identity.display()
                ));
            }
            Err(e) => failure = Some(e),
        }
    }
    if opened.is_empty() && !covered {
        if let Some(listed) = &by_passphrase {
            let prompt = format!(
                "Passphrase of this repository's passphrase recipient ({}):",
                listed.fingerprint()
            );
            match crate::passphrase::existing(passphrase_fd, &prompt)? {
                Some(passphrase) => {
                    let identity = recipients::passphrase_identity(repo.top(), listed, passphrase)?;
                    let identities: Vec<Box<dyn age::Identity>> = vec![Box::new(identity)];
                    for version in &versions {
                        if let Ok(text) = recipients::decrypt_with(&version.bytes, &identities)? {
                            opened.push(parse_key_file_all(&text, recipients::WRAPPED)?);
                            reporter.note(format_args!(
                                "Opened {}{} with the passphrase.",
                                recipients::WRAPPED,
                                version.from
                            ));
                        }
                    }
                    if opened.is_empty() {
                        bail!(
                            "{} is not wrapped for the passphrase recipient {}: ask someone who can unlock \
                             to run `git-secret rotate`, which re-wraps it. Nothing was changed",
                            recipients::WRAPPED,
                            listed.fingerprint()
                        );
                    }
                }
                None => {
                    failure = failure.map(|e| {
                        anyhow::anyhow!(
                            "{e:#}. This repository also has a passphrase recipient ({}): run `git-secret \
                             unlock` on a terminal to be asked for its passphrase, or with --passphrase-fd N",
                            listed.fingerprint()
                        )
                    });
                }
            }
        }
    }
    if opened.is_empty() {
        return match ring {
            Ok(ring) if covered => {
                let from_ring = ids(&ring);
                Ok((ring, Source::Ring, from_ring))
            }
            _ => Err(failure.expect("a version was tried")),
        };
    }
    let mut keys = ring.unwrap_or_default();
    let from_ring = ids(&keys);
    for file in opened {
        keys.extend(file);
    }
    Ok((keys, Source::Wrapped, from_ring))
}

/// The list's passphrase recipient, when its sealed identity is here too.
fn passphrase_recipient(
    repo: &Repo,
    listed: &[recipients::Recipient],
) -> Option<recipients::Recipient> {
    if !repo.top().join(recipients::PASSPHRASE_FILE).is_file() {
        return None;
    }
    listed.iter().find(|r| r.is_passphrase()).cloned()
}

/// One version of `.git-secret/keys.age` that unlock may open.
struct Wrapped {
    /// Where it comes from, for messages ("" for the work tree).
    from: &'static str,
    bytes: Vec<u8>,
    /// Not the version HEAD holds.
    newer: bool,
}

/// The work tree's keys.age, and the upstream branch's when it differs from
/// HEAD's and from the work tree's (what `git pull` is about to bring).
fn wrapped_versions(repo: &Repo) -> Vec<Wrapped> {
    let blob_id = |spec: &str| {
        repo.run_git(&["rev-parse", "-q", "--verify", spec], None)
            .ok()
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
            .filter(|id| !id.is_empty())
    };
    let head = blob_id(&format!("HEAD:{}", recipients::WRAPPED));
    let mut versions = Vec::new();
    if let Ok(bytes) = std::fs::read(repo.top().join(recipients::WRAPPED)) {
        let id = repo
            .run_git(&["hash-object", "--stdin"], Some(&bytes))
            .ok()
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned());
        versions.push(Wrapped {
            from: "",
            newer: head.is_some() && id != head,
            bytes,
        });
    }
    if let Some(upstream) = blob_id(&format!("@{{upstream}}:{}", recipients::WRAPPED)) {
        if Some(&upstream) != head.as_ref() {
            if let Ok(bytes) = repo.run_git(&["cat-file", "blob", &upstream], None) {
                if !versions.iter().any(|v| v.bytes == bytes) {
                    versions.push(Wrapped {
                        from: " (of the upstream branch)",
                        newer: true,
                        bytes,
                    });
                }
            }
        }
    }
    versions
}

/// Puts back the tool's own files that a failed checkout (a pull whose
/// smudge failed before the new key was installed) left at the upstream
/// branch's version: the next `git pull` would refuse to overwrite them.
/// Their content is the upstream's blob, so nothing is lost.
fn restore_arrived_own_files(repo: &Repo, reporter: &Reporter) {
    let blob_id = |args: &[&str]| {
        repo.run_git(args, None)
            .ok()
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
            .filter(|id| !id.is_empty())
    };
    let mut restored = Vec::new();
    for path in [
        recipients::LIST,
        recipients::WRAPPED,
        recipients::PASSPHRASE_FILE,
    ] {
        let upstream = blob_id(&[
            "rev-parse",
            "-q",
            "--verify",
            &format!("@{{upstream}}:{path}"),
        ]);
        let index = blob_id(&["rev-parse", "-q", "--verify", &format!(":{path}")]);
        let here = blob_id(&["hash-object", "--", path]);
        if upstream.is_some() && here == upstream && here != index && index.is_some() {
            restored.push(path);
        }
    }
    if restored.is_empty() {
        return;
    }
    let mut args = vec!["--literal-pathspecs", "checkout", "--"];
    args.extend(&restored);
    match repo.run_git(&args, None) {
        Ok(_) => reporter.note(format_args!(
            "Put back {} as committed: a failed pull had left the upstream's version there; `git pull` brings it again.",
            restored.join(" and ")
        )),
        Err(e) => reporter.warn(format_args!("could not put back {}: {e:#}", restored.join(" and "))),
    }
}

/// Per offered key name: the generations to install, checked against the
/// ids the repository needs. Names already installed (and checked out) are
/// reported and left out.
fn plan<'k>(
    repo: &Repo,
    store: &KeyStore,
    offered: &'k Keyring,
    marked: &[Marked],
    needed: &Needed,
    reporter: &Reporter,
) -> Result<Vec<Install<'k>>> {
    let mut plan = Vec::new();
    for name in offered.names() {
        let no_ids = BTreeSet::new();
        let needed = needed.get(&name).unwrap_or(&no_ids);
        let given = choose_generations(offered.named(&name), needed, reporter);
        check_key_matches(&name, &given, needed)?;
        let installed = store.load(&name)?;
        if given
            .iter()
            .all(|k| installed.iter().any(|i| i.id() == k.id()))
            && !needs_checkout(repo, marked, &name)?
        {
            reporter.note(format_args!(
                "Key '{name}' (id {}) is already unlocked here; nothing to do for it.",
                given[0].id()
            ));
            continue;
        }
        plan.push(Install {
            name,
            installed,
            given,
        });
    }
    Ok(plan)
}

/// Refuses the plan unless the trust this clone already has vouches for
/// every key it installs (`keyring::trust`). Nothing has changed yet.
fn vet_plan(
    store: &KeyStore,
    plan: &[Install],
    offered: &Keyring,
    source: Source,
    from_ring: &BTreeSet<KeyId>,
    reporter: &Reporter,
) -> Result<()> {
    let installed = Keyring::load(store)?;
    let given: Vec<&Key> = plan.iter().flat_map(|i| i.given.iter().copied()).collect();
    let ring: Vec<&Key> = offered
        .keys()
        .iter()
        .filter(|k| from_ring.contains(&k.id()))
        .collect();
    let route = match source {
        Source::Files => trust::Route::KeyFile,
        Source::Ring => trust::Route::Ring,
        Source::Wrapped => trust::Route::Wrapped,
    };
    let ask = |question: &str| reporter.confirm(question);
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let confirm = |question: &str| ask(question).unwrap_or(false);
    trust::vet(
        &given,
        installed.keys(),
        &ring,
        route,
        interactive.then_some(&confirm as &dyn Fn(&str) -> bool),
        reporter,
    )
}

/// Keys, then config, then the work tree. Every key name the marked files
/// use gets its filter configured, held or not: an unheld one runs in locked
/// mode and so refuses to store plaintext at its paths. On failure, keys and
/// the drivers this run configured from scratch are put back.
fn apply(
    repo: &Repo,
    store: &KeyStore,
    plan: &[Install],
    offered: &Keyring,
    marked: &[Marked],
    reporter: &Reporter,
) -> Result<()> {
    let files: Vec<&Marked> = marked
        .iter()
        .filter(|m| m.index_oid.is_some() && plan.iter().any(|i| i.name == m.key_name))
        .collect();
    let mut to_configure: BTreeSet<String> = marked.iter().map(|m| m.key_name.clone()).collect();
    to_configure.extend(plan.iter().map(|i| i.name.clone()));
    // Drivers configured from scratch, to remove if this fails: ours, and
    // git-crypt's for names whose key file carries git-crypt keys.
    let mut unconfigured: Vec<String> = to_configure.iter().map(|n| driver_name(n)).collect();
    unconfigured.extend(
        offered
            .git_crypt()
            .iter()
            .map(|k| git_crypt_driver(k.name())),
    );
    unconfigured.sort();
    unconfigured.dedup();
    unconfigured.retain(|driver| !drivers::is_configured(repo, driver));

    let result = (|| -> Result<()> {
        for install in plan {
            let mut keys: Vec<&Key> = install.installed.iter().collect();
            keys.extend(
                install
                    .given
                    .iter()
                    .filter(|k| !install.installed.iter().any(|i| i.id() == k.id())),
            );
            keys.sort_by_key(|k| k.generation());
            store.save(&install.name, &keys)?;
            let legacy = offered.git_crypt_named(&install.name);
            if !legacy.is_empty() {
                store.add_git_crypt(&install.name, &legacy)?;
                drivers::configure_git_crypt_driver(repo, &install.name)?;
            }
        }
        for name in &to_configure {
            drivers::configure(repo, name)?;
        }
        crate::fault::crash_point("unlock:key-installed");
        rewrite(repo, &files, &[], "unlock", reporter).map(drop)
    })();
    if let Err(e) = result {
        for install in plan {
            let _ = if install.installed.is_empty() {
                store.remove(&install.name)
            } else {
                store.save(&install.name, &install.installed.iter().collect::<Vec<_>>())
            };
        }
        for driver in &unconfigured {
            drivers::unconfigure(repo, driver);
        }
        // Back to ciphertext whatever the failed rewrite got to.
        let _ = rewrite(repo, &files, &[], "unlock", reporter);
        return Err(e.context("unlock failed; the repository was left locked as it was"));
    }
    // Keys that came from outside exist elsewhere, whatever this clone recorded.
    let ids: Vec<KeyId> = plan
        .iter()
        .flat_map(|i| i.given.iter().map(|k| k.id()))
        .collect();
    store.mark_saved(&ids)
}

/// Keys given as files (or opened from keys.age) go into the personal ring,
/// so the next `unlock` needs no file; keys from standard input do not. A
/// failure is only a warning.
fn save_in_ring(repo: &Repo, plan: &[Install], from_stdin: &BTreeSet<KeyId>, reporter: &Reporter) {
    let from = Provenance::of(repo);
    for install in plan {
        let keys: Vec<&Key> = install
            .given
            .iter()
            .copied()
            .filter(|k| !from_stdin.contains(&k.id()))
            .collect();
        match Ring::open().and_then(|ring| ring.store(&keys, &from, reporter)) {
            Ok(true) => reporter.note(
                "Saved the key in your key ring; next time `git-secret unlock` needs no file.",
            ),
            Ok(false) => {}
            Err(e) => reporter.warn(format_args!(
                "could not save the key in your key ring: {e:#}"
            )),
        }
    }
}

/// Whether files of key `name` still await decryption in the work tree (an
/// interrupted unlock, or a pull whose smudge failed): still ciphertext, or
/// missing though the work tree should hold them.
fn needs_checkout(repo: &Repo, marked: &[Marked], name: &str) -> Result<bool> {
    let paths: Vec<&GitPath> = marked
        .iter()
        .filter(|m| m.key_name == name && m.index_oid.is_some())
        .map(|m| &m.path)
        .collect();
    Ok(checkout::present(repo, &paths)?.iter().any(|path| {
        let file = path.in_tree(repo.top());
        !file.exists() || file_has_magic(&file)
    }))
}

/// Refuses a key that none of the stored files of its name were encrypted with.
fn check_key_matches(name: &str, given: &[&Key], needed: &BTreeSet<KeyId>) -> Result<()> {
    if needed.is_empty() || given.iter().any(|k| needed.contains(&k.id())) {
        return Ok(());
    }
    let first = needed.iter().next().expect("checked non-empty");
    bail!(
        "this key is not the one this repository's files were encrypted with: key '{name}' has id {}, \
         the files need {first}{}. Ask a teammate for the right key file (git-secret export-key)",
        given[0].id(),
        if needed.len() > 1 { format!(" (and {} other id(s))", needed.len() - 1) } else { String::new() }
    );
}

/// Concatenated key files from several repositories may hold different keys
/// with the same name and generation; keep the ones this repository uses.
fn choose_generations<'k>(
    mut given: Vec<&'k Key>,
    needed: &BTreeSet<KeyId>,
    reporter: &Reporter,
) -> Vec<&'k Key> {
    given.sort_by_key(|k| (k.generation(), !needed.contains(&k.id())));
    let mut chosen: Vec<&Key> = Vec::new();
    for key in given {
        match chosen.last() {
            Some(last) if last.generation() == key.generation() => {
                reporter.note(format_args!(
                    "git-secret: ignoring key '{}' generation {} id {}: another key with that name and generation is used here",
                    key.name(),
                    key.generation(),
                    key.id()
                ));
            }
            _ => chosen.push(key),
        }
    }
    chosen
}

/// With no key file given: the ring families holding an id the repository
/// needs. A family saved from another repository (no root commit or origin
/// URL in common) is used only when the user says so on a terminal: anyone
/// can make a repository that holds a copy of an encrypted file.
fn keys_from_ring(repo: &Repo, needed: &Needed, reporter: &Reporter) -> Result<Keyring> {
    let ring = Ring::open()?;
    let all: BTreeSet<&KeyId> = needed.values().flatten().collect();
    if all.is_empty() {
        bail!("no key file given, and this repository has no encrypted files to match a key from your ring against; pass the key file: `git-secret unlock KEYFILE`");
    }
    let here = Provenance::of(repo);
    let mut keys = Keyring::default();
    for family in ring.families(reporter)? {
        let Some(key) = family.keys.iter().find(|k| all.contains(&k.id())) else {
            continue;
        };
        if !family.from.is_empty() && !family.from.matches(&here) {
            let what = format!("key '{}' (id {})", key.name(), key.id());
            match reporter.confirm(format_args!(
                "Your key ring holds {what}, saved from another repository (no root commit or origin URL \
                 in common with this one). Use it to decrypt this repository? [y/N] "
            )) {
                Some(true) => {
                    if let Err(e) = ring.record(&family, &here, reporter) {
                        reporter.warn(format_args!(
                            "could not record this repository in your key ring: {e:#}"
                        ));
                    }
                }
                Some(false) => bail!(
                    "not using {what} from your key ring. Nothing was changed. To decrypt this \
                     repository, pass the key file explicitly: `git-secret unlock KEYFILE`"
                ),
                None => bail!(
                    "your key ring holds {what} that this repository's files need, but it was saved \
                     from another repository (no root commit or origin URL in common with this one), and \
                     anyone can make a repository that holds a copy of an encrypted file. Nothing was \
                     changed. If this repository really should be decrypted with that key, pass the key \
                     file explicitly: `git-secret unlock KEYFILE`"
                ),
            }
        }
        for key in family.keys {
            keys.insert(key);
        }
    }
    if keys.is_empty() {
        let ids: Vec<String> = all.iter().map(|id| id.to_string()).collect();
        bail!(
            "no key file given, and your key ring ({}) holds none of the keys this repository needs ({}); \
             pass the key file: `git-secret unlock KEYFILE`",
            ring.dir().display(),
            ids.join(", ")
        );
    }
    Ok(keys)
}
