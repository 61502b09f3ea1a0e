//! `git-secret import-git-crypt KEYFILE...`: move a git-crypt repository
//! (locked or unlocked) over to git-secret, keeping its history readable.
//!
//! Everything that can refuse is checked first (the key decrypts the files,
//! no uncommitted changes). Then: git-secret keys are created (the git-crypt
//! keys join them read-only), both the git-secret and the git-crypt drivers
//! are pointed at git-secret (old commits still say `filter=git-crypt`),
//! `.gitattributes` files are rewritten, every covered file at HEAD is
//! re-encrypted and staged, and the work tree is checked out as plaintext.
//! Each step is idempotent, so an import interrupted anywhere is completed by
//! running it again (tests/it/gitcrypt.rs kills it at each step).

use super::preflight::{no_operation_in_progress, refuse_changes};
use crate::attrs::Marked;
use crate::attrs::{marked_files, paths_for};
use crate::checkout::{self, rewrite, user_changes};
use crate::cli::ImportGitCryptArgs;
use crate::drivers::{
    configure, configure_git_crypt_driver, driver_name, git_crypt_driver, key_name_of_driver,
    GIT_CRYPT_DRIVER,
};
use crate::format::Stored;
use crate::gitcrypt::{self, GitCryptKey};
use crate::key::Key;
use crate::keyring::KeyStore;
use crate::path::GitPath;
use crate::repo::Repo;
use crate::report::list_paths;
use crate::session::Session;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::process::ExitCode;

pub fn run(session: &Session, args: &ImportGitCryptArgs) -> Result<ExitCode> {
    let reporter = session.reporter();
    let mut by_name: BTreeMap<String, Vec<GitCryptKey>> = BTreeMap::new();
    for file in &args.files {
        let bytes = zeroize::Zeroizing::new(if file == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .context("cannot read standard input")?;
            buf
        } else {
            std::fs::read(file).with_context(|| format!("cannot read git-crypt key file {file}"))?
        });
        for key in gitcrypt::parse_key_file(&bytes, file)? {
            by_name.entry(key.name().to_owned()).or_default().push(key);
        }
    }
    let repo = session.repo()?;
    no_operation_in_progress(repo, "import")?;
    let _transaction = checkout::begin(repo, reporter)?;

    // Checks: each key decrypts the git-crypt files of its name; nothing uncommitted.
    let marked = marked_files(repo)?;
    for (name, keys) in &by_name {
        let mut tried = 0;
        let mut opened = false;
        for file in marked.iter().filter(|m| &m.key_name == name) {
            for oid in file.index_oid.into_iter().chain(repo.head_oid(&file.path)) {
                let blob = repo.read_blob(oid)?;
                if gitcrypt::is_blob(&blob) {
                    tried += 1;
                    opened |= gitcrypt::decrypt(keys, &blob).is_ok();
                }
            }
        }
        if tried == 0 {
            bail!(
                "no file in this repository is encrypted by git-crypt with key '{name}' \
                 (marked filter={}); is this the right repository and key file?",
                git_crypt_driver(name)
            );
        }
        if !opened {
            bail!("the git-crypt key '{name}' does not decrypt this repository's git-crypt files: wrong key file");
        }
    }
    let names: Vec<String> = by_name.keys().cloned().collect();
    // A staged git-secret blob under this clone's key where HEAD holds
    // git-crypt's is what an interrupted import staged, not a user change.
    let store = repo.key_store();
    let mut changed = user_changes(repo, &paths_for(&marked, &names))?;
    changed.retain(|path| !staged_by_import(repo, &store, &marked, path));
    refuse_changes(&changed, ", then import")?;

    // Keys and config.
    let mut current: BTreeMap<String, Key> = BTreeMap::new();
    for (name, keys) in &by_name {
        let key = match store.load(name)?.pop() {
            Some(existing) => existing,
            None => {
                let key = Key::generate(name, 1)?;
                store.save(name, &[&key])?;
                key
            }
        };
        store.add_git_crypt(name, &keys.iter().collect::<Vec<_>>())?;
        configure(repo, name)?;
        configure_git_crypt_driver(repo, name)?;
        current.insert(name.clone(), key);
    }
    crate::fault::crash_point("import:configured");

    // Attributes.
    let rewritten = rewrite_attributes(repo)?;
    crate::fault::crash_point("import:attributes");

    // Re-encrypt every covered file at HEAD (as the rewritten attributes mark them).
    let marked = marked_files(repo)?;
    let mut sealed = Vec::new();
    let mut were_plain = Vec::new();
    for file in &marked {
        let (Some(oid), Some(key)) = (file.index_oid, current.get(&file.key_name)) else {
            continue;
        };
        let blob = repo.read_blob(oid)?;
        let plaintext = match Stored::classify(&blob) {
            Stored::GitCrypt => {
                let keys = by_name
                    .get(&file.key_name)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                gitcrypt::decrypt(keys, &blob).with_context(|| file.path.clone())?
            }
            Stored::Plaintext => {
                were_plain.push(file.path.clone());
                blob
            }
            Stored::Encrypted(_) | Stored::Damaged | Stored::Empty => continue,
        };
        sealed.push((
            &file.path,
            crate::filter::blob_for(key.subkeys(), &plaintext),
        ));
    }
    // The work tree becomes plaintext first (smudged from the git-crypt
    // blobs still in the index), then the new blobs are staged: a crash in
    // between leaves plaintext that cleans back to the index's git-crypt
    // blob, so a rerun sees no changes and finishes the job.
    let files: Vec<&Marked> = marked
        .iter()
        .filter(|m| m.index_oid.is_some() && names.contains(&m.key_name))
        .collect();
    rewrite(repo, &files, &[], "import", reporter)?;
    let reencrypted = repo.stage_blobs(&sealed)?;
    crate::fault::crash_point("import:staged");
    // Staging reset the entries' stat data: record the work tree's again.
    let _ = repo.run_git(&["update-index", "-q", "--refresh"], None);
    crate::hook::install_or_warn(repo, reporter);

    for (name, key) in &current {
        reporter.note(format_args!(
            "Imported git-crypt key '{name}': git-secret key id {} now encrypts files marked filter={}.",
            key.id(),
            driver_name(name)
        ));
    }
    reporter.note(format_args!("Rewrote {rewritten} attribute line(s) in .gitattributes; re-encrypted and staged {reencrypted} file(s)."));
    if !were_plain.is_empty() {
        reporter.note(format_args!(
            "These were stored in plaintext before (committed before they were marked) and are now encrypted;\n\
             the old plaintext stays in history, so change those secrets:{}",
            list_paths(&were_plain)
        ));
    }
    reporter.note(
        "Next: review with `git status`, then commit. Old commits still check out, diff and merge: the\n\
         git-crypt key is kept read-only (and goes along with `git-secret export-key`).",
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether `path`'s index blob is what an interrupted import staged: a
/// git-secret blob under a key installed here (or git's empty blob, for an
/// empty file), where HEAD holds git-crypt's.
fn staged_by_import(repo: &Repo, store: &KeyStore, marked: &[Marked], path: &GitPath) -> bool {
    let Some(file) = marked.iter().find(|m| m.path == *path) else {
        return false;
    };
    let (Some(index), Some(head)) = (file.index_oid, repo.head_oid(path)) else {
        return false;
    };
    let held = store.load(&file.key_name).unwrap_or_default();
    let staged = match repo.stored(index) {
        Ok(Stored::Encrypted(id)) => held.iter().any(|k| k.id() == id),
        // An empty file: staged as git's empty blob.
        Ok(Stored::Empty) => true,
        _ => false,
    };
    staged && matches!(repo.stored(head), Ok(Stored::GitCrypt))
}

/// Rewrites `filter=git-crypt[-NAME]` and `diff=git-crypt[-NAME]` in every
/// tracked `.gitattributes` to git-secret's drivers, adding `merge=` and
/// `-text` where missing, and stages the files. Returns the lines changed.
fn rewrite_attributes(repo: &Repo) -> Result<usize> {
    let listing = repo.run_git(
        &["ls-files", "-z", "--", ".gitattributes", "*/.gitattributes"],
        None,
    )?;
    let mut changed_lines = 0;
    let mut changed_files = Vec::new();
    for path in listing.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let full = repo.top().join(&path);
        let Ok(text) = std::fs::read_to_string(&full) else {
            continue;
        };
        let mut out = String::with_capacity(text.len() + 64);
        let mut file_changed = false;
        for line in text.split_inclusive('\n') {
            let (body, newline) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            match rewrite_line(body) {
                Some(new) => {
                    out.push_str(&new);
                    changed_lines += 1;
                    file_changed = true;
                }
                None => out.push_str(body),
            }
            out.push_str(newline);
        }
        if file_changed {
            std::fs::write(&full, out).with_context(|| format!("cannot write {path}"))?;
            changed_files.push(path);
        }
    }
    if !changed_files.is_empty() {
        let mut args = vec!["--literal-pathspecs", "add", "--"];
        args.extend(changed_files.iter().map(String::as_str));
        repo.run_git(&args, None)?;
    }
    Ok(changed_lines)
}

/// One attributes line with git-crypt drivers replaced, or None if it has none.
fn rewrite_line(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return None;
    }
    let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let mut driver = None;
    for word in words.iter_mut().skip(1) {
        for attr in ["filter=", "diff="] {
            if let Some(name) = word.strip_prefix(attr).and_then(key_name_of_driver) {
                if word[attr.len()..].starts_with(GIT_CRYPT_DRIVER) {
                    let new = driver_name(name);
                    *word = format!("{attr}{new}");
                    driver = Some(new);
                }
            }
        }
    }
    let driver = driver?;
    if !words
        .iter()
        .any(|w| w.starts_with("merge=") || w == "-merge" || w == "!merge")
    {
        words.push(format!("merge={driver}"));
    }
    if !words
        .iter()
        .any(|w| w.trim_start_matches(['-', '!']).starts_with("text") || w.starts_with("eol="))
    {
        words.push("-text".to_owned());
    }
    Some(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::rewrite_line;

    #[test]
    fn rewrites_git_crypt_attributes() {
        assert_eq!(
            rewrite_line("secrets/** filter=git-crypt diff=git-crypt").as_deref(),
            Some("secrets/** filter=git-secret diff=git-secret merge=git-secret -text")
        );
        assert_eq!(
            rewrite_line("prod/** filter=git-crypt-prod diff=git-crypt-prod text").as_deref(),
            Some("prod/** filter=git-secret-prod diff=git-secret-prod text merge=git-secret-prod")
        );
        assert_eq!(rewrite_line(".gitattributes !filter !diff"), None);
        assert_eq!(rewrite_line("# filter=git-crypt"), None);
        assert_eq!(rewrite_line("*.png binary"), None);
    }
}
