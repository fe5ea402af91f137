//! Reusable UI pieces.

pub mod chart;
pub mod connection;
pub mod downsample;
pub mod gpu_view;
pub mod run_charts;
#[cfg(feature = "hydrate")]
pub mod socket;
