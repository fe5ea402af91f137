//! From command lines to specs: parsers, defaults and the field each mistake is reported on.

use clap::Parser;

use super::*;

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    run: RunArgs,
}

fn args(extra: &[&str]) -> RunArgs {
    let mut argv = vec!["run", "--target", "http://127.0.0.1:8000"];
    argv.extend_from_slice(extra);
    Cmd::try_parse_from(argv).map(|c| c.run).unwrap()
}

fn fields(extra: &[&str]) -> Vec<String> {
    args(extra).to_spec().unwrap_err().into_iter().map(|e| e.field).collect()
}

#[test]
fn parsers() {
    assert_eq!(parse_seconds("90"), Ok(90.0));
    assert_eq!(parse_seconds("1m 30s"), Ok(90.0));
    assert_eq!(parse_seconds("-1"), Ok(-1.0));
    assert!(parse_seconds("soon").unwrap_err().contains("60s"));
    assert_eq!(parse_warmup("10"), Ok(Warmup::Requests(10)));
    assert_eq!(parse_warmup("10s"), Ok(Warmup::Seconds(10.0)));
    assert!(parse_warmup("-3").is_err());
    assert_eq!(parse_range("128"), Ok(TokenRange::fixed(128)));
    assert_eq!(parse_range("64..256"), Ok(TokenRange { min: 64, max: 256 }));
    assert_eq!(parse_range("1..=3"), Ok(TokenRange { min: 1, max: 3 }));
    assert!(parse_range("-5").unwrap_err().contains("whole number"));
    let slo = parse_slo("ttft_ms=500, tpot=50").unwrap();
    assert_eq!((slo.ttft_ms, slo.tpot_ms, slo.e2e_ms), (Some(500.0), Some(50.0), None));
    assert!(parse_slo("itl_ms=3").unwrap_err().contains("unknown objective `itl_ms`"));
    assert!(parse_slo("ttft_ms").is_err());
}

#[test]
fn a_plain_closed_loop_gets_defaults() {
    let spec = args(&["--concurrency", "8"]).to_spec().unwrap();
    assert_eq!(spec.load, LoadSpec::Concurrency { concurrency: 8 });
    assert_eq!(spec.requests, Some(DEFAULT_REQUESTS));
    assert_eq!(
        spec.workload,
        WorkloadSpec::Synthetic {
            input_tokens: TokenRange::fixed(DEFAULT_INPUT_TOKENS),
            output_tokens: TokenRange::fixed(DEFAULT_OUTPUT_TOKENS)
        }
    );
    assert_eq!((spec.request_timeout_s, spec.ready_timeout_s, spec.stream), (600.0, 60.0, true));
    assert_eq!(spec.fail_fast_after, FAIL_FAST_AFTER);
}

#[test]
fn an_open_loop_with_everything() {
    let spec = args(&[
        "--rate",
        "2.5",
        "--burstiness",
        "0.5",
        "--duration",
        "30s",
        "--warmup",
        "5s",
        "--slo",
        "e2e_ms=900",
        "--sweep",
        "1,2,4",
        "--endpoint",
        "chat",
        "--backend",
        "llama-cpp",
        "--no-stream",
        "--seed",
        "9",
    ])
    .to_spec()
    .unwrap();
    assert_eq!(spec.load, LoadSpec::Rate { rate_rps: 2.5, arrival: Arrival::Gamma { burstiness: 0.5 } });
    assert_eq!((spec.requests, spec.duration_s, spec.warmup_s), (None, Some(30.0), 5.0));
    assert_eq!(
        (spec.endpoint, spec.backend, spec.stream, spec.seed),
        (Endpoint::Chat, Backend::LlamaCpp, false, Some(9))
    );
    assert_eq!(spec.sweep, [1.0, 2.0, 4.0]);
    assert_eq!(spec.slo.e2e_ms, Some(900.0));
}

#[test]
fn mistakes_are_reported_on_their_field() {
    assert_eq!(fields(&["--concurrency", "0"]), ["load.concurrency"]);
    assert_eq!(fields(&["--concurrency", "-4"]), ["load.concurrency"]);
    assert_eq!(fields(&["--rate", "-1"]), ["load.rate_rps"]);
    assert_eq!(fields(&[]), ["load"]);
    assert_eq!(fields(&["--concurrency", "2", "--requests", "0"]), ["requests"]);
    assert_eq!(fields(&["--concurrency", "2", "--duration", "0s"]), ["duration_s"]);
    assert_eq!(fields(&["--concurrency", "2", "--arrival", "constant"]), ["load.arrival"]);
    assert_eq!(fields(&["--rate", "2", "--arrival", "gamma"]), ["load.arrival.burstiness"]);
    assert_eq!(fields(&["--rate", "2", "--arrival", "constant", "--burstiness", "2"]), ["load.arrival.burstiness"]);
    assert_eq!(fields(&["--concurrency", "2", "--input-tokens", "0"]), ["workload.input_tokens"]);
    assert_eq!(fields(&["--concurrency", "2", "--sweep", "1,2.5"]), ["sweep"]);
    assert_eq!(fields(&["--concurrency", "2", "--request-timeout", "0"]), ["request_timeout_s"]);
    assert_eq!(fields(&["--concurrency", "2", "--dataset", "/no/such/file.jsonl"]), ["workload.path"]);
    let e = args(&["--concurrency", "2", "--dataset", "/no/such/file.jsonl"]).to_spec().unwrap_err();
    assert!(e[0].message.contains("/no/such/file.jsonl"), "{}", e[0].message);
    assert!(Cmd::try_parse_from(["run", "--target", "x", "--concurrency", "1", "--rate", "2"]).is_err());
}

#[test]
fn datasets_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("a.jsonl");
    std::fs::write(&jsonl, "\n {\"prompt\": \"x\"}\n").unwrap();
    let share = dir.path().join("s.json");
    std::fs::write(&share, "  [ ]").unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "a,b\n").unwrap();
    let spec = args(&["--concurrency", "1", "--dataset", jsonl.to_str().unwrap()]).to_spec().unwrap();
    assert!(matches!(spec.workload, WorkloadSpec::Jsonl { output_tokens: DEFAULT_OUTPUT_TOKENS, .. }));
    // A dataset bounds the run: no default request count.
    assert_eq!(spec.requests, None);
    let spec =
        args(&["--concurrency", "1", "--output-tokens", "64", "--dataset", share.to_str().unwrap()]).to_spec().unwrap();
    assert!(matches!(spec.workload, WorkloadSpec::ShareGpt { output_tokens: 64, .. }));
    assert_eq!(fields(&["--concurrency", "1", "--dataset", csv.to_str().unwrap()]), ["workload.path"]);
    let range = ["--concurrency", "1", "--output-tokens", "1..9", "--dataset", share.to_str().unwrap()];
    assert_eq!(fields(&range), ["workload.output_tokens"]);
}

#[test]
fn every_field_maps_to_a_flag() {
    use protocol::spec::{Arrival, LoadSpec};
    let mut s = args(&["--concurrency", "1", "--requests", "1"]).to_spec().unwrap();
    s.target = "x".into();
    s.requests = Some(0);
    s.load = LoadSpec::Rate { rate_rps: 0.0, arrival: Arrival::Gamma { burstiness: -1.0 } };
    let errs = s.validate();
    assert!(!errs.is_empty());
    for e in errs {
        assert!(cli_flag(&e.field).is_some(), "{}", e.field);
    }
    assert_eq!(cli_flag("load.concurrency"), Some("--concurrency"));
    assert_eq!(cli_flag("nope"), None);
}

#[test]
fn the_name_reaches_the_spec_and_is_checked_like_the_form_s() {
    assert_eq!(
        args(&["--concurrency", "1", "--requests", "5", "--name", " TurboMind c=16 "]).to_spec().unwrap().name,
        "TurboMind c=16"
    );
    assert_eq!(args(&["--concurrency", "1", "--requests", "5"]).to_spec().unwrap().name, "");
    assert_eq!(fields(&["--concurrency", "1", "--requests", "5", "--name", "bad\u{202E}name"]), ["name"]);
    assert_eq!(cli_flag("name"), Some("--name"));
}
