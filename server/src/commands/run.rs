//! `tokenscope run`.

use std::process::ExitCode;

use clap::Args;

/// Options of `tokenscope run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {}

/// Runs `tokenscope run`.
pub async fn main(_args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tokenscope run is being built")
}
