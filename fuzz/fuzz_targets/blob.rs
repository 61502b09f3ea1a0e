//! Arbitrary bytes as a stored blob, decrypted with a fixed key (see
//! `blob` in `fuzz/bodies.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::blob(data));
