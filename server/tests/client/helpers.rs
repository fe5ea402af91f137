//! Starting the mock or an inline router on port 0, and building targets, prompts and specs for them.

use std::time::Duration;

use protocol::spec::{Backend, Endpoint, RunSpec};
use server::engine::openai::{OpenAiTarget, TargetConfig};
use server::engine::target::{Prompt, PromptBody};
use server::mock::{serve_mock, MockConfig};

/// The mock's default model.
pub const MODEL: &str = "tokenscope-mock";

/// A fast mock: 20 ms TTFT, 1 ms ITL.
pub fn fast() -> MockConfig {
    MockConfig { ttft_ms: 20.0, itl_ms: 1.0, ..Default::default() }
}

/// Starts the mock on a free port; returns `http://127.0.0.1:PORT`.
pub async fn spawn_mock(cfg: MockConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_mock(listener, cfg));
    base
}

/// Serves `router` on a free port; returns its base URL.
pub async fn spawn_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// A base URL where nothing listens.
pub fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A client for `base` with the mock preset and a 10 s timeout.
pub fn target(base: &str, endpoint: Endpoint, stream: bool) -> OpenAiTarget {
    target_with(base, endpoint, stream, Duration::from_secs(10))
}

/// A client for `base` with the given request timeout.
pub fn target_with(base: &str, endpoint: Endpoint, stream: bool, request_timeout: Duration) -> OpenAiTarget {
    OpenAiTarget::new(TargetConfig {
        base_url: base.to_string(),
        endpoint,
        model: MODEL.into(),
        backend: Backend::Mock,
        api_key: Some("sk-test".into()),
        stream,
        request_timeout,
    })
    .unwrap()
}

/// A text prompt asking for `max_tokens`.
pub fn prompt(max_tokens: u32) -> Prompt {
    Prompt { index: 3, body: PromptBody::Text("one two three four".into()), input_tokens: 4, max_tokens }
}

/// A minimal run spec for `base` (everything else at its default).
pub fn spec(base: &str) -> RunSpec {
    serde_json::from_value(serde_json::json!({
        "target": base,
        "backend": "mock",
        "ready_timeout_s": 10.0,
        "load": {"kind": "concurrency", "concurrency": 1},
        "workload": {"kind": "synthetic", "input_tokens": {"min": 4, "max": 4}, "output_tokens": {"min": 8, "max": 8}},
    }))
    .unwrap()
}

/// Collects `on_state` lines.
pub fn recorder() -> (std::sync::Arc<std::sync::Mutex<Vec<String>>>, impl FnMut(&str) + Send) {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&lines);
    (lines, move |line: &str| sink.lock().unwrap().push(line.to_string()))
}
