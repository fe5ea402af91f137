//! Fixtures shared by the integration tests and benchmarks (`server/tests/*`, `server/benches/*`): a minimal site
//! folder, a server configuration on a free loopback port, a short demo run spec. Not part of the product.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::startup::ServerConfig;
use crate::telemetry::TelemetryConfig;

/// A site folder with just the files the server looks for (no real wasm bundle), created under `root`.
pub fn fake_site(root: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(root.join("pkg"))?;
    std::fs::write(root.join("pkg/tokenscope.js"), "export default function(){}")?;
    std::fs::write(root.join("pkg/tokenscope.css"), "body{}")?;
    std::fs::write(root.join("favicon.svg"), "<svg/>")?;
    Ok(root.to_path_buf())
}

/// A server on a free loopback port with its archive (`test.db`) and a fake site in `dir`: no demo target, no
/// GPUs, no token, no base path.
pub fn server_config(dir: &Path) -> std::io::Result<ServerConfig> {
    Ok(ServerConfig {
        host: "127.0.0.1".into(),
        port: 0,
        db: format!("sqlite://{}", dir.join("test.db").display()),
        site_root: Some(fake_site(&dir.join("site"))?),
        telemetry: TelemetryConfig { interval: Duration::from_millis(250), ..TelemetryConfig::default() },
        no_demo: true,
        token: None,
        base_path: String::new(),
        policy: crate::policy::PolicyConfig { dataset_dir: Some(dir.to_path_buf()), ..Default::default() },
        trust_proxy: 0,
        allow_hosts: Vec::new(),
    })
}

/// A run of `POST /api/runs` against `target` with short synthetic requests (16 tokens in, 8 out): about 0.2 s each
/// on the demo target.
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
