//! The archive against real SQLite files in temporary folders.

use std::collections::BTreeMap;

use app::protocol::archive::RunPatch;
use app::protocol::event::{RequestRecord, RunEvent, WindowStats};
use app::protocol::gpu::{GpuSample, TelemetryStatus};
use app::protocol::live_run::{Progress, RunStatus, RunView};
use app::protocol::record::{ErrorClass, RequestError, TokenSource};

use super::*;

async fn temp_store() -> (tempfile::TempDir, String, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::connect(&url).await.unwrap();
    (dir, url, store)
}

fn view(id: &str, status: RunStatus) -> RunView {
    let spec = serde_json::from_value(serde_json::json!({
        "name": "first", "target": "http://127.0.0.1:8000", "load": {"kind": "concurrency", "concurrency": 2},
        "workload": {"kind": "synthetic", "input_tokens": {"min": 8, "max": 8}, "output_tokens": {"min": 4, "max": 4}}
    }))
    .unwrap();
    RunView {
        id: id.into(),
        spec,
        status,
        started_unix_ms: 1_700_000_000_000,
        progress: Progress::default(),
        preflight_states: vec![],
        verdict: None,
        error_samples: vec![],
        result: None,
        demo: false,
        notes: String::new(),
        tags: vec![],
    }
}

fn window(step: u32, t: u64) -> WindowStats {
    WindowStats {
        step,
        t_end_ms: t as f64 * 1000.0,
        unix_ms: 1_700_000_000_000 + t * 1000,
        output_tokens_per_s: 10.0 * t as f64,
        requests_per_s: 2.0,
        ttft_p50_ms: Some(12.5),
        ttft_p99_ms: None,
        itl_p50_ms: Some(1.0),
        itl_p99_ms: Some(2.0),
        e2e_p50_ms: Some(30.0),
        e2e_p99_ms: Some(40.0),
        in_flight: 2,
        completed_total: t,
        failed_total: 0,
        errors: BTreeMap::from([(ErrorClass::Timeout, 1)]),
    }
}

fn request(index: u64, warmup: bool, failed: bool) -> RequestRecord {
    RequestRecord {
        step: 0,
        index,
        t_send_ms: index as f64 * 3.5,
        scheduler_lag_ms: 0.0,
        ttft_ms: (!failed).then_some(10.0 + index as f64),
        e2e_ms: (!failed).then_some(50.0 + index as f64),
        tpot_ms: (!failed).then_some(1.25),
        output_tokens: if failed { 0 } else { 4 },
        input_tokens: 8,
        token_source: TokenSource::Usage,
        warmup,
        error: failed.then(|| RequestError {
            class: ErrorClass::HttpStatus,
            status: Some(404),
            message: "no such \"route\", sorry".into(),
        }),
    }
}

fn sample(index: u32, t: u64) -> GpuSample {
    GpuSample {
        index,
        uuid: format!("GPU-{index}"),
        unix_ms: 1_700_000_000_000 + t,
        power_w: Some(100.0),
        ..Default::default()
    }
}

#[test]
fn rejects_unknown_schemes_with_the_fix() {
    let err = parse_url("mysql://x").unwrap_err().to_string();
    assert!(err.contains("--db") && err.contains("sqlite://"), "{err}");
    assert!(parse_url("sqlite://").is_err());
    assert!(parse_url("sqlite://runs.db").is_ok());
}

#[tokio::test]
async fn creates_and_migrates_a_new_file() {
    let (_dir, url, store) = temp_store().await;
    assert_eq!(store.count_runs().await.unwrap(), 0);
    // A second open of the same file finds the schema in place.
    assert_eq!(Store::connect(&url).await.unwrap().count_runs().await.unwrap(), 0);
}

#[tokio::test]
async fn series_round_trip() {
    let (_dir, _url, store) = temp_store().await;
    store.save_run(&view("run-aaaaaaaaaa", RunStatus::Running)).await.unwrap();
    let status = TelemetryStatus::Unavailable { reason: "none here".into() };
    let mut first = SeriesBatch { telemetry: Some(status.clone()), ..Default::default() };
    for ev in [RunEvent::Window(window(0, 1)), RunEvent::Request(request(0, true, false))] {
        first.record(&ev);
    }
    first.record(&RunEvent::Preflight { state: "ignored".into() });
    first.gpu = vec![sample(0, 0), sample(1, 0)];
    store.append_series("run-aaaaaaaaaa", &first).await.unwrap();
    let second = SeriesBatch {
        windows: vec![window(0, 2), window(1, 1)],
        requests: vec![request(1, false, false), request(2, false, true), request(3, false, false)],
        gpu: vec![sample(0, 250), sample(1, 250)],
        ..Default::default()
    };
    store.append_series("run-aaaaaaaaaa", &second).await.unwrap();
    // Writing a batch twice (a retry) does not duplicate rows.
    store.append_series("run-aaaaaaaaaa", &second).await.unwrap();

    let series = store.load_series("run-aaaaaaaaaa").await.unwrap();
    assert_eq!(series.telemetry, Some(status));
    assert_eq!(series.windows, vec![window(0, 1), window(1, 1), window(0, 2)], "in time order");
    assert_eq!(series.gpu, vec![sample(0, 0), sample(1, 0), sample(0, 250), sample(1, 250)]);
    let requests = store.load_requests("run-aaaaaaaaaa").await.unwrap();
    let expected: Vec<RequestRecord> =
        vec![request(0, true, false), request(1, false, false), request(2, false, true), request(3, false, false)];
    assert_eq!(requests, expected);
    let (ttft, e2e) = store.load_latencies("run-aaaaaaaaaa").await.unwrap();
    assert_eq!((ttft.len(), e2e.len()), (2, 2), "warmup and failed requests are left out");
    assert!(store.load_series("no-such-run").await.unwrap().windows.is_empty());
}

#[tokio::test]
async fn cli_runs_save_with_their_series_in_one_go() {
    let (_dir, _url, store) = temp_store().await;
    let batch =
        SeriesBatch { windows: vec![window(0, 1)], requests: vec![request(0, false, false)], ..Default::default() };
    store.save_run_with_series(&view("cli-aaaaaaaaaa", RunStatus::Completed), &batch).await.unwrap();
    assert_eq!(store.load_run("cli-aaaaaaaaaa").await.unwrap().unwrap().status, RunStatus::Completed);
    assert_eq!(store.load_series("cli-aaaaaaaaaa").await.unwrap().windows.len(), 1);
    assert_eq!(store.load_requests("cli-aaaaaaaaaa").await.unwrap().len(), 1);
}

#[tokio::test]
async fn unfinished_runs_become_interrupted_with_their_data() {
    let (_dir, url, store) = temp_store().await;
    store.save_run(&view("live-aaaaaaaaaa", RunStatus::Running)).await.unwrap();
    store.save_run(&view("pre-aaaaaaaaaaa", RunStatus::Preflight)).await.unwrap();
    store.save_run(&view("done-aaaaaaaaaa", RunStatus::Completed)).await.unwrap();
    let batch = SeriesBatch {
        windows: vec![window(0, 1)],
        requests: vec![request(0, false, false), request(1, false, true)],
        ..Default::default()
    };
    store.append_series("live-aaaaaaaaaa", &batch).await.unwrap();
    drop(store);

    // The next start.
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.mark_interrupted().await.unwrap(), 2);
    let run = store.load_run("live-aaaaaaaaaa").await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert_eq!(run.verdict.as_deref(), Some(INTERRUPTED_VERDICT));
    assert_eq!((run.progress.done, run.progress.failed, run.progress.output_tokens), (2, 1, 4));
    assert_eq!(store.load_series("live-aaaaaaaaaa").await.unwrap().windows.len(), 1, "data kept");
    assert_eq!(store.load_run("pre-aaaaaaaaaaa").await.unwrap().unwrap().status, RunStatus::Interrupted);
    assert_eq!(store.load_run("done-aaaaaaaaaa").await.unwrap().unwrap().status, RunStatus::Completed);
    assert_eq!(store.mark_interrupted().await.unwrap(), 0, "nothing left to mark");
}

#[tokio::test]
async fn two_writers_on_one_file_lose_nothing() {
    let (_dir, url, store) = temp_store().await;
    let other = Store::connect(&url).await.unwrap();
    let ids = ["writer-a-aaaaaa", "writer-b-bbbbbb"];
    let tasks: Vec<_> = [store.clone(), other]
        .into_iter()
        .zip(ids)
        .map(|(s, id)| {
            tokio::spawn(async move {
                s.save_run(&view(id, RunStatus::Running)).await.unwrap();
                for b in 0..40u64 {
                    let batch = SeriesBatch {
                        windows: vec![window(0, b)],
                        requests: (0..10).map(|i| request(b * 10 + i, false, false)).collect(),
                        gpu: vec![sample(0, b * 250)],
                        ..Default::default()
                    };
                    s.append_series(id, &batch).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for id in ids {
        let series = store.load_series(id).await.unwrap();
        assert_eq!((series.windows.len(), series.gpu.len()), (40, 40), "{id}");
        assert_eq!(store.load_requests(id).await.unwrap().len(), 400, "{id}");
    }
}

#[tokio::test]
async fn rename_tag_and_delete() {
    let (_dir, _url, store) = temp_store().await;
    store.save_run(&view("meta-aaaaaaaaaa", RunStatus::Completed)).await.unwrap();
    store
        .append_series("meta-aaaaaaaaaa", &SeriesBatch { windows: vec![window(0, 1)], ..Default::default() })
        .await
        .unwrap();
    let patch = RunPatch { name: Some("  vLLM c=16 ".into()), notes: None, tags: Some(vec!["h200".into()]) };
    assert!(store.update_meta("meta-aaaaaaaaaa", &patch).await.unwrap());
    // A later save (the run's final view) keeps the user's name.
    store.save_run(&view("meta-aaaaaaaaaa", RunStatus::Completed)).await.unwrap();
    let run = store.load_run("meta-aaaaaaaaaa").await.unwrap().unwrap();
    assert_eq!(
        (run.spec.name.as_str(), run.tags.clone(), run.notes.as_str()),
        ("vLLM c=16", vec!["h200".to_string()], "")
    );
    assert_eq!(store.list_runs(10).await.unwrap()[0].spec.name, "vLLM c=16");
    assert!(!store.update_meta("missing-aaaaaaa", &patch).await.unwrap());

    assert!(store.delete_run("meta-aaaaaaaaaa").await.unwrap());
    assert!(store.load_run("meta-aaaaaaaaaa").await.unwrap().is_none());
    assert!(store.load_series("meta-aaaaaaaaaa").await.unwrap().windows.is_empty(), "series deleted too");
    assert!(!store.delete_run("meta-aaaaaaaaaa").await.unwrap());
}
