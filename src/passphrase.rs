//! Passphrases for the passphrase recipient (`add-user --passphrase`,
//! `unlock`): asked on the terminal (echo off), or read from a file
//! descriptor the caller opened (`--passphrase-fd N`, its first line), so a
//! script never puts one in an argument or the environment. Porcelain only:
//! a filter process never asks.

use age::secrecy::{ExposeSecret, SecretString};
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Read};
use zeroize::Zeroizing;

/// The longest passphrase read from a descriptor (a sanity bound).
const MAX: usize = 4096;

/// Whether someone can be asked: standard input and error are a terminal.
pub fn terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The first line of file descriptor `fd` (through /dev/fd, so no unsafe
/// code adopts the descriptor), without its line end.
pub fn from_fd(fd: u32) -> Result<SecretString> {
    let what = || format!("cannot read the passphrase from file descriptor {fd}");
    let mut file = std::fs::File::open(format!("/dev/fd/{fd}")).with_context(what)?;
    // Sized up front and wiped: no copy of the passphrase left behind.
    let mut buf = Zeroizing::new(vec![0u8; MAX + 1]);
    let mut len = 0;
    while len <= MAX && !buf[..len].contains(&b'\n') {
        let n = file.read(&mut buf[len..]).with_context(what)?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let line = buf[..len].split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX {
        bail!("the passphrase on file descriptor {fd} is longer than {MAX} bytes");
    }
    let Ok(text) = std::str::from_utf8(line) else {
        bail!("the passphrase on file descriptor {fd} is not UTF-8 text");
    };
    if text.is_empty() {
        bail!("the passphrase on file descriptor {fd} is empty");
    }
    Ok(SecretString::from(text.to_owned()))
}

/// A new passphrase: from `fd`, or asked twice on the terminal.
pub fn new(fd: Option<u32>) -> Result<SecretString> {
    if let Some(fd) = fd {
        return from_fd(fd);
    }
    if !terminal() {
        bail!(
            "no terminal to ask for the passphrase on; give it on a file descriptor: \
             `git-secret add-user --passphrase --passphrase-fd 0 < file`. Nothing was changed"
        );
    }
    let first = ask("New passphrase for this repository:")?;
    if first.expose_secret().is_empty() {
        bail!("the passphrase is empty. Nothing was changed");
    }
    let second = ask("The same passphrase again:")?;
    if first.expose_secret() != second.expose_secret() {
        bail!("the two passphrases differ. Nothing was changed");
    }
    Ok(first)
}

/// The passphrase of an existing recipient: from `fd`, or asked on the
/// terminal; `None` when there is neither.
pub fn existing(fd: Option<u32>, prompt: &str) -> Result<Option<SecretString>> {
    match fd {
        Some(fd) => from_fd(fd).map(Some),
        None if terminal() => ask(prompt).map(Some),
        None => Ok(None),
    }
}

fn ask(prompt: &str) -> Result<SecretString> {
    let text = rpassword::prompt_password(format!("{prompt} "))
        .context("cannot read the passphrase from the terminal")?;
    Ok(SecretString::from(text))
}
