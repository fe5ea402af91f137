//! Building the router and binding it: the seam integration tests use to start the real app on port 0.

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Instant};

use anyhow::Context;
use axum::{routing::get, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use app::{protocol::LIVE_WS_PATH, shell, App};

use crate::{
    cli::ServeArgs,
    routes, site,
    state::{AppState, ServerInfo},
    store::Store,
};

/// Every route of the app: API, WebSockets, server-rendered pages, then static files.
pub fn router(state: AppState) -> Router {
    let pages = generate_route_list(App);
    Router::new()
        .route("/api/health", get(routes::health::health))
        .route(LIVE_WS_PATH, get(routes::live::live_ws))
        .leptos_routes(&state, pages, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, not yet serving, application.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Opens the archive, finds the site and binds `host:port` (port 0 picks a free port).
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let site_root = site::resolve(args.site_root.as_deref()).map_err(anyhow::Error::msg)?;
        let store = Store::connect(&args.db).await?;
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
        let info = Arc::new(ServerInfo { started: Instant::now(), heartbeat_s: 15 });
        let state = AppState { leptos_options, store, info };
        Ok(Application { listener, router: router(state) })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

/// `tokenscope serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let app = Application::build(&args).await?;
    let addr = app.addr();
    tracing::info!(db = %args.db, "archive ready");
    eprintln!("tokenscope {} — dashboard at http://{addr}/", env!("CARGO_PKG_VERSION"));
    app.run_until(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
