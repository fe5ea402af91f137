//! `POST /api/runs` bodies: arbitrary bytes deserialized as a `RunSpec` and validated (the server's order), and —
//! to get past the JSON syntax — structured specs built field by field from the fuzzer's bytes (`arbitrary`).
//! Validation must never panic; a spec it accepts must have what a run needs; an accepted spec must survive its
//! own JSON round trip and still be accepted.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;

use protocol::spec::{Arrival, Backend, Endpoint, LoadSpec, RunSpec, Slo, TokenRange, WorkloadSpec};

fn pick<'a, T: Copy>(u: &mut Unstructured<'a>, from: &[T]) -> Result<T> {
    Ok(*u.choose(from)?)
}

fn float(u: &mut Unstructured<'_>) -> Result<f64> {
    // Mostly ordinary values, sometimes the edge cases.
    Ok(match u.int_in_range(0..=7u8)? {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => -1.0,
        3 => 0.0,
        _ => f64::from(u.int_in_range(0..=100_000u32)?) / 10.0,
    })
}

fn range(u: &mut Unstructured<'_>) -> Result<TokenRange> {
    Ok(TokenRange { min: u.int_in_range(0..=70_000)?, max: u.int_in_range(0..=70_000)? })
}

fn spec(u: &mut Unstructured<'_>) -> Result<RunSpec> {
    let targets = ["http://127.0.0.1:8000", "https://pod-8000.proxy.runpod.net/v1", "", "ftp://x", "http://", "x"];
    let load = if bool::arbitrary(u)? {
        LoadSpec::Concurrency { concurrency: u.int_in_range(0..=200_000)? }
    } else {
        let arrival = match u.int_in_range(0..=2u8)? {
            0 => Arrival::Poisson,
            1 => Arrival::Constant,
            _ => Arrival::Gamma { burstiness: float(u)? },
        };
        LoadSpec::Rate { rate_rps: float(u)?, arrival }
    };
    let workload = match u.int_in_range(0..=2u8)? {
        0 => WorkloadSpec::Synthetic { input_tokens: range(u)?, output_tokens: range(u)? },
        1 => WorkloadSpec::Jsonl { path: String::arbitrary(u)?, output_tokens: u.arbitrary()? },
        _ => WorkloadSpec::ShareGpt { path: String::arbitrary(u)?, output_tokens: u.arbitrary()? },
    };
    let opt_float = |u: &mut Unstructured<'_>| -> Result<Option<f64>> {
        Ok(if bool::arbitrary(u)? { Some(float(u)?) } else { None })
    };
    Ok(RunSpec {
        name: String::arbitrary(u)?,
        target: if bool::arbitrary(u)? { pick(u, &targets)?.to_owned() } else { String::arbitrary(u)? },
        model: Option::<String>::arbitrary(u)?,
        endpoint: pick(u, &[Endpoint::Auto, Endpoint::Chat, Endpoint::Completions])?,
        backend: pick(u, &[Backend::Generic, Backend::Vllm, Backend::Mock, Backend::Ollama])?,
        api_key: Option::<String>::arbitrary(u)?,
        stream: bool::arbitrary(u)?,
        load,
        sweep: (0..u.int_in_range(0..=4u8)?).map(|_| float(u)).collect::<Result<_>>()?,
        requests: Option::<u64>::arbitrary(u)?,
        duration_s: opt_float(u)?,
        warmup_requests: u.arbitrary()?,
        warmup_s: float(u)?,
        workload,
        seed: u.arbitrary()?,
        tokenizer: if u.arbitrary()? { Some(String::arbitrary(u)?) } else { None },
        max_error_rate: float(u)?,
        slo: Slo { ttft_ms: opt_float(u)?, tpot_ms: opt_float(u)?, e2e_ms: opt_float(u)? },
        request_timeout_s: float(u)?,
        ready_timeout_s: float(u)?,
        fail_fast_after: u.arbitrary()?,
    })
}

/// What an accepted spec must satisfy.
fn accepted(s: &RunSpec) {
    match &s.load {
        LoadSpec::Concurrency { concurrency } => assert!(*concurrency >= 1),
        LoadSpec::Rate { rate_rps, .. } => assert!(rate_rps.is_finite() && *rate_rps > 0.0),
    }
    assert_ne!(s.requests, Some(0));
    assert!(s.request_timeout_s.is_finite() && s.request_timeout_s > 0.0);
    assert!(s.warmup_s.is_finite() && s.warmup_s >= 0.0);
    if let WorkloadSpec::Synthetic { input_tokens, output_tokens } = &s.workload {
        assert!(input_tokens.min <= input_tokens.max && output_tokens.min <= output_tokens.max);
    }
    // Its JSON (as archived and exported) reads back as a spec that is still accepted.
    let json = serde_json::to_vec(s).expect("an accepted spec serializes");
    let back: RunSpec = serde_json::from_slice(&json).expect("and reads back");
    assert!(back.validate().is_empty(), "accepted, but not after a round trip: {:?}", back.validate());
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, bytes)) = input.split_first() else { return };
    let spec = if mode & 1 == 0 {
        match serde_json::from_slice::<RunSpec>(bytes) {
            Ok(s) => s,
            Err(_) => return,
        }
    } else {
        match spec(&mut Unstructured::new(bytes)) {
            Ok(s) => s,
            Err(_) => return,
        }
    };
    let errors = spec.validate();
    for e in &errors {
        assert!(!e.field.is_empty() && !e.message.is_empty(), "{e:?}");
    }
    if errors.is_empty() {
        accepted(&spec);
    }
});
