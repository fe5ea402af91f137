//! Integration tests of the target client and preflight against the built-in mock (and tiny inline servers for
//! misbehaviour the mock does not produce), all on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; helpers here are test-only code.

mod errors;
mod helpers;
mod mock;
mod preflight;
mod streaming;
