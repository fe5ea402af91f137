//! `spawn_app()`: starts the real server on a free port with a fresh archive and a minimal site; plus the small
//! HTTP helpers the run tests share (a demo spec, polling a run until a condition holds).

use std::time::Duration;

use serde_json::Value;

use protocol::live_run::RunView;
use server::startup::{Application, ServerConfig};

/// Longest wait for anything a test polls for: generous, since tests share two cores with builds.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`
    pub authority: String,
    /// HTTP client for the API.
    pub http: reqwest::Client,
    /// What `serve` would print at start (address, and how to log in when a token is required).
    pub banner: String,
    _dir: tempfile::TempDir,
}

/// Starts the app on port 0 with its archive and site in a temporary folder (no demo target, no GPUs).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with the built-in demo target and one simulated GPU.
pub async fn spawn_demo_app() -> TestApp {
    spawn_app_with(|args| {
        args.no_demo = false;
        args.telemetry.simulate_gpus = Some(1);
    })
    .await
}

/// Like [`spawn_app`], with `configure` changing the arguments first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut args = server::testing::server_config(dir.path()).unwrap();
    configure(&mut args);
    let app = Application::build(&args).await.expect("app builds");
    let mut addr = app.addr();
    if addr.ip().is_unspecified() {
        // A public bind (0.0.0.0) is reached over loopback in tests.
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let banner = app.banner();
    tokio::spawn(app.run_until(std::future::pending()));
    let (base, authority, http) = (format!("http://{addr}"), addr.to_string(), reqwest::Client::new());
    TestApp { base, authority, http, banner, _dir: dir }
}

impl TestApp {
    /// The app's scratch folder: its archive, its site, and its dataset folder (`serve --dataset-dir`).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// `GET {path}` as JSON, asserting a 200.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// `POST {path}` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap()
    }

    /// The built-in demo target's URL (`GET /api/demo`).
    pub async fn demo_target(&self) -> String {
        let demo: Value = self.get_json("/api/demo").await;
        demo["target"].as_str().expect("the demo target is on").to_owned()
    }

    /// Starts a run, asserting a 201; returns its id.
    pub async fn start_run(&self, spec: &Value) -> String {
        let resp = self.post_json("/api/runs", spec).await;
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let created: Value = resp.json().await.unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    /// `GET /api/runs/{id}`.
    pub async fn run(&self, id: &str) -> RunView {
        self.get_json(&format!("/api/runs/{id}")).await
    }

    /// Polls the run every 50 ms until `done` holds (panics after [`PATIENCE`]); returns the view that passed.
    pub async fn wait_run(&self, id: &str, what: &str, done: impl Fn(&RunView) -> bool) -> RunView {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let view = self.run(id).await;
            if done(&view) {
                return view;
            }
            assert!(tokio::time::Instant::now() < deadline, "run never got to {what}: {view:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub use server::testing::demo_spec;

/// A client that sends `Authorization: Bearer {token}` with every request and follows no redirects (the owner of a
/// server with a token, in the share tests).
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
