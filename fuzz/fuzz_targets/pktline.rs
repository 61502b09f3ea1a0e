//! Arbitrary bytes as git's side of a filter-process session (see
//! `pktline` in `fuzz/bodies.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::pktline(data));
