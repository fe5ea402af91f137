//! Wire types shared by the server and the browser: plain serde structs, WASM-safe.

mod live;
pub mod record;
pub mod spec;

pub use live::{HealthResponse, LiveFrame, LIVE_WS_PATH};
