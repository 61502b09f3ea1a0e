//! Which offered keys this clone may install (issue 12, key substitution).
//!
//! Anyone who can push can commit a `.git-secret/keys.age` wrapping a key
//! of their own for the listed recipients. So a key reaching this clone by
//! any route is installed only when the trust already here vouches for it:
//!
//! - keys installed in this clone are trusted (also generations installed
//!   before vouches existed), and so are the ones the caller passes as
//!   trusted (keys from the personal ring);
//! - an offered key is trusted when its vouch (FORMAT.md §4.2) verifies
//!   under a trusted key: generation g of a name vouched for by generation
//!   g-1 of that name, or generation 1 of a new name vouched for by any
//!   trusted key; trust grows along the chain;
//! - an offered key with the name and generation of a trusted key but
//!   another id is refused (a fork of the chain);
//! - in a clone that holds no key yet, the offered keys are trusted on first
//!   use: a key file the user hands over came out of band; keys from
//!   keys.age are shown with their chain, and asked about on a terminal.
//!   A key file offering a key name this clone does not hold yet is trusted
//!   on first use the same way.

use crate::key::Key;
use crate::report::Reporter;
use anyhow::{bail, Result};

/// Where the offered keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Key files or standard input, handed over by the user.
    KeyFile,
    /// The personal ring.
    Ring,
    /// `.git-secret/keys.age`, which anyone who can push can write.
    Wrapped,
}

/// Refuses unless every key of `offered` is trusted (see the module docs).
/// `installed` is everything this clone holds, `trusted` keys the user
/// already trusts elsewhere (the ring). Reports each key trusted anew.
/// `confirm` asks the user on a terminal; `None` when not interactive.
pub fn vet(
    offered: &[&Key],
    installed: &[Key],
    trusted: &[&Key],
    route: Route,
    confirm: Option<&dyn Fn(&str) -> bool>,
    reporter: &Reporter,
) -> Result<()> {
    let mut known: Vec<&Key> = installed.iter().chain(trusted.iter().copied()).collect();
    let mut pending: Vec<&Key> = offered
        .iter()
        .copied()
        .filter(|k| !known.iter().any(|t| t.id() == k.id()))
        .collect();
    pending.sort_by_key(|k| k.generation());
    if pending.is_empty() {
        return Ok(());
    }
    if installed.is_empty() && trusted.is_empty() {
        return first_use(&pending, route, confirm, reporter);
    }
    // Trust grows along the chain: a key vouched for by one trusted in this pass counts.
    loop {
        let before = pending.len();
        let mut index = 0;
        while index < pending.len() {
            let key = pending[index];
            if let Some(twin) = known
                .iter()
                .find(|t| t.name() == key.name() && t.generation() == key.generation())
            {
                bail!(
                    "refusing key '{}' generation {} (id {}): this clone trusts another key with that name \
                     and generation (id {}), so someone forked the key's history. Nothing was changed. \
                     Ask your team which key is real before unlocking",
                    key.name(),
                    key.generation(),
                    key.id(),
                    twin.id()
                );
            }
            match known.iter().copied().find(|t| may_vouch(t, key)) {
                Some(voucher) => {
                    reporter.note(format_args!(
                        "Trusting key '{}' generation {} (id {}): vouched for by {}.",
                        key.name(),
                        key.generation(),
                        key.id(),
                        describe(voucher, key)
                    ));
                    known.push(key);
                    pending.remove(index);
                }
                None => index += 1,
            }
        }
        if pending.len() == before {
            break;
        }
    }
    // A key file naming a key this clone does not hold came out of band.
    if route == Route::KeyFile {
        let new_name = |k: &&Key| !installed.iter().any(|i| i.name() == k.name());
        if pending.iter().all(new_name) {
            return Ok(());
        }
        pending.retain(|k| !new_name(k));
    }
    let Some(key) = pending.first() else {
        return Ok(());
    };
    bail!(
        "refusing key '{}' generation {} (id {}): no key trusted here vouches for it, so anyone who can \
         push could have made it. Nothing was changed. If a teammate really rotated the key, ask them for \
         the key file and check its id with them, then run `git-secret lock` and `git-secret unlock KEYFILE`",
        key.name(),
        key.generation(),
        key.id()
    )
}

/// Whether `voucher` may vouch for `key` and its vouch verifies.
fn may_vouch(voucher: &Key, key: &Key) -> bool {
    let parent = if voucher.name() == key.name() {
        voucher.generation().checked_add(1) == Some(key.generation())
    } else {
        key.generation() == 1
    };
    parent && key.vouched_by(voucher)
}

fn describe(voucher: &Key, key: &Key) -> String {
    if voucher.name() == key.name() {
        format!("generation {} (id {})", voucher.generation(), voucher.id())
    } else {
        format!(
            "key '{}' generation {} (id {})",
            voucher.name(),
            voucher.generation(),
            voucher.id()
        )
    }
}

/// Nothing is trusted here yet: the offered keys are the first.
fn first_use(
    pending: &[&Key],
    route: Route,
    confirm: Option<&dyn Fn(&str) -> bool>,
    reporter: &Reporter,
) -> Result<()> {
    if route != Route::Wrapped {
        return Ok(());
    }
    let mut lines = String::new();
    for key in pending {
        let chain = match key
            .vouch()
            .and_then(|v| pending.iter().find(|p| p.id() == v.by))
        {
            Some(voucher) => format!("vouched for by {}", describe(voucher, key)),
            None => "vouched for by no key".to_owned(),
        };
        lines.push_str(&format!(
            "\n  key '{}' generation {} (id {}), {chain}",
            key.name(),
            key.generation(),
            key.id()
        ));
    }
    let what = format!(
        "No key is trusted in this clone yet: trusting on first use what {} holds:{lines}\n\
         Anyone who can push can write that file: check these ids with a teammate.",
        crate::recipients::WRAPPED
    );
    reporter.note(&what);
    if let Some(confirm) = confirm {
        if !confirm("Trust these keys? [y/N] ") {
            bail!("you did not trust the keys; nothing was changed");
        }
    }
    Ok(())
}
