//! Building the router and binding it: the seam integration tests use to start the real app on port 0.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{header, HeaderValue},
    middleware,
    routing::{get, post},
    Router,
};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::{
    compression::{predicate::Predicate, CompressionLayer, DefaultPredicate},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use app::{
    protocol::{
        gpu::{TelemetryStatus, GPU_API_PATH, GPU_WS_PATH, METRICS_PATH},
        LIVE_WS_PATH,
    },
    shell,
    ssr_data::RunsSource,
    App,
};

use crate::{
    auth::Access,
    banner,
    hub::RunManager,
    mock::{serve_mock, MockConfig},
    routes, site,
    state::{AppState, ServerInfo},
    store::Store,
    telemetry::{Telemetry, TelemetryConfig},
};

/// Content-Security-Policy of every response. The Leptos hydration script is an inline `<script type=module>`
/// that instantiates WebAssembly, hence `'unsafe-inline'` and `'wasm-unsafe-eval'`; live data comes over
/// WebSockets to this same server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
     connect-src 'self' ws: wss:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Every route of the app: API, WebSockets, server-rendered pages, then static files; behind the access-token
/// gate, with security headers on every response and a 2 MiB body limit.
pub fn router(state: AppState) -> Router {
    let pages = generate_route_list(App);
    Router::new()
        .route("/api/health", get(routes::health::health))
        .route("/login", get(routes::login::login_page).post(routes::login::login))
        .route(LIVE_WS_PATH, get(routes::live::live_ws))
        .route(METRICS_PATH, get(routes::metrics::metrics))
        .route(GPU_API_PATH, get(routes::gpu_api::gpu_snapshot))
        .route(GPU_WS_PATH, get(routes::gpu_ws::gpu_ws))
        .route("/api/runs", get(routes::runs::list).post(routes::runs::create))
        .route("/api/runs/summaries", get(routes::archive::summaries))
        .route("/api/runs/import", post(routes::archive::import))
        .route("/api/runs/{id}", get(routes::runs::get).patch(routes::archive::patch).delete(routes::archive::delete))
        .route("/api/runs/{id}/series", get(routes::archive::series))
        .route("/api/runs/{id}/latency", get(routes::archive::latency))
        .route("/api/runs/{id}/export.json", get(routes::export::report_json))
        .route("/api/runs/{id}/export/requests.csv", get(routes::export::requests_csv))
        .route("/api/runs/{id}/export/telemetry.csv", get(routes::export::telemetry_csv))
        .route("/api/runs/{id}/export/summary.md", get(routes::export::summary_md))
        .route("/api/runs/{id}/export/charts.png", get(routes::export::charts_png))
        .route("/api/runs/{id}/stop", post(routes::runs::stop))
        .route("/api/preflight", post(routes::runs::check))
        .route("/api/datasets", post(routes::datasets::upload))
        .route("/api/datasets/check", get(routes::datasets::check))
        .route("/ws/preflight", get(routes::preflight_ws::preflight_ws))
        .route("/api/demo", get(routes::runs::demo))
        .route("/ws/runs/{id}", get(routes::run_ws::run_ws))
        .route("/api/shares", get(routes::shares::list).post(routes::shares::create))
        .route("/api/shares/{id}", axum::routing::delete(routes::shares::revoke))
        .route("/api/session", get(routes::shares::session))
        .route("/s/{id}", get(routes::shares::open))
        .leptos_routes_with_context(&state, pages, page_context(&state), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // The bundle, served precompressed when `make site` wrote `.br`/`.gz` files beside it (brotli for browsers
        // over HTTPS — a pod proxy —, zopfli-strength gzip for the rest; see docs/performance.md), else as is.
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(std::path::Path::new(&*state.leptos_options.site_root).join("pkg"))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(base_context(&state), shell))
        .layer(middleware::from_fn(routes::error::json_api_errors))
        .layer(middleware::from_fn_with_state(state.clone(), routes::login::require_token))
        // Before the token gate: a rebound host name or a cross-site write is refused without touching the limiter.
        .layer(middleware::from_fn_with_state(state.clone(), routes::origin::guard))
        .layer(DefaultBodyLimit::max(routes::error::BODY_LIMIT_BYTES))
        // gzip for pages, JSON, CSV and the WebAssembly bundle (1.8 MB → ≈0.7 MB over a pod proxy); only complete
        // 200 answers, so WebSocket upgrades (101) and partial content pass untouched.
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(
            |status: axum::http::StatusCode, _: axum::http::Version, _: &axum::http::HeaderMap, _: &axum::http::Extensions| {
                status == axum::http::StatusCode::OK
            },
        )))
        // The span names the path only: a `?token=` login link must not reach the log.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .with_state(state)
}

/// What every server-rendered page (the 404 page too) needs: the base path (`app::paths::provide_for_request`).
fn base_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let base = state.info.base_path.clone();
    move || app::paths::provide_for_request(&base)
}

/// Accepts a request under the base path by removing the prefix before routing (`/pod/api/runs` →
/// `/api/runs`, `/pod` → `/`); a request without it (a proxy that strips the prefix) passes unchanged.
pub fn strip_base_path(base: &str, mut req: Request) -> Request {
    let Some(rest) = app::paths::strip(base, req.uri().path()) else { return req };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// What server-rendered pages read while rendering: the base path, and the archive's rows for the Runs page.
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let base = base_context(state);
    let source = {
        let state = state.clone();
        RunsSource::new(move || {
            let state = state.clone();
            Box::pin(async move { routes::archive::summaries_of(&state).await.map_err(|e| e.to_string()) })
        })
    };
    move || {
        base();
        leptos::prelude::provide_context(source.clone());
    }
}

/// What a server is started with: `tokenscope serve`'s options (`commands::serve::ServeArgs::config`), or a test's.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// The run archive's URL (`sqlite://FILE` or `postgres://…`).
    pub db: String,
    /// Folder with the browser files; `None` looks in the usual places (`site::resolve`).
    pub site_root: Option<std::path::PathBuf>,
    /// GPU telemetry: interval, GPU selection, simulated GPUs.
    pub telemetry: TelemetryConfig,
    /// No built-in demo target.
    pub no_demo: bool,
    /// Access token; `None` generates one on a public bind.
    pub token: Option<String>,
    /// Path prefix the dashboard is served under ("" for none).
    pub base_path: String,
    /// What runs started from the dashboard may read and reach: the dataset folder and size cap, the allowed
    /// targets (`--dataset-dir`, `--dataset-max-mb`, `--allow-target`).
    pub policy: crate::policy::PolicyConfig,
    /// Proxies in front of the server whose `X-Forwarded-For` names the client (`--trust-proxy`); 0: none, the
    /// TCP peer is the client.
    pub trust_proxy: u8,
    /// Host names an open (token-less) server answers besides loopback ones (`--allow-host`).
    pub allow_hosts: Vec<String>,
}

/// A bound, not yet serving, application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    access: Arc<Access>,
    base_path: String,
    runs: RunManager,
}

impl Application {
    /// Opens the archive, finds the site and binds `host:port` (port 0 picks a free port).
    pub async fn build(args: &ServerConfig) -> anyhow::Result<Self> {
        let access = Access::resolve(args.token.clone(), &args.host).map_err(anyhow::Error::msg)?;
        let access = Arc::new(access.trusting_proxies(args.trust_proxy).allowing_hosts(&args.allow_hosts));
        let base_path = app::paths::normalize(&args.base_path).map_err(|why| anyhow::anyhow!("{why} (--base-path)"))?;
        let site_root = site::resolve(args.site_root.as_deref()).map_err(anyhow::Error::msg)?;
        let store = Store::connect(&args.db).await?;
        let interrupted = store.mark_interrupted().await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "runs left unfinished by an earlier server are marked interrupted; their data is kept"
            );
        }
        let listener = TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{} (--host/--port)", args.host, args.port))?;
        let addr = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("tokenscope")
            .site_root(site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let info = Arc::new(ServerInfo { started: Instant::now(), heartbeat_s: 15, base_path: base_path.clone() });
        let policy = crate::policy::Policy::new(&args.policy).map_err(anyhow::Error::msg)?;
        let demo_target = if args.no_demo { None } else { Some(start_demo_target().await?) };
        let policy = Arc::new(policy.with_demo(demo_target.as_deref()));
        let telemetry = start_telemetry(args, demo_target.is_some()).await?;
        let energy = crate::session::EnergyScope { gpus: args.telemetry.gpus.clone().unwrap_or_default(), model: None };
        let runs = RunManager::new(store.clone(), telemetry.clone(), demo_target)
            .with_energy_scope(energy)
            .with_policy(policy.clone());
        let shares = Arc::default();
        let state = AppState {
            leptos_options,
            store,
            info,
            telemetry,
            runs: runs.clone(),
            access: access.clone(),
            shares,
            policy,
        };
        Ok(Application { listener, router: router(state), access, base_path, runs })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The runs of this server (to stop them at shutdown).
    pub fn runs(&self) -> RunManager {
        self.runs.clone()
    }

    /// What `serve` prints at start: the address, how to log in when a token is required, and the URLs to open
    /// (loopback, this machine's LAN addresses on a 0.0.0.0 bind, the RunPod proxy when `RUNPOD_POD_ID` is set).
    pub fn banner(&self) -> String {
        let addr = self.addr();
        let lan = if addr.ip().is_unspecified() { banner::lan_addresses() } else { Vec::new() };
        let pod = std::env::var("RUNPOD_POD_ID").ok();
        let open = banner::open_urls(addr, &self.base_path, &lan, pod.as_deref());
        self.access.banner(addr, &open)
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The prefix comes off before routing (a layer on the Router itself would run after it).
        let base = self.base_path;
        let app = tower::util::MapRequestLayer::new(move |req| strip_base_path(&base, req)).layer(self.router);
        // Connection info gives the failed-login limiter each client's IP.
        let service = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
        axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await
    }
}

/// The built-in demo target: an in-process mock on a loopback port whose latency grows with load.
/// It runs on the load generator's threads (`hub::load_runtime`), as a real server would run apart from the
/// dashboard: API clients and viewers do not slow the demo's answers either.
async fn start_demo_target() -> anyhow::Result<String> {
    let std_listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).context("cannot open a port for the demo target")?;
    std_listener.set_nonblocking(true)?;
    let url = format!("http://{}", std_listener.local_addr()?);
    let cfg = MockConfig { ttft_ms: 120.0, itl_ms: 12.0, output_tokens: 128, slowdown: 0.004, ..MockConfig::default() };
    crate::hub::load_runtime::handle().spawn(async move {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => return tracing::warn!("the demo target cannot listen: {e}"),
        };
        if let Err(e) = serve_mock(listener, cfg).await {
            tracing::warn!("the demo target stopped: {e}");
        }
    });
    tracing::info!(%url, "built-in demo target (mock inference server) is up; --no-demo turns it off");
    Ok(url)
}

/// Starts GPU telemetry (the demo source with `--simulate-gpu`, NVML otherwise) off the async workers, and says
/// once in the log what it found. No NVIDIA driver is not an error: the dashboard shows "no GPU telemetry".
async fn start_telemetry(args: &ServerConfig, demo: bool) -> anyhow::Result<Telemetry> {
    let config = args.telemetry.clone();
    let mut telemetry = tokio::task::spawn_blocking(move || Telemetry::start(&config)).await??;
    if demo && args.telemetry.simulate_gpus.is_none() {
        if let TelemetryStatus::Unavailable { reason } = telemetry.status() {
            tracing::warn!("no GPU telemetry ({reason}); the demo simulates 1 GPU, labelled simulated");
            let config = TelemetryConfig { gpus: None, simulate_gpus: Some(1), ..args.telemetry.clone() };
            telemetry = tokio::task::spawn_blocking(move || Telemetry::start(&config)).await??;
        }
    }
    match telemetry.status() {
        TelemetryStatus::Unavailable { reason } => tracing::warn!("no GPU telemetry: {reason}"),
        TelemetryStatus::Simulated { gpus } => {
            tracing::warn!(gpus = gpus.len(), "GPU telemetry is SIMULATED (--simulate-gpu): demo numbers, not measured")
        }
        TelemetryStatus::Available { gpus } => {
            let names: Vec<&str> = gpus.iter().map(|g| g.name.as_str()).collect();
            tracing::info!(gpus = ?names, interval = ?telemetry.interval(), "GPU telemetry on");
        }
    }
    Ok(telemetry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_comes_off_before_routing() {
        let req = |uri: &str| Request::builder().uri(uri).body(axum::body::Body::empty()).unwrap();
        let path = |r: Request| r.uri().path_and_query().unwrap().as_str().to_owned();
        assert_eq!(path(strip_base_path("/pod", req("/pod/api/runs?x=1"))), "/api/runs?x=1");
        assert_eq!(path(strip_base_path("/pod", req("/pod"))), "/");
        assert_eq!(path(strip_base_path("/pod", req("/api/runs"))), "/api/runs");
        assert_eq!(path(strip_base_path("/pod", req("/podcast"))), "/podcast");
        assert_eq!(path(strip_base_path("", req("/pod/x"))), "/pod/x");
    }
}
