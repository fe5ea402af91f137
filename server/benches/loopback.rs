//! Client fidelity and cost against `tokenscope mock` on loopback (a bench binary, not a test):
//!
//! ```sh
//! make release && cargo bench -p server --bench loopback            # the issue's matrix, ~3 min
//! cargo bench -p server --bench loopback -- 1,100,1000 2000 5000     # concurrencies of the fidelity table
//! ```
//!
//! Starts the release binary's mock (TTFT 100 ms, ITL 10 ms, 64 output tokens) and, for each concurrency, a
//! `tokenscope run --json` client process. Reports TTFT/ITL p50 and p99 against the configured values, streamed
//! tokens/s, and the client's CPU-seconds per million streamed tokens (from the kernel's accounting of the
//! finished child: `cutime + cstime` of this process). Nothing here asserts: the figures go to docs/performance.md.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const TTFT_MS: f64 = 100.0;
const ITL_MS: f64 = 10.0;
const TOKENS: u32 = 64;

fn bin() -> String {
    std::env::var("TOKENSCOPE_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/tokenscope").into())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18_080)
}

/// Children's user+system CPU seconds so far (clock ticks of /proc/self/stat fields 16 and 17, at 100 Hz).
fn children_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // After the ")" the fields start at #3 (state, non-numeric, skipped by parse): cutime = #16, cstime = #17.
    f.get(12).copied().unwrap_or(0.0) / 100.0 + f.get(13).copied().unwrap_or(0.0) / 100.0
}

fn start_mock(port: u16) -> Child {
    let args = ["mock", "--port", &port.to_string(), "--ttft-ms", "100", "--itl-ms", "10", "--output-tokens", "64"];
    let child = Command::new(bin()).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => panic!("cannot start {} (build it with `make release`): {e}", bin()),
    };
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "mock did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn get(v: &serde_json::Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN)
}

fn run(port: u16, concurrency: u32) -> Option<(serde_json::Value, f64)> {
    let out = std::env::temp_dir().join(format!("tokenscope-bench-{concurrency}.json"));
    // Enough requests for ~15 s of load at this concurrency, at least 200.
    let per_req_s = (TTFT_MS + ITL_MS * f64::from(TOKENS - 1)) / 1000.0;
    let requests = ((15.0 / per_req_s) * f64::from(concurrency)).max(200.0) as u64;
    let cpu0 = children_cpu_s();
    let status = Command::new(bin())
        .args(["run", "--target", &format!("http://127.0.0.1:{port}"), "--endpoint", "completions"])
        .args(["--backend", "mock", "--concurrency", &concurrency.to_string(), "--requests", &requests.to_string()])
        .args([
            "--warmup",
            &concurrency.min(1000).to_string(),
            "--output-tokens",
            &TOKENS.to_string(),
            "--input-tokens",
            "32",
        ])
        .args(["--quiet", "--no-save", "--json"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    let cpu = children_cpu_s() - cpu0;
    if !status.success() {
        eprintln!("concurrency {concurrency}: run exited with {status}");
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).ok()?).ok()?;
    Some((report, cpu))
}

fn pct(measured: f64, configured: f64) -> f64 {
    (measured - configured) / configured * 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let list: Vec<u32> = args.iter().flat_map(|a| a.split(',')).filter_map(|x| x.trim().parse().ok()).collect();
    let concurrencies = if list.is_empty() { vec![1, 100, 1000] } else { list };
    let port = free_port();
    let mut mock = start_mock(port);
    println!("| concurrency | TTFT p50 (err) | TTFT p99 (err) | ITL p50 (err) | ITL p99 (err) | streamed tok/s | client CPU-s / M tokens | failed |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in concurrencies {
        match run(port, c) {
            Some((r, cpu)) => {
                let tokens = get(&r, &["output_tokens"]);
                let (t50, t99) = (get(&r, &["ttft_ms", "p50"]), get(&r, &["ttft_ms", "p99"]));
                let (i50, i99) = (get(&r, &["itl_ms", "p50"]), get(&r, &["itl_ms", "p99"]));
                println!(
                    "| {c} | {t50:.1} ms ({:+.2} %) | {t99:.1} ms ({:+.2} %) | {i50:.2} ms ({:+.2} %) | {i99:.2} ms ({:+.2} %) | {:.0} | {:.2} | {} |",
                    pct(t50, TTFT_MS),
                    pct(t99, TTFT_MS),
                    pct(i50, ITL_MS),
                    pct(i99, ITL_MS),
                    get(&r, &["output_tokens_per_s"]),
                    cpu / (tokens / 1e6),
                    get(&r, &["requests_failed"]),
                );
            }
            None => println!("| {c} | run failed | | | | | | |"),
        }
    }
    let _ = mock.kill();
    let _ = mock.wait();
}
