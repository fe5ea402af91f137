//! Reusable UI pieces.

pub mod connection;
#[cfg(feature = "hydrate")]
pub mod socket;
