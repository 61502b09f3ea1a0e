//! One integration test binary: real git, temporary repositories, our binary.

mod harness;
mod merge;
mod story;
mod team;
mod vectors;
