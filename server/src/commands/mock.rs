//! `tokenscope mock`.

use std::process::ExitCode;

use clap::Args;

/// Options of `tokenscope mock`.
#[derive(Debug, Clone, Args)]
pub struct MockArgs {}

/// Runs `tokenscope mock`.
pub async fn main(_args: MockArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tokenscope mock is being built")
}
