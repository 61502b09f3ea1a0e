//! Command-line interface (clap derive): porcelain first, then what git calls.
//! Each command takes its own `Args` struct, which its module's `run` receives.

use crate::key::DEFAULT_NAME;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "git-secret",
    version,
    about = "Keep secrets in a git repository, encrypted",
    long_about = "Keep secrets in a git repository, encrypted.\n\n\
        Files marked in .gitattributes (filter=git-secret diff=git-secret merge=git-secret -text) are \
        encrypted when git stores them and decrypted when git checks them out.\n\n\
        Exit codes: 0 success, 1 refused or failed (the message says why and what to do), 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct KeyName {
    /// The key to act on (files marked filter=git-secret-NAME)
    #[arg(short = 'k', long = "key-name", value_name = "NAME", default_value = DEFAULT_NAME)]
    pub name: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new random key for this repository and configure git to use it
    Init(InitArgs),
    /// Install key file(s) and decrypt the marked files in the work tree
    ///
    /// With no KEYFILE, uses the keys in your personal key ring that this
    /// repository needs, and opens .git-secret/keys.age when the ring does not
    /// cover every id needed or a newer keys.age arrived (in the work tree, or
    /// in the branch's upstream). Keys given as files are saved in the ring too.
    ///
    /// keys.age is opened with the first of these identity files that exists
    /// and opens it, tried in this order: each file named in
    /// $GIT_SECRET_IDENTITY (a list like PATH), ~/.config/git-secret/identity.txt
    /// ($XDG_CONFIG_HOME/git-secret/identity.txt when set; on macOS
    /// ~/Library/Application Support/git-secret/identity.txt), ~/.ssh/id_ed25519,
    /// ~/.ssh/id_rsa.
    ///
    /// A key file may also be UTF-16 or have a byte-order mark (as PowerShell
    /// writes it), be base64 of the whole file, or have lost its line breaks
    /// to spaces (a CI variable): the key id check still catches any damage.
    ///
    /// Drivers that name a git-secret binary that is missing or not this one
    /// are pointed at this binary, even when there is nothing else to do.
    Unlock(UnlockArgs),
    /// Remove the key and turn the marked files in the work tree back into ciphertext
    Lock(LockArgs),
    /// Write the key to a file (mode 0600) or `-` for standard output, to share it
    ExportKey(ExportKeyArgs),
    /// Move a git-crypt repository to git-secret, keeping its history readable
    ImportGitCrypt(ImportGitCryptArgs),
    /// Let someone unlock with their own age or SSH key: wraps the keys for them under .git-secret/
    AddUser(AddUserArgs),
    /// List who can unlock with their own key (fingerprint, type, comment)
    ListUsers,
    /// Remove a recipient and rotate the keys, re-wrapping them for the others
    RemoveUser(RemoveUserArgs),
    /// List the keys held here and in your key ring (never the key material)
    Keys,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the man page (roff) to standard output, or write every page to a directory
    ///
    /// `git-secret man --dir ~/.local/share/man/man1` installs git-secret.1 and a
    /// git-secret-COMMAND.1 per command where man finds them, so that `git secret --help`
    /// (which git turns into `man git-secret`) and `man git-secret-unlock` work.
    Man(ManArgs),
    /// Make a new key generation, re-encrypt every file it covers and stage them
    /// (and re-wrap .git-secret/keys.age for the recipients, if any)
    Rotate(RotateArgs),
    /// List marked files and whether each is stored encrypted; exit 1 on a plaintext leak
    Status(StatusArgs),
    /// Print the plaintext of marked files, also in a locked clone; nothing is written to disk
    View(ViewArgs),
    /// Edit one marked file, also in a locked clone: decrypted into a private temp
    /// file for $VISUAL/$EDITOR (else vi), then encrypted back and staged
    ///
    /// The temp dir is made in $GIT_SECRET_TMPDIR if set, else /dev/shm (RAM),
    /// else $XDG_RUNTIME_DIR, else the system temp dir; the file is wiped and
    /// removed afterwards, also when the editor fails or on Ctrl-C/SIGTERM.
    /// A marked path that does not exist yet is created. In an unlocked clone
    /// the editor gets the work-tree file itself.
    Edit(EditArgs),
    /// Check the setup (drivers, attributes, keys, modes, hooks, leftovers) and name each problem with its fix
    ///
    /// One line per finding on standard output: `problem: …; fix: …`, or
    /// `note: …` for what is no problem (a locked key). Exit 1 while a problem
    /// remains. With --fix, does what is safe (drivers, modes, leftovers of
    /// killed commands, the hook), says so in `fixed: …` lines, and checks again.
    Doctor(DoctorArgs),
    /// Run a command with the variables of encrypted dotenv files in its environment; nothing is written to disk
    Exec(ExecArgs),
    /// Configure the default driver in your global git config: every clone starts in locked mode
    Install,
    /// Remove what `install` wrote to your global git config
    Uninstall,
    /// Refuse plaintext at marked paths: in the index (pre-commit) or in pushed commits (pre-receive, CI)
    Check(CheckArgs),
    /// Report every plaintext blob at a marked path in history; exit 1 if any
    Audit(AuditArgs),

    // Plumbing: configured by init/unlock, run by git.
    /// [plumbing] Encrypt standard input to standard output (git's clean filter)
    Clean(FilterArgs),
    /// [plumbing] Decrypt standard input to standard output (git's smudge filter)
    Smudge(FilterArgs),
    /// [plumbing] Serve git's long-running filter protocol (version 2) on stdin/stdout
    FilterProcess(FilterProcessArgs),
    /// [plumbing] Three-way merge of encrypted files (git's merge driver: %O %A %B %L %P %X %S %Y)
    Merge(MergeArgs),
    /// [plumbing] Print the plaintext of FILE for git diff (git's textconv)
    Textconv(TextconvArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub key: KeyName,
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// Key files to install; `-` reads standard input
    #[arg(value_name = "KEYFILE")]
    pub files: Vec<String>,
    /// Do not save the keys in your personal key ring
    #[arg(long)]
    pub no_ring: bool,
    /// Read the passphrase of the repository's passphrase recipient from this
    /// open file descriptor (its first line) instead of your identities opening
    /// .git-secret/keys.age. Without it, the passphrase is asked on a terminal
    /// when no identity opens the file
    #[arg(long, value_name = "FD")]
    pub passphrase_fd: Option<u32>,
}

#[derive(Args, Debug)]
pub struct LockArgs {
    #[command(flatten)]
    pub key: KeyName,
    /// Lock every installed key
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
    /// Discard uncommitted changes to marked files instead of refusing
    #[arg(long)]
    pub force: bool,
    /// Also delete keys that exist nowhere else (created here and never exported,
    /// saved to your key ring or shared with a recipient): whatever they encrypted
    /// can then never be read again
    #[arg(long)]
    pub discard_key: bool,
}

#[derive(Args, Debug)]
// FILE is required unless --to-ring: a group, so usage shows `<FILE|--to-ring>`.
#[command(group = clap::ArgGroup::new("dest").required(true).multiple(true))]
pub struct ExportKeyArgs {
    #[command(flatten)]
    pub key: KeyName,
    /// Destination file, or `-` for standard output
    #[arg(value_name = "FILE", group = "dest")]
    pub file: Option<String>,
    /// Save the key in your personal key ring (instead of, or besides, FILE)
    #[arg(long, group = "dest")]
    pub to_ring: bool,
    /// Overwrite FILE if it exists
    #[arg(long)]
    pub force: bool,
    /// Only the newest generation (default: every generation, so old commits stay readable)
    #[arg(long)]
    pub current: bool,
}

#[derive(Args, Debug)]
pub struct ImportGitCryptArgs {
    /// git-crypt key files (`git-crypt export-key`; format 2 or the 96-byte legacy format); `-` reads stdin
    #[arg(value_name = "KEYFILE", required = true)]
    pub files: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AddUserArgs {
    /// An age public key (age1…), a plugin recipient (age1yubikey1…, age1se1…,
    /// age1tpm1…: age-plugin-NAME must be on PATH), an SSH ed25519/RSA public
    /// key, or a file holding one
    #[arg(required_unless_present = "passphrase")]
    pub recipient: Option<String>,
    /// Add a passphrase recipient instead: whoever knows the passphrase can
    /// unlock. Asked twice on the terminal, or read from --passphrase-fd
    #[arg(long, conflicts_with = "recipient")]
    pub passphrase: bool,
    /// Read the passphrase from this open file descriptor (its first line), for scripts
    #[arg(long, value_name = "FD", requires = "passphrase")]
    pub passphrase_fd: Option<u32>,
    /// Accept every difference between .git-secret/recipients.txt and the
    /// authenticated list (check them first: `git-secret list-users`)
    #[arg(long)]
    pub accept_recipients: bool,
}

#[derive(Args, Debug)]
pub struct RemoveUserArgs {
    /// The recipient's fingerprint (from list-users) or public key
    pub recipient: String,
    /// Accept every difference between .git-secret/recipients.txt and the
    /// authenticated list (check them first: `git-secret list-users`)
    #[arg(long)]
    pub accept_recipients: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write git-secret.1 and git-secret-COMMAND.1 for every command into DIR
    /// (created if missing; existing pages are replaced)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    #[command(flatten)]
    pub key: KeyName,
    /// Accept every difference between .git-secret/recipients.txt and the
    /// authenticated list (check them first: `git-secret list-users`)
    #[arg(long)]
    pub accept_recipients: bool,
}

#[derive(Args, Debug)]
#[command(after_long_help = STATUS_PORCELAIN_HELP)]
pub struct StatusArgs {
    /// Only these files or directories
    pub paths: Vec<String>,
    /// Only the files marked for key NAME (filter=git-secret-NAME; `default` for filter=git-secret)
    #[arg(short = 'k', long = "key-name", value_name = "NAME")]
    pub key_name: Option<String>,
    /// One stable record per line for scripts: STATE KEY-NAME KEY-ID PATH (see below)
    #[arg(long)]
    pub porcelain: bool,
    /// NUL-terminated records with raw paths; implies --porcelain
    #[arg(short = 'z')]
    pub z: bool,
    /// Re-stage leaked files encrypted (needs the key)
    #[arg(long)]
    pub fix: bool,
}

/// The `--porcelain` format, kept stable for scripts (README: "Status for scripts").
const STATUS_PORCELAIN_HELP: &str = "\
Porcelain format (--porcelain, -z): one record per marked file,
    STATE KEY-NAME KEY-ID PATH
separated by single spaces, `-` for a field that does not apply. STATE is one of
    encrypted   stored encrypted under the key it is marked for
    other-key   stored encrypted under another key than it is marked for
    retired     stored under a retired key generation
    git-crypt   stored encrypted by git-crypt
    empty       an empty file (git's empty blob)
    plaintext   stored in plaintext in the index or HEAD: a leak (exit 1)
    unmarked    stored encrypted, but an attribute now keeps it from being encrypted
    symlink     a symbolic link (git never filters it)
    damaged     a git-secret header that cannot be read
    unmerged    a merge conflict in progress
KEY-ID is the full id of the key the stored blob names. PATH is relative to the top
of the work tree and quoted as git quotes paths (core.quotePath) when it holds a
control character, a double quote, a backslash or non-ASCII; with -z records end in
NUL and paths are raw. New states may be added; fields will not be reordered.";

#[derive(Args, Debug)]
pub struct ViewArgs {
    /// Marked files (or, outside a repository, ciphertext files)
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<std::ffi::OsString>,
    /// The version in commit REV instead of the work tree
    #[arg(long, value_name = "REV", conflicts_with = "cached")]
    pub rev: Option<String>,
    /// The staged version instead of the work tree
    #[arg(long)]
    pub cached: bool,
    /// A key file to decrypt with (`-` reads standard input), besides the keys held here
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
}

/// `exec`: at least one `--env` (running a command with no secrets added
/// is not what anyone calls exec for, so it is a usage error).
#[derive(Args, Debug)]
#[command(
    after_help = "Each file is read as python-dotenv 1.2's load_dotenv(FILE, override=...) reads it, \
    in the order given; statements it cannot parse are skipped with a warning naming the line. \
    Exit status: CMD's; 127 when CMD is not found, 126 when it cannot be run."
)]
pub struct ExecArgs {
    /// A marked dotenv file (repeatable; later files see the variables of earlier ones);
    /// outside a repository, with --key, a git-secret encrypted file
    #[arg(long = "env", value_name = "PATH", required = true)]
    pub env: Vec<std::ffi::OsString>,
    /// Let the files' values replace variables already set in the environment
    #[arg(long = "override")]
    pub override_env: bool,
    /// A key file to decrypt with (`-` reads standard input), besides the keys held here
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// The command to run, after `--`
    #[arg(value_name = "CMD", required = true, last = true)]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Fix what is safe to fix, then check again
    #[arg(long)]
    pub fix: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The marked file to edit (created if it does not exist yet)
    #[arg(value_name = "PATH")]
    pub path: std::ffi::OsString,
    /// A key file to decrypt and encrypt with (`-` reads standard input), besides the keys held here
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("what").required(true))]
pub struct CheckArgs {
    /// Check the staged blobs (what the next commit stores)
    #[arg(long, group = "what")]
    pub staged: bool,
    /// Check the commits in OLD..NEW (all-zero OLD: the commits not on any other ref)
    #[arg(long, value_name = "OLD..NEW", group = "what")]
    pub range: Option<String>,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Revisions to walk, as for git rev-list (default: --all)
    #[arg(value_name = "REV-RANGE", allow_hyphen_values = true)]
    pub range: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FilterArgs {
    #[command(flatten)]
    pub key: KeyName,
    /// The file's path in the repository (for messages, and to find its index entry)
    #[arg(value_name = "PATH")]
    pub path: Option<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct FilterProcessArgs {
    #[command(flatten)]
    pub key: KeyName,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    #[command(flatten)]
    pub key: KeyName,
    /// The common ancestor's version (%O)
    pub base: PathBuf,
    /// Our version (%A); receives the encrypted result
    pub ours: PathBuf,
    /// Their version (%B)
    pub theirs: PathBuf,
    /// Conflict marker size (%L)
    pub marker_size: Option<String>,
    /// The file's path in the repository (%P)
    pub path: Option<std::ffi::OsString>,
    /// Labels for ours, base and theirs (%X %S %Y)
    #[arg(num_args = 0..=3)]
    pub labels: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TextconvArgs {
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}
