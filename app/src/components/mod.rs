//! Reusable UI pieces.

pub mod chart;
pub mod connection;
pub mod downsample;
#[cfg(feature = "hydrate")]
pub mod socket;
