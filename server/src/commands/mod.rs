//! The subcommands other than `serve`, one module each: its clap `Args` and its `main`.

pub mod gpu;
pub mod import;
pub mod mock;
pub mod run;
