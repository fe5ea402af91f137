//! The `tokenscope` server: CLI, HTTP routes, WebSocket hub and startup.
// The dashboard's deeply nested Leptos view types need more than the default 128 query depth.
#![recursion_limit = "256"]

pub mod auth;
pub mod banner;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod engine;
pub mod export;
pub mod hub;
pub mod import;
pub mod logging;
pub mod mock;
pub mod policy;
pub mod routes;
pub mod session;
pub mod site;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod testing;
