//! The archive over HTTP: listing, renaming, deleting, series, latency distributions, exports, and a run that
//! outlives the server that recorded it.

use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use protocol::archive::{LatencyCdf, RunSeries, RunSummary};
use protocol::event::WindowStats;
use protocol::gpu::{GpuSample, TelemetryStatus};
use protocol::live_run::{RunResult, RunStatus, RunView, RunWsFrame};
use server::store::{SeriesBatch, Store};

use protocol::api::RunCreated;

use crate::helpers::{demo_spec, spawn_app, spawn_app_with, spawn_demo_app, TestApp};

/// A finished 40-request demo run; returns its id.
async fn finished_run(app: &TestApp) -> String {
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 4, Some(40), None)).await;
    app.wait_run(&id, "completed", |v| v.status == RunStatus::Completed).await;
    id
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(format!("{}{path}", app.base)).send().await.unwrap()
}

async fn patch(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http.patch(format!("{}{path}", app.base)).json(&body).send().await.unwrap()
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.delete(format!("{}{path}", app.base)).send().await.unwrap()
}

/// The body of an attachment download, checking its headers.
async fn download(app: &TestApp, path: &str, content_type: &str) -> String {
    let resp = get(app, path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_owned();
    assert!(header("content-type").starts_with(content_type), "{path}: {}", header("content-type"));
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment; filename=\"tokenscope-"), "{path}: {disposition}");
    resp.text().await.unwrap()
}

#[tokio::test]
async fn a_finished_run_is_listed_with_its_series_latency_and_exports() {
    let app = spawn_demo_app().await;
    let id = finished_run(&app).await;

    let rows: Vec<RunSummary> = app.get_json("/api/runs/summaries").await;
    let row = rows.iter().find(|r| r.id == id).expect("the run is listed");
    assert_eq!(
        (row.name.as_str(), row.status, row.requests_ok, row.requests_failed),
        ("api test", RunStatus::Completed, 40, 0)
    );
    assert!(row.output_tokens_per_s.is_some_and(|t| t > 0.0) && row.ttft_p50_ms.is_some(), "{row:?}");
    let html = get(&app, "/runs").await.text().await.unwrap();
    assert!(html.contains(&format!("href=\"/runs/{id}\"")), "the server-rendered page links to the run");

    let series: RunSeries = app.get_json(&format!("/api/runs/{id}/series")).await;
    assert!(!series.windows.is_empty(), "windows are stored");
    assert!(!series.gpu.is_empty(), "GPU samples are stored");
    assert!(matches!(series.telemetry, Some(TelemetryStatus::Simulated { .. })), "{:?}", series.telemetry);

    let cdf: LatencyCdf = app.get_json(&format!("/api/runs/{id}/latency")).await;
    assert_eq!(cdf.requests, 40);
    assert_eq!(cdf.ttft.last().map(|p| p.fraction), Some(1.0));
    assert!(cdf.e2e.first().unwrap().ms >= cdf.ttft.first().unwrap().ms);

    let report = download(&app, &format!("/api/runs/{id}/export.json"), "application/json").await;
    match serde_json::from_str::<RunResult>(&report).unwrap() {
        RunResult::Single(r) => assert_eq!(r.requests_completed, 40),
        other => panic!("expected a single report, got {other:?}"),
    }
    let requests = download(&app, &format!("/api/runs/{id}/export/requests.csv"), "text/csv").await;
    let lines: Vec<&str> = requests.lines().collect();
    assert!(lines[0].starts_with("step,index,t_send_ms,scheduler_lag_ms,ttft_ms,e2e_ms"), "{}", lines[0]);
    assert_eq!(lines.len(), 41, "a header and one line per request");
    let telemetry = download(&app, &format!("/api/runs/{id}/export/telemetry.csv"), "text/csv").await;
    assert!(telemetry.starts_with("unix_ms,t_s,gpu_index,uuid,simulated,"));
    assert!(telemetry.lines().count() > 1, "GPU samples are exported");
    let md = download(&app, &format!("/api/runs/{id}/export/summary.md"), "text/markdown").await;
    assert!(md.contains("| load | output tok/s |") && md.contains("| concurrency 4 |"), "{md}");
}

#[tokio::test]
async fn rename_then_delete() {
    let app = spawn_demo_app().await;
    let id = finished_run(&app).await;
    let path = format!("/api/runs/{id}");

    let resp =
        patch(&app, &path, json!({ "name": "  vLLM c=4 ", "notes": "first try", "tags": ["h200", " h200"] })).await;
    assert_eq!(resp.status(), 200);
    let renamed: RunView = resp.json().await.unwrap();
    assert_eq!((renamed.spec.name.as_str(), renamed.notes.as_str()), ("vLLM c=4", "first try"));
    assert_eq!(renamed.tags, vec!["h200"]);
    assert_eq!(app.run(&id).await.spec.name, "vLLM c=4", "later reads see the new name");

    let too_long = patch(&app, &path, json!({ "name": "x".repeat(500) })).await;
    assert_eq!(too_long.status(), 422);
    let body: Value = too_long.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "name");
    assert_eq!(patch(&app, &path, json!({})).await.status(), 422);
    assert_eq!(patch(&app, "/api/runs/NoSuchRun000000000000", json!({ "name": "x" })).await.status(), 404);

    assert_eq!(delete(&app, &path).await.status(), 204);
    assert_eq!(get(&app, &path).await.status(), 404);
    assert_eq!(get(&app, &format!("{path}/export.json")).await.status(), 404);
    assert_eq!(delete(&app, &path).await.status(), 404);
    let rows: Vec<RunSummary> = app.get_json("/api/runs/summaries").await;
    assert!(rows.iter().all(|r| r.id != id));
}

#[tokio::test]
async fn a_live_run_cannot_be_deleted_renamed_or_exported() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 2, Some(100_000), None)).await;
    app.wait_run(&id, "running", |v| v.status == RunStatus::Running).await;
    let path = format!("/api/runs/{id}");
    assert_eq!(delete(&app, &path).await.status(), 409);
    assert_eq!(patch(&app, &path, json!({ "name": "x" })).await.status(), 409);
    assert_eq!(get(&app, &format!("{path}/export/requests.csv")).await.status(), 409);
    assert_eq!(app.post_json(&format!("{path}/stop"), &json!({})).await.status(), 202);
    app.wait_run(&id, "stopped", |v| v.status == RunStatus::Stopped).await;
    assert_eq!(delete(&app, &path).await.status(), 204);
}

fn window(t: u64) -> WindowStats {
    WindowStats {
        step: 0,
        t_end_ms: t as f64 * 1000.0,
        unix_ms: 1_700_000_000_000 + t * 1000,
        length_ms: 1000.0,
        output_tokens: 100.0,
        output_tokens_per_s: 100.0,
        requests_per_s: 1.0,
        ttft_p50_ms: Some(20.0),
        ttft_p99_ms: Some(30.0),
        itl_p50_ms: None,
        itl_p99_ms: None,
        e2e_p50_ms: None,
        e2e_p99_ms: None,
        in_flight: 1,
        completed_total: t,
        failed_total: 0,
        errors: Default::default(),
    }
}

#[tokio::test]
async fn a_run_cut_off_by_a_crash_comes_back_interrupted_with_its_charts() {
    // What a server killed mid-run leaves behind: the run's first view and a few flushed batches.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crashed.db").display());
    let id = "CrashedRun000000000000";
    {
        let store = Store::connect(&db).await.unwrap();
        let mut view: RunView = serde_json::from_value(json!({
            "id": id, "status": "running", "started_unix_ms": 1_700_000_000_000u64, "progress": {
                "done": 0, "failed": 0, "total": null, "elapsed_s": 0.0, "planned_s": null, "eta_s": null,
                "in_flight": 0, "step": 0, "steps": 1, "output_tokens": 0 },
            "preflight_states": [], "verdict": null, "error_samples": [], "result": null, "demo": false,
            "spec": demo_spec("http://127.0.0.1:9", 1, Some(10), None)
        }))
        .unwrap();
        view.spec.name = "cut off".into();
        store.save_run(&view).await.unwrap();
        let gpu = (0..8)
            .map(|t| GpuSample {
                index: 0,
                unix_ms: 1_700_000_000_000 + t * 250,
                power_w: Some(300.0),
                ..Default::default()
            })
            .collect();
        let status = TelemetryStatus::Unavailable { reason: "recorded without GPUs".into() };
        let batch =
            SeriesBatch { telemetry: Some(status), windows: (1..=3).map(window).collect(), gpu, ..Default::default() };
        store.append_series(id, &batch).await.unwrap();
    }

    let app = spawn_app_with(|args| args.db = db.clone()).await;
    let view = app.run(id).await;
    assert_eq!(view.status, RunStatus::Interrupted);
    assert!(view.verdict.is_some_and(|v| v.contains("kept")));

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws/runs/{id}", app.authority)).await.unwrap();
    let Some(Ok(Message::Text(text))) = ws.next().await else { panic!("expected a text frame") };
    match serde_json::from_str::<RunWsFrame>(&text).unwrap() {
        RunWsFrame::Hello { run, windows, telemetry, gpu } => {
            assert_eq!(run.status, RunStatus::Interrupted);
            assert_eq!(windows, (1..=3).map(window).collect::<Vec<_>>(), "the stored windows draw the charts");
            assert_eq!(gpu.len(), 8);
            assert_eq!(telemetry, TelemetryStatus::Unavailable { reason: "recorded without GPUs".into() });
        }
        other => panic!("first frame must be hello, got {other:?}"),
    }
}

#[tokio::test]
async fn an_exported_report_imports_as_a_new_archived_run() {
    let app = spawn_demo_app().await;
    let id = finished_run(&app).await;
    let original = download(&app, &format!("/api/runs/{id}/export.json"), "application/json").await;

    let resp = app.http.post(format!("{}/api/runs/import?name=from%20file", app.base)).body(original.clone());
    let resp = resp.header("content-type", "application/json");
    let resp = resp.send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let created: RunCreated = resp.json().await.unwrap();
    assert_ne!(created.id, id, "an import gets a new id");
    assert_eq!(created.url, format!("runs/{}", created.id));

    let view = app.run(&created.id).await;
    let source = app.run(&id).await;
    assert_eq!(
        (view.status, view.spec.name.as_str(), view.spec.target.as_str()),
        (RunStatus::Completed, "from file", "")
    );
    assert_eq!(view.tags, vec!["imported"]);
    assert!(view.notes.contains("Imported"), "{}", view.notes);
    assert_eq!(view.result, source.result, "the same figures");
    assert_eq!(view.spec.load, source.spec.load);
    assert_eq!(view.spec.model, source.spec.model);
    let rows: Vec<RunSummary> = app.get_json("/api/runs/summaries").await;
    let row = rows.iter().find(|r| r.id == created.id).expect("the import is listed");
    let source_row = rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!((row.output_tokens_per_s, row.ttft_p99_ms), (source_row.output_tokens_per_s, source_row.ttft_p99_ms));
    let again = download(&app, &format!("/api/runs/{}/export.json", created.id), "application/json").await;
    // Compared parsed: serde_json (without `float_roundtrip`) may move a float's last digit through the archive.
    let parse = |s: &str| serde_json::from_str::<RunResult>(s).unwrap();
    assert_eq!(parse(&again), parse(&original), "exporting the import gives the report back");

    // A sweep wrapped in an envelope with its name.
    let step: Value = serde_json::from_str(&original).unwrap();
    let sweep = json!({ "started_at_ms": 1, "steps": [step, step], "best_step": 1, "stopped": false,
        "verdict": null, "preflight": null });
    let resp = app.post_json("/api/runs/import", &json!({ "report": sweep, "name": "sweep" })).await;
    assert_eq!(resp.status(), 201);
    let created: RunCreated = resp.json().await.unwrap();
    let view = app.run(&created.id).await;
    assert_eq!((view.spec.name.as_str(), view.spec.sweep.len()), ("sweep", 2));
    assert!(matches!(view.result, Some(RunResult::Sweep(ref s)) if s.best_step == Some(1)));
}

#[tokio::test]
async fn a_malformed_import_says_what_is_wrong() {
    let app = spawn_app().await;
    let post = |body: &'static str| {
        let req = app.http.post(format!("{}/api/runs/import", app.base)).header("content-type", "application/json");
        req.body(body).send()
    };
    let resp = post("{not json").await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("not valid JSON"), "{body}");
    let resp = post(r#"{"started_at_ms": 1, "requests_completed": 3}"#).await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("missing field `load`"), "{body}");
    let resp = post(r#"{"report": {"steps": []}, "name": 3}"#).await.unwrap();
    assert_eq!(resp.status(), 422);
    let rows: Vec<RunSummary> = app.get_json("/api/runs/summaries").await;
    assert!(rows.is_empty(), "nothing was archived");
}
