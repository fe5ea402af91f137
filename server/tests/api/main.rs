//! Integration tests: the real application on port 0, driven over HTTP and WebSocket.
// Test helpers fail the test loudly on any unexpected error; that is what unwrap/expect are for here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod access_limits;
mod archive;
mod auth;
mod base_path;
mod charts_png;
mod check;
mod datasets;
mod exports_safe;
mod garbage_sse;
mod hardening;
mod helpers;
mod latency;
mod origin_checks;
mod run_ws;
mod runs;
mod share_limits;
mod share_revocation;
mod shares;
mod shell;
mod strict;
mod verdicts;
mod viewers;
