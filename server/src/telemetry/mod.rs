//! GPU telemetry: a sampler on its own OS thread reading NVML (or the demo source) in tiers — fast fields at the
//! configured rate (default 4 Hz), energy/GPM/PCIe at 1 Hz, processes every 2 s, static info once — fanned out to
//! any number of subscribers, with 15 minutes of history for late viewers. Plus the derived window values (energy
//! per token, MBU/MFU) and the Prometheus rendering.
//!
//! Imports nothing from axum, leptos or sqlx: routes adapt it to HTTP. See `docs/telemetry.md`.

pub mod config;
pub mod derived;
#[cfg(test)]
mod fake;
pub mod handle;
pub mod nvml;
pub mod peaks;
pub mod prometheus;
pub mod ring;
pub mod run_energy;
pub mod sampler;
pub mod simulated;
pub mod source;

pub use config::{parse_interval, TelemetryConfig, TelemetryError, DEFAULT_INTERVAL};
pub use handle::{Batch, ManualFeed, Telemetry};
pub use simulated::SimLoad;
