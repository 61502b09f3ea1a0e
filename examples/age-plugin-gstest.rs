//! A test-only age plugin, `age-plugin-gstest`, so the plugin recipients and
//! identities of `add-user` and `unlock` are tested without hardware. The
//! integration tests put it on PATH under that name. NOT a real protection:
//! the "device" is the identity string itself.
//!
//! - no arguments: prints a new identity (`AGE-PLUGIN-GSTEST-1…`) with its
//!   recipient (`age1gstest1…`) in a `# recipient:` comment, as
//!   `age-plugin-yubikey --generate` does;
//! - `--age-plugin=recipient-v1` / `identity-v1`: the plugin protocol. A
//!   stanza's body is the file key XORed with SHA-256 of the slot (the 32
//!   bytes both strings carry).
//!
//! Environment knobs for the tests:
//! - `GSTEST_PLUGIN_LOG=FILE`: appends one line per run (which state machine),
//!   so a test can prove a command never started the plugin;
//! - `GSTEST_PLUGIN_PIN=PIN`: unwrapping asks for a PIN (as a YubiKey does)
//!   and fails as a cancelled PIN entry unless the answer is PIN.

use age_core::format::{FileKey, Stanza, FILE_KEY_BYTES};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{print_new_identity, run_state_machine, Callbacks, PluginHandler};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

const NAME: &str = "gstest";

fn log(what: &str) {
    if let Some(path) = std::env::var_os("GSTEST_PLUGIN_LOG") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{what}");
        }
    }
}

/// The pad a slot XORs a file key with, and the tag that names the slot.
fn pad(slot: &[u8]) -> [u8; 32] {
    Sha256::digest([b"gstest pad ".as_slice(), slot].concat()).into()
}

fn slot_tag(slot: &[u8]) -> String {
    Sha256::digest([b"gstest tag ".as_slice(), slot].concat())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrap;
    type IdentityV1 = Unwrap;

    fn recipient_v1(self) -> io::Result<Wrap> {
        log("recipient-v1");
        Ok(Wrap(Vec::new()))
    }

    fn identity_v1(self) -> io::Result<Unwrap> {
        log("identity-v1");
        Ok(Unwrap(Vec::new()))
    }
}

struct Wrap(Vec<Vec<u8>>);

impl RecipientPluginV1 for Wrap {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        if plugin_name != NAME || bytes.len() != 32 {
            return Err(recipient::Error::Recipient {
                index,
                message: "not a gstest recipient".to_owned(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn add_identity(
        &mut self,
        index: usize,
        _plugin_name: &str,
        _bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "wrapping for an identity is not supported".to_owned(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        Ok(Ok(file_keys
            .iter()
            .map(|key| {
                self.0
                    .iter()
                    .map(|slot| Stanza {
                        tag: NAME.to_owned(),
                        args: vec![slot_tag(slot)],
                        body: key
                            .expose_secret()
                            .iter()
                            .zip(pad(slot))
                            .map(|(k, p)| k ^ p)
                            .collect(),
                    })
                    .collect()
            })
            .collect()))
    }
}

struct Unwrap(Vec<Vec<u8>>);

impl IdentityPluginV1 for Unwrap {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        if plugin_name != NAME || bytes.len() != 32 {
            return Err(identity::Error::Identity {
                index,
                message: "not a gstest identity".to_owned(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut keys = HashMap::new();
        for (file_index, stanzas) in files.iter().enumerate() {
            for stanza in stanzas.iter().filter(|s| s.tag == NAME) {
                let Some(slot) = self
                    .0
                    .iter()
                    .find(|slot| stanza.args.first() == Some(&slot_tag(slot)))
                else {
                    continue;
                };
                if let Ok(pin) = std::env::var("GSTEST_PLUGIN_PIN") {
                    let given = callbacks.request_secret("Enter the PIN of the gstest device")?;
                    if given.ok().map(|s| s.expose_secret().to_owned()) != Some(pin) {
                        keys.insert(
                            file_index,
                            Err(vec![identity::Error::Identity {
                                index: 0,
                                message: "PIN entry cancelled".to_owned(),
                            }]),
                        );
                        break;
                    }
                }
                if stanza.body.len() != FILE_KEY_BYTES {
                    continue;
                }
                let key = FileKey::try_init_with_mut(|key| {
                    for (k, (b, p)) in key.iter_mut().zip(stanza.body.iter().zip(pad(slot))) {
                        *k = b ^ p;
                    }
                    Ok::<(), identity::Error>(())
                });
                keys.insert(file_index, key.map_err(|e| vec![e]));
                break;
            }
        }
        Ok(keys)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            let mut slot = [0u8; 32];
            getrandom::fill(&mut slot).map_err(|e| io::Error::other(e.to_string()))?;
            print_new_identity(NAME, &slot, &slot);
            Ok(())
        }
        [arg] if arg.starts_with("--age-plugin=") => {
            run_state_machine(&arg["--age-plugin=".len()..], Handler)
        }
        [flag, machine] if flag == "--age-plugin" => run_state_machine(machine, Handler),
        _ => Err(io::Error::other(
            "usage: age-plugin-gstest [--age-plugin=STATE-MACHINE]",
        )),
    }
}
