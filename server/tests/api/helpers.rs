//! `spawn_app()`: starts the real server on a free port with a fresh archive and a minimal site; plus the small
//! HTTP helpers the run tests share (a demo spec, polling a run until a condition holds).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use app::protocol::live_run::RunView;
use server::{cli::ServeArgs, startup::Application};

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
        args.simulate_gpu = Some(1);
    })
    .await
}

/// Like [`spawn_app`], with `configure` changing the arguments first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let site = fake_site(dir.path().join("site"));
    let mut args = ServeArgs {
        host: "127.0.0.1".into(),
        port: 0,
        db: format!("sqlite://{}", dir.path().join("test.db").display()),
        site_root: Some(site),
        simulate_gpu: None,
        no_demo: true,
        gpu_interval: Duration::from_millis(250),
        gpus: None,
        token: None,
        base_path: String::new(),
    };
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

/// A run against `target` with short synthetic requests (16 tokens in, 8 out): about 0.2 s each on the demo.
pub fn demo_spec(target: &str, concurrency: u32, requests: Option<u64>, duration_s: Option<f64>) -> Value {
    json!({
        "name": "api test",
        "target": target,
        "load": { "kind": "concurrency", "concurrency": concurrency },
        "requests": requests,
        "duration_s": duration_s,
        "workload": {
            "kind": "synthetic",
            "input_tokens": { "min": 16, "max": 16 },
            "output_tokens": { "min": 8, "max": 8 }
        },
        "ready_timeout_s": 10.0
    })
}

/// Tests need no real wasm bundle: a site folder with the files the server looks for.
fn fake_site(root: PathBuf) -> PathBuf {
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("pkg/tokenscope.js"), "export default function(){}").unwrap();
    std::fs::write(root.join("pkg/tokenscope.css"), "body{}").unwrap();
    std::fs::write(root.join("favicon.svg"), "<svg/>").unwrap();
    root
}
