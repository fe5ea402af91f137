//! The included protocol files.
#[path = "../../../../../app/src/protocol/spec.rs"]
pub mod spec;
#[path = "../../../../../app/src/protocol/validation.rs"]
pub mod validation;
