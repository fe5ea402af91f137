//! Exports that cannot attack their reader, and preflight answers that do not leak a target's bodies: a run against
//! a mock whose failures carry a spreadsheet formula exports it as text (`'=cmd…`) and a name with markup as
//! escaped Markdown; a preflight of a server whose every answer is a secret page names only statuses.

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use server::mock::{serve_mock, MockConfig};

use crate::helpers::{spawn_app, PATIENCE};

const FORMULA: &str = "=cmd|' /C calc'!A0";

/// The mock on a free loopback port; every other request fails (seed 1 at rate 0.5 spares the first three,
/// preflight's two probes and its length check) with `FORMULA` as its whole body.
async fn formula_mock() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let cfg = MockConfig {
        ttft_ms: 1.0,
        itl_ms: 1.0,
        error_rate: 0.5,
        seed: 1,
        error_body: Some(FORMULA.into()),
        ..MockConfig::default()
    };
    tokio::spawn(serve_mock(listener, cfg));
    url
}

/// Proves: a target's error body reaches `requests.csv` neutralised (`'=cmd…`, read as text by a spreadsheet) and
/// a run name with markup reaches `summary.md` escaped.
#[tokio::test]
async fn a_formula_in_an_error_body_is_exported_as_text() {
    let app = spawn_app().await;
    let target = formula_mock().await;
    let spec = json!({
        "name": "<script>alert(1)</script>",
        "target": target,
        "load": { "kind": "concurrency", "concurrency": 1 },
        "requests": 10,
        "workload": { "kind": "synthetic", "input_tokens": { "min": 8, "max": 8 },
                      "output_tokens": { "min": 8, "max": 8 } },
        "ready_timeout_s": 10.0,
        "fail_fast_after": 0,
        "max_error_rate": 1.0
    });
    let id = app.start_run(&spec).await;
    app.wait_run(&id, "its end", |v| !v.status.is_live()).await;

    let deadline = tokio::time::Instant::now() + PATIENCE;
    let csv = loop {
        let resp = app.http.get(format!("{}/api/runs/{id}/export/requests.csv", app.base)).send().await.unwrap();
        let csv = if resp.status() == StatusCode::OK { resp.text().await.unwrap() } else { String::new() };
        if csv.lines().count() > 10 {
            break csv;
        }
        assert!(tokio::time::Instant::now() < deadline, "requests.csv never had its 10 lines: {csv}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let failed: Vec<&str> = csv.lines().filter(|l| l.contains(",http_status,500,")).collect();
    assert!(!failed.is_empty(), "the mock's failures are in the CSV:\n{csv}");
    for line in &failed {
        assert!(line.ends_with(&format!(",'{FORMULA}")), "a formula cell starts with ': {line}");
    }
    assert!(!csv.contains(&format!(",{FORMULA}")), "no cell starts with the formula:\n{csv}");

    let md = app.http.get(format!("{}/api/runs/{id}/export/summary.md", app.base)).send().await.unwrap();
    let md = md.text().await.unwrap();
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !md.contains("<script"), "{md}");
}

/// A loopback server that lists one model and answers everything else with 404 and a secret page; `/internal/ok`
/// is an internal page that answers 200 with the secret.
async fn secret_target() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/models", get(|| async { Json(json!({"object": "list", "data": [{"id": "m"}]})) }))
        .route("/internal/ok", get(|| async { "SECRET-BODY of an internal page" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "SECRET-BODY {\"detail\": \"SECRET-BODY\"}") });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Proves: `POST /api/preflight` answers with the status and a hint of ours, never the target's body — neither
/// for a server that answers 404 to the probes nor for the `#` trick that points every path at one page.
#[tokio::test]
async fn a_preflight_answer_carries_no_body_of_the_target() {
    let app = spawn_app().await;
    let target = secret_target().await;
    let resp = app.post_json("/api/preflight", &json!({ "target": target, "ready_timeout_s": 5.0 })).await;
    assert_eq!(resp.status(), 422);
    let text = resp.text().await.unwrap();
    assert!(text.contains("HTTP 404 Not Found"), "{text}");
    assert!(!text.contains("SECRET-BODY"), "{text}");

    for target in [format!("{target}/internal/ok#"), format!("{target}/internal/ok?")] {
        let resp = app.post_json("/api/preflight", &json!({ "target": target, "ready_timeout_s": 1.0 })).await;
        assert_ne!(resp.status(), 200, "{target}");
        let body: Value = resp.json().await.unwrap();
        assert!(!body.to_string().contains("SECRET-BODY"), "{target}: {body}");
    }
}
