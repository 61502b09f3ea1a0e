//! Fault injection for tests, compiled into debug builds only: setting
//! `GIT_SECRET_FAULT=<point>` makes the process die (as if killed) or an I/O
//! step fail (as if the disk were full) at that named point, so tests can show
//! that every interruption leaves a repository that a rerun completes.
//!
//! `crash_point` is the one place the library ends the process: it stands
//! for a kill, so it must not unwind or return an error that callers handle.

/// Dies at `point` when `GIT_SECRET_FAULT` names it (debug builds only).
pub fn crash_point(point: &str) {
    if cfg!(debug_assertions) && std::env::var("GIT_SECRET_FAULT").is_ok_and(|v| v == point) {
        eprintln!("git-secret: injected crash at {point}");
        std::process::exit(99);
    }
}

/// Fails with "no space left on device" at `point` when `GIT_SECRET_FAULT` names it.
pub fn io_point(point: &str) -> std::io::Result<()> {
    if cfg!(debug_assertions) && std::env::var("GIT_SECRET_FAULT").is_ok_and(|v| v == point) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "no space left on device (injected)",
        ));
    }
    Ok(())
}
