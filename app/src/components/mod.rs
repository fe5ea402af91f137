//! Reusable UI pieces.

pub mod badges;
pub mod chart;
pub mod compare_charts;
pub mod compare_scatter;
pub mod compare_table;
pub mod connection;
pub mod copy_button;
pub mod dataset_upload;
pub mod gpu_view;
pub mod live_stats;
pub mod meta_editor;
pub mod preflight_log;
pub mod run_archive;
pub mod run_charts;
pub mod runs_table;
pub mod share_panel;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod sweep_view;
