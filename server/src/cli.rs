//! The command line, in clap's derive style: every option says what it does and what it defaults to.

use clap::{Parser, Subcommand};

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
    Serve(crate::commands::serve::ServeArgs),
    /// Benchmark an OpenAI-compatible server from the terminal: progress bar, summary table, `--json FILE`.
    Run(crate::commands::run::RunArgs),
    /// Start a built-in OpenAI-compatible mock server (for trying tokenscope and for tests).
    Mock(crate::commands::mock::MockArgs),
    /// Show live GPU telemetry (NVML) like `nvidia-smi dmon`, with GPM activity and energy.
    Gpu(crate::commands::gpu::GpuArgs),
    /// Add a report written by `tokenscope run --json` (or downloaded as export.json) to the run archive.
    Import(crate::commands::import::ImportArgs),
}

/// `tokenscope` without a subcommand: `serve` with its defaults and environment (what `cargo leptos watch` runs).
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: crate::commands::serve::ServeArgs,
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
    use crate::commands::serve::ServeArgs;

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
