//! The one state every handler shares.

use std::{sync::Arc, time::Instant};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::store::Store;

/// Shared by every route and server function; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' options: site root, output name, address.
    pub leptos_options: LeptosOptions,
    /// The run archive.
    pub store: Store,
    /// Facts fixed at start.
    pub info: Arc<ServerInfo>,
    /// GPU telemetry (NVML, simulated, or unavailable).
    pub telemetry: crate::telemetry::Telemetry,
    /// The dashboard's runs.
    pub runs: crate::hub::RunManager,
    /// Who may use the dashboard: the access token and the failed-login limiter.
    pub access: Arc<crate::auth::Access>,
    /// Share links recently looked up by the gate (revocations on this server clear them at once).
    pub shares: Arc<crate::store::ShareCache>,
    /// What runs may read and reach: the dataset folder, the allowed targets.
    pub policy: Arc<crate::policy::Policy>,
}

/// Facts about this server process.
#[derive(Debug)]
pub struct ServerInfo {
    /// When the server started (monotonic).
    pub started: Instant,
    /// Seconds between heartbeats on live sockets.
    pub heartbeat_s: u64,
    /// `--base-path`: "" or "/prefix", in front of every URL the server emits (pages, redirects, the login form).
    pub base_path: String,
}
