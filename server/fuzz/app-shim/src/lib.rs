//! `app::protocol::{spec, validation}`, the same source files as the app crate's.
pub mod protocol;
