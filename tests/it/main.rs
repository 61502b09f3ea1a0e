//! One integration test binary: real git, temporary repositories, our binary.

mod attacks_attrs;
mod attacks_keys;
mod attacks_marking;
mod attacks_recipients;
mod deploy;
mod doctor;
mod edit;
mod exec;
mod faults;
mod first_day;
#[path = "../../fuzz/bodies.rs"]
mod fuzzing;
mod gitcrypt;
mod guard;
mod harness;
mod hostile;
mod hygiene;
mod install;
mod keyloss;
mod merge;
mod newcomer;
mod plugins;
mod process;
mod process_start;
mod refusals;
mod regression;
mod scripting;
mod story;
mod team;
mod textconv;
mod users;
mod vectors;
mod view;
mod workflows;
