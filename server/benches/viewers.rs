//! Viewer fan-out cost: how `/ws/runs/{id}` behaves with many dashboards open on one live run (a bench binary, not
//! a test; nothing here asserts).
//!
//! ```sh
//! cargo bench -p server --bench viewers                      # 50 viewers, 20 s per scenario, ~1 min
//! cargo bench -p server --bench viewers -- --viewers 200 --seconds 10
//! cargo bench -p server --bench viewers -- --pollers 50      # also 50 clients polling GET /api/runs (200 runs)
//! ```
//!
//! With `--pollers P` the archive is first filled with `--archive N` (200) copies of the baseline run, so that
//! `GET /api/runs` answers a full page, and two more scenarios follow: P API clients polling `GET /api/runs` back to
//! back (each waits for its answer, then asks again), and the viewers and the pollers together — the dashboard's own
//! API work competing with the load generator.
//!
//! Starts the real app in-process on port 0 with its demo target and one simulated GPU, and runs two scenarios of a
//! demo run (concurrency 32, 30 s, 128 tokens out): first with no viewer (the baseline), then with N WebSocket
//! viewers. For each it measures, over the same span in the run's steady state: frames per viewer per second, the
//! arrival spacing of `progress` (nominally 250 ms) and `window` (nominally 1 s) frames, the end-to-end latency of
//! `window` frames (arrival − the window's close on the wall clock, `unix_ms`), the run's output tokens/s, and the
//! process's CPU (utime + stime of /proc/self/stat, Linux only). The viewers live in the same process as the
//! server, so the CPU difference between the scenarios is the cost of the viewers on both ends of the socket: an
//! upper bound of the server's.

// A bench binary fails loudly on a setup error; that is what unwrap/expect are for here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use protocol::live_run::{RunView, RunWsFrame};
use server::{clock::unix_ms, startup::Application};

const CONCURRENCY: u32 = 32;
const RUN_S: f64 = 30.0;
/// Measurement starts once the run has been loaded this long (connections made, latency settled).
const SETTLE_S: f64 = 2.0;

struct Server {
    base: String,
    authority: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut args = server::testing::server_config(dir.path()).expect("a scratch folder");
        args.telemetry.simulate_gpus = Some(1);
        args.telemetry.interval = Duration::from_millis(250);
        args.no_demo = false;
        let app = Application::build(&args).await.expect("the app starts");
        let addr = app.addr();
        tokio::spawn(app.run_until(std::future::pending()));
        Server { base: format!("http://{addr}"), authority: addr.to_string(), http: reqwest::Client::new(), _dir: dir }
    }

    async fn get(&self, path: &str) -> Value {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    async fn run(&self, id: &str) -> RunView {
        serde_json::from_value(self.get(&format!("/api/runs/{id}")).await).unwrap()
    }

    /// Starts a demo run and waits until it has been under load for [`SETTLE_S`].
    async fn start_run(&self) -> String {
        let target = self.get("/api/demo").await["target"].as_str().expect("the demo target is on").to_owned();
        let spec = json!({
            "name": "viewers bench",
            "target": target,
            "load": { "kind": "concurrency", "concurrency": CONCURRENCY },
            "duration_s": RUN_S,
            "workload": { "kind": "synthetic", "input_tokens": { "min": 128, "max": 128 },
                          "output_tokens": { "min": 128, "max": 128 } }
        });
        let resp = self.http.post(format!("{}/api/runs", self.base)).json(&spec).send().await.unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        while self.run(&id).await.progress.elapsed_s < SETTLE_S {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        id
    }

    /// Fills the archive with `n` copies of run `id`'s report (`POST /api/runs/import`), so that `GET /api/runs`
    /// answers a full page as on a server in use (200 runs with their results).
    async fn fill_archive(&self, id: &str, n: usize) {
        let report = self.http.get(format!("{}/api/runs/{id}/export.json", self.base)).send().await.unwrap();
        let report = report.bytes().await.unwrap();
        for _ in 0..n {
            let resp = self
                .http
                .post(format!("{}/api/runs/import", self.base))
                .header("content-type", "application/json")
                .body(report.clone())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "import: {}", resp.text().await.unwrap());
        }
    }

    /// Stops the run and waits for its end, so the next scenario starts from rest.
    async fn stop(&self, id: &str) {
        let _ = self.http.post(format!("{}/api/runs/{id}/stop", self.base)).send().await.unwrap();
        while self.run(id).await.status.is_live() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// User + system CPU seconds of this process so far (fields 14 and 15 of /proc/self/stat, 100 ticks a second).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name's ")" the fields start at #3 (state); utime is #14, stime #15.
    let rest: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().collect();
    let ticks = |i: usize| rest.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// What one viewer received during the measured span.
#[derive(Default)]
struct Seen {
    frames: u64,
    bytes: u64,
    progress_gaps_ms: Vec<f64>,
    window_gaps_ms: Vec<f64>,
    window_latency_ms: Vec<f64>,
}

impl Seen {
    fn merge(&mut self, other: Seen) {
        self.frames += other.frames;
        self.bytes += other.bytes;
        self.progress_gaps_ms.extend(other.progress_gaps_ms);
        self.window_gaps_ms.extend(other.window_gaps_ms);
        self.window_latency_ms.extend(other.window_latency_ms);
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects a viewer and reads its hello.
async fn connect(server: &Server, id: &str) -> Ws {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/runs/{id}", server.authority)).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(t))) => assert!(t.starts_with(r#"{"type":"hello""#), "hello first"),
        other => panic!("expected the hello frame, got {other:?}"),
    }
    ws
}

/// Reads frames until `until`.
async fn watch(mut ws: Ws, until: tokio::time::Instant) -> Seen {
    let mut seen = Seen::default();
    let (mut last_progress, mut last_window) = (None::<Instant>, None::<Instant>);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, ws.next()).await {
        let Message::Text(text) = msg else { continue };
        let at = Instant::now();
        seen.frames += 1;
        seen.bytes += text.len() as u64;
        let gap = |last: &mut Option<Instant>| last.replace(at).map(|l| (at - l).as_secs_f64() * 1e3);
        match serde_json::from_str::<RunWsFrame>(&text) {
            Ok(RunWsFrame::Progress { .. }) => seen.progress_gaps_ms.extend(gap(&mut last_progress)),
            Ok(RunWsFrame::Window(w)) => {
                seen.window_gaps_ms.extend(gap(&mut last_window));
                seen.window_latency_ms.push(unix_ms().saturating_sub(w.unix_ms) as f64);
            }
            _ => {}
        }
    }
    seen
}

/// Polls `GET /api/runs` back to back until `until`; returns how many answers it got.
async fn poll(url: String, until: tokio::time::Instant) -> u64 {
    let http = reqwest::Client::new();
    let mut answers = 0;
    while tokio::time::Instant::now() < until {
        let sent = http.get(&url).send();
        match tokio::time::timeout_at(until, sent).await {
            Ok(Ok(resp)) => match resp.bytes().await {
                Ok(_) => answers += 1,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(_) => break,
        }
    }
    answers
}

/// One scenario's figures.
struct Row {
    viewers: usize,
    pollers: usize,
    polls_per_s: f64,
    seen: Seen,
    min_frames: u64,
    max_frames: u64,
    cpu_pct: f64,
    tokens_per_s: f64,
}

async fn scenario(server: &Server, viewers: usize, pollers: usize, seconds: u64) -> Row {
    let id = server.start_run().await;
    let mut sockets = Vec::with_capacity(viewers);
    for _ in 0..viewers {
        sockets.push(connect(server, &id).await);
    }
    let tokens0 = server.run(&id).await.progress.output_tokens;
    let (cpu0, t0) = (cpu_s(), Instant::now());
    let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = sockets.into_iter().map(|ws| tokio::spawn(watch(ws, until))).collect();
    let polling: Vec<_> =
        (0..pollers).map(|_| tokio::spawn(poll(format!("{}/api/runs", server.base), until))).collect();
    tokio::time::sleep_until(until).await;
    let (cpu1, wall) = (cpu_s(), t0.elapsed().as_secs_f64());
    let tokens1 = server.run(&id).await.progress.output_tokens;
    let mut polls = 0;
    for p in polling {
        polls += p.await.unwrap();
    }
    let (mut seen, mut min_frames, mut max_frames) = (Seen::default(), u64::MAX, 0);
    for task in tasks {
        let one = task.await.unwrap();
        min_frames = min_frames.min(one.frames);
        max_frames = max_frames.max(one.frames);
        seen.merge(one);
    }
    server.stop(&id).await;
    Row {
        viewers,
        pollers,
        polls_per_s: polls as f64 / wall,
        seen,
        min_frames: if viewers == 0 { 0 } else { min_frames },
        max_frames,
        cpu_pct: 100.0 * (cpu1 - cpu0) / wall,
        tokens_per_s: tokens1.saturating_sub(tokens0) as f64 / wall,
    }
}

fn pct(v: &mut [f64], q: f64) -> String {
    if v.is_empty() {
        return "–".into();
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    format!("{:.0}", v[i])
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; unknown flags are ignored.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let viewers: usize = arg(&args, "--viewers", 50);
    let seconds: u64 = arg(&args, "--seconds", 20);
    let pollers: usize = arg(&args, "--pollers", 0);
    let archive: usize = arg(&args, "--archive", 200);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server = Server::start().await;
    println!(
        "viewers bench: demo run (concurrency {CONCURRENCY}, 128 tokens out), 1 simulated GPU, {seconds} s measured \
         per scenario, {cores} cores\n"
    );
    let mut rows = Vec::new();
    let mut scenarios = vec![(0, 0), (viewers, 0)];
    if pollers > 0 {
        scenarios.extend([(0, pollers), (viewers, pollers)]);
    }
    for (v, p) in scenarios {
        let row = scenario(&server, v, p, seconds).await;
        if rows.is_empty() && pollers > 0 {
            let ids: Vec<Value> = server.get("/api/runs").await.as_array().cloned().unwrap_or_default();
            let id = ids.first().and_then(|r| r["id"].as_str()).expect("the baseline run is archived").to_owned();
            server.fill_archive(&id, archive).await;
            let page = server.http.get(format!("{}/api/runs", server.base)).send().await.unwrap();
            let bytes = page.bytes().await.unwrap().len();
            println!(
                "archive filled with {archive} copies of the baseline run: GET /api/runs answers {} KiB",
                bytes / 1024
            );
        }
        rows.push(row);
    }
    println!(
        "| viewers | API pollers | polls/s | frames/viewer/s | KiB/viewer/s | frames per viewer min–max | \
         progress gap p50/p99/max ms | window gap p50/p99/max ms | window latency p50/p99/max ms | run output tok/s | \
         process CPU % of a core |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &mut rows {
        let per = (r.viewers.max(1) as f64) * seconds as f64;
        let s = &mut r.seen;
        let three = |v: &mut Vec<f64>| format!("{} / {} / {}", pct(v, 0.5), pct(v, 0.99), pct(v, 1.0));
        let (pg, wg, wl) =
            (three(&mut s.progress_gaps_ms), three(&mut s.window_gaps_ms), three(&mut s.window_latency_ms));
        let dash = r.viewers == 0;
        let or_dash = |x: String| if dash { "–".to_owned() } else { x };
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {pg} | {wg} | {wl} | {:.0} | {:.1} |",
            r.viewers,
            r.pollers,
            r.polls_per_s,
            or_dash(format!("{:.2}", s.frames as f64 / per)),
            or_dash(format!("{:.2}", s.bytes as f64 / per / 1024.0)),
            or_dash(format!("{}–{}", r.min_frames, r.max_frames)),
            r.tokens_per_s,
            r.cpu_pct,
        );
    }
    let (base, with) = (rows[0].cpu_pct, rows[1].cpu_pct);
    println!(
        "\n{viewers} viewers cost {:.1} % of a core ({:.3} % per viewer), server and in-process clients together.",
        with - base,
        (with - base) / viewers.max(1) as f64
    );
}
