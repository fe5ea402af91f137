//! Preflight against real servers on loopback: a server whose answers are secrets, the mock failing its first
//! requests, a server that fails only streamed requests, and a port where nothing listens.

use super::*;
use crate::engine::target::RequestResult;
use crate::mock::{serve_mock, MockConfig};

/// A loopback HTTP/1.1 server: `GET /v1/models` lists one model, `GET /internal/ok` is an internal page, every
/// other request gets 404 with a body that must never reach preflight's answer. One request per connection.
async fn secret_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_len) = loop {
                    let Ok(n) = tcp.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (head, i + 4 + len);
                    }
                };
                while buf.len() < body_len {
                    let Ok(n) = tcp.read(&mut chunk).await else { return };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (status, body) = match path.as_str() {
                    "/v1/models" => ("200 OK", r#"{"data":[{"id":"m","owned_by":"SECRET-OWNER"}]}"#),
                    "/internal/ok" | "/page/v1/models" => ("200 OK", "SECRET-BODY internal page"),
                    _ => ("404 Not Found", "SECRET-BODY {\"error\": \"SECRET-BODY\"}"),
                };
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = tcp.write_all(reply.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    base
}

#[tokio::test]
async fn preflight_answers_carry_no_body_of_the_target() {
    let base = secret_server().await;
    let mut s = spec(serde_json::json!({"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                                        "output_tokens": {"min": 4, "max": 4}}));
    (s.target, s.ready_timeout_s) = (base.clone(), 5.0);
    let mut states = Vec::new();
    let err = preflight(&s, &mut |l: &str| states.push(l.to_owned())).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PreflightError::NoWorkingEndpoint { .. }), "{text}");
    assert!(text.contains("/v1/completions: HTTP 404 Not Found (is this an OpenAI-compatible server?"), "{text}");
    assert!(!text.contains("SECRET") && !states.concat().contains("SECRET"), "{text}\n{states:?}");

    // The page trick: with `#`, every path would become a fragment of the internal page.
    s.target = format!("{base}/internal/ok#");
    let text = preflight(&s, &mut |_: &str| {}).await.unwrap_err().to_string();
    assert!(!text.contains("SECRET"), "{text}");

    // A page that answers 200 where the model list should be.
    (s.target, s.ready_timeout_s) = (format!("{base}/page"), 0.3);
    let err = preflight(&s, &mut |_: &str| {}).await.unwrap_err();
    assert!(matches!(err, PreflightError::NotReady { .. }), "{err}");
    assert!(err.to_string().contains("not a model list") && !err.to_string().contains("SECRET"), "{err}");
}

#[test]
fn probes_accept_empty_answers_but_not_failures() {
    let at = std::time::Instant::now();
    let result = |error| Tried {
        failures: vec![],
        result: RequestResult {
            index: 0,
            sent_at: at,
            chunks: vec![],
            done_at: at,
            output_tokens: 0,
            token_source: crate::engine::target::TokenSource::Chunks,
            prompt_tokens: None,
            retried: false,
            error,
        },
    };
    let err = |class| Some(crate::engine::target::RequestError { class, status: Some(404), message: "x".into() });
    assert_eq!(probe_outcome(Endpoint::Chat, result(None)), Ok(Endpoint::Chat));
    assert_eq!(probe_outcome(Endpoint::Chat, result(err(ErrorClass::StreamEnded))), Ok(Endpoint::Chat));
    assert!(probe_outcome(Endpoint::Chat, result(err(ErrorClass::HttpStatus))).is_err());
}

fn spec(workload: serde_json::Value) -> RunSpec {
    serde_json::from_value(serde_json::json!({
        "target": "http://127.0.0.1:1", "load": {"kind": "concurrency", "concurrency": 1}, "workload": workload,
    }))
    .unwrap()
}

#[test]
fn the_length_check_asks_for_the_runs_longest_output_capped() {
    let synthetic = |min: u32, max: u32| {
        serde_json::json!({"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                           "output_tokens": {"min": min, "max": max}})
    };
    assert_eq!(length_check_tokens(&spec(synthetic(100, 300)).workload), 300);
    assert_eq!(length_check_tokens(&spec(synthetic(0, 0)).workload), 1, "never 0");
    assert_eq!(length_check_tokens(&spec(synthetic(10, 50_000)).workload), LENGTH_CHECK_CAP);
    let file = serde_json::json!({"kind": "share_gpt", "path": "x.json", "output_tokens": 256});
    assert_eq!(length_check_tokens(&spec(file).workload), 256);
}

#[test]
fn the_length_check_gets_the_ready_timeout_within_the_request_timeout() {
    let mut s = spec(serde_json::json!({"kind": "jsonl", "path": "x", "output_tokens": 8}));
    (s.ready_timeout_s, s.request_timeout_s) = (120.0, 600.0);
    assert_eq!(length_check_timeout(&s), Duration::from_secs(120));
    (s.ready_timeout_s, s.request_timeout_s) = (5.0, 600.0);
    assert_eq!(length_check_timeout(&s), LENGTH_CHECK_MIN_TIMEOUT);
    (s.ready_timeout_s, s.request_timeout_s) = (120.0, 10.0);
    assert_eq!(length_check_timeout(&s), Duration::from_secs(10));
    (s.ready_timeout_s, s.request_timeout_s) = (f64::NAN, 0.0);
    assert_eq!(length_check_timeout(&s), LENGTH_CHECK_MIN_TIMEOUT);
}

/// Everything an observer hears.
#[derive(Default)]
struct Heard {
    states: Vec<String>,
    waits: Vec<WaitProgress>,
}

impl PreflightObserver for Heard {
    fn state(&mut self, line: &str) {
        self.states.push(line.to_owned());
    }
    fn waiting(&mut self, progress: &WaitProgress) {
        self.waits.push(progress.clone());
    }
}

fn synthetic(target: &str, output: u32) -> RunSpec {
    let mut s = spec(serde_json::json!({"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                                        "output_tokens": {"min": output, "max": output}}));
    (s.target, s.ready_timeout_s, s.request_timeout_s) = (target.to_owned(), 5.0, 10.0);
    s
}

async fn mock(cfg: MockConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_mock(listener, MockConfig { ttft_ms: 1.0, itl_ms: 1.0, ..cfg }));
    base
}

#[tokio::test]
async fn a_server_error_on_the_first_probe_is_retried_and_reported() {
    let base = mock(MockConfig { fail_first: 1, ..Default::default() }).await;
    let mut heard = Heard::default();
    let report = preflight_with(&synthetic(&base, 4), &mut heard).await.unwrap();
    let note = report.notes.iter().find(|n| n.contains("passed on attempt 2 of 3")).cloned().unwrap_or_default();
    assert!(note.contains("HTTP 500 Internal Server Error on attempt 1"), "{:?}", report.notes);
    assert!(heard.states.iter().any(|s| s.starts_with("retried: the 1-token probe of /v1/")), "{:?}", heard.states);
    assert_eq!(report.states, heard.states);
}

#[tokio::test]
async fn failures_that_outlast_the_retries_refuse_the_target() {
    let base = mock(MockConfig { fail_first: 100, ..Default::default() }).await;
    let err = preflight(&synthetic(&base, 4), &mut |_: &str| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PreflightError::NoWorkingEndpoint { .. }), "{text}");
    assert!(
        text.contains("HTTP 500 Internal Server Error (the server failed: its log says why) (3 attempts)"),
        "{text}"
    );
    assert!(!text.contains("stream"), "{text}");
}

#[tokio::test]
async fn a_500_in_the_check_is_the_servers_failure_not_streamings() {
    let (base, checks) = failing_check_server(false).await;
    let err = preflight(&synthetic(&base, 8), &mut |_: &str| {}).await.unwrap_err();
    let text = err.render(Surface::Form);
    assert!(
        text.starts_with(
            "the server failed to answer a completions request (HTTP 500: Internal Server Error on 3 \
                          attempts)"
        ),
        "{text}"
    );
    assert!(!text.contains("stream") && !text.contains("--"), "{text}");
    assert_eq!(checks.load(std::sync::atomic::Ordering::Relaxed), 4, "3 streamed attempts, 1 without streaming");

    let (base, _) = failing_check_server(true).await;
    let err = preflight(&synthetic(&base, 8), &mut |_: &str| {}).await.unwrap_err();
    assert!(err.to_string().contains("it may not support streaming; try --no-stream"), "{err}");
}

#[tokio::test]
async fn waiting_is_reported_at_every_poll_with_attempt_time_and_reason() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut s = synthetic(&closed, 4);
    s.ready_timeout_s = 1.2;
    let mut heard = Heard::default();
    let err = preflight_with(&s, &mut heard).await.unwrap_err();
    assert!(matches!(err, PreflightError::NotReady { .. }), "{err}");
    assert_eq!(err.fixes(), [Fix::ReadyTimeout { seconds: 60 }]);
    assert!(heard.waits.len() >= 3, "{:?}", heard.waits);
    let last = heard.waits.last().unwrap();
    assert_eq!((last.reason.as_str(), last.timeout_s), ("connection refused", 1.2));
    assert!(heard.waits.windows(2).all(|w| w[0].attempt <= w[1].attempt && w[0].elapsed_s <= w[1].elapsed_s));
    assert_eq!(heard.states, ["waiting: connection refused"], "a state line per change only");
}

/// A server whose probes pass (1 token, not streamed) and whose longer requests fail with HTTP 500: every one
/// (`streamed_only` false), or only the streamed ones. Counts the requests of more than 1 token.
async fn failing_check_server(streamed_only: bool) -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use crate::engine::tokenize::test_util::{serve, Reply};
    use std::sync::atomic::{AtomicU32, Ordering};
    let checks = std::sync::Arc::new(AtomicU32::new(0));
    let counted = checks.clone();
    let base = serve(move |req| {
        if req.path == "/v1/models" {
            return Reply::json(200, &serde_json::json!({"data": [{"id": "m"}]}));
        }
        if req.path != "/v1/completions" {
            return Reply::status(404);
        }
        let body = req.json().unwrap_or_default();
        let tokens = body["max_tokens"].as_u64().unwrap_or(1);
        let stream = body["stream"].as_bool().unwrap_or(false);
        if tokens > 1 {
            counted.fetch_add(1, Ordering::Relaxed);
        }
        if tokens > 1 && (stream || !streamed_only) {
            return Reply::status(500);
        }
        Reply::json(
            200,
            &serde_json::json!({
                "id": "c", "object": "text_completion", "created": 0, "model": "m",
                "choices": [{"index": 0, "text": "hi ".repeat(tokens as usize), "finish_reason": "length"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": tokens + 9},
            }),
        )
    })
    .await;
    (base, checks)
}
