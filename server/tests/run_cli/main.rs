//! `tokenscope run` end to end: the real binary, bad options (exit 2, the flag named), and runs against the real
//! `tokenscope mock` started as a child process on a free port.

// Helpers outside `#[test]` functions set the tests up; a panic there is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// Runs the binary with its archive in the temporary folder, never in the checkout.
fn tokenscope(args: &[&str]) -> Output {
    let db = std::env::temp_dir().join(format!("tokenscope-run-cli-{}.db", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_tokenscope"))
        .env("TOKENSCOPE_DB", format!("sqlite://{}", db.display()))
        .args(args)
        .output()
        .expect("tokenscope runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `tokenscope mock` child on a free port; killed on drop.
struct Mock {
    child: Child,
    url: String,
}

impl Mock {
    fn start(args: &[&str]) -> Mock {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenscope"))
            .args(["mock", "--port", "0", "--ttft-ms", "5", "--itl-ms", "1"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mock starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("the mock prints its URL").unwrap();
            if let Some(at) = line.find("http://") {
                break line[at..].split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining the mock's stderr so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Mock { child, url }
    }

    fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec!["run", "--target", &self.url, "--ready-timeout", "20s", "--request-timeout", "60s"];
        args.extend_from_slice(extra);
        tokenscope(&args)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bad_options_name_the_flag_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--concurrency", "0"], "--concurrency"),
        (&["--concurrency", "-3"], "--concurrency"),
        (&["--rate", "-1"], "--rate"),
        (&["--rate", "0"], "--rate"),
        (&["--concurrency", "2", "--rate", "3"], "--rate"),
        (&["--concurrency", "2", "--requests", "0"], "--requests"),
        (&["--concurrency", "2", "--duration", "0s"], "--duration"),
        (&["--concurrency", "2", "--input-tokens", "9..3"], "--input-tokens"),
        (&["--concurrency", "2", "--dataset", "/no/such/prompts.jsonl"], "--dataset"),
        (&["--concurrency", "2", "--slo", "latency=3"], "--slo"),
        (&["--concurrency", "2", "--sweep", "1,0.5"], "--sweep"),
        (&[], "--concurrency"),
    ];
    for (extra, flag) in cases {
        let mut args = vec!["run", "--target", "http://127.0.0.1:9"];
        args.extend_from_slice(extra);
        let out = tokenscope(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(flag), "{extra:?} should name {flag}: {err}");
    }
    let out = tokenscope(&["run", "--target", "localhost:8000", "--concurrency", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--target: must start with http://"), "{}", stderr(&out));
}

#[test]
fn a_bad_dataset_line_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prompts.jsonl");
    std::fs::write(&path, "{\"prompt\": \"hi\"}\n{\"prompt\": 3}\n").unwrap();
    let out = tokenscope(&[
        "run",
        "--target",
        "http://127.0.0.1:9",
        "--concurrency",
        "1",
        "--dataset",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("prompts.jsonl:2:"), "{}", stderr(&out));
}

#[test]
fn help_teaches_with_examples() {
    let out = tokenscope(&["run", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for want in ["--concurrency", "--rate", "--sweep", "Examples:", "Exit status"] {
        assert!(help.contains(want), "missing {want}: {help}");
    }
}

#[test]
fn a_run_against_the_mock_writes_a_json_report() {
    let mock = Mock::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = mock.run(&[
        "--backend",
        "mock",
        "--concurrency",
        "4",
        "--requests",
        "24",
        "--warmup",
        "4",
        "--input-tokens",
        "16",
        "--output-tokens",
        "8",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("TTFT") && table.contains("output tokens/s"), "{table}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "requests_completed",
        "requests_failed",
        "duration_s",
        "output_tokens_per_s",
        "requests_per_s",
        "ttft_ms",
        "tpot_ms",
        "itl_ms",
        "e2e_ms",
        "itl_chunk_ms",
        "errors",
        "workload",
        "preflight",
        "client_bound",
    ] {
        assert!(report.get(key).is_some(), "missing {key}: {report}");
    }
    assert_eq!(report["requests_completed"], 24);
    assert_eq!(report["warmup_requests_excluded"], 4);
    assert_eq!(report["output_tokens"], 24 * 8);
    for stat in ["count", "mean", "p50", "p90", "p95", "p99", "min", "max"] {
        assert!(report["ttft_ms"][stat].is_number(), "ttft_ms.{stat}: {report}");
    }
    assert_eq!(report["token_source_usage"], 24);
    assert_eq!(report["workload"]["prompt_set_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_sweep_against_the_mock_marks_a_best_step() {
    let mock = Mock::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sweep.json");
    let out = mock.run(&[
        "--rate",
        "50",
        "--arrival",
        "constant",
        "--sweep",
        "20,40",
        "--requests",
        "10",
        "--output-tokens",
        "4",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sweep: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(sweep["steps"].as_array().unwrap().len(), 2);
    assert!(sweep["best_step"].is_number(), "{sweep}");
    assert_eq!(sweep["steps"][1]["load"]["rate_rps"], 40.0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("★ best"));

    // The sweep's file goes into an archive as an imported run; a file that is not a report exits 2.
    let db = format!("sqlite://{}", dir.path().join("imported.db").display());
    let file = json.to_str().unwrap();
    let out = tokenscope(&["import", file, "--name", "sweep from file", "--db", &db]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 22, "prints the new run's id");
    std::fs::write(dir.path().join("not.json"), "[]").unwrap();
    let out = tokenscope(&["import", dir.path().join("not.json").to_str().unwrap(), "--db", &db]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a tokenscope run report"), "{}", stderr(&out));
}

#[test]
fn failed_requests_are_counted_by_class() {
    // With this seed the mock's first requests (preflight's) succeed and about half of the rest fail.
    let mock = Mock::start(&["--error-rate", "0.5", "--seed", "128"]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out =
        mock.run(&["--concurrency", "4", "--requests", "40", "--output-tokens", "4", "--json", json.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // About half failed: far above the default 10 % limit, so the run fails with a verdict that says so.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let verdict = report["verdict"].as_str().unwrap_or_default();
    assert!(verdict.contains("above the 10.0 % limit") && verdict.contains("HTTP 500"), "{verdict}");
    let rate = report["error_rate"].as_f64().unwrap();
    let failed = report["requests_failed"].as_u64().unwrap();
    assert!((rate - failed as f64 / 40.0).abs() < 1e-9, "{report}");
    assert!(failed > 0 && report["requests_completed"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["errors"]["http_status"].as_u64(), Some(failed));
    assert_eq!(report["error_samples"][0]["status"], 500);
    assert!(String::from_utf8_lossy(&out.stdout).contains("errors: http_status"));
}

#[test]
fn a_server_failing_everything_exits_1_with_the_reason() {
    let mock = Mock::start(&["--error-rate", "1"]);
    let out = mock.run(&["--concurrency", "2", "--requests", "10"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 500"), "{}", stderr(&out));
}

#[test]
fn chat_on_a_completions_only_server_suggests_completions_and_exits_1() {
    let mock = Mock::start(&["--no-chat"]);
    let out = mock.run(&["--endpoint", "chat", "--concurrency", "2", "--requests", "10"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--endpoint completions"), "{}", stderr(&out));
}

#[test]
fn a_missed_slo_exits_1() {
    let mock = Mock::start(&[]);
    let out = mock.run(&["--concurrency", "2", "--requests", "6", "--output-tokens", "4", "--slo", "ttft_ms=0.001"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISSED"));
}

/// A failed request misses every objective: with 40 % failures the p99 objectives cannot be met, whatever the
/// successes' latencies, and the run exits 1 even when the error-rate limit is lifted.
#[test]
fn failures_count_against_the_slo() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let path = json.to_str().unwrap();
    let common =
        ["--concurrency", "4", "--requests", "50", "--output-tokens", "8", "--slo", "ttft_ms=1000", "--no-save"];
    // A fresh mock per run: its failures are drawn in request order from the seed (preflight's first ones succeed).
    let mock = Mock::start(&["--error-rate", "0.4", "--seed", "7"]);
    let out = mock.run(&[&common[..], &["--json", path, "--max-error-rate", "1"]].concat());
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["slo_met"], false, "{report}");
    assert_eq!(report["verdict"], Value::Null, "the error-rate limit is lifted: {report}");
    assert!(report["goodput_rps"].as_f64().unwrap() < report["requests_per_s"].as_f64().unwrap() + 1e-9);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The same run under the default limit also gets the error-rate verdict.
    let mock = Mock::start(&["--error-rate", "0.4", "--seed", "7"]);
    let out = mock.run(&[&common[..], &["--json", path]].concat());
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report["verdict"].as_str().is_some_and(|v| v.contains("% limit")), "{report}");
    assert_eq!(out.status.code(), Some(1));
}

/// Without a tokenizer, a server with a tokenize endpoint still gets prompts of the asked length (the mock counts
/// one token per word in `/tokenize` and in `usage`); without one either, the lengths are an estimate, said so.
#[test]
fn prompt_lengths_come_from_the_servers_tokenize_endpoint_or_are_labelled_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let path = json.to_str().unwrap();
    let args = ["--concurrency", "2", "--requests", "6", "--input-tokens", "64", "--output-tokens", "4", "--no-save"];
    let mock = Mock::start(&[]);
    let out = mock.run(&[&args[..], &["--json", path]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["workload"]["tokens_source"], "server", "{report}");
    assert_eq!(report["input_tokens"], 6 * 64, "the server counted exactly 64 tokens per prompt: {report}");
    assert_eq!(report["prompt_overhead_tokens"], 0.0);

    let mock = Mock::start(&["--no-tokenize"]);
    let out = mock.run(&[&args[..], &["--json", path]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["workload"]["tokens_source"], "estimate", "{report}");
    assert!(stderr(&out).contains("no tokenizer: prompt lengths are estimates"), "{}", stderr(&out));
}

/// `--tokenizer` loads the model's tokenizer (here a tokenizer.json fixture): prompts are built and counted with
/// it. A tokenizer that is missing or unreadable is a usage error naming the flag, before anything is sent.
#[test]
fn a_tokenizer_is_used_and_a_bad_one_is_refused() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizer.json");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let path = json.to_str().unwrap();
    let mock = Mock::start(&[]);
    let base = ["--concurrency", "2", "--requests", "4", "--input-tokens", "32", "--output-tokens", "4", "--no-save"];
    let out = mock.run(&[&base[..], &["--json", path, "--tokenizer", fixture]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["workload"]["tokens_source"], "tokenizer", "{report}");
    assert!(report["workload"]["tokenizer"].as_str().unwrap().contains("tokenizer.json"), "{report}");

    let missing = dir.path().join("nope/tokenizer.json");
    let out = mock.run(&[&base[..], &["--tokenizer", missing.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tokenizer"), "{}", stderr(&out));
    let garbage = dir.path().join("tokenizer.json");
    std::fs::write(&garbage, "{not a tokenizer").unwrap();
    let out = mock.run(&[&base[..], &["--tokenizer", garbage.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tokenizer"), "{}", stderr(&out));
    // A Hugging Face id while offline: the message names the fix.
    let out = Command::new(env!("CARGO_BIN_EXE_tokenscope"))
        .args(["run", "--target", &mock.url, "--concurrency", "1", "--requests", "1", "--no-save"])
        .args(["--tokenizer", "example-org/no-such-model"])
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tokenizer DIR"), "{}", stderr(&out));
}
