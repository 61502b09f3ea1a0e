//! Arbitrary bytes as a dotenv file for `exec` (see `dotenv` in `fuzz/bodies.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::dotenv(data));
