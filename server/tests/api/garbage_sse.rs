//! A target that streams garbage: a tiny axum server in the test answers preflight properly, then gives each run
//! request one kind of broken answer in turn (non-JSON data lines, binary bytes, truncated JSON, a 4 MiB line with
//! no newline, no `[DONE]`, a 1 MiB content chunk, the wrong content type, an HTML page, a stalled stream…). Every
//! request must end with an error class (not a panic, not a hang), the run must end, and the server stay healthy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use protocol::live_run::RunStatus;

use crate::helpers::spawn_app;

/// One way of answering badly; `class` is the error class the request must end with (`""`: success).
struct Mode {
    name: &'static str,
    class: &'static [&'static str],
}

const MODES: &[Mode] = &[
    Mode { name: "non-JSON data lines", class: &["parse"] },
    Mode { name: "binary bytes", class: &["parse"] },
    Mode { name: "truncated JSON", class: &["parse"] },
    Mode { name: "4 MiB line without a newline, then close", class: &["stream_ended", "parse"] },
    Mode { name: "no [DONE] and no finish_reason", class: &["stream_ended"] },
    Mode { name: "1 MiB content chunk", class: &[""] },
    Mode { name: "wrong content type (text/plain)", class: &["", "parse"] },
    Mode { name: "HTTP 200 with an HTML page", class: &["parse", "stream_ended"] },
    Mode { name: "headers then silence", class: &["timeout"] },
    Mode { name: "JSON of the wrong shape", class: &["parse", "stream_ended"] },
    Mode { name: "an error object in the stream", class: &["other"] },
    Mode { name: "empty 200 body", class: &["stream_ended"] },
    Mode { name: "a good answer", class: &[""] },
];

const GOOD: &str = concat!(
    "data: {\"choices\":[{\"delta\":{\"content\":\" ok\"}}]}\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\" fine\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);

fn sse(body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, "text/event-stream")], body.into()).into_response()
}

fn answer(mode: usize) -> Response {
    match mode {
        0 => sse("data: hello there\n\ndata: <<<>>>\n\ndata: [DONE]\n\n"),
        1 => sse(Bytes::from_static(b"data: \xff\xfe\x00\x01\x80\x81\n\n\x00\x00\xc3\x28data: [DONE]\n\n")),
        2 => sse("data: {\"choices\":[{\"delta\":{\"content\":\"trunc\n\ndata: [DONE]\n\n"),
        3 => sse(format!("data: {}", "a".repeat(4 << 20))),
        4 => sse("data: {\"choices\":[{\"delta\":{\"content\":\" a\"}}]}\n\n"),
        5 => {
            let chunk = json!({"choices": [{"delta": {"content": "x".repeat(1 << 20)}, "finish_reason": "stop"}]});
            sse(format!("data: {chunk}\n\ndata: [DONE]\n\n"))
        }
        6 => ([(header::CONTENT_TYPE, "text/plain")], GOOD).into_response(),
        7 => {
            ([(header::CONTENT_TYPE, "text/html")], "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>")
                .into_response()
        }
        8 => {
            let stalled = futures::stream::pending::<Result<Bytes, std::io::Error>>();
            sse(Body::from_stream(stalled))
        }
        9 => sse("data: {\"choices\": 17, \"usage\": \"many\"}\n\ndata: [1,2,3]\n\ndata: [DONE]\n\n"),
        10 => sse("data: {\"error\": {\"message\": \"CUDA out of memory\"}}\n\n"),
        11 => sse(""),
        _ => sse(GOOD),
    }
}

/// Preflight's probes (1 token, not streamed) and its length check (the first streamed request: it asks for the
/// run's own 32 tokens) get good answers; the run's requests after it get mode `n % MODES`.
async fn chat(State(n): State<Arc<AtomicU64>>, Json(req): Json<Value>) -> Response {
    if req["stream"] != json!(true) {
        return Json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 1}
        }))
        .into_response();
    }
    // Streamed 32-token requests in order: preflight's length check (0), then the run's (1, 2…).
    let nth = (req["max_tokens"].as_u64() == Some(32)).then(|| n.fetch_add(1, Ordering::SeqCst));
    let Some(i) = nth.filter(|&i| i > 0) else {
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}});
        let good = format!("{}data: {usage}\n\ndata: [DONE]\n\n", GOOD.trim_end_matches("data: [DONE]\n\n"));
        return sse(good);
    };
    answer((i - 1) as usize % MODES.len())
}

async fn spawn_garbage_target() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": [{"id": "garbage", "object": "model"}]})) }),
        )
        .route("/v1/chat/completions", post(chat))
        .with_state(Arc::new(AtomicU64::new(0)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Proves: each kind of garbage ends its request with an error class (or success where the answer is usable),
/// one request at a time so each maps to its mode; none hangs past the 2 s request timeout, nothing panics, the
/// run ends and the server answers `/api/health`.
#[tokio::test]
async fn garbage_from_the_target_ends_each_request_classified_and_the_server_stays_healthy() {
    let app = spawn_app().await;
    let target = spawn_garbage_target().await;
    let rounds = 2;
    let total = (MODES.len() * rounds) as u64;
    let spec = json!({
        "target": target,
        "endpoint": "chat",
        "load": { "kind": "concurrency", "concurrency": 1 },
        "requests": total,
        "workload": { "kind": "synthetic", "input_tokens": { "min": 8, "max": 8 },
                      "output_tokens": { "min": 32, "max": 32 } },
        "request_timeout_s": 2.0,
        "ready_timeout_s": 10.0,
        "fail_fast_after": 0,
        // Most garbage fails by design: the run is about how each request is classified, not a verdict.
        "max_error_rate": 1.0
    });
    let id = app.start_run(&spec).await;
    let ended = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    // Garbage that parses still is not the 32 tokens asked for: the run ends with the output-length verdict (and
    // only that one: the error-rate limit is lifted), and every request still gets its class.
    assert_eq!(ended.status, RunStatus::Failed, "{ended:#?}");
    assert!(ended.verdict.as_deref().is_some_and(|v| v.contains("another output length")), "{ended:#?}");
    assert_eq!(ended.progress.done, total);

    // Each request's class, from the archive's CSV (index → mode, since they ran one at a time).
    let csv = loop {
        let csv = app.http.get(format!("{}/api/runs/{id}/export/requests.csv", app.base)).send().await.unwrap();
        let csv = csv.text().await.unwrap();
        if csv.lines().count() as u64 > total {
            break csv;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut wrong = Vec::new();
    for line in csv.lines().skip(1) {
        // step,index,…,warmup,retried,error_class,error_status,error_message (the message may hold commas).
        let cols: Vec<&str> = line.splitn(16, ',').collect();
        let index: usize = cols[1].parse().unwrap();
        let class = cols[13];
        let mode = &MODES[index % MODES.len()];
        if !mode.class.contains(&class) {
            wrong.push(format!("{}: got `{class}`, expected one of {:?} ({})", mode.name, mode.class, cols[15]));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    let health = app.http.get(format!("{}/api/health", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    eprintln!(
        "FIGURES garbage SSE: {} kinds of garbage × {rounds} = {total} requests, all ended classified",
        MODES.len()
    );
}
