//! The command line, in clap's derive style: every option says what it does and what it defaults to.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Live benchmark dashboard for LLM inference servers: tokens/s, latency and GPU telemetry on one clock.
#[derive(Debug, Parser)]
#[command(name = "tokenscope", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do; without one, `serve` with its defaults (what `cargo leptos watch` runs).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log more (debug level for tokenscope's own modules). `RUST_LOG` overrides.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// The subcommands.
// Parsed once per process: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Add a report written by `tokenscope run --json` (or downloaded as export.json) to the run archive.
    Import(crate::commands::import::ImportArgs),
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
    /// Run archive: `sqlite://FILE` (created when missing) or `postgres://USER:PASS@HOST:PORT/DB` (the database must
    /// exist; tables are created).
    #[arg(long, default_value = "sqlite://tokenscope.db", env = "TOKENSCOPE_DB")]
    pub db: String,
    /// Folder with the dashboard's browser files (pkg/, favicon…). Default: `site/` beside the binary, then
    /// `../site` (the build tree's target/site), then `target/site` under the working directory.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Demo mode: N simulated GPUs instead of NVML, labelled simulated everywhere they appear.
    #[arg(long, value_name = "N", env = "TOKENSCOPE_SIMULATE_GPU")]
    pub simulate_gpu: Option<u32>,
    /// GPU sampling interval for utilization, memory, power, temperature and clocks: 50ms to 1s (1-20 Hz).
    /// Energy, GPM and PCIe are read once a second, processes every 2 s.
    #[arg(long, default_value = "250ms", value_parser = crate::telemetry::parse_interval, env = "TOKENSCOPE_GPU_INTERVAL")]
    pub gpu_interval: std::time::Duration,
    /// Only these GPUs, by NVML index as nvidia-smi numbers them, e.g. 0,1 (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST", env = "TOKENSCOPE_GPUS")]
    pub gpus: Option<Vec<u32>>,
    /// Do not start the built-in demo target. By default `serve` runs an in-process mock inference server on a
    /// loopback port, offered on the New run page as "the built-in demo target"; when no NVIDIA driver is found it
    /// also simulates one GPU (labelled simulated everywhere) so the demo's charts move.
    #[arg(long, env = "TOKENSCOPE_NO_DEMO")]
    pub no_demo: bool,
    /// Access token the dashboard and API require (`Authorization: Bearer TOKEN`, or log in once in the browser).
    /// Required on a non-loopback --host: without one, `serve` generates a token and prints a login link.
    /// A loopback bind without a token stays open. Never written to the log.
    #[arg(long, value_name = "TOKEN", env = "TOKENSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve the dashboard under this path prefix, e.g. `/pod` behind a proxy that publishes it at
    /// https://host/pod/. Every link, fetch, WebSocket and asset URL carries the prefix; requests are accepted with
    /// it (a proxy that forwards it) or without it (a proxy that strips it). Starts with `/`, no trailing slash.
    #[arg(long, value_name = "PATH", default_value = "", hide_default_value = true, value_parser = parse_base_path, env = "TOKENSCOPE_BASE_PATH")]
    pub base_path: String,
}

/// `--base-path` in its normal form ("" for none or `/`), or why it cannot be used and how to fix it.
pub fn parse_base_path(raw: &str) -> Result<String, String> {
    app::paths::normalize(raw).map_err(|why| format!("{why} (--base-path / TOKENSCOPE_BASE_PATH)"))
}

/// `tokenscope` without a subcommand: `serve` with its defaults and environment (what `cargo leptos watch` runs).
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

impl Cli {
    /// The subcommand, or `serve` with its defaults when none was given.
    pub fn command_or_serve(self) -> Command {
        self.command.unwrap_or_else(|| Command::Serve(ServeOnly::parse_from(["tokenscope"]).args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["tokenscope", "serve"].iter().chain(args).copied();
        match Cli::try_parse_from(argv)?.command_or_serve() {
            Command::Serve(a) => Ok(a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn base_path_is_checked_and_normalized() {
        assert_eq!(serve(&[]).unwrap().base_path, "");
        assert_eq!(serve(&["--base-path", "/"]).unwrap().base_path, "");
        assert_eq!(serve(&["--base-path", "/pod"]).unwrap().base_path, "/pod");
        let err = serve(&["--base-path", "/pod/"]).unwrap_err().to_string();
        assert!(err.contains("--base-path") && err.contains("try `/pod`"), "{err}");
        let err = serve(&["--base-path", "pod"]).unwrap_err().to_string();
        assert!(err.contains("must start with `/`"), "{err}");
        assert!(serve(&["--base-path", "/pod?x=1"]).is_err());
    }
}
