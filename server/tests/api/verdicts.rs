//! Runs where most requests fail end `failed` with a verdict that says so — never a green `completed`.

use serde_json::json;
use tokio::net::TcpListener;

use protocol::live_run::RunStatus;
use server::mock::{serve_mock, MockConfig};

use crate::helpers::spawn_app;

async fn mock(cfg: MockConfig) -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_mock(listener, cfg));
    url
}

fn spec(target: &str, requests: u64, timeout_s: f64) -> serde_json::Value {
    json!({
        "name": "verdict test",
        "target": target,
        "load": { "kind": "concurrency", "concurrency": 8 },
        "requests": requests,
        "request_timeout_s": timeout_s,
        "fail_fast_after": 0,
        "workload": { "kind": "synthetic", "input_tokens": { "min": 8, "max": 8 },
                      "output_tokens": { "min": 4, "max": 4 } },
        "ready_timeout_s": 10.0
    })
}

#[tokio::test]
async fn most_requests_answered_500_is_a_failed_run() {
    let app = spawn_app().await;
    // Seed 11698: the first 4 requests (preflight's probes among them) are answered, then about 2 in 3 get a 500.
    let cfg = MockConfig { ttft_ms: 1.0, itl_ms: 1.0, error_rate: 0.9, seed: 11698, ..MockConfig::default() };
    let target = mock(cfg).await;
    let id = app.start_run(&spec(&target, 20, 30.0)).await;
    let done = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(done.status, RunStatus::Failed, "{done:#?}");
    let verdict = done.verdict.unwrap_or_default();
    assert!(verdict.contains("failed") && verdict.contains("limit"), "{verdict}");
}

#[tokio::test]
async fn most_requests_timing_out_is_a_failed_run() {
    let app = spawn_app().await;
    // Preflight's probes and the first requests are answered; every later one hangs until its 1 s timeout.
    let cfg = MockConfig { ttft_ms: 1.0, itl_ms: 1.0, hang_after: Some(6), ..MockConfig::default() };
    let target = mock(cfg).await;
    let id = app.start_run(&spec(&target, 40, 1.0)).await;
    let done = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(done.status, RunStatus::Failed, "{done:#?}");
    let verdict = done.verdict.unwrap_or_default();
    assert!(verdict.contains("timeout") || verdict.contains("timed out"), "{verdict}");
}
