//! Tracing set-up: human-readable logs on stderr, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `-v` raises tokenscope's own level to debug.
pub fn init(verbose: bool) {
    let default = if verbose { "info,server=debug,tokenscope=debug" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
