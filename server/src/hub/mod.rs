//! The run hub: starts runs for the dashboard, keeps each live run's state, and fans its frames out to any
//! number of viewers. A late viewer first gets the history, then live frames; a slow viewer skips ahead
//! (broadcast `Lagged`) and never slows the engine.

#[cfg(test)]
mod fixtures;
mod ids;
mod live_run;
pub mod load_runtime;
mod manager;
pub mod recorder;

pub use ids::{looks_like_id, new_run_id};
pub use live_run::LiveRun;
pub use manager::{RunManager, StartError};
