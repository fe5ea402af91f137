//! The load engine: drives an OpenAI-compatible server and measures it. Takes a `RunSpec`, emits `RunEvent`s on a
//! channel and returns a report. Imports nothing from axum, leptos or sqlx: the CLI and the dashboard share it.

pub mod dataset;
pub mod dummy;
pub mod error;
pub mod executor;
pub mod lag_probe;
pub mod metrics;
pub mod openai;
pub mod pacer;
pub mod preflight;
pub mod presets;
mod readiness;
mod request_body;
pub mod runner;
pub mod scheduler;
pub mod sse;
mod sse_stream;
pub mod step;
pub mod target;
pub mod tokenize;
pub mod verdict;
pub mod window;
pub mod workload;
