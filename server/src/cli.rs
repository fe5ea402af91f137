//! The command line, in clap's derive style: every option says what it does and what it defaults to.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Live benchmark dashboard for LLM inference servers: tokens/s, latency and GPU telemetry on one clock.
#[derive(Debug, Parser)]
#[command(name = "tokenscope", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log more (debug level for tokenscope's own modules). `RUST_LOG` overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard: open http://HOST:PORT in a browser (through your pod's HTTPS proxy on a GPU pod).
    Serve(ServeArgs),
    /// Benchmark an OpenAI-compatible server from the terminal: progress bar, summary table, `--json FILE`.
    Run(crate::commands::run::RunArgs),
    /// Start a built-in OpenAI-compatible mock server (for trying tokenscope and for tests).
    Mock(crate::commands::mock::MockArgs),
    /// Show live GPU telemetry (NVML) like `nvidia-smi dmon`, with GPM activity and energy.
    Gpu(crate::commands::gpu::GpuArgs),
}

/// Options of `tokenscope serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. 127.0.0.1 keeps the dashboard on this machine; 0.0.0.0 opens it to the network.
    #[arg(long, default_value = "127.0.0.1", env = "TOKENSCOPE_HOST")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 3000, env = "TOKENSCOPE_PORT")]
    pub port: u16,
    /// Run archive: `sqlite://FILE` (created when missing).
    #[arg(long, default_value = "sqlite://tokenscope.db", env = "TOKENSCOPE_DB")]
    pub db: String,
    /// Folder with the dashboard's browser files (pkg/, favicon…). Default: `site/` beside the binary, then
    /// `../site` (the build tree's target/site), then `target/site` under the working directory.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
}
