//! Arbitrary bytes as a stored blob, decrypted with a fixed key (see
//! `git_secret::fuzzing::blob`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| git_secret::fuzzing::blob(data));
