//! Checks a target before any load is fired at it: waits until the server is ready, picks the model, tells
//! which server it is (for `--backend auto`; see [`detect`]), picks the endpoint (a 1-token request to each), then
//! sends one request of the run's own output length to learn whether the server reports `usage` and generates
//! as many tokens as asked. A server that is not ready gets no load; detection never fails preflight.

mod detect;

use std::fmt;
use std::time::Duration;

use protocol::spec::{Backend, Endpoint, RunSpec, WorkloadSpec};

pub use protocol::preflight::PreflightReport;

use super::openai::{auth_header, http_client, server_url, ClientError, OpenAiTarget, TargetConfig};
use super::presets::preset;
use super::readiness::Poller;
use super::target::{ErrorClass, NoTap, Prompt, PromptBody, RequestResult, Target};

/// Most output tokens asked for in the length check (a run asking for more is checked at this length).
const LENGTH_CHECK_CAP: u32 = 1024;
/// Shortest time the length check is given (unless the request timeout is shorter); a longer `ready_timeout_s`
/// gives it that long.
const LENGTH_CHECK_MIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Used when the spec's request timeout is not a valid duration.
const FALLBACK_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// How one endpoint answered the 1-token probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAttempt {
    /// The endpoint tried.
    pub endpoint: Endpoint,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The error, or the first bytes of the error body.
    pub message: String,
}

impl fmt::Display for EndpointAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", path(self.endpoint))?;
        if let Some(status) = self.status {
            write!(f, "HTTP {status} ")?;
        }
        let message = self.message.trim();
        write!(f, "{}", if message.is_empty() { "(empty body)" } else { message })
    }
}

/// Why preflight refused to start a run.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The server did not become ready in time; no load was sent.
    #[error(
        "the target was not ready after {waited_s:.1} s (last state: {last_state}); check that the server is \
         starting and that --target points at it, or wait longer with --ready-timeout"
    )]
    NotReady {
        /// Seconds waited.
        waited_s: f64,
        /// The last state seen.
        last_state: String,
    },
    /// `/v1/models` lists several models and none was chosen.
    #[error("the server serves several models: {}; choose one with --model", .0.join(", "))]
    SeveralModels(Vec<String>),
    /// Neither endpoint answered a 1-token request.
    #[error(
        "no endpoint answered a 1-token request:\n  {}\n  {}\ncheck --model and --api-key, put any path prefix in \
         --target, and check --backend (its fields may be rejected)",
        .attempts.first().map(ToString::to_string).unwrap_or_default(),
        .attempts.get(1).map(ToString::to_string).unwrap_or_default()
    )]
    NoWorkingEndpoint {
        /// Each endpoint's answer.
        attempts: Vec<EndpointAttempt>,
    },
    /// The endpoint asked for does not work.
    #[error("{attempt}\nthe endpoint given does not answer a 1-token request; {}", suggestion(.working))]
    EndpointNotWorking {
        /// The failed attempt.
        attempt: EndpointAttempt,
        /// Endpoints that do work.
        working: Vec<Endpoint>,
    },
    /// The short check request failed although the endpoint answered the probe.
    #[error("a {tokens}-token request to {} failed: {message}{}", path(*.endpoint), if *.stream {
        " (the server may not support streaming; try without it)" } else { "" })]
    CheckFailed {
        /// The endpoint.
        endpoint: Endpoint,
        /// Tokens asked for.
        tokens: u32,
        /// Streaming was used.
        stream: bool,
        /// What went wrong.
        message: String,
    },
    /// The target URL or API key is unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
}

fn suggestion(working: &[Endpoint]) -> String {
    match working.first() {
        Some(e) => format!("{} works: use --endpoint {} (or auto)", path(*e), name(*e)),
        None => "no other endpoint works either: check --model, --api-key and --backend".into(),
    }
}

fn path(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Chat => "/v1/chat/completions",
        Endpoint::Completions | Endpoint::Auto => "/v1/completions",
    }
}

fn name(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Chat => "chat",
        Endpoint::Completions => "completions",
        Endpoint::Auto => "auto",
    }
}

/// Waits for the target of `spec` to be ready and learns how to drive it. `on_state` hears one human line per
/// change ("waiting: connection refused", "ready: 1 model", …). No load is sent unless this returns `Ok`.
pub async fn preflight(
    spec: &RunSpec,
    on_state: &mut (dyn FnMut(&str) + Send),
) -> Result<PreflightReport, PreflightError> {
    let client = http_client()?;
    let auth = auth_header(spec.api_key.as_deref())?;
    let poller = Poller {
        client: &client,
        models_url: server_url(&spec.target, "v1/models")?,
        health_url: server_url(&spec.target, "health")?,
        auth,
    };
    let mut states = Vec::new();
    let ready_timeout = Duration::try_from_secs_f64(spec.ready_timeout_s).unwrap_or(Duration::ZERO);
    let ready = poller
        .wait(ready_timeout, on_state, &mut states)
        .await
        .map_err(|n| PreflightError::NotReady { waited_s: n.waited_s, last_state: n.last_state })?;

    let mut notes = Vec::new();
    let model = match spec.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            if !ready.models.iter().any(|listed| listed == m) {
                notes.push(format!(
                    "model `{m}` is not listed by /v1/models ({}); requests may fail",
                    ready.models.join(", ")
                ));
            }
            m.to_string()
        }
        None => match ready.models.as_slice() {
            [one] => one.clone(),
            _ => return Err(PreflightError::SeveralModels(ready.models)),
        },
    };

    state(on_state, &mut states, "detecting: which server this is".into());
    let answers = detect::fetch(&client, &spec.target, poller.auth.as_ref(), ready.owned_by.clone()).await;
    let detection = detect::classify(&answers);
    let backend = match spec.backend {
        Backend::Auto => detection.backend.unwrap_or(Backend::Generic),
        given => given,
    };
    let mut report = PreflightReport {
        ready: true,
        waited_s: ready.waited_s,
        states,
        health_status: ready.health_status,
        models: ready.models,
        model,
        endpoint: spec.endpoint,
        endpoints_working: Vec::new(),
        backend,
        backend_detected: detection.backend,
        backend_evidence: detection.evidence,
        usage_reported: false,
        output_length_requested: length_check_tokens(&spec.workload),
        output_length_received: 0,
        output_length_honoured: false,
        notes,
    };
    let line = note_backend(spec.backend, &mut report);
    state(on_state, &mut report.states, line);
    state(on_state, &mut report.states, "probing: a 1-token request to each endpoint".into());
    let (endpoint, working) = choose_endpoint(spec, &report).await?;
    report.endpoint = endpoint;
    report.endpoints_working = working;
    state(on_state, &mut report.states, format!("endpoint: {} ({})", name(endpoint), path(endpoint)));

    let asked = report.output_length_requested;
    let timeout = length_check_timeout(spec);
    let cfg = TargetConfig { request_timeout: timeout, ..target_config(spec, &report) };
    let check = OpenAiTarget::new(cfg)?.execute(&prompt(asked), &NoTap).await;
    let finished = match &check.error {
        None => true,
        // Slow but generating: not a reason to refuse the run, only to leave the length unverified.
        Some(err) if err.class == ErrorClass::Timeout && check.output_tokens > 0 => {
            report.notes.push(format!(
                "the length check ({asked} tokens) did not finish within {} s ({} tokens arrived), so the output \
                 length is not verified; a longer --ready-timeout gives it longer",
                timeout.as_secs(),
                check.output_tokens
            ));
            false
        }
        Some(err) => {
            let message = match err.status {
                Some(status) => format!("HTTP {status} {}", err.message),
                None => err.message.clone(),
            };
            return Err(PreflightError::CheckFailed { endpoint, tokens: asked, stream: spec.stream, message });
        }
    };
    record_check(&mut report, &check, finished);
    let line = format!(
        "checked: {}/{asked} tokens{}{}",
        report.output_length_received,
        if finished && check.output_tokens < asked { " (ended early)" } else { "" },
        if report.usage_reported { ", usage reported" } else { ", no usage" }
    );
    state(on_state, &mut report.states, line);
    Ok(report)
}

/// The client configuration for the run preflight prepared.
pub fn target_config(spec: &RunSpec, pf: &PreflightReport) -> TargetConfig {
    TargetConfig {
        base_url: spec.target.clone(),
        endpoint: pf.endpoint,
        model: pf.model.clone(),
        // The preset preflight settled on (the one detected for `auto`).
        backend: match pf.backend {
            Backend::Auto => spec.backend,
            settled => settled,
        },
        api_key: spec.api_key.clone(),
        stream: spec.stream,
        request_timeout: Duration::try_from_secs_f64(spec.request_timeout_s)
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(FALLBACK_REQUEST_TIMEOUT),
    }
}

fn state(on_state: &mut (dyn FnMut(&str) + Send), states: &mut Vec<String>, line: String) {
    on_state(&line);
    states.push(line);
}

fn prompt(max_tokens: u32) -> Prompt {
    let text = "Write a long story about a lighthouse keeper.".to_string();
    Prompt { index: 0, body: PromptBody::Text(text), input_tokens: 9, max_tokens }
}

/// Sends a 1-token request to both endpoints; picks the one asked for, or for `Auto` completions before chat
/// (completions is what length-forcing presets target).
async fn choose_endpoint(spec: &RunSpec, pf: &PreflightReport) -> Result<(Endpoint, Vec<Endpoint>), PreflightError> {
    let probe = |endpoint: Endpoint| async move {
        let cfg = TargetConfig { endpoint, stream: false, ..target_config(spec, pf) };
        let result = OpenAiTarget::new(cfg)?.execute(&prompt(1), &NoTap).await;
        Ok::<_, ClientError>(probe_outcome(endpoint, result))
    };
    let (completions, chat) = futures::join!(probe(Endpoint::Completions), probe(Endpoint::Chat));
    let attempts = [completions?, chat?];
    let working: Vec<Endpoint> = attempts.iter().filter_map(|a| a.as_ref().ok().copied()).collect();
    match spec.endpoint {
        Endpoint::Auto => match working.first() {
            Some(&e) => Ok((e, working)),
            None => Err(PreflightError::NoWorkingEndpoint {
                attempts: attempts.into_iter().filter_map(Result::err).collect(),
            }),
        },
        asked => match attempts.into_iter().find(|a| endpoint_of(a) == asked) {
            Some(Err(attempt)) => Err(PreflightError::EndpointNotWorking { attempt, working }),
            _ => Ok((asked, working)),
        },
    }
}

/// Which endpoint a probe outcome belongs to.
fn endpoint_of(outcome: &Result<Endpoint, EndpointAttempt>) -> Endpoint {
    match outcome {
        Ok(e) => *e,
        Err(a) => a.endpoint,
    }
}

/// A probe works when the server answered 2xx with a well-formed body (content or not: one token may be empty).
fn probe_outcome(endpoint: Endpoint, result: RequestResult) -> Result<Endpoint, EndpointAttempt> {
    match result.error {
        None => Ok(endpoint),
        Some(e) if e.class == ErrorClass::StreamEnded => Ok(endpoint),
        Some(e) => Err(EndpointAttempt { endpoint, status: e.status, message: e.message }),
    }
}

/// Output tokens the length check asks for: the run's own (the most a range asks), at most [`LENGTH_CHECK_CAP`].
fn length_check_tokens(workload: &WorkloadSpec) -> u32 {
    let run = match workload {
        WorkloadSpec::Synthetic { output_tokens, .. } => output_tokens.max,
        WorkloadSpec::Jsonl { output_tokens, .. } | WorkloadSpec::ShareGpt { output_tokens, .. } => *output_tokens,
    };
    run.clamp(1, LENGTH_CHECK_CAP)
}

/// How long the length check may take: as long as preflight may wait for the server (at least
/// [`LENGTH_CHECK_MIN_TIMEOUT`]), never longer than one request of the run may.
fn length_check_timeout(spec: &RunSpec) -> Duration {
    let request = Duration::try_from_secs_f64(spec.request_timeout_s)
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or(FALLBACK_REQUEST_TIMEOUT);
    let ready = Duration::try_from_secs_f64(spec.ready_timeout_s).unwrap_or(Duration::ZERO);
    ready.max(LENGTH_CHECK_MIN_TIMEOUT).min(request)
}

/// Notes what detection found when it matters (nothing recognised for `auto`; a given `--backend` that does
/// not match the server) and returns the state line.
fn note_backend(given: Backend, report: &mut PreflightReport) -> String {
    let used = detect::cli_name(report.backend);
    let first = report.backend_evidence.first().cloned().unwrap_or_default();
    match (given, report.backend_detected) {
        (Backend::Auto, Some(_)) => format!("backend: {used} (detected: {first})"),
        (Backend::Auto, None) => {
            report.notes.push(
                "could not tell which server this is (nothing in /v1/models owned_by, /version, /get_model_info, \
                 /info, /props or /api/version looked like vLLM, SGLang, TGI, llama.cpp, Ollama, LMDeploy or \
                 trtllm-serve): requests carry plain OpenAI fields only; pass --backend (vllm, sglang, lmdeploy, \
                 trtllm, llama-cpp, ollama) to force exact output lengths"
                    .into(),
            );
            "backend: generic (not recognised)".into()
        }
        (given, Some(seen)) if preset(seen) != preset(given) => {
            let seen = detect::cli_name(seen);
            report.notes.push(format!(
                "--backend {used} was given, but the server looks like {seen} ({first}): its length fields may be \
                 ignored or rejected; try --backend {seen} (or auto)"
            ));
            format!("backend: {used} (given; the server looks like {seen})")
        }
        _ => format!("backend: {used} (given)"),
    }
}

/// Fills the usage and length facts from the check request (`finished`: it ran to its end), with advice when the
/// server generated fewer tokens than asked: its end-of-sequence token was not suppressed.
fn record_check(report: &mut PreflightReport, check: &RequestResult, finished: bool) {
    let asked = report.output_length_requested;
    report.usage_reported = check.token_source == super::target::TokenSource::Usage;
    report.output_length_received = check.output_tokens;
    report.output_length_honoured = finished && check.output_tokens == asked;
    if !report.usage_reported {
        report.notes.push(
            "the server sent no `usage`: output tokens are counted as content chunks, which undercounts when a \
             chunk carries several tokens"
                .into(),
        );
    }
    if !finished || report.output_length_honoured {
        return;
    }
    let got = check.output_tokens;
    if got > asked {
        report.notes.push(format!(
            "asked for {asked} output tokens, got {got}: the server does not stop at max_tokens; output lengths \
             will differ from what the run asks"
        ));
        return;
    }
    let used = report.backend;
    let name = detect::cli_name(used);
    let advice = match report.backend_detected {
        Some(seen) if preset(seen) != preset(used) => {
            format!("the server looks like {}: try --backend {0}", detect::cli_name(seen))
        }
        _ if used == Backend::Tgi => "TGI's OpenAI API cannot force a length: outputs end at the model's end of \
             sequence and will differ between runs; compare runs by tokens per second, not by request count"
            .into(),
        _ if preset(used).forces_length() => format!(
            "although the {name} preset sends its length fields (ignore_eos, min_tokens…): is --backend {name} \
             right, and does the server honour them? (vLLM, SGLang: ignore_eos and min_tokens; llama.cpp: \
             ignore_eos; otherwise start the server so that it ignores EOS)"
        ),
        _ => "pass --backend (vllm, sglang, lmdeploy, trtllm, llama-cpp, ollama) so requests carry the server's \
             ignore_eos / min_tokens fields, or start the server so that it ignores EOS; otherwise outputs will be \
             shorter than asked and differ between runs and backends"
            .into(),
    };
    report.notes.push(format!(
        "asked for {asked} output tokens, got {got}: the server stopped at its end-of-sequence token (EOS not \
         suppressed); {advice}"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_tell_what_to_do() {
        let e = PreflightError::SeveralModels(vec!["a".into(), "b".into()]);
        assert_eq!(e.to_string(), "the server serves several models: a, b; choose one with --model");
        let attempt = |endpoint, status| EndpointAttempt { endpoint, status, message: "Not Found".into() };
        let e = PreflightError::NoWorkingEndpoint {
            attempts: vec![attempt(Endpoint::Completions, Some(404)), attempt(Endpoint::Chat, None)],
        };
        let s = e.to_string();
        assert!(
            s.contains("/v1/completions: HTTP 404 Not Found") && s.contains("/v1/chat/completions: Not Found"),
            "{s}"
        );
        let e = PreflightError::EndpointNotWorking {
            attempt: attempt(Endpoint::Chat, Some(404)),
            working: vec![Endpoint::Completions],
        };
        assert!(e.to_string().contains("use --endpoint completions"), "{e}");
        let e = PreflightError::NotReady { waited_s: 1.0, last_state: "waiting: connection refused".into() };
        assert!(e.to_string().contains("--ready-timeout"));
    }

    #[test]
    fn probes_accept_empty_answers_but_not_failures() {
        let at = std::time::Instant::now();
        let result = |error| RequestResult {
            index: 0,
            sent_at: at,
            chunks: vec![],
            done_at: at,
            output_tokens: 0,
            token_source: super::super::target::TokenSource::Chunks,
            prompt_tokens: None,
            retried: false,
            error,
        };
        let err = |class| Some(super::super::target::RequestError { class, status: Some(404), message: "x".into() });
        assert_eq!(probe_outcome(Endpoint::Chat, result(None)), Ok(Endpoint::Chat));
        assert_eq!(probe_outcome(Endpoint::Chat, result(err(ErrorClass::StreamEnded))), Ok(Endpoint::Chat));
        assert!(probe_outcome(Endpoint::Chat, result(err(ErrorClass::HttpStatus))).is_err());
    }

    fn spec(workload: serde_json::Value) -> RunSpec {
        serde_json::from_value(serde_json::json!({
            "target": "http://127.0.0.1:1", "load": {"kind": "concurrency", "concurrency": 1}, "workload": workload,
        }))
        .unwrap()
    }

    #[test]
    fn the_length_check_asks_for_the_runs_longest_output_capped() {
        let synthetic = |min: u32, max: u32| {
            serde_json::json!({"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                               "output_tokens": {"min": min, "max": max}})
        };
        assert_eq!(length_check_tokens(&spec(synthetic(100, 300)).workload), 300);
        assert_eq!(length_check_tokens(&spec(synthetic(0, 0)).workload), 1, "never 0");
        assert_eq!(length_check_tokens(&spec(synthetic(10, 50_000)).workload), LENGTH_CHECK_CAP);
        let file = serde_json::json!({"kind": "share_gpt", "path": "x.json", "output_tokens": 256});
        assert_eq!(length_check_tokens(&spec(file).workload), 256);
    }

    #[test]
    fn the_length_check_gets_the_ready_timeout_within_the_request_timeout() {
        let mut s = spec(serde_json::json!({"kind": "jsonl", "path": "x", "output_tokens": 8}));
        (s.ready_timeout_s, s.request_timeout_s) = (120.0, 600.0);
        assert_eq!(length_check_timeout(&s), Duration::from_secs(120));
        (s.ready_timeout_s, s.request_timeout_s) = (5.0, 600.0);
        assert_eq!(length_check_timeout(&s), LENGTH_CHECK_MIN_TIMEOUT);
        (s.ready_timeout_s, s.request_timeout_s) = (120.0, 10.0);
        assert_eq!(length_check_timeout(&s), Duration::from_secs(10));
        (s.ready_timeout_s, s.request_timeout_s) = (f64::NAN, 0.0);
        assert_eq!(length_check_timeout(&s), LENGTH_CHECK_MIN_TIMEOUT);
    }

    fn report(backend: Backend, detected: Option<Backend>, asked: u32) -> PreflightReport {
        PreflightReport {
            ready: true,
            waited_s: 0.0,
            states: vec![],
            health_status: Some(200),
            models: vec!["m".into()],
            model: "m".into(),
            endpoint: Endpoint::Completions,
            endpoints_working: vec![Endpoint::Completions],
            backend,
            backend_detected: detected,
            backend_evidence: detected.map(|b| format!("x → {}", detect::cli_name(b))).into_iter().collect(),
            usage_reported: false,
            output_length_requested: asked,
            output_length_received: 0,
            output_length_honoured: false,
            notes: vec![],
        }
    }

    fn check(tokens: u32) -> RequestResult {
        let at = std::time::Instant::now();
        RequestResult {
            index: 0,
            sent_at: at,
            chunks: vec![],
            done_at: at,
            output_tokens: tokens,
            token_source: super::super::target::TokenSource::Usage,
            prompt_tokens: Some(9),
            retried: false,
            error: None,
        }
    }

    #[test]
    fn the_backend_line_and_notes_say_what_detection_found() {
        let mut r = report(Backend::Vllm, Some(Backend::Vllm), 8);
        assert_eq!(note_backend(Backend::Auto, &mut r), "backend: vllm (detected: x → vllm)");
        assert!(r.notes.is_empty());
        let mut r = report(Backend::Generic, None, 8);
        assert_eq!(note_backend(Backend::Auto, &mut r), "backend: generic (not recognised)");
        assert!(r.notes[0].contains("pass --backend"), "{:?}", r.notes);
        let mut r = report(Backend::Sglang, Some(Backend::LlamaCpp), 8);
        assert_eq!(note_backend(Backend::Sglang, &mut r), "backend: sglang (given; the server looks like llama-cpp)");
        assert!(r.notes[0].contains("try --backend llama-cpp"), "{:?}", r.notes);
        let mut r = report(Backend::Trtllm, Some(Backend::Vllm), 8);
        assert_eq!(note_backend(Backend::Trtllm, &mut r), "backend: trtllm (given)", "same fields: no note");
        assert!(r.notes.is_empty());
    }

    #[test]
    fn short_outputs_are_noted_with_the_fix() {
        let note = |mut r: PreflightReport, got: u32| {
            record_check(&mut r, &check(got), true);
            assert!(!r.output_length_honoured);
            r.notes.pop().unwrap_or_default()
        };
        let n = note(report(Backend::Generic, None, 64), 10);
        assert!(n.starts_with("asked for 64 output tokens, got 10") && n.contains("pass --backend"), "{n}");
        let n = note(report(Backend::Vllm, Some(Backend::Vllm), 64), 10);
        assert!(n.contains("although the vllm preset"), "{n}");
        let n = note(report(Backend::Ollama, Some(Backend::Lmdeploy), 64), 10);
        assert!(n.contains("try --backend lmdeploy"), "{n}");
        let n = note(report(Backend::Tgi, Some(Backend::Tgi), 64), 10);
        assert!(n.contains("TGI's OpenAI API cannot force a length"), "{n}");
        let n = note(report(Backend::Generic, None, 64), 70);
        assert!(n.contains("does not stop at max_tokens"), "{n}");

        let mut r = report(Backend::Mock, Some(Backend::Mock), 64);
        record_check(&mut r, &check(64), true);
        assert!(r.output_length_honoured && r.usage_reported && r.notes.is_empty(), "{:?}", r.notes);
        let mut r = report(Backend::Mock, Some(Backend::Mock), 64);
        record_check(&mut r, &check(10), false);
        assert!(!r.output_length_honoured && r.notes.is_empty(), "an unfinished check is noted by the caller");
    }
}
