//! Arbitrary bytes as a key file (see `key_file` in `fuzz/bodies.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::key_file(data));
