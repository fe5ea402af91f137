//! The New run form's Check and the checks beside it: `/ws/preflight` over a real socket (a mock failing its first
//! request passes after a retry; a dead port is reported while waited for, then fails with a fix), Check's answers
//! in the form's words, `GET /api/datasets/check`, a run's preflight log kept in the archive, and the run's energy
//! counted from its first request, not from preflight.

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use protocol::live_run::{RunResult, RunStatus, RunView};
use protocol::preflight::{CheckFrame, Fix};
use protocol::spec::Endpoint;
use server::mock::{serve_mock, MockConfig};

use crate::helpers::{demo_spec, spawn_app, spawn_demo_app, TestApp, PATIENCE};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The mock on a free loopback port.
async fn mock(cfg: MockConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_mock(listener, MockConfig { ttft_ms: 1.0, itl_ms: 1.0, ..cfg }));
    url
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// Opens a Check and sends `request` as its first frame.
async fn check(app: &TestApp, request: Value) -> Ws {
    let (mut ws, resp) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/preflight", app.authority)).await.unwrap();
    assert_eq!(resp.status(), 101);
    ws.send(Message::Text(request.to_string().into())).await.unwrap();
    ws
}

/// Every frame until the last (`passed` or `failed`); the socket must then close.
async fn frames(ws: &mut Ws) -> Vec<CheckFrame> {
    let mut seen = Vec::new();
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next()).await.expect("a frame in time");
        match msg {
            Some(Ok(Message::Text(t))) => {
                let frame: CheckFrame = serde_json::from_str(&t).unwrap();
                let last = matches!(frame, CheckFrame::Passed { .. } | CheckFrame::Failed { .. });
                seen.push(frame);
                if last {
                    return seen;
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("the socket ended before the result: {other:?} after {seen:?}"),
        }
    }
}

#[tokio::test]
async fn check_passes_a_server_whose_first_answer_is_a_500_and_says_it_retried() {
    let app = spawn_app().await;
    let target = mock(MockConfig { fail_first: 1, ..Default::default() }).await;
    let mut ws = check(&app, json!({ "target": target, "ready_timeout_s": 10 })).await;
    let seen = frames(&mut ws).await;
    let Some(CheckFrame::Passed { report }) = seen.last() else { panic!("{seen:?}") };
    let note = report.notes.iter().find(|n| n.contains("passed on attempt 2 of 3"));
    assert!(note.is_some_and(|n| n.contains("HTTP 500")), "{:?}", report.notes);
    assert!(seen.iter().any(|f| matches!(f, CheckFrame::State { state } if state.starts_with("retried: "))));
}

#[tokio::test]
async fn check_of_a_dead_port_reports_the_wait_then_fails_with_a_fix_in_the_forms_words() {
    let app = spawn_app().await;
    let target = closed_port();
    let mut ws = check(&app, json!({ "target": target, "ready_timeout_s": 2 })).await;
    let seen = frames(&mut ws).await;
    let waits: Vec<_> = seen
        .iter()
        .filter_map(|f| match f {
            CheckFrame::Waiting { progress } => Some(progress.clone()),
            _ => None,
        })
        .collect();
    assert!(waits.len() >= 2, "{seen:?}");
    let last = waits.last().unwrap();
    assert_eq!((last.reason.as_str(), last.timeout_s), ("connection refused", 2.0));
    assert!(last.attempt >= 2 && last.elapsed_s > 0.0, "{last:?}");
    let Some(CheckFrame::Failed { error, fixes, fields }) = seen.last() else { panic!("{seen:?}") };
    assert!(error.starts_with("the target was not ready after"), "{error}");
    assert!(error.contains("raise Ready timeout") && !error.contains("--"), "{error}");
    assert_eq!(fixes, &[Fix::ReadyTimeout { seconds: 60 }]);
    assert_eq!(fields[0].field, "target");
}

#[tokio::test]
async fn check_refuses_a_bad_request_by_field_before_checking_anything() {
    let app = spawn_app().await;
    let mut ws = check(&app, json!({ "target": "http://127.0.0.1:9", "ready_timeout_s": 601 })).await;
    let Some(CheckFrame::Failed { fields, .. }) = frames(&mut ws).await.pop() else { panic!() };
    assert_eq!(fields[0].field, "ready_timeout_s");
    let mut ws = check(&app, json!({ "target": "http://127.0.0.1:9", "modle": "m" })).await;
    let Some(CheckFrame::Failed { fields, .. }) = frames(&mut ws).await.pop() else { panic!() };
    assert_eq!(fields[0].field, "modle");
}

#[tokio::test]
async fn a_completions_only_server_gets_the_endpoint_fix() {
    let app = spawn_app().await;
    let target = mock(MockConfig { no_chat: true, ..Default::default() }).await;
    let mut ws = check(&app, json!({ "target": target, "endpoint": "chat", "ready_timeout_s": 10 })).await;
    let Some(CheckFrame::Failed { error, fixes, .. }) = frames(&mut ws).await.pop() else { panic!() };
    assert!(error.contains("set Endpoint to /v1/completions") && !error.contains("--endpoint"), "{error}");
    assert_eq!(fixes[0], Fix::Endpoint { endpoint: Endpoint::Completions });

    // The same answer over the plain POST, worded for the form too.
    let resp = app.post_json("/api/preflight", &json!({ "target": target, "endpoint": "chat" })).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    let message = body["fields"][0]["message"].as_str().unwrap();
    assert!(message.contains("set Endpoint to /v1/completions"), "{message}");

    // And with the fix applied, the check passes.
    let mut ws = check(&app, json!({ "target": target, "endpoint": "completions", "ready_timeout_s": 10 })).await;
    assert!(matches!(frames(&mut ws).await.pop(), Some(CheckFrame::Passed { .. })));
}

async fn dataset_check(app: &TestApp, path: &str) -> (u16, Value) {
    let resp = app.http.get(format!("{}/api/datasets/check", app.base)).query(&[("path", path)]).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_dataset_path_is_checked_as_a_run_would_read_it() {
    let app = spawn_app().await;
    std::fs::write(app.dir().join("two.jsonl"), "{\"prompt\": \"hello\"}\n{\"prompt\": \"there\"}\n").unwrap();
    let (status, body) = dataset_check(&app, "two.jsonl").await;
    assert_eq!((status, body["bytes"].as_u64()), (200, Some(40)), "{body}");

    let (status, body) = dataset_check(&app, "nothing.jsonl").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "workload.path");
    let message = body["fields"][0]["message"].as_str().unwrap();
    assert!(message.contains("no file \"nothing.jsonl\" in the dataset folder"), "{message}");
    assert!(message.contains("upload it") && message.contains("give a path under"), "{message}");

    for outside in ["../two.jsonl", "/etc/passwd"] {
        let (status, body) = dataset_check(&app, outside).await;
        assert_eq!(status, 422, "{outside}: {body}");
        assert!(body["fields"][0]["message"].as_str().unwrap().contains("inside the dataset folder"), "{body}");
    }
    let (status, body) = dataset_check(&app, " ").await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (422, Some("workload.path")), "{body}");

    // The run refuses the same path, on the same field.
    let spec = json!({"target": "http://127.0.0.1:9", "load": {"kind": "concurrency", "concurrency": 1},
                      "workload": {"kind": "jsonl", "path": "nothing.jsonl", "output_tokens": 4}});
    let resp = app.post_json("/api/runs", &spec).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "workload.path", "{body}");
}

/// The archived view of an ended run, as the Runs list reads it from the store: the final write lands shortly
/// after the live run reports its end (the recorder writes asynchronously), so this waits for it (at most 10 s).
async fn archived(app: &TestApp, id: &str) -> RunView {
    for _ in 0..100 {
        let runs: Vec<RunView> = app.get_json("/api/runs").await;
        if let Some(r) = runs.into_iter().find(|r| r.id == id && !r.status.is_live()) {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("run {id} never reached the archive as ended")
}

#[tokio::test]
async fn the_waiting_history_is_archived_with_the_run_and_energy_starts_at_the_first_request() {
    let app = spawn_demo_app().await;
    // A server still loading for 2 s: preflight waits (connection accepted, 503) before any request is sent.
    let target = mock(MockConfig { startup_delay_s: 2.0, ..Default::default() }).await;
    let created_ms = protocol_now_ms();
    let id = app.start_run(&demo_spec(&target, 2, Some(20), None)).await;
    let view = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");

    let stored = archived(&app, &id).await;
    assert!(stored.preflight_states.iter().any(|s| s.contains("503")), "{:?}", stored.preflight_states);
    assert!(stored.preflight_states.iter().any(|s| s.starts_with("ready: ")), "{:?}", stored.preflight_states);

    // The load (and its energy window) began once the server was ready, about 2 s after the run was created.
    assert!(stored.started_unix_ms >= created_ms + 1_500, "{} vs {created_ms}", stored.started_unix_ms);
    let Some(RunResult::Single(report)) = stored.result else { panic!("a single run's result") };
    let gpu = report.gpu.expect("simulated telemetry gives an energy summary");
    assert!(
        gpu.window_start_unix_ms >= stored.started_unix_ms,
        "energy counted from {} but the load started at {}",
        gpu.window_start_unix_ms,
        stored.started_unix_ms
    );
    assert!(gpu.window_end_unix_ms > gpu.window_start_unix_ms);
}

fn protocol_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}
