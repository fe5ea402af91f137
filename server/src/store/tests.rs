//! The archive against real databases: every test body runs on an SQLite file in a temporary folder and, when
//! `TOKENSCOPE_TEST_POSTGRES` holds a URL (`make test` starts a throw-away cluster with `.ci/postgres start`), on
//! PostgreSQL in a database of its own, created for the test and dropped after it.

use std::collections::BTreeMap;

use protocol::archive::RunPatch;
use protocol::event::{RequestRecord, RunEvent, WindowStats};
use protocol::gpu::{GpuSample, TelemetryStatus};
use protocol::live_run::{Progress, RunStatus, RunView};
use protocol::record::{ErrorClass, RequestError, TokenSource};

use super::*;

/// The environment variable naming the PostgreSQL server the tests may use (an admin URL, e.g.
/// `postgres://postgres@127.0.0.1:54329/postgres`).
const POSTGRES_ENV: &str = "TOKENSCOPE_TEST_POSTGRES";

/// A database for one test: an SQLite file in a temporary folder, or a fresh PostgreSQL database dropped when
/// this is dropped (even when the test fails).
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    /// Admin URL and name of the PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        TestDb { url, _dir: Some(dir), postgres: None }
    }

    /// None (and a line saying so) when `TOKENSCOPE_TEST_POSTGRES` is not set.
    async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            println!("skipped {test} on PostgreSQL: {POSTGRES_ENV} is not set (`make test` sets it)");
            return None;
        };
        use std::sync::atomic::{AtomicU32, Ordering};
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!("ts_{}_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed), test);
        let name: String = name.chars().take(63).collect();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await.unwrap();
        Some(TestDb { url: with_database(&admin, &name), _dir: None, postgres: Some((admin, name)) })
    }

    async fn store(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime: a thread of its own may block on a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

/// `url` (`postgres://…/DB?…`) naming database `db` instead.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// One test body, run as `NAME::sqlite` always and as `NAME::postgres` when PostgreSQL is configured; `db` is
/// the test's [`TestDb`].
macro_rules! on_both {
    ($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block) => {
        mod $name {
            use super::*;

            async fn body($db: TestDb) $body

            $(#[$meta])*
            #[tokio::test]
            async fn sqlite() {
                body(TestDb::sqlite()).await
            }

            $(#[$meta])*
            #[tokio::test]
            async fn postgres() {
                if let Some(db) = TestDb::postgres(stringify!($name)).await {
                    body(db).await
                }
            }
        }
    };
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(with_database("postgres://u:p@h:5432/postgres", "x"), "postgres://u:p@h:5432/x");
    assert_eq!(with_database("postgres://h/postgres?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
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
        storage_error: None,
    }
}

fn window(step: u32, t: u64) -> WindowStats {
    WindowStats {
        step,
        t_end_ms: t as f64 * 1000.0,
        unix_ms: 1_700_000_000_000 + t * 1000,
        length_ms: 1000.0,
        output_tokens: 10.0 * t as f64,
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
        requested_tokens: 0,
        retried: false,
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
    assert!(err.contains("--db") && err.contains("sqlite://") && err.contains("postgres://"), "{err}");
    assert!(parse_url("sqlite://").is_err());
    assert_eq!(parse_url("sqlite://runs.db").unwrap().backend, Backend::Sqlite);
    assert_eq!(parse_url("postgres://ts:pw@db.example:5432/runs").unwrap().backend, Backend::Postgres);
    assert_eq!(parse_url("postgresql://db.example/runs?sslmode=require").unwrap().backend, Backend::Postgres);
    let err = parse_url("postgres://ts:hunter2@db.example:notaport/runs").unwrap_err().to_string();
    assert!(err.contains("--db") && !err.contains("hunter2") && err.contains("ts:***@db.example"), "{err}");
}

#[test]
fn passwords_are_hidden() {
    assert_eq!(redact_url("postgres://ts:hunter2@h:5432/db"), "postgres://ts:***@h:5432/db");
    assert_eq!(redact_url("postgres://ts@h/db"), "postgres://ts@h/db");
    assert_eq!(redact_url("postgres://h/db?user=x"), "postgres://h/db?user=x");
    assert_eq!(redact_url("sqlite://runs.db"), "sqlite://runs.db");
    assert_eq!(redact_url("postgres://a:b:c@h/d@e"), "postgres://a:***@h/d@e");
    assert_eq!(redact_url("postgres://h/db?user=x&password=y&x=1"), "postgres://h/db?user=x&password=***&x=1");
    assert_eq!(redact_url("postgres://u:p@h?sslmode=require"), "postgres://u:***@h?sslmode=require");
}

#[tokio::test]
async fn a_postgres_server_that_is_not_there_is_an_error_not_a_wait() {
    // Port 1 on the loopback: nothing listens there, the connection is refused at once.
    let started = std::time::Instant::now();
    let err = Store::connect("postgres://ts:hunter2@127.0.0.1:1/runs").await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{msg}");
    assert!(msg.contains("--db postgres://ts:***@127.0.0.1:1/runs") && !msg.contains("hunter2"), "{msg}");
    assert!(msg.contains("PostgreSQL server is running"), "{msg}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_sqlite_file_in_a_missing_folder_is_an_error() {
    let err = Store::connect("sqlite:///no/such/folder/t.db").await.unwrap_err().to_string();
    assert!(err.contains("--db") && err.contains("folder exists"), "{err}");
}

on_both! {
    async fn creates_and_migrates_a_new_database(db) {
        let store = db.store().await;
        assert_eq!(store.count_runs().await.unwrap(), 0);
        // A second open of the same database finds the schema in place.
        assert_eq!(Store::connect(&db.url).await.unwrap().count_runs().await.unwrap(), 0);
    }
}

on_both! {
    async fn series_round_trip(db) {
        let store = db.store().await;
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
}

on_both! {
    async fn cli_runs_save_with_their_series_in_one_go(db) {
        let store = db.store().await;
        let batch =
            SeriesBatch { windows: vec![window(0, 1)], requests: vec![request(0, false, false)], ..Default::default() };
        store.save_run_with_series(&view("cli-aaaaaaaaaa", RunStatus::Completed), &batch).await.unwrap();
        assert_eq!(store.load_run("cli-aaaaaaaaaa").await.unwrap().unwrap().status, RunStatus::Completed);
        assert_eq!(store.load_series("cli-aaaaaaaaaa").await.unwrap().windows.len(), 1);
        assert_eq!(store.load_requests("cli-aaaaaaaaaa").await.unwrap().len(), 1);
    }
}

on_both! {
    async fn unfinished_runs_become_interrupted_with_their_data(db) {
        let store = db.store().await;
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
        let store = db.store().await;
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
}

on_both! {
    async fn two_writers_on_one_database_lose_nothing(db) {
        let store = db.store().await;
        let other = db.store().await;
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
}

on_both! {
    async fn rename_tag_and_delete(db) {
        let store = db.store().await;
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
}

fn share(id: &str, kind: &str, runs: &[&str], created: u64) -> ShareRow {
    ShareRow {
        id: id.into(),
        kind: kind.into(),
        run_ids: runs.iter().map(|r| r.to_string()).collect(),
        label: format!("label of {id}"),
        created_unix_ms: created,
        revoked_unix_ms: None,
    }
}

on_both! {
    async fn shares_insert_list_and_revoke(db) {
        let store = db.store().await;
        let one = share("shr-one-aaaaaaaaaa", "run", &["run-a"], 1_700_000_000_000);
        let two = share("shr-two-bbbbbbbbbb", "compare", &["run-a", "run-b"], 1_700_000_000_500);
        store.insert_share(&one).await.unwrap();
        store.insert_share(&two).await.unwrap();
        assert!(store.insert_share(&one).await.is_err(), "ids are unique");

        assert_eq!(store.get_share(&one.id).await.unwrap(), Some(one.clone()));
        assert_eq!(store.get_share("shr-missing").await.unwrap(), None);
        assert_eq!(store.list_shares(None).await.unwrap(), vec![two.clone(), one.clone()], "newest first");
        assert_eq!(store.list_shares(Some("run-b")).await.unwrap(), vec![two.clone()]);
        assert_eq!(store.list_shares(Some("run-a")).await.unwrap().len(), 2);
        assert!(store.list_shares(Some("run-")).await.unwrap().is_empty(), "whole ids only");

        assert!(store.revoke_share(&one.id).await.unwrap());
        let first = store.get_share(&one.id).await.unwrap().unwrap().revoked_unix_ms.expect("revoked");
        assert!(first > 1_700_000_000_000);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(store.revoke_share(&one.id).await.unwrap(), "revoking again is fine");
        assert_eq!(store.get_share(&one.id).await.unwrap().unwrap().revoked_unix_ms, Some(first), "first time kept");
        assert!(!store.revoke_share("shr-missing").await.unwrap());
        assert_eq!(store.get_share(&two.id).await.unwrap().unwrap().revoked_unix_ms, None);
    }
}

on_both! {
    async fn large_batches_and_repeated_rows(db) {
        let store = db.store().await;
        store.save_run(&view("big-aaaaaaaaaaa", RunStatus::Running)).await.unwrap();
        // 1 337 rows: statements of every size; a row given twice in one batch keeps its last version.
        let mut requests: Vec<RequestRecord> = (0..1337).map(|i| request(i, i < 10, i % 100 == 7)).collect();
        let mut changed = request(5, false, false);
        changed.output_tokens = 99;
        requests.push(changed.clone());
        let mut gpu: Vec<GpuSample> = (0..300).map(|t| sample((t % 2) as u32, t / 2 * 250)).collect();
        gpu.push(GpuSample { power_w: Some(7.0), ..sample(0, 0) });
        let batch = SeriesBatch { windows: (0..70).map(|t| window(0, t)).collect(), requests, gpu, ..Default::default() };
        store.append_series("big-aaaaaaaaaaa", &batch).await.unwrap();
        let stored = store.load_requests("big-aaaaaaaaaaa").await.unwrap();
        assert_eq!(stored.len(), 1337);
        assert_eq!(stored[5], changed);
        assert_eq!(stored[1336], request(1336, false, false));
        assert_eq!(stored.iter().filter(|r| r.error.is_some()).count(), 14);
        let series = store.load_series("big-aaaaaaaaaaa").await.unwrap();
        assert_eq!((series.windows.len(), series.gpu.len()), (70, 300));
        assert_eq!(series.gpu[0].power_w, Some(7.0));
        let (ttft, _) = store.load_latencies("big-aaaaaaaaaaa").await.unwrap();
        assert_eq!(ttft.len(), 1337 - 9 - 13, "9 warmup (5 was rewritten as measured), 13 failed after them");
    }
}

on_both! {
    /// Everything the server and the CLI do with the archive in the life of a run, in order: the start (migrate,
    /// recover), a dashboard run (row, 1 s batches, final view), the pages' reads, rename, share, compare with a
    /// CLI run and an imported one, revoke, delete.
    async fn the_whole_life_of_a_run(db) {
        // A server that died with a run live.
        let store = db.store().await;
        store.save_run(&view("crashed-aaaaaaa", RunStatus::Running)).await.unwrap();
        store
            .append_series("crashed-aaaaaaa", &SeriesBatch { requests: vec![request(0, false, false)], ..Default::default() })
            .await
            .unwrap();
        drop(store);

        // `tokenscope serve`: connect, recover.
        let store = db.store().await;
        assert_eq!(store.mark_interrupted().await.unwrap(), 1);

        // A dashboard run: its row at preflight, then running, then one batch a second, then its final view.
        let id = "dash-aaaaaaaaaa";
        store.save_run(&view(id, RunStatus::Preflight)).await.unwrap();
        store.save_run(&view(id, RunStatus::Running)).await.unwrap();
        let telemetry = TelemetryStatus::Unavailable { reason: "no NVIDIA driver".into() };
        for second in 0..5u64 {
            let mut batch = SeriesBatch::default();
            if second == 0 {
                batch.telemetry = Some(telemetry.clone());
            }
            batch.record(&RunEvent::Window(window(0, second + 1)));
            for i in 0..20 {
                batch.record(&RunEvent::Request(request(second * 20 + i, second == 0, i == 19)));
            }
            batch.gpu = vec![sample(0, second * 1000), sample(0, second * 1000 + 500)];
            store.append_series(id, &batch).await.unwrap();
        }
        let mut done = view(id, RunStatus::Completed);
        done.progress.done = 100;
        done.verdict = Some("ok".into());
        store.save_run(&done).await.unwrap();

        // The pages' reads.
        assert_eq!(store.count_runs().await.unwrap(), 2);
        let listed = store.list_runs(10).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|r| r.id == id && r.status == RunStatus::Completed));
        let crashed = store.load_run("crashed-aaaaaaa").await.unwrap().unwrap();
        assert_eq!((crashed.status, crashed.progress.done), (RunStatus::Interrupted, 1));
        let run = store.load_run(id).await.unwrap().unwrap();
        assert_eq!((run.status, run.progress.done, run.verdict.as_deref()), (RunStatus::Completed, 100, Some("ok")));
        let series = store.load_series(id).await.unwrap();
        assert_eq!((series.telemetry, series.windows.len(), series.gpu.len()), (Some(telemetry), 5, 10));
        assert_eq!(store.load_requests(id).await.unwrap().len(), 100);
        let (ttft, e2e) = store.load_latencies(id).await.unwrap();
        assert_eq!((ttft.len(), e2e.len()), (76, 76), "warmup (second 0) and failures left out");

        // Rename and tag; a CLI run and an imported report beside it.
        let patch = RunPatch { name: Some("baseline".into()), notes: Some("first try".into()), tags: Some(vec!["a".into()]) };
        assert!(store.update_meta(id, &patch).await.unwrap());
        let cli = SeriesBatch { windows: vec![window(0, 1)], requests: vec![request(0, false, false)], ..Default::default() };
        store.save_run_with_series(&view("cli-bbbbbbbbbbb", RunStatus::Completed), &cli).await.unwrap();
        let mut imported = view("imp-ccccccccccc", RunStatus::Completed);
        imported.notes = "from a report".into();
        imported.tags = vec!["imported".into()];
        store.save_run_with_meta(&imported).await.unwrap();
        let imported = store.load_run("imp-ccccccccccc").await.unwrap().unwrap();
        assert_eq!((imported.notes.as_str(), imported.tags.as_slice()), ("from a report", &["imported".to_string()][..]));
        assert_eq!(store.load_run(id).await.unwrap().unwrap().spec.name, "baseline");

        // Share the run and a comparison, then revoke one.
        let now = 1_800_000_000_000;
        store.insert_share(&share("s-run-aaaaaaaaaaaa", "run", &[id], now)).await.unwrap();
        store.insert_share(&share("s-cmp-aaaaaaaaaaaa", "compare", &[id, "cli-bbbbbbbbbbb"], now + 1)).await.unwrap();
        assert_eq!(store.list_shares(Some(id)).await.unwrap().len(), 2);
        assert_eq!(store.list_shares(Some("cli-bbbbbbbbbbb")).await.unwrap()[0].kind, "compare");
        assert!(store.revoke_share("s-run-aaaaaaaaaaaa").await.unwrap());
        assert!(store.get_share("s-run-aaaaaaaaaaaa").await.unwrap().unwrap().revoked_unix_ms.is_some());

        // Delete; a restart finds nothing left to recover.
        assert!(store.delete_run(id).await.unwrap());
        assert!(store.load_requests(id).await.unwrap().is_empty());
        assert_eq!(store.count_runs().await.unwrap(), 3);
        drop(store);
        assert_eq!(db.store().await.mark_interrupted().await.unwrap(), 0);
    }
}

#[test]
fn multi_row_upserts_use_each_databases_placeholders() {
    let cols = ["run_id", "step", "body"];
    assert_eq!(
        series::upsert_sql(Backend::Postgres, "t", &cols, &cols[..2], 2),
        "INSERT INTO t (run_id, step, body) VALUES ($1, $2, $3), ($4, $5, $6) \
         ON CONFLICT (run_id, step) DO UPDATE SET body = excluded.body"
    );
    assert_eq!(
        series::upsert_sql(Backend::Sqlite, "t", &cols, &cols[..2], 1),
        "INSERT INTO t (run_id, step, body) VALUES (?, ?, ?) ON CONFLICT (run_id, step) DO UPDATE SET body = excluded.body"
    );
}

#[tokio::test]
async fn sqlite_connections_keep_wal_normal_sync_and_the_busy_timeout() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    // Every connection of the pool, not only the first.
    let mut conns = Vec::new();
    for _ in 0..3 {
        let mut conn = store.pool.acquire().await.unwrap();
        let (journal,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&mut *conn).await.unwrap();
        let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&mut *conn).await.unwrap();
        let (busy,): (i64,) = sqlx::query_as("PRAGMA busy_timeout").fetch_one(&mut *conn).await.unwrap();
        assert_eq!((journal.as_str(), sync, busy), ("wal", 1, 5000), "NORMAL is 1");
        conns.push(conn);
    }
}

on_both! {
    /// A 100 000-request run's latency distributions are read from its few histogram rows: with its request rows
    /// deleted, the read still counts every request, per step and in all (its cost does not grow with them).
    async fn a_large_runs_latency_is_read_without_its_request_rows(db) {
        let store = db.store().await;
        let id = "latency-big-aaaa";
        let requests: Vec<RequestRecord> =
            (0..100_000).map(|i| RequestRecord { step: (i % 2) as u32, ..request(i, i < 10, false) }).collect();
        let batch = SeriesBatch { requests, ..Default::default() };
        store.save_run_with_series(&view(id, RunStatus::Completed), &batch).await.unwrap();
        sqlx::query("DELETE FROM run_requests WHERE run_id = $1").bind(id).execute(&store.pool).await.unwrap();

        let stored = store.latency(id).await.unwrap();
        assert_eq!(stored.steps(), [(0, 49_995), (1, 49_995)], "5 warmup requests per step are left out");
        let whole = stored.histograms(None).unwrap();
        assert_eq!((whole.requests(), whole.tpot.count()), (99_990, 99_990));
        // TTFT = 10 + index ms: the median of 10..=99_999 is about 50 009 ms.
        let p50 = whole.ttft.quantile_ms(0.5).unwrap();
        assert!((p50 - 50_010.0).abs() < 50.0, "{p50}");
        let step = stored.histograms(Some(1)).unwrap();
        assert_eq!(step.requests(), 49_995);
        assert_eq!(stored.histograms(Some(7)).unwrap().requests(), 0, "a step the run does not have is empty");
    }
}

on_both! {
    /// A run archived without histograms (before they existed, or found interrupted) gets them on its first read,
    /// stored for the next; a run without request rows (an imported report) stores none; the end of a run replaces
    /// them; deleting the run deletes them.
    async fn latency_histograms_are_backfilled_once_and_deleted_with_the_run(db) {
        let store = db.store().await;
        let id = "latency-old-aaaa";
        store.save_run(&view(id, RunStatus::Running)).await.unwrap();
        let requests: Vec<RequestRecord> = (0..20).map(|i| request(i, i < 2, i == 7)).collect();
        store.append_series(id, &SeriesBatch { requests, ..Default::default() }).await.unwrap();
        assert_eq!(store.mark_interrupted().await.unwrap(), 1);
        assert!(store.load_latency(id).await.unwrap().is_empty(), "nothing stored before the first read");

        let first = store.latency(id).await.unwrap();
        assert_eq!(first.steps(), [(0, 17)], "2 warmup and 1 failed request are left out");
        let stored = store.load_latency(id).await.unwrap();
        assert_eq!(stored.steps(), [(0, 17)], "stored by the first read");
        let (a, b) = (first.histograms(None).unwrap(), stored.histograms(None).unwrap());
        assert_eq!(a.e2e.cdf(200), b.e2e.cdf(200));
        assert_eq!(b.e2e.cdf(200).first().map(|p| (p.ms * 100.0).round() / 100.0), Some(52.0));

        // The end of a run has the final word; a later backfill never overwrites it.
        let mut end = histograms::LatencyHistograms::default();
        end.add(&request(3, false, false));
        store.save_latency(id, &end).await.unwrap();
        assert_eq!(store.latency(id).await.unwrap().histograms(None).unwrap().requests(), 1);

        let imported = "latency-imp-aaaa";
        store.save_run_with_meta(&view(imported, RunStatus::Completed)).await.unwrap();
        assert!(store.latency(imported).await.unwrap().is_empty());
        assert!(store.load_latency(imported).await.unwrap().is_empty(), "no requests, nothing stored");

        assert!(store.delete_run(id).await.unwrap());
        assert!(store.load_latency(id).await.unwrap().is_empty(), "deleted with the run");
    }
}
