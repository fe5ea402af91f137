//! The `tokenscope` server: CLI, HTTP routes, WebSocket hub and startup.

pub mod cli;
pub mod commands;
pub mod engine;
pub mod logging;
pub mod routes;
pub mod site;
pub mod startup;
pub mod state;
pub mod store;
