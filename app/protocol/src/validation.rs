//! Checks of a [`RunSpec`] before anything is sent: pure, no I/O (it runs in the browser too). Each problem is a
//! [`FieldError`] named as the JSON field, with a message that says the fix (the CLI names the matching
//! `tokenscope run` option itself).

use super::spec::{Arrival, FieldError, LoadSpec, RunSpec, TokenRange, WorkloadSpec, MAX_NAME_CHARS};

/// Largest concurrency accepted (each request in flight holds a socket and a task).
pub const MAX_CONCURRENCY: u32 = 100_000;

impl RunSpec {
    /// Every problem with this spec; empty when it can run.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.name.chars().count() > MAX_NAME_CHARS {
            errs.push("name", format!("at most {MAX_NAME_CHARS} characters"));
        }
        check_url(&mut errs, &self.target);
        check_load(&mut errs, &self.load, &self.sweep);
        check_workload(&mut errs, &self.workload);
        if self.requests == Some(0) {
            errs.push(
                "requests",
                "must be at least 1 (measured requests per step); leave it out to run for a duration",
            );
        }
        if let Some(d) = self.duration_s {
            if !(d.is_finite() && d > 0.0) {
                errs.push("duration_s", "must be a positive number of seconds, e.g. 60");
            }
        }
        let dataset = !matches!(self.workload, WorkloadSpec::Synthetic { .. });
        if self.requests.is_none() && self.duration_s.is_none() && !dataset {
            errs.push("requests", "give a request count or a duration (or a dataset, which runs each prompt once)");
        }
        if !(self.warmup_s.is_finite() && self.warmup_s >= 0.0) {
            errs.push("warmup_s", "must be 0 or a positive number of seconds");
        }
        if !(self.max_error_rate.is_finite() && (0.0..=1.0).contains(&self.max_error_rate)) {
            errs.push("max_error_rate", "must be a fraction between 0 and 1, e.g. 0.1 for 10 % failed requests");
        }
        if self.tokenizer.as_deref().is_some_and(|t| t.trim().is_empty() || t.len() > 4096) {
            errs.push(
                "tokenizer",
                "give a tokenizer.json path, a folder holding one, or a Hugging Face model id — or leave it out",
            );
        }
        positive(&mut errs, "request_timeout_s", self.request_timeout_s, "seconds, e.g. 600");
        positive(&mut errs, "ready_timeout_s", self.ready_timeout_s, "seconds, e.g. 60");
        for (field, v) in
            [("slo.ttft_ms", self.slo.ttft_ms), ("slo.tpot_ms", self.slo.tpot_ms), ("slo.e2e_ms", self.slo.e2e_ms)]
        {
            if let Some(v) = v {
                positive(&mut errs, field, v, "milliseconds");
            }
        }
        errs.0
    }
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_owned(), message: message.into() });
    }
}

fn positive(errs: &mut Errors, field: &str, v: f64, unit: &str) {
    if !(v.is_finite() && v > 0.0) {
        errs.push(field, format!("must be a positive number of {unit}"));
    }
}

fn check_url(errs: &mut Errors, url: &str) {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest {
        None => errs.push("target", "must start with http:// or https://, e.g. http://127.0.0.1:8000"),
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if host.is_empty() || host.starts_with(':') || host.contains(char::is_whitespace) {
                errs.push("target", "needs a host after the scheme, e.g. http://127.0.0.1:8000");
            }
        }
    }
}

fn check_load(errs: &mut Errors, load: &LoadSpec, sweep: &[f64]) {
    let concurrency = match load {
        LoadSpec::Concurrency { concurrency } => {
            if *concurrency == 0 || *concurrency > MAX_CONCURRENCY {
                errs.push(
                    "load.concurrency",
                    format!("must be between 1 and {MAX_CONCURRENCY} (requests in flight), e.g. 8"),
                );
            }
            true
        }
        LoadSpec::Rate { rate_rps, arrival } => {
            if !(rate_rps.is_finite() && *rate_rps > 0.0) {
                errs.push("load.rate_rps", "must be a positive number of requests per second, e.g. 4 or 0.5");
            }
            if let Arrival::Gamma { burstiness } = arrival {
                if !(burstiness.is_finite() && *burstiness > 0.0) {
                    errs.push(
                        "load.arrival.burstiness",
                        "must be positive: 1 is Poisson, below 1 burstier, above 1 more regular",
                    );
                }
            }
            false
        }
    };
    for v in sweep {
        if !(v.is_finite() && *v > 0.0) {
            errs.push("sweep", format!("every value must be positive; {v} is not"));
        } else if concurrency && (v.fract() != 0.0 || *v > f64::from(MAX_CONCURRENCY)) {
            errs.push(
                "sweep",
                format!("a concurrency sweep takes whole numbers from 1 to {MAX_CONCURRENCY}; {v} is not"),
            );
        }
    }
}

/// Longest prompt or output one request may ask for, tokens (2^20: longer than any model's context). A larger one
/// would only make the client allocate gigabytes of prompt text.
pub const MAX_TOKENS_PER_REQUEST: u32 = 1 << 20;

fn check_range(errs: &mut Errors, field: &str, r: TokenRange) {
    if r.min == 0 {
        errs.push(field, "must be at least 1 token");
    } else if r.max > MAX_TOKENS_PER_REQUEST {
        errs.push(
            field,
            format!("at most {MAX_TOKENS_PER_REQUEST} tokens per request (longer than any model's context)"),
        );
    } else if r.min > r.max {
        errs.push(field, format!("range {}..{} is reversed: write MIN..MAX, e.g. {}..{}", r.min, r.max, r.max, r.min));
    }
}

fn check_workload(errs: &mut Errors, w: &WorkloadSpec) {
    match w {
        WorkloadSpec::Synthetic { input_tokens, output_tokens } => {
            check_range(errs, "workload.input_tokens", *input_tokens);
            check_range(errs, "workload.output_tokens", *output_tokens);
        }
        WorkloadSpec::Jsonl { path, output_tokens } | WorkloadSpec::ShareGpt { path, output_tokens } => {
            if path.trim().is_empty() {
                errs.push("workload.path", "give the path of a JSONL or ShareGPT file");
            }
            if *output_tokens == 0 {
                errs.push("workload.output_tokens", "must be at least 1 token");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::{Endpoint, Slo};
    use super::*;

    fn spec() -> RunSpec {
        RunSpec {
            name: String::new(),
            target: "http://127.0.0.1:8000".into(),
            model: None,
            endpoint: Endpoint::Auto,
            backend: Default::default(),
            api_key: None,
            stream: true,
            load: LoadSpec::Concurrency { concurrency: 8 },
            sweep: vec![],
            requests: Some(100),
            duration_s: None,
            warmup_requests: 0,
            warmup_s: 0.0,
            workload: WorkloadSpec::Synthetic {
                input_tokens: TokenRange::fixed(128),
                output_tokens: TokenRange { min: 16, max: 64 },
            },
            seed: Some(1),
            tokenizer: None,
            max_error_rate: 0.1,
            slo: Slo::default(),
            request_timeout_s: 600.0,
            ready_timeout_s: 60.0,
            fail_fast_after: 20,
        }
    }

    fn fields(s: &RunSpec) -> Vec<String> {
        s.validate().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_spec_passes() {
        assert!(spec().validate().is_empty());
    }

    #[test]
    fn the_name_has_a_length_limit() {
        let limit = MAX_NAME_CHARS;
        let s = RunSpec { name: "é".repeat(limit), ..spec() };
        assert!(s.validate().is_empty(), "the limit counts characters, not bytes");
        let s = RunSpec { name: "n".repeat(limit + 1), ..spec() };
        assert_eq!(fields(&s), ["name"]);
    }

    #[test]
    fn url_must_be_http() {
        for bad in ["localhost:8000", "ftp://x", "http://", "https://:80"] {
            let s = RunSpec { target: bad.into(), ..spec() };
            assert_eq!(fields(&s), ["target"], "{bad}");
        }
        let s = RunSpec { target: "https://pod-8000.proxy.runpod.net/".into(), ..spec() };
        assert!(s.validate().is_empty());
    }

    #[test]
    fn concurrency_bounds() {
        for c in [0, MAX_CONCURRENCY + 1] {
            let s = RunSpec { load: LoadSpec::Concurrency { concurrency: c }, ..spec() };
            let errs = s.validate();
            assert_eq!(errs.len(), 1);
            assert_eq!(errs[0].field, "load.concurrency");
            assert!(errs[0].message.contains("between 1 and 100000"), "{}", errs[0].message);
        }
    }

    #[test]
    fn rate_and_burstiness_must_be_positive_and_finite() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let s = RunSpec { load: LoadSpec::Rate { rate_rps: r, arrival: Arrival::Poisson }, ..spec() };
            assert_eq!(fields(&s), ["load.rate_rps"]);
        }
        let s =
            RunSpec { load: LoadSpec::Rate { rate_rps: 2.0, arrival: Arrival::Gamma { burstiness: 0.0 } }, ..spec() };
        assert_eq!(fields(&s), ["load.arrival.burstiness"]);
    }

    #[test]
    fn ranges_and_dataset_fields() {
        let s = RunSpec {
            workload: WorkloadSpec::Synthetic {
                input_tokens: TokenRange { min: 100, max: 10 },
                output_tokens: TokenRange::fixed(0),
            },
            ..spec()
        };
        let errs = s.validate();
        assert_eq!(errs[0].field, "workload.input_tokens");
        assert!(errs[0].message.contains("10..100"), "{}", errs[0].message);
        assert_eq!(errs[1].field, "workload.output_tokens");
        let s =
            RunSpec { workload: WorkloadSpec::Jsonl { path: " ".into(), output_tokens: 0 }, requests: None, ..spec() };
        assert_eq!(fields(&s), ["workload.path", "workload.output_tokens"]);
    }

    #[test]
    fn sweep_values() {
        let s = RunSpec { sweep: vec![1.0, 2.5, 0.0], ..spec() };
        assert_eq!(fields(&s), ["sweep", "sweep"]);
        let s = RunSpec {
            load: LoadSpec::Rate { rate_rps: 1.0, arrival: Arrival::Constant },
            sweep: vec![0.5, 2.5],
            ..spec()
        };
        assert!(s.validate().is_empty());
    }

    #[test]
    fn limits_timeouts_warmup_and_slo() {
        let s = RunSpec { requests: None, duration_s: None, ..spec() };
        let errs = s.validate();
        assert_eq!(errs[0].field, "requests");
        assert!(errs[0].message.contains("duration"));
        let s = RunSpec {
            requests: Some(0),
            duration_s: Some(-1.0),
            warmup_s: -2.0,
            request_timeout_s: 0.0,
            ready_timeout_s: f64::NAN,
            slo: Slo { ttft_ms: Some(0.0), tpot_ms: Some(10.0), e2e_ms: None },
            ..spec()
        };
        assert_eq!(
            fields(&s),
            ["requests", "duration_s", "warmup_s", "request_timeout_s", "ready_timeout_s", "slo.ttft_ms"]
        );
    }

    #[test]
    fn absurd_lengths_are_refused() {
        let s = RunSpec {
            workload: WorkloadSpec::Synthetic {
                input_tokens: TokenRange { min: 4_000_000_000, max: 4_000_000_000 },
                output_tokens: TokenRange::fixed(MAX_TOKENS_PER_REQUEST),
            },
            ..spec()
        };
        let errs = s.validate();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "workload.input_tokens");
        assert!(errs[0].message.contains("1048576"), "{}", errs[0].message);
    }
}
