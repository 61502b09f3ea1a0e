//! `git-secret edit`: one marked file edited in place of `ansible-vault
//! edit`, also in a locked clone. The plaintext goes into a private temp
//! file (0600, in a fresh 0700 directory, RAM-backed where the system has
//! one) for `$VISUAL`, else `$EDITOR`, else `vi`; the result is encrypted
//! exactly as the clean filter would store it, written to the work tree and
//! staged. The temp file is overwritten with zeros and removed whatever
//! happens: editor failure, an error of ours, or SIGINT/SIGTERM/SIGHUP.
//! In an unlocked clone the editor simply gets the work-tree file.

use crate::attrs::{key_names, marked_files, AttrSource};
use crate::cli::EditArgs;
use crate::commands::view::{keys_without_unlocking, open};
use crate::crypto::KeyId;
use crate::files::read_if_exists;
use crate::filter::blob_for;
use crate::format::{has_magic, Header, Stored};
use crate::gitcrypt;
use crate::path::{self, GitPath};
use crate::repo::Repo;
use crate::session::Session;
use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Overrides where the temp dir is made (tests, or a RAM disk elsewhere).
pub const TMPDIR_VAR: &str = "GIT_SECRET_TMPDIR";

/// How long the editor gets to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

pub fn run(session: &Session, args: &EditArgs) -> Result<ExitCode> {
    let repo = session.repo()?;
    let path = resolve(repo, &args.path)?;
    let Some(name) = key_names(repo, &[&path], &AttrSource::WorkTree)?
        .pop()
        .flatten()
    else {
        bail!(
            "{path} is not marked for encryption in .gitattributes; edit changes only marked \
             files (edit others with your editor)"
        );
    };
    let unmerged = repo.run_git_os(
        &[
            OsStr::new("--literal-pathspecs"),
            OsStr::new("ls-files"),
            OsStr::new("-u"),
            OsStr::new("--"),
            path.as_os_str(),
        ],
        None,
    )?;
    if !unmerged.is_empty() {
        // Staging the edit would silently resolve the conflict.
        bail!(
            "{path} has an unresolved merge conflict; resolve it first (`git-secret unlock`, or \
             `git checkout --ours -- {path}` / `--theirs`)"
        );
    }
    let file = path.in_tree(repo.top());
    let data = read_if_exists(&file).with_context(|| format!("cannot read {path}"))?;
    let editor = editor();
    let stdin_used = args.key.as_deref() == Some("-");

    // Unlocked (the key is installed and the file holds plaintext): git's
    // filter encrypts it on `git add`, so the editor gets the file itself.
    let looks_encrypted = |d: &[u8]| has_magic(d) || gitcrypt::is_blob(d);
    if session.keyring()?.current(&name).is_some() && !data.as_deref().is_some_and(looks_encrypted)
    {
        let status = spawn_editor(&editor, Path::new(&args.path), stdin_used)?.wait()?;
        if !status.success() {
            bail!("the editor ({editor}) {}", describe(status));
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Locked: every refusal comes before the editor starts.
    let keyring = keys_without_unlocking(session, args.key.as_deref())?;
    let old = match &data {
        Some(data) => Zeroizing::new(open(data, &keyring, &path.to_string(), args.key.is_some())?),
        None => Zeroizing::new(Vec::new()),
    };
    // As the clean filter does, never move a file to another key name.
    let header = data
        .as_deref()
        .and_then(|d| Header::parse(d).ok().flatten());
    if let Some(key) = header.and_then(|h| keyring.find(&h.key_id)) {
        if key.name() != name {
            bail!(
                "{path} is encrypted with key '{}' but .gitattributes marks it for key '{name}'; \
                 edit does not move a file to another key (a changed .gitattributes line?)",
                key.name()
            );
        }
    }
    let used = ids_in_use(repo, &name)?;
    // The newest generation of this repository's key: a key file of another
    // repository with the same key name must not encrypt here.
    let Some(current) = keyring
        .named(&name)
        .into_iter()
        .filter(|k| used.is_empty() || used.contains(&k.id()))
        .max_by_key(|k| k.generation())
    else {
        // With --key given, asking for --key again would not help.
        let (place, fix) = if args.key.is_some() {
            (
                " or in the key file given with --key",
                "pass the key file that holds it",
            )
        } else {
            (
                "",
                "pass the key file with --key FILE (or - for standard input)",
            )
        };
        if used.is_empty() {
            bail!(
                "no key for key name '{name}' is held here{place}, so {path} cannot be encrypted; \
                 {fix}, or unlock"
            );
        }
        let ids: Vec<String> = used.iter().map(ToString::to_string).collect();
        bail!(
            "no key held here{place} for key name '{name}' is the one this repository's files use \
             (key id {}), so {path} cannot be encrypted; {fix}, or unlock",
            ids.join(", ")
        );
    };

    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
            .context("cannot install the signal handler that wipes the temp file")?;
    }
    let mut scratch = Scratch::new(file_name(&path))?;
    scratch.write(&old)?;
    let mut child = spawn_editor(&editor, scratch.file(), stdin_used)?;
    let status = wait_or_stop(&mut child, &signal)?;
    let interrupted = |scratch: &mut Scratch, sig: usize| -> Result<ExitCode> {
        scratch.wipe()?;
        Ok(interrupted_exit(session, sig, &path))
    };
    let status = match status {
        Waited::Exited(status) => status,
        Waited::Interrupted(sig) => return interrupted(&mut scratch, sig),
    };
    if !status.success() {
        scratch.wipe()?;
        bail!(
            "the editor ({editor}) {}; {path} is unchanged",
            describe(status)
        );
    }
    let new =
        Zeroizing::new(fs::read(scratch.file()).with_context(|| {
            format!("the editor left no file to read back; {path} is unchanged")
        })?);
    scratch.wipe()?;
    let sig = signal.load(Ordering::SeqCst);
    if sig != 0 {
        return interrupted(&mut scratch, sig);
    }
    if new == old {
        session
            .reporter()
            .note(format_args!("{path}: no change; nothing written or staged"));
        return Ok(ExitCode::SUCCESS);
    }

    // What the clean filter stores for this plaintext with this generation
    // (the same function, deterministic), so the bytes are identical.
    let blob = blob_for(current.subkeys(), &new);
    write_atomically(&file, &blob).with_context(|| format!("cannot write {path}"))?;
    // Straight into the index: in locked mode `git add` refuses changed
    // ciphertext it cannot check.
    repo.stage_blobs(&[(&path, blob)])
        .with_context(|| format!("{path} was written but cannot be staged"))?;
    session.reporter().note(format_args!(
        "{path}: encrypted into the work tree and staged; commit it as usual"
    ));
    Ok(ExitCode::SUCCESS)
}

/// PATH (relative to the current directory) as a path from the top of the
/// work tree, refusing directories, symbolic links and anything outside
/// (resolved as view and exec resolve their paths: [`path::from_cwd`]).
fn resolve(repo: &Repo, arg: &OsStr) -> Result<GitPath> {
    let shown = Path::new(arg).display();
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let abs = cwd.join(arg);
    let meta = fs::symlink_metadata(&abs).ok();
    if meta.as_ref().is_some_and(fs::Metadata::is_dir) {
        bail!("{shown} is a directory; edit takes one marked file");
    }
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        bail!("{shown} is a symbolic link; git stores a link as its target, never encrypted");
    }
    let Ok(path) = path::from_cwd(repo.top(), &cwd, arg) else {
        bail!(
            "{shown} is outside the repository; edit changes only marked files of this work tree"
        );
    };
    if !abs.parent().is_some_and(Path::is_dir) {
        bail!("cannot edit {shown}: its directory does not exist");
    }
    Ok(path)
}

/// The key ids of the staged blobs of key name `name` (git-crypt blobs
/// and plaintext aside), oldest first.
fn ids_in_use(repo: &Repo, name: &str) -> Result<Vec<KeyId>> {
    let mut ids = Vec::new();
    for marked in marked_files(repo)? {
        let Some(oid) = marked.index_oid.filter(|_| marked.key_name == name) else {
            continue;
        };
        if let Stored::Encrypted(id) = repo.stored(oid)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// The file's base name, so the editor picks the syntax from its extension.
fn file_name(path: &GitPath) -> PathBuf {
    Path::new(path.as_os_str())
        .file_name()
        .map_or_else(|| PathBuf::from("secret"), PathBuf::from)
}

/// `$VISUAL`, else `$EDITOR`, else `vi` (as git picks its editor).
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

/// Runs the editor through `sh -c '<editor> "$@"'`, as git runs
/// core.editor, so `EDITOR="code --wait"` works. When the key came on
/// standard input, the editor reads the terminal instead.
fn spawn_editor(editor: &str, file: &Path, stdin_used: bool) -> Result<Child> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(file);
    if stdin_used {
        if let Ok(tty) = fs::File::open("/dev/tty") {
            cmd.stdin(tty);
        }
    }
    cmd.spawn()
        .with_context(|| format!("cannot start the editor ({editor})"))
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => format!("failed ({status})"),
    }
}

enum Waited {
    Exited(ExitStatus),
    Interrupted(usize),
}

/// Waits for the editor; when one of our signals arrives first, stops it
/// (and what it started) so nothing can write the plaintext back after the
/// wipe.
fn wait_or_stop(child: &mut Child, signal: &AtomicUsize) -> Result<Waited> {
    loop {
        let sig = signal.load(Ordering::SeqCst);
        if sig != 0 {
            stop(child);
            return Ok(Waited::Interrupted(sig));
        }
        if let Some(status) = child.try_wait()? {
            return Ok(Waited::Exited(status));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to the editor's shell and everything under it, SIGKILL to
/// whatever of it is still there after [`GRACE`].
fn stop(child: &mut Child) {
    use rustix::process::{kill_process, Pid, Signal};
    let tree = process_tree(child.id());
    let send = |sig: Signal| {
        for pid in tree.iter().filter_map(|&p| Pid::from_raw(p as i32)) {
            let _ = kill_process(pid, sig);
        }
    };
    send(Signal::TERM);
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    send(Signal::KILL);
    let _ = child.wait();
}

/// `pid` and its descendants (from /proc; just `pid` where that is missing).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        next += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            tree.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    tree
}

fn interrupted_exit(session: &Session, sig: usize, path: &GitPath) -> ExitCode {
    let name = match sig as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "SIGHUP",
    };
    session.reporter().error(&anyhow!(
        "interrupted by {name}; {path} is unchanged and the temporary plaintext was wiped"
    ));
    // The shell convention for "killed by this signal".
    ExitCode::from(128u8.saturating_add(sig as u8))
}

/// The private temp dir holding the plaintext while the editor runs; every
/// file in it is overwritten with zeros and removed by [`Scratch::wipe`],
/// and on drop (an error of ours) if that has not happened.
struct Scratch {
    dir: Option<tempfile::TempDir>,
    file: PathBuf,
}

impl Scratch {
    /// A fresh 0700 dir in `$GIT_SECRET_TMPDIR` if set, else the first of
    /// /dev/shm (RAM), `$XDG_RUNTIME_DIR` (per-user, usually RAM) and the
    /// system temp dir that takes one.
    fn new(name: PathBuf) -> Result<Scratch> {
        let roots: Vec<PathBuf> = match std::env::var_os(TMPDIR_VAR).filter(|d| !d.is_empty()) {
            Some(dir) => vec![dir.into()],
            None => [Some("/dev/shm".into()), std::env::var_os("XDG_RUNTIME_DIR")]
                .into_iter()
                .flatten()
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .chain([std::env::temp_dir()])
                .collect(),
        };
        let mut last = None;
        for root in &roots {
            match tempfile::Builder::new()
                .prefix("git-secret-edit-")
                .permissions(fs::Permissions::from_mode(0o700))
                .tempdir_in(root)
            {
                Ok(dir) => {
                    let file = dir.path().join(&name);
                    return Ok(Scratch {
                        dir: Some(dir),
                        file,
                    });
                }
                Err(e) => last = Some((root, e)),
            }
        }
        let (root, e) = last.expect("there is always the system temp dir");
        Err(anyhow!(e)).with_context(|| {
            format!(
                "cannot create a private temp dir in {} (set {TMPDIR_VAR} to a directory of yours)",
                root.display()
            )
        })
    }

    fn file(&self) -> &Path {
        &self.file
    }

    fn write(&self, plaintext: &[u8]) -> Result<()> {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.file)
            .context("cannot create the temp file")?;
        out.write_all(plaintext)
            .and_then(|()| out.flush())
            .context("cannot write the temp file")
    }

    /// Zeros over every regular file the editor left (swap and backup files
    /// included), then removes the dir. Links are removed, never followed.
    fn wipe(&mut self) -> Result<()> {
        let Some(dir) = self.dir.take() else {
            return Ok(());
        };
        let mut result = zero_files(dir.path());
        let shown = dir.path().display().to_string();
        if let Err(e) = dir.close() {
            result = result.and(Err(e.into()));
        }
        result.with_context(|| format!("cannot wipe and remove the temp dir {shown}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self.wipe();
    }
}

fn zero_files(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            zero_files(&path)?;
        } else if meta.is_file() {
            let mut out = fs::OpenOptions::new().write(true).open(&path)?;
            let zeros = vec![0u8; 1 << 16];
            let mut left = meta.len();
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                out.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            out.sync_data()?;
        }
    }
    Ok(())
}

/// Replaces `file` by a complete new one (same directory, then rename),
/// keeping the old file's permissions.
fn write_atomically(file: &Path, contents: &[u8]) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".git-secret-edit")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = fs::metadata(file) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}
