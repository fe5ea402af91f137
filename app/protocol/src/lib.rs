//! tokenscope's wire types: what the server, the browser (`app`), the CLI and the fuzz targets exchange. Plain serde
//! structs, WASM-safe, with no Leptos, axum or sqlx in the dependency tree; `clap` derives on the enums the CLI
//! parses come with the `clap` feature.

pub mod api;
pub mod archive;
pub mod chart;
pub mod compare;
pub mod decode;
pub mod event;
pub mod gpu;
pub mod lines;
mod live;
pub mod live_run;
pub mod preflight;
pub mod record;
pub mod report;
pub mod share;
pub mod spec;
pub mod sweep;
pub mod validation;

pub use live::{HealthResponse, LiveFrame, LIVE_WS_PATH};
