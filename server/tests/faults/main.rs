//! Fault tests at process level: the real `tokenscope` binary serving a temporary archive, a real `tokenscope mock`
//! child as the target, and faults injected from outside — SIGKILL, SIGTERM and SIGINT to the server, the target
//! killed or hanging, the SQLite archive locked by another process or refusing inserts as a full disk does. Each
//! test says what it proves; `cargo test -p server --test faults -- --nocapture` also prints the figures that
//! docs/reliability.md reports.
// Helpers fail the test loudly on any unexpected error; that is what unwrap/expect are for here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod procs;
mod signals;
mod storage;
mod target;
