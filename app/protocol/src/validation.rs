//! Checks of a [`RunSpec`] before anything is sent: pure, no I/O (it runs in the browser too). Each problem is a
//! [`FieldError`] named as the JSON field, with a message that says the fix (the CLI names the matching
//! `tokenscope run` option itself).

use super::spec::{Arrival, FieldError, LoadSpec, RunSpec, TokenRange, WorkloadSpec, MAX_NAME_CHARS};

/// Largest concurrency accepted (each request in flight holds a socket and a task).
pub const MAX_CONCURRENCY: u32 = 100_000;
/// Highest open-loop rate accepted, requests per second. An open loop sends whatever the server does, so a rate far
/// beyond what one server answers only piles up requests in flight (1e12 had 59 635 in flight after 6 s).
pub const MAX_RATE_RPS: f64 = 10_000.0;
/// Smallest gamma `burstiness` accepted: 0.01 already sends nearly everything in a few bursts.
pub const MIN_BURSTINESS: f64 = 0.01;
/// Largest gamma `burstiness` accepted: 100 is already all but evenly spaced.
pub const MAX_BURSTINESS: f64 = 100.0;
/// Most values in one `sweep` (one step each).
pub const MAX_SWEEP_VALUES: usize = 64;
/// Longest model name accepted, characters (Hugging Face ids stay under 100).
pub const MAX_MODEL_CHARS: usize = 256;
/// Longest API key accepted, bytes.
pub const MAX_API_KEY_BYTES: usize = 4096;
/// Longest target URL accepted, characters.
pub const MAX_TARGET_CHARS: usize = 2048;
/// Most measured requests per step.
pub const MAX_REQUESTS: u64 = 100_000_000;
/// Longest duration per step, seconds (7 days).
pub const MAX_DURATION_S: f64 = 604_800.0;
/// Most warm-up requests.
pub const MAX_WARMUP_REQUESTS: u64 = 1_000_000;
/// Longest warm-up, seconds (a day).
pub const MAX_WARMUP_S: f64 = 86_400.0;
/// Longest per-request timeout and readiness wait, seconds (an hour).
pub const MAX_TIMEOUT_S: f64 = 3600.0;
/// Largest `fail_fast_after`, requests.
pub const MAX_FAIL_FAST_AFTER: u32 = 1_000_000;
/// Largest SLO threshold, milliseconds (an hour).
pub const MAX_SLO_MS: f64 = 3_600_000.0;
/// Longest dataset path accepted, bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

impl RunSpec {
    /// Every problem with this spec; empty when it can run.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        if self.name.chars().count() > MAX_NAME_CHARS {
            errs.push("name", format!("at most {MAX_NAME_CHARS} characters"));
        } else if let Some(c) = refused_char(&self.name, false) {
            errs.push("name", refused_char_message(c));
        }
        check_url(&mut errs, &self.target);
        if let Some(model) = &self.model {
            if model.chars().count() > MAX_MODEL_CHARS {
                errs.push(
                    "model",
                    format!("at most {MAX_MODEL_CHARS} characters, e.g. meta-llama/Llama-3.1-8B-Instruct"),
                );
            } else if let Some(c) = refused_char(model, false) {
                errs.push("model", refused_char_message(c));
            }
        }
        if self.api_key.as_ref().is_some_and(|k| k.len() > MAX_API_KEY_BYTES) {
            errs.push("api_key", format!("at most {MAX_API_KEY_BYTES} bytes"));
        }
        check_load(&mut errs, &self.load, &self.sweep);
        check_workload(&mut errs, &self.workload);
        match self.requests {
            Some(0) => errs.push(
                "requests",
                "must be at least 1 (measured requests per step); leave it out to run for a duration",
            ),
            Some(n) if n > MAX_REQUESTS => {
                errs.push("requests", format!("must be between 1 and {MAX_REQUESTS} (per step), e.g. 1000"))
            }
            _ => {}
        }
        if let Some(d) = self.duration_s {
            if !(d.is_finite() && d > 0.0 && d <= MAX_DURATION_S) {
                errs.push(
                    "duration_s",
                    format!("must be a positive number of seconds up to {MAX_DURATION_S} (7 days), e.g. 60"),
                );
            }
        }
        if self.warmup_requests > MAX_WARMUP_REQUESTS {
            errs.push("warmup_requests", format!("must be between 0 and {MAX_WARMUP_REQUESTS}, e.g. 10"));
        }
        let dataset = !matches!(self.workload, WorkloadSpec::Synthetic { .. });
        if self.requests.is_none() && self.duration_s.is_none() && !dataset {
            errs.push("requests", "give a request count or a duration (or a dataset, which runs each prompt once)");
        }
        if !(self.warmup_s.is_finite() && (0.0..=MAX_WARMUP_S).contains(&self.warmup_s)) {
            errs.push("warmup_s", format!("must be between 0 and {MAX_WARMUP_S} seconds (a day), e.g. 30"));
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
        positive(&mut errs, "request_timeout_s", self.request_timeout_s, MAX_TIMEOUT_S, "seconds (an hour), e.g. 600");
        positive(&mut errs, "ready_timeout_s", self.ready_timeout_s, MAX_TIMEOUT_S, "seconds (an hour), e.g. 60");
        if self.fail_fast_after > MAX_FAIL_FAST_AFTER {
            errs.push(
                "fail_fast_after",
                format!("must be between 0 (never) and {MAX_FAIL_FAST_AFTER} requests, e.g. 20"),
            );
        }
        for (field, v) in
            [("slo.ttft_ms", self.slo.ttft_ms), ("slo.tpot_ms", self.slo.tpot_ms), ("slo.e2e_ms", self.slo.e2e_ms)]
        {
            if let Some(v) = v {
                positive(&mut errs, field, v, MAX_SLO_MS, "milliseconds (an hour), e.g. 500");
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

/// A positive number up to `max`; `unit` goes after the maximum in the message.
fn positive(errs: &mut Errors, field: &str, v: f64, max: f64, unit: &str) {
    if !(v.is_finite() && v > 0.0 && v <= max) {
        errs.push(field, format!("must be a positive number up to {max} {unit}"));
    }
}

/// True for a character refused in names and other one-line text: control characters (C0 with NUL, DEL, C1),
/// and the invisible bidirectional marks, embeddings, overrides and isolates (U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), which can make text read differently from what it holds (`evil\u{202E}gnp.exe`).
pub fn is_refused_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first refused character of `text` (see [`is_refused_char`]); `multiline` lets line breaks and tabs through
/// (notes).
pub fn refused_char(text: &str, multiline: bool) -> Option<char> {
    text.chars().find(|&c| is_refused_char(c) && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// What a field with the refused character `c` says: the character as `U+XXXX` and what it is.
pub fn refused_char_message(c: char) -> String {
    let what = if c.is_control() {
        "a control character"
    } else {
        "an invisible bidirectional-text character, which can make text read differently from what it holds"
    };
    format!("contains U+{:04X}, {what}: remove it", u32::from(c))
}

fn check_url(errs: &mut Errors, url: &str) {
    if url.chars().count() > MAX_TARGET_CHARS {
        errs.push("target", format!("at most {MAX_TARGET_CHARS} characters, e.g. http://127.0.0.1:8000"));
        return;
    }
    if url.contains(|c: char| c == '\\' || c.is_whitespace() || c.is_control()) {
        // A URL parser reads `\` as `/` where a simpler reading of the authority does not (`http://a\@b`), and
        // drops tabs and line breaks: neither belongs in a base URL.
        errs.push(
            "target",
            "no spaces, backslashes or control characters: give the base URL, e.g. http://127.0.0.1:8000",
        );
        return;
    }
    if url.contains(['?', '#']) {
        errs.push(
            "target",
            "the target is the server's base URL, e.g. http://127.0.0.1:8000 — no query (?) or fragment (#)",
        );
        return;
    }
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
            if !rate_ok(*rate_rps) {
                errs.push(
                    "load.rate_rps",
                    format!("must be a positive number of requests per second up to {MAX_RATE_RPS}, e.g. 4 or 0.5"),
                );
            }
            if let Arrival::Gamma { burstiness } = arrival {
                if !(burstiness.is_finite() && (MIN_BURSTINESS..=MAX_BURSTINESS).contains(burstiness)) {
                    errs.push(
                        "load.arrival.burstiness",
                        format!(
                            "must be between {MIN_BURSTINESS} and {MAX_BURSTINESS}: 1 is Poisson, below 1 burstier \
                             (e.g. 0.5), above 1 more regular"
                        ),
                    );
                }
            }
            false
        }
    };
    if sweep.len() > MAX_SWEEP_VALUES {
        errs.push("sweep", format!("at most {MAX_SWEEP_VALUES} values (one step each), e.g. 1, 2, 4, 8, 16"));
        return;
    }
    for v in sweep {
        if concurrency && !(v.fract() == 0.0 && (1.0..=f64::from(MAX_CONCURRENCY)).contains(v)) {
            errs.push(
                "sweep",
                format!(
                    "a concurrency sweep takes whole numbers from 1 to {MAX_CONCURRENCY}, e.g. 1, 8, 32; {v} is not"
                ),
            );
        } else if !concurrency && !rate_ok(*v) {
            errs.push(
                "sweep",
                format!("a rate sweep takes positive rates up to {MAX_RATE_RPS} requests per second, e.g. 1, 2.5, 10; {v} is not"),
            );
        }
    }
}

/// A rate the open loop can keep: positive, finite, at most [`MAX_RATE_RPS`].
fn rate_ok(rps: f64) -> bool {
    rps.is_finite() && rps > 0.0 && rps <= MAX_RATE_RPS
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
            } else if path.len() > MAX_PATH_BYTES || path.contains('\0') {
                errs.push(
                    "workload.path",
                    format!("at most {MAX_PATH_BYTES} bytes and no NUL character, e.g. prompts/chat.jsonl"),
                );
            }
            if *output_tokens == 0 || *output_tokens > MAX_TOKENS_PER_REQUEST {
                errs.push(
                    "workload.output_tokens",
                    format!("must be between 1 and {MAX_TOKENS_PER_REQUEST} tokens per request, e.g. 128"),
                );
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

    fn message(s: &RunSpec, field: &str) -> String {
        let errs = s.validate();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, field, "{errs:?}");
        errs[0].message.clone()
    }

    fn rate(rate_rps: f64, arrival: Arrival) -> LoadSpec {
        LoadSpec::Rate { rate_rps, arrival }
    }

    #[test]
    fn the_rate_has_a_ceiling() {
        let s = RunSpec { load: rate(1e12, Arrival::Poisson), ..spec() };
        assert!(message(&s, "load.rate_rps").contains("up to 10000"));
        let s = RunSpec { load: rate(MAX_RATE_RPS, Arrival::Poisson), ..spec() };
        assert!(s.validate().is_empty());
    }

    #[test]
    fn burstiness_within_bounds() {
        for b in [0.001, 100.5, 1e300] {
            let s = RunSpec { load: rate(2.0, Arrival::Gamma { burstiness: b }), ..spec() };
            assert!(message(&s, "load.arrival.burstiness").contains("between 0.01 and 100"), "{b}");
        }
        for b in [MIN_BURSTINESS, 1.0, MAX_BURSTINESS] {
            let s = RunSpec { load: rate(2.0, Arrival::Gamma { burstiness: b }), ..spec() };
            assert!(s.validate().is_empty(), "{b}");
        }
    }

    #[test]
    fn sweeps_are_bounded_in_length_and_by_the_load() {
        let s = RunSpec { sweep: (1..=200).map(f64::from).collect(), ..spec() };
        assert!(message(&s, "sweep").contains("at most 64 values"));
        let s = RunSpec { sweep: (1..=MAX_SWEEP_VALUES as u32).map(f64::from).collect(), ..spec() };
        assert!(s.validate().is_empty());
        let s = RunSpec { load: rate(1.0, Arrival::Poisson), sweep: vec![2.0, 1e12], ..spec() };
        assert!(message(&s, "sweep").contains("up to 10000"));
        let s = RunSpec { sweep: vec![f64::from(MAX_CONCURRENCY) + 1.0], ..spec() };
        assert!(message(&s, "sweep").contains("from 1 to 100000"));
    }

    #[test]
    fn model_and_api_key_lengths() {
        let s = RunSpec { model: Some("m".repeat(MAX_MODEL_CHARS)), api_key: Some("k".repeat(4096)), ..spec() };
        assert!(s.validate().is_empty());
        let s = RunSpec { model: Some("m".repeat(10_000)), ..spec() };
        assert!(message(&s, "model").contains("at most 256 characters"));
        let s = RunSpec { api_key: Some("k".repeat(MAX_API_KEY_BYTES + 1)), ..spec() };
        assert!(message(&s, "api_key").contains("4096 bytes"));
    }

    #[test]
    fn names_and_models_refuse_control_and_bidi_characters() {
        for (c, code) in [
            ('\0', "U+0000"),
            ('\u{1b}', "U+001B"),
            ('\n', "U+000A"),
            ('\u{7f}', "U+007F"),
            ('\u{9b}', "U+009B"),
            ('\u{200E}', "U+200E"),
            ('\u{200F}', "U+200F"),
            ('\u{202A}', "U+202A"),
            ('\u{202E}', "U+202E"),
            ('\u{2066}', "U+2066"),
            ('\u{2069}', "U+2069"),
        ] {
            let s = RunSpec { name: format!("run{c}x"), ..spec() };
            assert!(message(&s, "name").contains(code), "{code}: {}", message(&s, "name"));
            let s = RunSpec { model: Some(format!("m{c}")), ..spec() };
            assert!(message(&s, "model").contains(code), "{code}");
        }
        let s = RunSpec { name: "vLLM — c=4, 日本語 ✓ é".into(), model: Some("org/model-7B".into()), ..spec() };
        assert!(s.validate().is_empty(), "ordinary text passes");
        assert_eq!(refused_char("a\tb\r\nc", true), None);
        assert_eq!(refused_char("a\tb", false), Some('\t'));
    }

    #[test]
    fn the_target_is_a_bounded_base_url() {
        let s = RunSpec { target: format!("http://h/{}", "p".repeat(MAX_TARGET_CHARS)), ..spec() };
        assert!(message(&s, "target").contains("at most 2048"));
        for bad in ["http://h:8000/?x=1", "http://h:8000#frag", "http://h?"] {
            let s = RunSpec { target: bad.into(), ..spec() };
            assert_eq!(
                message(&s, "target"),
                "the target is the server's base URL, e.g. http://127.0.0.1:8000 — no query (?) or fragment (#)",
                "{bad}"
            );
        }
        for bad in ["http://169.254.169.254\\@127.0.0.1:8000", "http://h:8000\t", "http://h :8000", "http://h\0"] {
            let s = RunSpec { target: bad.into(), ..spec() };
            assert!(message(&s, "target").starts_with("no spaces, backslashes"), "{bad:?}");
        }
        let s = RunSpec { target: "http://user:pw@h:8000/v1".into(), ..spec() };
        assert!(s.validate().is_empty(), "credentials in the URL are allowed (basic auth)");
    }

    #[test]
    fn counts_durations_and_timeouts_have_ceilings() {
        let cases: Vec<(RunSpec, &str, &str)> = vec![
            (RunSpec { requests: Some(MAX_REQUESTS + 1), ..spec() }, "requests", "100000000"),
            (RunSpec { duration_s: Some(MAX_DURATION_S * 2.0), ..spec() }, "duration_s", "604800"),
            (RunSpec { warmup_requests: MAX_WARMUP_REQUESTS + 1, ..spec() }, "warmup_requests", "1000000"),
            (RunSpec { warmup_s: MAX_WARMUP_S + 1.0, ..spec() }, "warmup_s", "86400"),
            (RunSpec { request_timeout_s: 3601.0, ..spec() }, "request_timeout_s", "3600"),
            (RunSpec { ready_timeout_s: 1e9, ..spec() }, "ready_timeout_s", "3600"),
            (RunSpec { fail_fast_after: MAX_FAIL_FAST_AFTER + 1, ..spec() }, "fail_fast_after", "1000000"),
            (
                RunSpec { slo: Slo { ttft_ms: None, tpot_ms: Some(MAX_SLO_MS + 1.0), e2e_ms: None }, ..spec() },
                "slo.tpot_ms",
                "3600000",
            ),
        ];
        for (s, field, limit) in cases {
            let m = message(&s, field);
            assert!(m.contains(limit) && m.contains("e.g."), "{field}: {m}");
        }
        let at_limits = RunSpec {
            requests: Some(MAX_REQUESTS),
            duration_s: Some(MAX_DURATION_S),
            warmup_requests: MAX_WARMUP_REQUESTS,
            warmup_s: MAX_WARMUP_S,
            request_timeout_s: MAX_TIMEOUT_S,
            ready_timeout_s: MAX_TIMEOUT_S,
            fail_fast_after: MAX_FAIL_FAST_AFTER,
            slo: Slo { ttft_ms: Some(MAX_SLO_MS), tpot_ms: Some(MAX_SLO_MS), e2e_ms: Some(MAX_SLO_MS) },
            ..spec()
        };
        assert!(at_limits.validate().is_empty(), "{:?}", at_limits.validate());
    }

    #[test]
    fn dataset_paths_and_lengths_are_bounded() {
        let jsonl = |path: String, output_tokens| RunSpec {
            workload: WorkloadSpec::Jsonl { path, output_tokens },
            requests: None,
            ..spec()
        };
        assert!(jsonl("prompts.jsonl".into(), 128).validate().is_empty());
        assert!(message(&jsonl("p".repeat(MAX_PATH_BYTES + 1), 128), "workload.path").contains("4096 bytes"));
        assert!(message(&jsonl("a\0b".into(), 128), "workload.path").contains("NUL"));
        let m = message(&jsonl("p.jsonl".into(), MAX_TOKENS_PER_REQUEST + 1), "workload.output_tokens");
        assert!(m.contains("1048576"), "{m}");
        let s = RunSpec {
            workload: WorkloadSpec::ShareGpt { path: "s.json".into(), output_tokens: u32::MAX },
            requests: None,
            ..spec()
        };
        assert_eq!(fields(&s), ["workload.output_tokens"]);
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
