//! Integration tests of the target client and preflight against the built-in mock (and tiny inline servers for
//! misbehaviour the mock does not produce), all on port 0: streaming and errors, preflight, backend detection of
//! each server the mock can play, and the mock's realism (early EOS, `/tokenize`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; helpers here are test-only code.

mod detect;
mod errors;
mod helpers;
mod keepalive;
mod mock;
mod preflight;
mod realism;
mod streaming;
