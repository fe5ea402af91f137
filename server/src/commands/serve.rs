//! `tokenscope serve`: the dashboard. Its options, and serving until a signal stops it (live runs are stopped and
//! archived first). Building the application itself is `startup`'s.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::args::{DbArgs, TelemetryArgs};
use crate::startup::{Application, ServerConfig};

/// Options of `tokenscope serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. 127.0.0.1 keeps the dashboard on this machine; 0.0.0.0 opens it to the network.
    #[arg(long, default_value = "127.0.0.1", env = "TOKENSCOPE_HOST")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 3000, env = "TOKENSCOPE_PORT")]
    pub port: u16,
    /// The run archive.
    #[command(flatten)]
    pub db: DbArgs,
    /// Folder with the dashboard's browser files (pkg/, favicon…). Default: `site/` beside the binary, then
    /// `../site` (the build tree's target/site), then `target/site` under the working directory.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Which GPUs (`--gpus`, `--simulate-gpu`).
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// GPU sampling interval for utilization, memory, power, temperature and clocks: 50ms to 1s (1-20 Hz).
    /// Energy, GPM and PCIe are read once a second, processes every 2 s.
    #[arg(long, default_value = "250ms", value_parser = crate::telemetry::parse_interval, env = "TOKENSCOPE_GPU_INTERVAL")]
    pub gpu_interval: std::time::Duration,
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
    /// Folder the dashboard's runs may read datasets from (`workload.path` is relative to it and may not leave
    /// it; regular files only). Default: the working directory. The CLI's `run --dataset` is not confined.
    #[arg(long, value_name = "DIR", env = "TOKENSCOPE_DATASET_DIR")]
    pub dataset_dir: Option<PathBuf>,
    /// Largest dataset file the dashboard's runs may read or upload, MiB.
    #[arg(long, value_name = "MIB", default_value_t = crate::engine::dataset::DEFAULT_DATASET_MAX_MB, env = "TOKENSCOPE_DATASET_MAX_MB")]
    pub dataset_max_mb: u64,
    /// Targets the dashboard's runs and preflight checks may reach: a host name, an address or a network, each with
    /// an optional port (`gpu-box`, `10.0.0.5:8000`, `10.0.0.0/8`); repeat or separate with commas. Without it any
    /// target is allowed but link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10), which must be
    /// listed to be reached.
    #[arg(long, value_name = "HOST", value_delimiter = ',', env = "TOKENSCOPE_ALLOW_TARGET")]
    pub allow_target: Vec<String>,
    /// Trust the `X-Forwarded-For` header set by this many reverse proxies in front of the server (a pod's HTTPS
    /// proxy: 1) to tell clients apart for the failed-login limit. Without it every client behind a proxy shares
    /// one limit. Never set it on a server clients reach directly: they could pick their own address.
    #[arg(long, value_name = "HOPS", num_args = 0..=1, default_value_t = 0, default_missing_value = "1", env = "TOKENSCOPE_TRUST_PROXY")]
    pub trust_proxy: u8,
    /// Host names an open (token-less, loopback) server answers to besides localhost and loopback addresses, e.g.
    /// the name an SSH tunnel or a local proxy uses. Other `Host` headers are refused (DNS rebinding).
    #[arg(long, value_name = "NAME", value_delimiter = ',', env = "TOKENSCOPE_ALLOW_HOST")]
    pub allow_host: Vec<String>,
}

/// `--base-path` in its normal form ("" for none or `/`), or why it cannot be used and how to fix it.
pub fn parse_base_path(raw: &str) -> Result<String, String> {
    app::paths::normalize(raw).map_err(|why| format!("{why} (--base-path / TOKENSCOPE_BASE_PATH)"))
}

impl ServeArgs {
    /// The server these options describe.
    pub fn config(&self) -> ServerConfig {
        ServerConfig {
            host: self.host.clone(),
            port: self.port,
            db: self.db.db.clone(),
            site_root: self.site_root.clone(),
            telemetry: self.telemetry.config(self.gpu_interval),
            no_demo: self.no_demo,
            token: self.token.clone(),
            base_path: self.base_path.clone(),
            policy: crate::policy::PolicyConfig {
                dataset_dir: self.dataset_dir.clone(),
                dataset_max_mb: Some(self.dataset_max_mb),
                allow_targets: self.allow_target.clone(),
            },
            trust_proxy: self.trust_proxy,
            allow_hosts: self.allow_host.clone(),
        }
    }
}

/// Runs `tokenscope serve`: serves until SIGINT/SIGTERM, then stops and archives the live runs.
pub async fn main(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown_signal();
    let app = Application::build(&args.config()).await?;
    tracing::info!(db = %crate::store::redact_url(&args.db.db), "archive ready");
    eprintln!("{}", app.banner());
    let runs = app.runs();
    let stop_serving = tokio_util::sync::CancellationToken::new();
    let mut server = tokio::spawn(app.run_until(stop_serving.clone().cancelled_owned()));
    tokio::select! {
        served = &mut server => {
            served??;
            return Ok(ExitCode::SUCCESS);
        }
        () = shutdown => {}
    }
    // Live runs first, while viewers are still connected: each is stopped, finalised and archived.
    let stopped = runs.shutdown(SHUTDOWN_RUNS_PATIENCE).await;
    if stopped > 0 {
        tracing::info!(runs = stopped, "live runs stopped and archived");
    }
    stop_serving.cancel();
    // Open connections (WebSocket viewers) get a moment to close; then the process exits regardless.
    if let Ok(served) = tokio::time::timeout(SHUTDOWN_DRAIN, server).await {
        served??;
    }
    Ok(ExitCode::SUCCESS)
}

/// How long a graceful shutdown lets open connections finish once the live runs are archived.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(2);

/// How long a graceful shutdown waits for live runs to stop and be archived.
const SHUTDOWN_RUNS_PATIENCE: Duration = Duration::from_secs(10);

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    // The handlers are registered here, at once, not on the future's first poll: a SIGTERM that arrives while the
    // server is starting must find them, or the default action kills the process without a graceful stop.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        let wait = |s: Option<Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        async move {
            tokio::select! { _ = wait(interrupt) => {}, _ = wait(terminate) => {} }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
