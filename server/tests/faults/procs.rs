//! The processes of a fault test: `tokenscope serve` on a temporary archive and `tokenscope mock` as its target,
//! both real children of the test on free ports, killed when dropped; plus reading the archive file directly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection;

use protocol::live_run::RunView;

/// Longest wait for anything a test polls for: generous, since tests share two cores with builds.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A temporary folder with a minimal site (the server needs no real wasm bundle) and room for the archive.
pub fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/tokenscope.js"), "export default function(){}").unwrap();
    std::fs::write(site.join("pkg/tokenscope.css"), "body{}").unwrap();
    std::fs::write(site.join("favicon.svg"), "<svg/>").unwrap();
    dir
}

/// The archive file of a work folder.
pub fn db_file(dir: &Path) -> PathBuf {
    dir.join("faults.db")
}

/// Spawns `tokenscope ARGS` with stderr piped; returns the child, every stderr line so far (kept filling by a
/// thread), and the first `http://` address or `listening on` address printed.
fn spawn(args: &[&str]) -> (Child, Arc<Mutex<Vec<String>>>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenscope"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .env_remove("TOKENSCOPE_TOKEN")
        .env_remove("TOKENSCOPE_HOST")
        .env_remove("TOKENSCOPE_PORT")
        .env_remove("TOKENSCOPE_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tokenscope starts");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let addr = line
                    .split_once("listening on ")
                    .map(|(_, rest)| rest)
                    .or_else(|| line.split_once("http://").map(|(_, rest)| rest))
                    .and_then(|rest| rest.split([',', ' ', '/']).next())
                    .map(str::to_owned);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
                log.lock().unwrap().push(line);
            }
        });
    }
    let addr = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
        panic!("tokenscope {args:?} printed no address: {:#?}", log.lock().unwrap());
    });
    (child, log, addr)
}

/// `tokenscope serve` on `dir`'s archive (no demo target, no GPUs), on a free loopback port.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`
    pub authority: String,
    log: Arc<Mutex<Vec<String>>>,
    /// HTTP client for the API.
    pub http: reqwest::Client,
}

impl Server {
    /// Starts the server on the archive of `dir` (created on first use, reopened by later servers).
    pub fn start(dir: &Path) -> Server {
        let db = format!("sqlite://{}", db_file(dir).display());
        let site = dir.join("site");
        let (child, log, authority) = spawn(&[
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            &db,
            "--site-root",
            site.to_str().unwrap(),
            "--no-demo",
        ]);
        Server { child, base: format!("http://{authority}"), authority, log, http: reqwest::Client::new() }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args(["-s", signal, &self.pid().to_string()]).status().unwrap();
        assert!(status.success(), "kill -s {signal}");
    }

    /// SIGKILL, and reaps the process.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits up to `within` for the process to exit on its own.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether any stderr line so far contains `text`.
    pub fn log_contains(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// The whole stderr so far, for failure messages.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Starts a run, asserting a 201; returns its id.
    pub async fn start_run(&self, spec: &Value) -> String {
        let resp = self.http.post(format!("{}/api/runs", self.base)).json(spec).send().await.unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let created: Value = resp.json().await.unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    /// `GET /api/runs/{id}`.
    pub async fn run(&self, id: &str) -> RunView {
        let resp = self.http.get(format!("{}/api/runs/{id}", self.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET /api/runs/{id}");
        resp.json().await.unwrap()
    }

    /// Polls the run every 25 ms until `done` holds (panics after [`PATIENCE`]); returns the view that passed.
    pub async fn wait_run(&self, id: &str, what: &str, done: impl Fn(&RunView) -> bool) -> RunView {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let view = self.run(id).await;
            if done(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "run never got to {what}: {view:#?}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Whether `/api/health` answers 200.
    pub async fn healthy(&self) -> bool {
        let resp = self.http.get(format!("{}/api/health", self.base)).send().await;
        resp.is_ok_and(|r| r.status() == 200)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tokenscope mock` on a free port: fast answers (TTFT 5 ms, ITL 1 ms) unless `args` say otherwise.
pub struct Mock {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Mock {
    /// Starts the mock with extra `args` (later flags win).
    pub fn start(args: &[&str]) -> Mock {
        let mut all = vec!["mock", "--port", "0", "--ttft-ms", "5", "--itl-ms", "1"];
        all.extend_from_slice(args);
        let (child, _log, addr) = spawn(&all);
        Mock { child, url: format!("http://{addr}") }
    }

    /// SIGKILL: the target dies mid-answer, like a crashed inference server.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A closed-loop run against `target` with short requests (16 tokens in, 8 out: ~15 ms each on the fast mock), with
/// the patience a process under fault needs.
pub fn spec(target: &str, concurrency: u32, requests: Option<u64>, duration_s: Option<f64>) -> Value {
    let mut spec = server::testing::demo_spec(target, concurrency, requests, duration_s);
    spec["name"] = json!("fault test");
    spec["ready_timeout_s"] = json!(20.0);
    spec["request_timeout_s"] = json!(30.0);
    spec
}

/// A connection of the test's own to the archive file (as another process would open it).
pub async fn open_db(dir: &Path) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", db_file(dir).display());
    sqlx::SqliteConnection::connect(&url).await.unwrap()
}

/// Request rows stored for `run_id`.
pub async fn stored_requests(dir: &Path, run_id: &str) -> i64 {
    let mut db = open_db(dir).await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM run_requests WHERE run_id = ?")
        .bind(run_id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    n
}

/// Waits until `n` request rows of `run_id` are stored (the last batch is written just after the run ends).
pub async fn wait_stored(dir: &Path, run_id: &str, n: u64) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stored = stored_requests(dir, run_id).await as u64;
        if stored >= n || Instant::now() > deadline {
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
