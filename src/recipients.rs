//! Sharing without a shared key file: the repository's key ring, wrapped with
//! age for a list of recipients (age X25519 public keys, SSH ed25519 or RSA
//! public keys), committed under `.git-secret/`:
//!
//! - `.git-secret/recipients.txt`: one recipient per line (`<public key> [# comment]`);
//! - `.git-secret/keys.age`: the key file (every key, every generation)
//!   encrypted to all of them (ASCII-armored age).
//!
//! `unlock` with no argument decrypts `keys.age` with the user's age identity
//! (`$GIT_SECRET_IDENTITY`, or `<config dir>/git-secret/identity.txt`; plugin
//! identities `AGE-PLUGIN-…` included) or SSH private key (`~/.ssh/id_ed25519`,
//! `~/.ssh/id_rsa`).
//!
//! Plugin recipients (`age1yubikey1…`) are wrapped for by running
//! `age-plugin-NAME` from PATH. A passphrase recipient is an age X25519 key of
//! its own (`passphrase age1…` in the list, so keys.age stays one file for
//! every recipient and re-wraps need no passphrase) whose identity is kept in
//! `.git-secret/passphrase.age`, encrypted with the passphrase (scrypt: age
//! requires that stanza to be alone in its file).

use crate::crypto::KeyId;
use crate::keyring::Keyring;
use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

pub const DIR: &str = ".git-secret";
pub const LIST: &str = ".git-secret/recipients.txt";
pub const WRAPPED: &str = ".git-secret/keys.age";
/// The passphrase recipient's identity, encrypted with the passphrase.
pub const PASSPHRASE_FILE: &str = ".git-secret/passphrase.age";
/// The first word of the passphrase recipient's line.
pub const PASSPHRASE: &str = "passphrase";
/// Lines of recipients.txt that start with this hold its authenticated
/// copy: what add-user, remove-user and rotate last wrote, with a tag made
/// with the repository's key (comments to older versions, which ignore them).
const AUTH_PREFIX: &str = "#= ";

/// Whether `path` (relative to the top of the work tree) is one of this
/// tool's own files under `.git-secret/`: they are never encrypted, whatever
/// `.gitattributes` says (keys.age is already encrypted, and an encrypted
/// recipient list or keys.age could not be opened without the key).
pub fn is_own_file(path: &[u8]) -> bool {
    path.strip_prefix(DIR.as_bytes())
        .is_some_and(|rest| rest.starts_with(b"/"))
}

/// One recipient: its public key text and an optional comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub key: String,
    pub comment: String,
}

impl Recipient {
    /// The line recipients.txt holds for it: `<key> [# comment]`.
    pub fn line(&self) -> String {
        if self.comment.is_empty() {
            self.key.clone()
        } else {
            format!("{} # {}", self.key, self.comment)
        }
    }

    /// Parses one line of a recipient file (never a file name).
    pub fn parse_line(line: &str) -> Result<Recipient> {
        Recipient::parse_text(line.trim().to_owned(), line)
    }

    /// Parses `age1…`, `ssh-ed25519 AAAA… [comment]` or `ssh-rsa AAAA… [comment]`,
    /// or a file holding one of them.
    pub fn parse(arg: &str) -> Result<Recipient> {
        let text = if Path::new(arg).is_file() {
            let content =
                std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))?;
            content
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .with_context(|| format!("{arg} holds no public key"))?
                .to_owned()
        } else {
            arg.trim().to_owned()
        };
        Recipient::parse_text(text, arg)
    }

    fn parse_text(text: String, arg: &str) -> Result<Recipient> {
        if text.contains(['\n', '\0']) {
            bail!(
                "{} holds a line break: one recipient per argument",
                escape(arg)
            );
        }
        let (key, comment) = match text.split_once(" # ") {
            Some((key, comment)) => (key.trim().to_owned(), comment.trim().to_owned()),
            None => (text.clone(), String::new()),
        };
        let recipient = if let Some(public) = key.strip_prefix("passphrase ") {
            Recipient {
                key: format!("{PASSPHRASE} {}", public.trim()),
                comment,
            }
        } else if key.starts_with("ssh-") {
            // Keep "type base64"; the third word of an SSH public key is its comment.
            let mut words = key.split_whitespace();
            let (kind, data) = (
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default(),
            );
            let rest: Vec<&str> = words.collect();
            let comment = if comment.is_empty() {
                rest.join(" ")
            } else {
                comment
            };
            Recipient {
                key: format!("{kind} {data}"),
                comment,
            }
        } else {
            Recipient { key, comment }
        };
        if let Err(why) = recipient.validate() {
            let expected = "expected an age recipient (age1…, as `age-keygen -y IDENTITY-FILE` prints it; \
                 age1NAME1… for a plugin such as age-plugin-yubikey) \
                 or an SSH public key line (ssh-ed25519 AAAA… or ssh-rsa AAAA…, as in ~/.ssh/id_ed25519.pub), \
                 or a file holding one";
            let arg = escape(arg);
            match why {
                Some(why) => {
                    bail!("{arg} is not a public key git-secret can use ({why}): {expected}")
                }
                None => bail!("{arg} is not a public key: {expected}"),
            }
        }
        Ok(recipient)
    }

    /// Parses the key text, without running any plugin; the error says why
    /// not where that says more than "not a key" (as [`Self::to_age`]).
    fn validate(&self) -> Result<(), Option<String>> {
        if let Some(public) = self.passphrase_key() {
            age::x25519::Recipient::from_str(public)
                .map_err(|e| Some(format!("a damaged age recipient: {e}")))?;
        } else if self.plugin().is_none() {
            // (A plugin recipient is one age's parser accepted.)
            self.to_age()?;
        }
        Ok(())
    }

    /// The age recipient to wrap keys.age for; a plugin recipient needs its
    /// plugin on PATH (refused with where to get it).
    fn wrap_for(&self, reporter: &Reporter) -> Result<Box<dyn age::Recipient + Send>> {
        if let Some(public) = self.passphrase_key() {
            let r = age::x25519::Recipient::from_str(public).map_err(|e| anyhow::anyhow!("{e}"))?;
            return Ok(Box::new(r));
        }
        let Some(r) = self
            .plugin()
            .and_then(|_| age::plugin::Recipient::from_str(&self.key).ok())
        else {
            return self.to_age().map_err(|why| {
                anyhow::anyhow!(
                    "recipient {} is not a usable public key{}",
                    self.fingerprint(),
                    why.map(|w| format!(" ({w})")).unwrap_or_default()
                )
            });
        };
        let prompts = Prompts {
            reporter: *reporter,
        };
        match age::plugin::RecipientPluginV1::new(
            r.plugin(),
            std::slice::from_ref(&r),
            &[],
            prompts,
        ) {
            Ok(plugin) => Ok(Box::new(plugin)),
            Err(age::plugin::ResolveError::MissingPlugin { .. }) => Err(self.missing_plugin()),
            Err(e) => bail!("recipient {}: {e}", self.fingerprint()),
        }
    }

    /// The age recipient; when the key is not one, why, where that says
    /// more than "not a key" (age's own text for the rest is debug output).
    fn to_age(&self) -> Result<Box<dyn age::Recipient + Send>, Option<String>> {
        use age::ssh::ParseRecipientKeyError as E;
        if self.key.starts_with("age1") {
            let r = age::x25519::Recipient::from_str(&self.key)
                .map_err(|e| Some(format!("a damaged age recipient: {e}")))?;
            Ok(Box::new(r))
        } else {
            let r = age::ssh::Recipient::from_str(&self.key).map_err(|e| match e {
                E::RsaModulusTooLarge => Some("its RSA key is larger than age supports".to_owned()),
                E::RsaModulusTooSmall => {
                    Some("its RSA key is shorter than 2048 bits, too weak".to_owned())
                }
                E::Unsupported(kind) => Some(format!(
                    "SSH keys of type {} are not supported",
                    escape(&kind)
                )),
                // Invalid, Ignore and any future kind: "not a key" says it.
                _ => None,
            })?;
            Ok(Box::new(r))
        }
    }

    /// For a passphrase recipient, its X25519 public key.
    fn passphrase_key(&self) -> Option<&str> {
        self.key.strip_prefix("passphrase ")
    }

    pub fn is_passphrase(&self) -> bool {
        self.passphrase_key().is_some()
    }

    /// For a plugin recipient (`age1NAME1…`), the plugin's NAME.
    pub fn plugin(&self) -> Option<String> {
        if !self.key.starts_with("age1") || age::x25519::Recipient::from_str(&self.key).is_ok() {
            return None;
        }
        age::plugin::Recipient::from_str(&self.key)
            .ok()
            .map(|r| r.plugin().to_owned())
    }

    /// Why a plugin recipient cannot be wrapped for here: its plugin is not on PATH.
    fn missing_plugin(&self) -> anyhow::Error {
        let name = self.plugin().unwrap_or_default();
        anyhow::anyhow!(
            "recipient {} (plugin {name}) needs the program age-plugin-{name}, which is not on PATH. \
             Install it ({}) and run the command again. Nothing was changed",
            self.fingerprint(),
            plugin_source(&name)
        )
    }

    /// A short public fingerprint: the first 16 hex digits of SHA-256 of the key text.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(self.key.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether both name the same key: the same key text, or an SSH ed25519
    /// key and the age X25519 key converted from it (`ssh-to-age`), which the
    /// same private key opens.
    pub fn same_key(&self, other: &Recipient) -> bool {
        self.key == other.key
            || matches!((self.x25519(), other.x25519()), (Some(a), Some(b)) if a == b)
    }

    /// The X25519 public key this recipient amounts to: an age key's own, or
    /// the Montgomery form of an SSH ed25519 key.
    fn x25519(&self) -> Option<[u8; 32]> {
        if self.key.starts_with("age1") {
            let (_, data) = bech32::decode(&self.key).ok()?;
            return data.try_into().ok();
        }
        let blob = self.key.strip_prefix("ssh-ed25519 ")?;
        let blob = <base64ct::Base64 as base64ct::Encoding>::decode_vec(blob).ok()?;
        // string "ssh-ed25519", string key (32 bytes)
        let point = blob.strip_prefix(b"\0\0\0\x0bssh-ed25519\0\0\0\x20")?;
        let point: [u8; 32] = point.try_into().ok()?;
        let edwards = curve25519_dalek::edwards::CompressedEdwardsY(point).decompress()?;
        Some(edwards.to_montgomery().to_bytes())
    }

    /// The comment, with control characters escaped (`\r`, `\x1b`), so a
    /// comment cannot rewrite the terminal it is shown on.
    pub fn shown_comment(&self) -> String {
        escape(&self.comment)
    }

    /// The line `list-users` prints for this recipient.
    pub fn shown(&self) -> String {
        format!(
            "{}  {:<11}  {}",
            self.fingerprint(),
            self.kind(),
            self.shown_comment()
        )
    }

    /// `age`, `plugin NAME`, `passphrase`, or the SSH key type (`ssh-ed25519`, `ssh-rsa`).
    pub fn kind(&self) -> String {
        if let Some(name) = self.plugin() {
            return format!("plugin {name}");
        }
        self.key
            .split_whitespace()
            .next()
            .map_or("age", |k| if k.starts_with("age1") { "age" } else { k })
            .to_owned()
    }
}

/// One line of `.git-secret/recipients.txt`: its number (from 1) and recipient.
#[derive(Debug, Clone)]
pub struct Entry {
    pub line: usize,
    pub recipient: Recipient,
}

/// `text` with every control character escaped (and backslashes doubled).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            // Bidirectional overrides and isolates reorder what follows them.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// One line of `.git-secret/recipients.txt` from the work tree, every entry as it
/// is (duplicates included: `remove-user` removes them all).
pub fn read_entries(top: &Path) -> Result<Vec<Entry>> {
    let path = top.join(LIST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    text.lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(line, l)| {
            let recipient =
                Recipient::parse_line(l).with_context(|| format!("{LIST}, line {line}"))?;
            Ok(Entry { line, recipient })
        })
        .collect()
}

/// Reads `.git-secret/recipients.txt` from the work tree; refuses a list
/// that names one key more than once (a duplicate would survive the removal
/// of the first entry).
pub fn read_list(top: &Path) -> Result<Vec<Recipient>> {
    let entries = read_entries(top)?;
    refuse_duplicates(&entries)?;
    Ok(entries.into_iter().map(|e| e.recipient).collect())
}

pub fn refuse_duplicates(entries: &[Entry]) -> Result<()> {
    for (i, entry) in entries.iter().enumerate() {
        let same: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.recipient.same_key(&entry.recipient))
            .collect();
        if same.len() > 1 && std::ptr::eq(same[0], &entries[i]) {
            let lines: Vec<String> = same.iter().map(|e| e.line.to_string()).collect();
            let fingerprint = entry.recipient.fingerprint();
            bail!(
                "{LIST} lists recipient {fingerprint} ({}) {} times (lines {}): delete the extra lines, \
                 or run `git-secret remove-user {fingerprint}`, which removes every entry",
                entry.recipient.kind(),
                same.len(),
                lines.join(", ")
            );
        }
    }
    Ok(())
}

/// The bytes the tag covers: a versioned header and one line per recipient.
fn canonical(list: &[Recipient]) -> Vec<u8> {
    let mut bytes = b"git-secret recipients v1\n".to_vec();
    for r in list {
        bytes.extend_from_slice(r.line().as_bytes());
        bytes.push(b'\n');
    }
    bytes
}

/// The authenticated copy of `list` (lines for recipients.txt): the list and one
/// tag per key name, made with its newest generation.
pub fn seal(list: &[Recipient], keyring: &Keyring) -> String {
    let bytes = canonical(list);
    let mut text = String::from(
        "# Below: the authenticated copy of this list, written by add-user, remove-user and rotate with\n\
         # the repository's key. Do not edit: list-users shows it and any difference from the lines above.\n",
    );
    text.push_str(&format!("{AUTH_PREFIX}version 1\n"));
    for r in list {
        text.push_str(&format!("{AUTH_PREFIX}recipient {}\n", r.line()));
    }
    for name in keyring.names() {
        let key = keyring
            .current(&name)
            .expect("a held name has a newest generation");
        let tag: String = key
            .subkeys()
            .recipients_mac(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        text.push_str(&format!(
            "{AUTH_PREFIX}mac {name} {} {} {tag}\n",
            key.generation(),
            key.id()
        ));
    }
    text
}

/// What the authenticated copy in recipients.txt says, checked with the keys held here.
pub enum Trust {
    /// Its tag verifies with the newest generation of a key held here.
    Verified(Vec<Recipient>),
    /// No verdict: this clone holds no key.
    Unchecked,
    /// Missing, damaged, forged or stale: why, for messages.
    Not(String),
}

/// Reads the authenticated copy in recipients.txt and checks its tags with `keyring`.
pub fn authenticated(top: &Path, keyring: &Keyring) -> Result<Trust> {
    let text = match std::fs::read_to_string(top.join(LIST)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {LIST}")),
    };
    if !text.lines().any(|l| l.starts_with(AUTH_PREFIX)) {
        return Ok(Trust::Not(
            "it holds no authenticated copy (an older git-secret wrote it, or someone deleted the copy)"
                .to_owned(),
        ));
    }
    if keyring.is_empty() {
        return Ok(Trust::Unchecked);
    }
    let damaged = || Trust::Not("its authenticated copy is damaged".to_owned());
    let mut lines = text.lines().filter_map(|l| l.strip_prefix(AUTH_PREFIX));
    if lines.next() != Some("version 1") {
        return Ok(damaged());
    }
    let mut list = Vec::new();
    let mut tags = Vec::new();
    for line in lines {
        if let Some(r) = line.strip_prefix("recipient ") {
            match Recipient::parse_line(r) {
                Ok(r) => list.push(r),
                Err(_) => return Ok(damaged()),
            }
        } else if let Some(tag) = line.strip_prefix("mac ") {
            let words: Vec<&str> = tag.split(' ').collect();
            let [name, generation, id, hex] = words[..] else {
                return Ok(damaged());
            };
            // Digits only: `u32::from_str` would also take a sign (`+1`).
            if !generation.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(damaged());
            }
            let (Ok(generation), Some(id), Some(mac)) = (
                generation.parse::<u32>(),
                KeyId::from_hex(id),
                from_hex(hex),
            ) else {
                return Ok(damaged());
            };
            tags.push((name.to_owned(), generation, id, mac));
        } else {
            return Ok(damaged());
        }
    }
    // No encoder writes a key twice; a copy that does would authenticate a duplicate.
    if list
        .iter()
        .enumerate()
        .any(|(i, a)| list[i + 1..].iter().any(|b| a.same_key(b)))
    {
        return Ok(damaged());
    }
    let bytes = canonical(&list);
    let mut verified = false;
    let mut stale = None;
    for (name, generation, id, mac) in &tags {
        let Some(newest) = keyring.current(name) else {
            continue;
        };
        if newest.id() == *id {
            if !newest.subkeys().verify_recipients_mac(&bytes, mac) {
                return Ok(Trust::Not(
                    "the tag of its authenticated copy does not match that copy (forged or damaged)"
                        .to_owned(),
                ));
            }
            verified = true;
        } else if keyring.holds(id) {
            stale = Some(format!(
                "its copy was authenticated with generation {generation} of key '{name}', older than the newest \
                 you hold ({}): it predates a rotation, and whoever was removed then holds that key",
                newest.generation()
            ));
        }
    }
    if verified {
        return Ok(Trust::Verified(list));
    }
    Ok(Trust::Not(stale.unwrap_or_else(|| {
        "its authenticated copy names no key you hold (forged, or made with a key you have not unlocked)"
            .to_owned()
    })))
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// One difference between the authenticated list and recipients.txt.
pub struct Change {
    /// In recipients.txt but not in the authenticated list.
    pub added: bool,
    pub recipient: Recipient,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.added { '+' } else { '-' };
        write!(f, "  {sign} {}", self.recipient.shown())
    }
}

/// The lines of `worktree` missing from `authenticated` (added) and the
/// other way round (removed); a changed comment counts as both.
pub fn changes(authenticated: &[Recipient], worktree: &[Recipient]) -> Vec<Change> {
    let mut changes: Vec<Change> = authenticated
        .iter()
        .filter(|r| !worktree.contains(r))
        .map(|r| Change {
            added: false,
            recipient: r.clone(),
        })
        .collect();
    changes.extend(
        worktree
            .iter()
            .filter(|r| !authenticated.contains(r))
            .map(|r| Change {
                added: true,
                recipient: r.clone(),
            }),
    );
    changes
}

/// Writes the recipient list, its authenticated copy (`auth`, from [`seal`])
/// and the key file wrapped for all of them.
pub fn write(top: &Path, recipients: &[Recipient], key_file: &[u8], auth: &str) -> Result<()> {
    std::fs::create_dir_all(top.join(DIR)).with_context(|| format!("cannot create {DIR}"))?;
    let mut list = String::from(
        "# git-secret recipients: who can `git-secret unlock` this repository with their own key.\n\
         # Managed by git-secret add-user / remove-user.\n",
    );
    for r in recipients {
        list.push_str(&r.line());
        list.push('\n');
    }
    list.push_str(auth);
    let reporter = Reporter;
    let boxed: Vec<Box<dyn age::Recipient + Send>> = recipients
        .iter()
        .map(|r| r.wrap_for(&reporter))
        .collect::<Result<_>>()?;
    let encryptor =
        age::Encryptor::with_recipients(boxed.iter().map(|r| r.as_ref() as &dyn age::Recipient))
            .map_err(|e| wrap_error(&e))?;
    let mut wrapped = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut wrapped, age::armor::Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(key_file)?;
    writer.finish()?.finish()?;
    std::fs::write(top.join(LIST), list).with_context(|| format!("cannot write {LIST}"))?;
    std::fs::write(top.join(WRAPPED), wrapped)
        .with_context(|| format!("cannot write {WRAPPED}"))?;
    if !recipients.iter().any(Recipient::is_passphrase) {
        crate::files::remove_if_exists(&top.join(PASSPHRASE_FILE))
            .with_context(|| format!("cannot remove {PASSPHRASE_FILE}"))?;
    }
    Ok(())
}

/// Refuses, before anything changes, a list with a plugin recipient whose
/// plugin is not on PATH (every re-wrap runs it).
pub fn check_plugins(list: &[Recipient], reporter: &Reporter) -> Result<()> {
    for r in list.iter().filter(|r| r.plugin().is_some()) {
        r.wrap_for(reporter)?;
    }
    Ok(())
}

/// A new passphrase recipient: a fresh X25519 key, its line, and its identity
/// encrypted with `passphrase` (the bytes of `.git-secret/passphrase.age`).
pub fn new_passphrase_recipient(
    passphrase: age::secrecy::SecretString,
    comment: &str,
) -> Result<(Recipient, Vec<u8>)> {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let recipient = Recipient {
        key: format!("{PASSPHRASE} {}", identity.to_public()),
        comment: comment.to_owned(),
    };
    let secret = identity.to_string();
    let mut sealed = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut sealed, age::armor::Format::AsciiArmor)?;
    let mut writer = age::Encryptor::with_user_passphrase(passphrase).wrap_output(armor)?;
    writer.write_all(secret.expose_secret().as_bytes())?;
    writer.write_all(b"\n")?;
    writer.finish()?.finish()?;
    Ok((recipient, sealed))
}

/// The passphrase recipient's identity from `.git-secret/passphrase.age`,
/// checked against `listed` (its line in the list): a file swapped for one
/// made with another passphrase names another key, and is refused.
pub fn passphrase_identity(
    top: &Path,
    listed: &Recipient,
    passphrase: age::secrecy::SecretString,
) -> Result<age::x25519::Identity> {
    let sealed = std::fs::read(top.join(PASSPHRASE_FILE))
        .with_context(|| format!("cannot read {PASSPHRASE_FILE}"))?;
    let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(&sealed[..]))
        .map_err(|e| anyhow::anyhow!("{PASSPHRASE_FILE} is damaged: {e}"))?;
    let identity = age::scrypt::Identity::new(passphrase);
    let text = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
        Ok(stream) => read_bounded(stream, sealed.len())
            .with_context(|| format!("{PASSPHRASE_FILE} is damaged"))?,
        Err(age::DecryptError::ExcessiveWork { .. }) => bail!(
            "{PASSPHRASE_FILE} was made with an scrypt work factor too slow for this machine; \
             someone with another recipient's key can run `git-secret remove-user {PASSPHRASE}` and \
             `git-secret add-user --passphrase` here. Nothing was changed"
        ),
        Err(_) => bail!(
            "wrong passphrase for the passphrase recipient {} of this repository: nothing was changed. \
             Run `git-secret unlock` again with the right passphrase, or ask someone who can unlock to \
             add your own key (`git-secret add-user`)",
            listed.fingerprint()
        ),
    };
    let text = std::str::from_utf8(&text).ok().map(str::trim);
    let Some(identity) = text.and_then(|t| age::x25519::Identity::from_str(t).ok()) else {
        bail!("{PASSPHRASE_FILE} is damaged: it holds no age identity");
    };
    if Some(identity.to_public().to_string().as_str()) != listed.passphrase_key() {
        bail!(
            "{PASSPHRASE_FILE} does not belong to the passphrase recipient {} listed in {LIST} \
             (someone replaced one of them). Nothing was changed; ask your team",
            listed.fingerprint()
        );
    }
    Ok(identity)
}

/// Reads a decrypted stream into a buffer sized up front (`limit`: the
/// plaintext is shorter than the ciphertext), so it never reallocates and
/// leaves no unwiped copy.
fn read_bounded(mut stream: impl Read, limit: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut text = Zeroizing::new(vec![0u8; limit]);
    let mut len = 0;
    loop {
        let n = stream.read(&mut text[len..])?;
        if n == 0 {
            break;
        }
        len += n;
        if len == text.len() {
            bail!("longer than its ciphertext");
        }
    }
    text.truncate(len);
    Ok(text)
}

/// Where to get the plugin `name` (the well-known ones; else a list of plugins).
fn plugin_source(name: &str) -> String {
    match name {
        "yubikey" => "https://github.com/str4d/age-plugin-yubikey".to_owned(),
        "se" => "https://github.com/remko/age-plugin-se".to_owned(),
        "tpm" => "https://github.com/Foxboron/age-plugin-tpm".to_owned(),
        "fido2-hmac" => "https://github.com/olastor/age-plugin-fido2-hmac".to_owned(),
        _ => format!(
            "see the documentation of age-plugin-{name}; https://github.com/FiloSottile/awesome-age lists plugins"
        ),
    }
}

/// A plugin's own messages (age's wording), escaped: they reach the terminal.
/// (age does not export the error type, only its Display.)
fn plugin_errors<E: fmt::Display>(errors: &[E]) -> String {
    errors
        .iter()
        // Without the isolation marks age's translations put around arguments.
        .map(|e| escape(&e.to_string().replace(['\u{2068}', '\u{2069}'], "")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn wrap_error(e: &age::EncryptError) -> anyhow::Error {
    match e {
        age::EncryptError::Plugin(errors) => anyhow::anyhow!(
            "cannot wrap the keys: a plugin failed ({}). Check the device and run the command again. \
             Nothing was changed",
            plugin_errors(errors)
        ),
        e => anyhow::anyhow!("cannot wrap the keys: {e}"),
    }
}

/// Where `unlock` looks for the user's identities.
pub fn identity_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(list) = std::env::var_os("GIT_SECRET_IDENTITY") {
        paths.extend(std::env::split_paths(&list));
    }
    if let Some(base) = directories::BaseDirs::new() {
        paths.push(base.config_dir().join("git-secret").join("identity.txt"));
        paths.push(base.home_dir().join(".ssh").join("id_ed25519"));
        paths.push(base.home_dir().join(".ssh").join("id_rsa"));
    }
    paths
}

/// Decrypts `.git-secret/keys.age` with whichever of the user's identities
/// can; returns the key file text and the identity file used.
pub fn unwrap(top: &Path, reporter: &Reporter) -> Result<(Zeroizing<Vec<u8>>, PathBuf)> {
    let wrapped =
        std::fs::read(top.join(WRAPPED)).with_context(|| format!("cannot read {WRAPPED}"))?;
    let list = read_list(top).unwrap_or_default();
    unwrap_bytes(&wrapped, &list, reporter)
}

/// Decrypts one version of `keys.age` (its bytes, from the work tree or a
/// commit) with whichever of the user's identities can.
/// `list` (the recipients) names the plugin recipients in messages.
pub fn unwrap_bytes(
    wrapped: &[u8],
    list: &[Recipient],
    reporter: &Reporter,
) -> Result<(Zeroizing<Vec<u8>>, PathBuf)> {
    let mut tried = Vec::new();
    // Plugin trouble (missing binary, failed device), named in the refusal.
    let mut problems = Vec::new();
    for path in identity_paths().into_iter().filter(|p| p.is_file()) {
        tried.push(path.display().to_string());
        let identities = match load_identities(&path, reporter) {
            Ok(identities) => identities,
            Err(e) => {
                if let Some(age::DecryptError::PluginResolve(_)) = e.downcast_ref() {
                    problems.push(plugin_problem(&path, list, e.downcast_ref()));
                }
                continue;
            }
        };
        match decrypt_with(wrapped, &identities)? {
            Ok(text) => return Ok((text, path)),
            Err(age::DecryptError::KeyDecryptionFailed) => {
                reporter.note(format_args!(
                    "git-secret: {}: wrong passphrase, or none given",
                    path.display()
                ));
            }
            Err(e @ (age::DecryptError::Plugin(_) | age::DecryptError::PluginResolve(_))) => {
                problems.push(plugin_problem(&path, list, Some(&e)));
            }
            Err(_) => {}
        }
    }
    if !problems.is_empty() {
        bail!("{}. Nothing was changed", problems.join("; "));
    }
    if tried.is_empty() {
        bail!(
            "no identity found to open {WRAPPED}: set GIT_SECRET_IDENTITY to your age identity file or SSH \
             private key, or pass a key file"
        );
    }
    bail!(
        "none of your identities ({}) is a recipient of this repository; ask someone who can unlock it to run \
         `git-secret add-user <your public key>`",
        tried.join(", ")
    )
}

/// Decrypts one version of keys.age with `identities`: the key file text, or
/// age's reason (an error only when the file itself is damaged).
pub fn decrypt_with(
    wrapped: &[u8],
    identities: &[Box<dyn age::Identity>],
) -> Result<std::result::Result<Zeroizing<Vec<u8>>, age::DecryptError>> {
    let reader = age::armor::ArmoredReader::new(wrapped);
    let decryptor =
        age::Decryptor::new(reader).map_err(|e| anyhow::anyhow!("{WRAPPED} is damaged: {e}"))?;
    match decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)) {
        Ok(stream) => {
            Ok(Ok(read_bounded(stream, wrapped.len())
                .with_context(|| format!("{WRAPPED} is damaged"))?))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// What went wrong with the plugin identity in `path`, and what to do.
fn plugin_problem(path: &Path, list: &[Recipient], error: Option<&age::DecryptError>) -> String {
    // The plugin recipients of the list this identity's plugins serve.
    let plugins = identity_plugins(path);
    let named: Vec<String> = list
        .iter()
        .filter(|r| r.plugin().is_some_and(|p| plugins.contains(&p)))
        .map(|r| format!("{} ({})", r.fingerprint(), r.kind()))
        .collect();
    let recipient = match &named[..] {
        [] => String::new(),
        [one] => format!(" for recipient {one}"),
        many => format!(" for recipients {}", many.join(", ")),
    };
    let path = path.display();
    match error {
        Some(age::DecryptError::PluginResolve(age::plugin::ResolveError::MissingPlugin {
            binary_name,
        })) => {
            let name = binary_name.strip_prefix("age-plugin-").unwrap_or(binary_name);
            format!(
                "your identity {path}{recipient} needs the program {binary_name}, which is not on PATH: \
                 install it ({}) and run `git-secret unlock` again",
                plugin_source(name)
            )
        }
        Some(age::DecryptError::Plugin(errors)) => format!(
            "the plugin of your identity {path}{recipient} failed ({}): check the device (plugged in, PIN, \
             touch) and run `git-secret unlock` again on a terminal",
            plugin_errors(errors)
        ),
        Some(e) => format!("your identity {path}{recipient}: {e}"),
        None => format!("your identity {path}{recipient} could not be used"),
    }
}

/// The plugin names of the `AGE-PLUGIN-…` identities in the file at `path`.
fn identity_plugins(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path).map(Zeroizing::new) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| age::plugin::Identity::from_str(l.trim()).ok())
        .map(|i| i.plugin().to_owned())
        .collect()
}

fn load_identities(path: &Path, reporter: &Reporter) -> Result<Vec<Box<dyn age::Identity>>> {
    let bytes = Zeroizing::new(std::fs::read(path)?);
    if bytes.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----")
        || bytes.starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
    {
        let identity = age::ssh::Identity::from_buffer(
            BufReader::new(&bytes[..]),
            Some(path.display().to_string()),
        )?;
        if let age::ssh::Identity::Encrypted(_) = identity {
            // Asked only if this key is one of the repository's recipients.
            let ask = AskPassphrase {
                key: path.display().to_string(),
                reporter: *reporter,
            };
            return Ok(vec![Box::new(identity.with_callbacks(ask))]);
        }
        return Ok(vec![Box::new(identity)]);
    }
    let file =
        age::IdentityFile::from_buffer(BufReader::new(&bytes[..]))?.with_callbacks(Prompts {
            reporter: *reporter,
        });
    Ok(file
        .into_identities()?
        .into_iter()
        .map(|i| i as Box<dyn age::Identity>)
        .collect())
}

/// Asks for the passphrase of SSH private key `key`, as OpenSSH does:
/// through the program named by `SSH_ASKPASS` when there is no terminal or
/// `SSH_ASKPASS_REQUIRE=force`, otherwise on the terminal (echo off). With
/// neither, or when the user cancels, the key is skipped with a message.
#[derive(Clone)]
struct AskPassphrase {
    key: String,
    reporter: Reporter,
}

impl age::Callbacks for AskPassphrase {
    fn display_message(&self, message: &str) {
        self.reporter.note(message);
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        let passphrase = self.ask(description);
        if passphrase.is_none() {
            self.reporter.note(format_args!(
                "git-secret: {}: no passphrase given (no terminal? set SSH_ASKPASS); key skipped",
                self.key
            ));
        }
        passphrase.map(Into::into)
    }
}

/// What a plugin asks for (a PIN, a touch, a yes): on the terminal only, in
/// porcelain commands only; a filter never reaches this (git owns its
/// standard streams), and without a terminal the plugin is told no.
#[derive(Clone, Copy)]
pub struct Prompts {
    pub reporter: Reporter,
}

impl age::Callbacks for Prompts {
    fn display_message(&self, message: &str) {
        self.reporter.note(escape(message));
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        // (`Reporter::confirm` asks only on a terminal, else `None`.)
        let no = no.unwrap_or("no");
        self.reporter.confirm(format_args!(
            "{} [y = {}, n = {}] ",
            escape(message),
            escape(yes),
            escape(no)
        ))
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        if !crate::passphrase::terminal() {
            return None;
        }
        rpassword::prompt_password(format!("{} ", escape(description)))
            .ok()
            .map(Into::into)
    }
}

impl AskPassphrase {
    fn ask(&self, description: &str) -> Option<String> {
        use std::io::IsTerminal;
        let askpass = std::env::var_os("SSH_ASKPASS").filter(|p| !p.is_empty());
        let forced = std::env::var("SSH_ASKPASS_REQUIRE").is_ok_and(|v| v == "force");
        match askpass {
            Some(program) if forced || !std::io::stderr().is_terminal() => {
                let out = std::process::Command::new(program)
                    .arg(description)
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .ok()
                    .filter(|out| out.status.success())?;
                let bytes = Zeroizing::new(out.stdout);
                let text = std::str::from_utf8(&bytes).ok()?;
                Some(text.trim_end_matches(['\n', '\r']).to_owned())
            }
            _ => rpassword::prompt_password(format!("{description} ")).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::Encoding;
    use curve25519_dalek::{EdwardsPoint, MontgomeryPoint};

    /// An SSH ed25519 key and the age key `ssh-to-age` makes of it (the X25519
    /// key of the same secret scalar) are one recipient; other keys are not.
    #[test]
    fn an_ssh_key_and_its_age_equivalent_are_the_same_key() {
        let scalar: [u8; 32] = sha2::Sha512::digest(b"seed")[..32].try_into().unwrap();
        let ed = EdwardsPoint::mul_base_clamped(scalar).compress().to_bytes();
        let mut blob = b"\0\0\0\x0bssh-ed25519\0\0\0\x20".to_vec();
        blob.extend_from_slice(&ed);
        let ssh = Recipient::parse(&format!(
            "ssh-ed25519 {} bob@example.com",
            base64ct::Base64::encode_string(&blob)
        ))
        .unwrap();
        let x = MontgomeryPoint::mul_base_clamped(scalar).to_bytes();
        let hrp = bech32::Hrp::parse("age").unwrap();
        let age = Recipient::parse(&bech32::encode::<bech32::Bech32>(hrp, &x).unwrap()).unwrap();
        assert!(ssh.same_key(&age) && age.same_key(&ssh));
        let other = age::x25519::Identity::generate().to_public().to_string();
        assert!(!ssh.same_key(&Recipient::parse(&other).unwrap()));
    }

    /// Plugin and passphrase recipients parse, name their kind and keep their
    /// line; a passphrase recipient is not the age key it wraps for.
    #[test]
    fn plugin_and_passphrase_recipients_have_their_kind() {
        let hrp = bech32::Hrp::parse("age1yubikey").unwrap();
        let yubikey = bech32::encode::<bech32::Bech32>(hrp, &[2u8; 33]).unwrap();
        let r = Recipient::parse_line(&format!("{yubikey} # bob's key")).unwrap();
        assert_eq!(
            (r.kind(), r.plugin()),
            ("plugin yubikey".to_owned(), Some("yubikey".to_owned()))
        );
        assert_eq!(r.line(), format!("{yubikey} # bob's key"));
        let age_key = age::x25519::Identity::generate().to_public().to_string();
        let p = Recipient::parse_line(&format!("passphrase   {age_key}")).unwrap();
        assert_eq!(
            (p.kind(), p.line()),
            ("passphrase".to_owned(), format!("passphrase {age_key}"))
        );
        assert!(p.is_passphrase() && p.plugin().is_none());
        let plain = Recipient::parse_line(&age_key).unwrap();
        assert_eq!(plain.kind(), "age");
        assert!(!p.same_key(&plain) && !plain.same_key(&p));
        assert!(Recipient::parse_line("passphrase age1notakey").is_err());
    }

    #[test]
    fn escape_shows_control_characters() {
        assert_eq!(
            escape("a\r\x1b[2Kb\\\u{202e}"),
            "a\\r\\x1b[2Kb\\\\\\u{202e}"
        );
    }
}
