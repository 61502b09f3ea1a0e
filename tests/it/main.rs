//! One integration test binary: real git, temporary repositories, our binary.

mod harness;
mod story;
mod vectors;
