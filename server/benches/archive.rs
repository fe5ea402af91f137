//! Archive cost: writing a 100 000-request run and reading it back, on SQLite and (when `TOKENSCOPE_TEST_POSTGRES`
//! names a server) on PostgreSQL (a bench binary, not a test; nothing here asserts).
//!
//! ```sh
//! cargo bench -p server --bench archive                                  # SQLite only, ~1 min
//! .ci/postgres start && TOKENSCOPE_TEST_POSTGRES=$(.ci/postgres url) cargo bench -p server --bench archive
//! cargo bench -p server --bench archive -- --requests 20000              # a smaller run
//! ```
//!
//! The run: N request records (the first 1 000 warmup, 1 % failed), one 1 s window per 1 000 requests and 8 GPUs sampled at
//! 4 Hz over the same span (32 samples a second). Written three ways, each into a fresh database:
//! - the recorder of a dashboard run at 1 000 requests/s: one transaction a second with that second's rows;
//! - the same at 100 requests/s (ten times the transactions, a tenth of the rows each);
//! - the CLI: the run's row and all its series in one transaction (`save_run_with_series`).
//!
//! Then the reads of the Run and Compare pages on the CLI-written run, 5 times each (median, slowest):
//! `load_series` (`GET /api/runs/{id}/series`: windows + GPU samples), `load_latencies` (`/latency`: TTFT and E2E of
//! the measured successful requests) and `load_requests` (`/export/requests.csv`: every record).

// A bench binary fails loudly on a setup error; that is what unwrap/expect are for here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use protocol::event::{RequestRecord, WindowStats};
use protocol::gpu::{GpuSample, TelemetryStatus};
use protocol::live_run::{Progress, RunStatus, RunView};
use protocol::record::{ErrorClass, RequestError, TokenSource};
use server::store::{SeriesBatch, Store};

const GPUS: u32 = 8;
const GPU_HZ: u64 = 4;
const LOAD_REPEATS: usize = 5;
const T0: u64 = 1_800_000_000_000;

fn main() {
    let mut requests: u64 = 100_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" => requests = args.next().and_then(|n| n.parse().ok()).expect("--requests N"),
            "--bench" => {}
            other => eprintln!("archive bench: ignoring {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let postgres = std::env::var("TOKENSCOPE_TEST_POSTGRES").ok();
        println!(
            "archive bench: {requests} requests, {} windows, {} GPU samples ({GPUS} GPUs at {GPU_HZ} Hz); {} cores",
            requests.div_ceil(1000),
            requests.div_ceil(1000) * GPUS as u64 * GPU_HZ,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
        let mut table = Vec::new();
        table.extend(bench("SQLite", &Target::Sqlite, requests).await);
        match &postgres {
            Some(admin) => table.extend(bench("PostgreSQL", &Target::Postgres(admin.clone()), requests).await),
            None => {
                println!("PostgreSQL: skipped (TOKENSCOPE_TEST_POSTGRES is not set; `.ci/postgres start` prints one)")
            }
        }
        println!();
        println!("| database | operation | time | rate |");
        println!("|---|---|---:|---:|");
        for row in table {
            println!("| {} | {} | {} | {} |", row.0, row.1, row.2, row.3);
        }
    });
}

enum Target {
    Sqlite,
    /// The admin URL; each scenario gets a database of its own, dropped after.
    Postgres(String),
}

/// A fresh empty archive; keep the guard alive while it is used.
struct Fresh {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    drop_db: Option<(String, String)>,
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

async fn fresh(target: &Target) -> Fresh {
    match target {
        Target::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
            Fresh { store, _dir: Some(dir), drop_db: None }
        }
        Target::Postgres(admin) => {
            let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("ts_bench_{}_{seq}", std::process::id());
            admin_sql(admin, format!("CREATE DATABASE {name}")).await;
            let (base, _) = admin.rsplit_once('/').expect("postgres://…/DB");
            let store = Store::connect(&format!("{base}/{name}")).await.unwrap();
            Fresh { store, _dir: None, drop_db: Some((admin.clone(), name)) }
        }
    }
}

async fn admin_sql(admin: &str, sql: String) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
}

impl Fresh {
    async fn done(self) {
        let Fresh { store, _dir, drop_db } = self;
        drop(store);
        if let Some((admin, name)) = drop_db {
            admin_sql(&admin, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

type Row = (&'static str, String, String, String);

async fn bench(db: &'static str, target: &Target, requests: u64) -> Vec<Row> {
    let mut rows = Vec::new();
    for per_s in [1000, 100] {
        let fresh = fresh(target).await;
        let (total, batch_p50, batch_max) = recorder(&fresh.store, requests, per_s).await;
        fresh.done().await;
        rows.push((
            db,
            format!("write, recorder: {} batches of {per_s} requests (1 s each)", requests.div_ceil(per_s)),
            format!("{:.2} s (batch p50 {:.1} ms, max {:.1} ms)", total.as_secs_f64(), ms(batch_p50), ms(batch_max)),
            format!("{:.0} requests/s", requests as f64 / total.as_secs_f64()),
        ));
        println!("{db}: {}", rows.last().unwrap().1);
    }

    let fresh = fresh(target).await;
    let run = view("bench-run-aaaaaaaa", RunStatus::Completed);
    let all = batch(0, requests, true);
    let started = Instant::now();
    fresh.store.save_run_with_series(&run, &all).await.unwrap();
    let total = started.elapsed();
    rows.push((
        db,
        "write, CLI: one transaction".into(),
        format!("{:.2} s", total.as_secs_f64()),
        format!("{:.0} requests/s", requests as f64 / total.as_secs_f64()),
    ));
    println!("{db}: CLI write done");

    let id = run.id.as_str();
    let (median, max) = timed(|| async {
        let s = fresh.store.load_series(id).await.unwrap();
        assert!(s.windows.len() as u64 == requests.div_ceil(1000));
    })
    .await;
    rows.push((db, "read, load_series (windows + GPU samples)".into(), load(median, max), String::new()));
    let (median, max) = timed(|| async {
        let (ttft, _) = fresh.store.load_latencies(id).await.unwrap();
        assert!(ttft.len() as u64 > requests / 2);
    })
    .await;
    rows.push((db, "read, load_latencies (TTFT + E2E)".into(), load(median, max), rate(requests, median)));
    let (median, max) = timed(|| async {
        assert_eq!(fresh.store.load_requests(id).await.unwrap().len() as u64, requests);
    })
    .await;
    rows.push((db, "read, load_requests (every record)".into(), load(median, max), rate(requests, median)));
    fresh.done().await;
    println!("{db}: reads done");
    rows
}

/// Writes the run as a dashboard run's recorder would at `per_s` requests a second: the row, then one
/// `append_series` per second. Total time, median and slowest batch.
async fn recorder(store: &Store, requests: u64, per_s: u64) -> (Duration, Duration, Duration) {
    let run = view("bench-live-aaaaaaa", RunStatus::Running);
    store.save_run(&run).await.unwrap();
    let mut times = Vec::new();
    let started = Instant::now();
    let mut from = 0;
    while from < requests {
        let to = (from + per_s).min(requests);
        let mut b = batch(from, to, false);
        if from == 0 {
            b.telemetry = Some(TelemetryStatus::Unavailable { reason: "bench".into() });
        }
        // One window and one second of GPU samples per second of the run.
        let second = from / per_s;
        b.windows = vec![window(second)];
        b.gpu = gpu_second(second);
        let t = Instant::now();
        store.append_series(&run.id, &b).await.unwrap();
        times.push(t.elapsed());
        from = to;
    }
    let total = started.elapsed();
    store.save_run(&view("bench-live-aaaaaaa", RunStatus::Completed)).await.unwrap();
    times.sort();
    (total, times[times.len() / 2], *times.last().unwrap())
}

async fn timed<F, Fut>(f: F) -> (Duration, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    for _ in 0..LOAD_REPEATS {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], *times.last().unwrap())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn load(median: Duration, max: Duration) -> String {
    format!("{:.0} ms (slowest {:.0} ms)", ms(median), ms(max))
}

fn rate(n: u64, d: Duration) -> String {
    format!("{:.0} rows/s", n as f64 / d.as_secs_f64())
}

/// Requests `from..to`; with `series`, also the windows and GPU samples of the whole span (the CLI's write).
fn batch(from: u64, to: u64, series: bool) -> SeriesBatch {
    let mut b = SeriesBatch { requests: (from..to).map(request).collect(), ..Default::default() };
    if series {
        b.telemetry = Some(TelemetryStatus::Unavailable { reason: "bench".into() });
        let seconds = to.div_ceil(1000);
        b.windows = (0..seconds).map(window).collect();
        b.gpu = (0..seconds).flat_map(gpu_second).collect();
    }
    b
}

fn request(i: u64) -> RequestRecord {
    let failed = i % 100 == 50;
    let x = (i % 997) as f64;
    RequestRecord {
        step: 0,
        index: i,
        t_send_ms: i as f64 * 1.0,
        scheduler_lag_ms: 0.05,
        ttft_ms: (!failed).then_some(80.0 + x * 0.1),
        e2e_ms: (!failed).then_some(1200.0 + x),
        tpot_ms: (!failed).then_some(8.5 + x * 0.001),
        output_tokens: if failed { 0 } else { 128 },
        input_tokens: 512,
        token_source: TokenSource::Usage,
        requested_tokens: 0,
        retried: false,
        warmup: i < 1000,
        error: failed.then(|| RequestError {
            class: ErrorClass::HttpStatus,
            status: Some(503),
            message: "server overloaded".into(),
        }),
    }
}

fn window(second: u64) -> WindowStats {
    WindowStats {
        step: 0,
        t_end_ms: (second + 1) as f64 * 1000.0,
        unix_ms: T0 + (second + 1) * 1000,
        length_ms: 1000.0,
        output_tokens: 128_000.0,
        output_tokens_per_s: 128_000.0,
        requests_per_s: 1000.0,
        ttft_p50_ms: Some(120.0),
        ttft_p99_ms: Some(180.0),
        itl_p50_ms: Some(8.5),
        itl_p99_ms: Some(12.0),
        e2e_p50_ms: Some(1700.0),
        e2e_p99_ms: Some(2100.0),
        in_flight: 256,
        completed_total: (second + 1) * 1000,
        failed_total: (second + 1) * 10,
        errors: BTreeMap::from([(ErrorClass::HttpStatus, 10)]),
    }
}

fn gpu_second(second: u64) -> Vec<GpuSample> {
    (0..GPU_HZ)
        .flat_map(|tick| {
            (0..GPUS).map(move |gpu| GpuSample {
                index: gpu,
                uuid: format!("GPU-{gpu:08x}-bench"),
                unix_ms: T0 + second * 1000 + tick * (1000 / GPU_HZ),
                power_w: Some(550.0 + gpu as f64),
                ..Default::default()
            })
        })
        .collect()
}

fn view(id: &str, status: RunStatus) -> RunView {
    let spec = serde_json::from_value(serde_json::json!({
        "name": "bench", "target": "http://127.0.0.1:8000", "load": {"kind": "concurrency", "concurrency": 256},
        "workload": {"kind": "synthetic", "input_tokens": {"min": 512, "max": 512},
                     "output_tokens": {"min": 128, "max": 128}}
    }))
    .unwrap();
    RunView {
        id: id.into(),
        spec,
        status,
        started_unix_ms: T0,
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
