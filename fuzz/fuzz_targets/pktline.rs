//! Arbitrary bytes as git's side of a filter-process session: `serve` must
//! return (Ok or Err) without panicking or hanging.
#![no_main]

use git_secret::filter::process::{serve, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serve(data, std::io::sink(), &mut |request: &Request| {
        let mut out = request.content.clone();
        out.reverse();
        Ok(out)
    });
});
