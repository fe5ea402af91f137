//! HTTP and WebSocket routes, one module per area.

pub mod archive;
pub mod client;
pub mod cookies;
pub mod datasets;
pub mod error;
pub mod export;
pub mod gpu_api;
pub mod gpu_ws;
pub mod health;
pub mod live;
pub mod login;
pub mod metrics;
pub mod origin;
pub mod page_style;
pub mod preflight_ws;
pub mod run_ws;
pub mod runs;
pub mod shares;
