//! Wire types shared by the server and the browser: plain serde structs, WASM-safe.

pub mod api;
pub mod archive;
pub mod event;
pub mod gpu;
mod live;
pub mod live_run;
pub mod preflight;
pub mod record;
pub mod report;
pub mod share;
pub mod spec;
pub mod validation;

pub use live::{HealthResponse, LiveFrame, LIVE_WS_PATH};
