//! Arbitrary bytes as a key file (see `git_secret::fuzzing::key_file`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| git_secret::fuzzing::key_file(data));
