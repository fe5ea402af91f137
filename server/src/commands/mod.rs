//! The subcommands, one module each: its clap `Args` and its `main`; `args` holds the option groups they share.

pub mod args;
pub mod gpu;
pub mod import;
pub mod mock;
pub mod run;
pub mod serve;
