//! `tokenscope gpu`.

use std::process::ExitCode;

use clap::Args;

/// Options of `tokenscope gpu`.
#[derive(Debug, Clone, Args)]
pub struct GpuArgs {}

/// Runs `tokenscope gpu`.
pub async fn main(_args: GpuArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tokenscope gpu is being built")
}
