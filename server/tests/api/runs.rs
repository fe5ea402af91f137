//! The runs API: body and spec validation, unknown ids, preflight, and real runs against the built-in demo target
//! (start, poll to the end, conflict while live, stop, the archive list).

use serde_json::{json, Value};

use protocol::api::ApiErrorBody;
use protocol::live_run::{RunResult, RunStatus, RunView};

use crate::helpers::{demo_spec, spawn_app, spawn_demo_app, TestApp};

async fn error_body(resp: reqwest::Response) -> ApiErrorBody {
    resp.json().await.expect("every API error is an ApiErrorBody")
}

fn fields(body: &ApiErrorBody) -> Vec<&str> {
    body.fields.iter().map(|f| f.field.as_str()).collect()
}

fn single(view: &RunView) -> &protocol::report::RunReport {
    match view.result.as_ref().expect("a finished run has a result") {
        RunResult::Single(r) => r,
        RunResult::Sweep(_) => panic!("expected a single report"),
    }
}

#[tokio::test]
async fn malformed_json_is_400_with_an_error_body() {
    let app = spawn_app().await;
    let resp = app
        .http
        .post(format!("{}/api/runs", app.base))
        .header("content-type", "application/json")
        .body("{\"target\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body = error_body(resp).await;
    assert!(body.error.contains("not valid JSON") && body.error.contains("line 1 column"), "{}", body.error);
    assert!(body.fields.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_typed_is_415() {
    let app = spawn_app().await;
    let spec = demo_spec("http://127.0.0.1:1", 1, Some(1), None).to_string();
    let resp = app
        .http
        .post(format!("{}/api/runs", app.base))
        .header("content-type", "text/plain")
        .body(spec)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert!(error_body(resp).await.error.contains("Content-Type: application/json"));
}

/// Breaks a good spec in one way.
type Breaks = fn(&mut Value);

#[tokio::test]
async fn invalid_specs_are_422_naming_each_field() {
    let app = spawn_app().await;
    let good = demo_spec("http://127.0.0.1:8000", 4, Some(10), None);
    let cases: [(&str, Breaks); 4] = [
        ("load.concurrency", |s| s["load"]["concurrency"] = json!(0)),
        ("target", |s| s["target"] = json!("localhost:8000")),
        ("requests", |s| {
            s["requests"] = Value::Null;
            s["duration_s"] = Value::Null;
        }),
        ("all three", |s| {
            s["load"]["concurrency"] = json!(0);
            s["target"] = json!("ftp://x");
            s["requests"] = Value::Null;
        }),
    ];
    for (name, break_it) in cases {
        let mut spec = good.clone();
        break_it(&mut spec);
        let resp = app.post_json("/api/runs", &spec).await;
        assert_eq!(resp.status(), 422, "{name}");
        let body = error_body(resp).await;
        let named = fields(&body);
        if name == "all three" {
            for f in ["load.concurrency", "target", "requests"] {
                assert!(named.contains(&f), "{name}: {named:?}");
            }
        } else {
            assert_eq!(named, [name], "{}", body.error);
        }
        assert!(body.fields.iter().all(|f| !f.message.is_empty()));
    }
    // Nothing started, nothing archived.
    let runs: Vec<RunView> = app.get_json("/api/runs").await;
    assert!(runs.is_empty());
}

/// The limit is axum's default, 2 MiB: 1.5 MB still parses (and is judged on its fields), 2.5 MB is refused.
#[tokio::test]
async fn a_body_over_the_limit_is_413_never_5xx() {
    let app = spawn_app().await;
    let mut spec = demo_spec("http://127.0.0.1:8000", 0, Some(1), None);
    spec["name"] = json!("x".repeat(1_500_000));
    let resp = app.post_json("/api/runs", &spec).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(fields(&error_body(resp).await), ["name", "load.concurrency"], "a name is at most 200 characters");

    spec["name"] = json!("x".repeat(2_500_000));
    let resp = app.post_json("/api/runs", &spec).await;
    assert_eq!(resp.status(), 413);
    let body = error_body(resp).await;
    assert!(body.error.contains("too large") && body.error.contains("2 MiB"), "{}", body.error);
}

#[tokio::test]
async fn unknown_runs_are_404_for_read_and_stop() {
    let app = spawn_app().await;
    for id in ["nosuchrun", "0123456789ABCDEFGHIJKL"] {
        let resp = app.http.get(format!("{}/api/runs/{id}", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "GET {id}");
        assert!(!error_body(resp).await.error.is_empty());
        let resp = app.post_json(&format!("/api/runs/{id}/stop"), &json!({})).await;
        assert_eq!(resp.status(), 404, "stop {id}");
        error_body(resp).await;
    }
}

#[tokio::test]
async fn preflight_finds_the_demo_ready_and_a_closed_port_not() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let resp = app.post_json("/api/preflight", &json!({ "target": target })).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["ready"], true, "{report}");
    assert!(!report["models"].as_array().unwrap().is_empty(), "{report}");

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let body = json!({ "target": format!("http://{closed}"), "ready_timeout_s": 0.5 });
    let resp = app.post_json("/api/preflight", &body).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(fields(&error_body(resp).await), ["target"]);
}

#[tokio::test]
async fn a_run_against_the_demo_completes_with_its_result() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let resp = app.post_json("/api/runs", &demo_spec(&target, 4, Some(40), None)).await;
    assert_eq!(resp.status(), 201);
    let created: protocol::api::RunCreated = resp.json().await.unwrap();
    assert_eq!(created.id.len(), 22, "{}", created.id);
    assert_eq!(created.url, format!("runs/{}", created.id));

    let view = app.wait_run(&created.id, "an end", |v| !v.status.is_live()).await;
    assert_eq!(view.status, RunStatus::Completed, "{:?}", view.verdict);
    assert!(view.demo);
    assert_eq!((view.progress.done, view.progress.failed, view.progress.total), (40, 0, Some(40)));
    assert_eq!(view.progress.output_tokens, 40 * 8);
    let report = single(&view);
    assert_eq!((report.requests_completed, report.requests_failed), (40, 0));
    assert_eq!(report.output_tokens, 40 * 8);
    assert!(report.ttft_ms.count == 40 && report.ttft_ms.p50 > 0.0);
    assert!(report.output_tokens_per_s > 0.0);
    assert!(!report.stopped);
    assert_eq!(view.spec.model.as_deref(), Some("tokenscope-mock"));
}

/// A long run: a second start is refused while it is live, Stop winds it down keeping what completed, and the
/// archive lists it.
#[tokio::test]
async fn one_run_at_a_time_and_stop_keeps_completed_requests() {
    let app: TestApp = spawn_demo_app().await;
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 4, None, Some(120.0))).await;

    let resp = app.post_json("/api/runs", &demo_spec(&target, 1, Some(1), None)).await;
    assert_eq!(resp.status(), 409);
    let body = error_body(resp).await;
    assert!(body.error.contains(&id), "{}", body.error);

    app.wait_run(&id, "8 requests done", |v| v.progress.done >= 8).await;
    let resp = app.post_json(&format!("/api/runs/{id}/stop"), &json!({})).await;
    assert_eq!(resp.status(), 202);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["stopping"], true);

    let view = app.wait_run(&id, "an end", |v| !v.status.is_live()).await;
    assert_eq!(view.status, RunStatus::Stopped, "{:?}", view.verdict);
    assert!(view.progress.done >= 8);
    let report = single(&view);
    assert!(report.stopped);
    assert!(report.requests_completed >= 8, "{}", report.requests_completed);

    // Stopping an ended run is a conflict, not a 404.
    let resp = app.post_json(&format!("/api/runs/{id}/stop"), &json!({})).await;
    assert_eq!(resp.status(), 409);

    // The final save lands just after the status flips: poll the archive.
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    loop {
        let runs: Vec<RunView> = app.get_json("/api/runs").await;
        if runs.iter().any(|r| r.id == id && r.status == RunStatus::Stopped) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the stopped run is not archived: {runs:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Another run may start now.
    let next = app.start_run(&demo_spec(&target, 1, Some(1), None)).await;
    app.wait_run(&next, "an end", |v| !v.status.is_live()).await;
}

/// Long outputs (≈3.7 s per request on the demo target) show tokens in every live window, counted as they arrive;
/// the stored windows add up to the report's output tokens, and no window spikes (a short last window is divided
/// by its real length).
#[tokio::test]
async fn live_windows_count_tokens_as_they_arrive() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let mut spec = demo_spec(&target, 2, Some(4), None);
    spec["workload"]["output_tokens"] = json!({ "min": 300, "max": 300 });
    let id = app.start_run(&spec).await;
    let view = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    let report = single(&view);
    assert_eq!(report.output_tokens, 4 * 300);
    let series: Value = app.get_json(&format!("/api/runs/{id}/series")).await;
    let windows = series["windows"].as_array().unwrap();
    let tokens: Vec<f64> = windows.iter().map(|w| w["output_tokens"].as_f64().unwrap()).collect();
    let sum: f64 = tokens.iter().sum();
    assert!((sum - 1200.0).abs() < 1e-6, "windows add up to {sum}");
    let first = tokens.iter().position(|&t| t > 0.0).unwrap();
    let last = tokens.iter().rposition(|&t| t > 0.0).unwrap();
    let inner = &tokens[first..=last];
    let with_tokens = inner.iter().filter(|&&t| t > 0.0).count();
    assert!(with_tokens * 10 >= inner.len() * 9, "tokens in {with_tokens} of {} windows: {tokens:?}", inner.len());
    let rates: Vec<f64> = windows.iter().map(|w| w["output_tokens_per_s"].as_f64().unwrap()).collect();
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let peak = sorted.last().copied().unwrap();
    assert!(peak <= 2.0 * median.max(1.0), "a window spikes: {rates:?}");
    for w in windows {
        let len = w["length_ms"].as_f64().unwrap();
        assert!(len > 0.0 && len <= 1000.0 + 50.0, "{w}");
        let rate = w["output_tokens_per_s"].as_f64().unwrap();
        assert!((rate - w["output_tokens"].as_f64().unwrap() / (len / 1000.0)).abs() < 1e-6, "{w}");
    }
    assert!(report.steady_output_tokens_per_s.is_some(), "{report:?}");
}

/// A tokenizer that is not there is refused at the field, before the run starts (not later on the run page).
#[tokio::test]
async fn a_missing_tokenizer_is_a_field_error() {
    let app = spawn_app().await;
    let mut spec = demo_spec("http://127.0.0.1:1", 1, Some(1), None);
    spec["tokenizer"] = json!("/nonexistent/model/tokenizer.json");
    let resp = app.post_json("/api/runs", &spec).await;
    assert_eq!(resp.status(), 422);
    let body = error_body(resp).await;
    assert_eq!(fields(&body), ["tokenizer"], "{}", body.error);
    assert!(
        body.fields[0].message.contains("--tokenizer") || body.fields[0].message.contains("tokenizer.json"),
        "{}",
        body.fields[0].message
    );
}
