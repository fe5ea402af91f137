//! Reusable UI pieces.

pub mod badges;
pub mod chart;
pub mod compare_charts;
pub mod compare_table;
pub mod connection;
pub mod downsample;
pub mod gpu_view;
pub mod live_stats;
pub mod png_export;
pub mod run_archive;
pub mod run_charts;
pub mod runs_table;
#[cfg(feature = "hydrate")]
pub mod socket;
