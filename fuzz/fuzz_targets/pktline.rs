//! Arbitrary bytes as git's side of a filter-process session (see
//! `git_secret::fuzzing::pktline`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| git_secret::fuzzing::pktline(data));
