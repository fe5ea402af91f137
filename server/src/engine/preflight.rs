//! Checks a target before any load is fired at it: waits until the server is ready, picks the model, tells
//! which server it is (for `--backend auto`; see [`detect`]), picks the endpoint (a 1-token request to each), then
//! sends one request of the run's own output length to learn whether the server reports `usage` and generates
//! as many tokens as asked. A server that is not ready gets no load; detection never fails preflight.
//!
//! Preflight checks whatever URL it is given, for whoever asks (`POST /api/preflight`), so its answers — errors,
//! states, notes, evidence — carry no text of the target's answers: statuses, reason phrases and our own hints
//! only. It reads bodies where it must (the model list, backend detection) and quotes none of them; the model ids
//! it names are shown as visible, clipped text.

mod detect;

use std::fmt;
use std::time::Duration;

use protocol::spec::{Backend, Endpoint, RunSpec, WorkloadSpec};

pub use protocol::preflight::PreflightReport;

use super::openai::{auth_header, http_client, server_url, ClientError, OpenAiTarget, TargetConfig};
use super::presets::preset;
use super::readiness::Poller;
use super::target::{ErrorClass, NoTap, Prompt, PromptBody, RequestResult, Target};
use crate::export::text::clip;

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
    /// What went wrong in our words: the status's reason phrase, or the client's error — never the target's body.
    pub message: String,
}

impl fmt::Display for EndpointAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", path(self.endpoint), answer(self.status, &self.message))
    }
}

/// `HTTP 404 Not Found (is this an OpenAI-compatible server? …)` for a status, else the client's `message`.
fn answer(status: Option<u16>, message: &str) -> String {
    let message = message.trim();
    match status {
        Some(status) if message.is_empty() => format!("HTTP {status} ({})", status_hint(status)),
        Some(status) => format!("HTTP {status} {message} ({})", status_hint(status)),
        None => message.to_owned(),
    }
}

/// What to check after a non-2xx answer (the body is not shown: the server's log has it).
fn status_hint(status: u16) -> &'static str {
    match status {
        404 | 405 => "is this an OpenAI-compatible server? check the URL and --model",
        401 | 403 => "the server wants an API key: check --api-key",
        400 | 413 | 422 => "the server refused the request: check --model and --backend",
        500..=599 => "the server failed: its log says why",
        _ => "the server's log says why",
    }
}

/// Model ids as a message may show them: each visible and clipped, at most 20 named.
fn model_list(models: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut list: Vec<String> = models.iter().take(SHOWN).map(|m| clip(m, 100)).collect();
    if models.len() > SHOWN {
        list.push(format!("and {} more", models.len() - SHOWN));
    }
    list.join(", ")
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
    #[error("the server serves several models: {}; choose one with --model", model_list(.0))]
    SeveralModels(Vec<String>),
    /// Neither endpoint answered a 1-token request.
    #[error(
        "{model_note}no endpoint answered a 1-token request:\n  {}\n  {}\ncheck --model and --api-key, put any path \
         prefix in --target, and check --backend (its fields may be rejected)",
        .attempts.first().map(ToString::to_string).unwrap_or_default(),
        .attempts.get(1).map(ToString::to_string).unwrap_or_default()
    )]
    NoWorkingEndpoint {
        /// Each endpoint's answer.
        attempts: Vec<EndpointAttempt>,
        /// `model `x` is not listed by /v1/models (…)` and a line break when the model given is not listed, else
        /// empty (the server's answer, which may say so, is not quoted).
        model_note: String,
    },
    /// The endpoint asked for does not work.
    #[error("{model_note}{attempt}\nthe endpoint given does not answer a 1-token request; {}", suggestion(.working))]
    EndpointNotWorking {
        /// The failed attempt.
        attempt: EndpointAttempt,
        /// Endpoints that do work.
        working: Vec<Endpoint>,
        /// As in `NoWorkingEndpoint`.
        model_note: String,
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
                    "model `{}` is not listed by /v1/models ({}); requests may fail",
                    clip(m, 100),
                    model_list(&ready.models)
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
    let check = OpenAiTarget::new(cfg)?.hide_bodies().execute(&prompt(asked), &NoTap).await;
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
            let message = answer(err.status, &err.message);
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
        let result = OpenAiTarget::new(cfg)?.hide_bodies().execute(&prompt(1), &NoTap).await;
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
                model_note: model_note(spec, pf),
            }),
        },
        asked => match attempts.into_iter().find(|a| endpoint_of(a) == asked) {
            Some(Err(attempt)) => {
                Err(PreflightError::EndpointNotWorking { attempt, working, model_note: model_note(spec, pf) })
            }
            _ => Ok((asked, working)),
        },
    }
}

/// `model `x` is not listed by /v1/models (…)` and a line break, when the model given is not listed; else empty.
fn model_note(spec: &RunSpec, pf: &PreflightReport) -> String {
    match spec.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) if !pf.models.iter().any(|listed| listed == m) => {
            format!("model `{}` is not listed by /v1/models ({})\n", clip(m, 100), model_list(&pf.models))
        }
        _ => String::new(),
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
            model_note: String::new(),
        };
        let s = e.to_string();
        assert!(
            s.contains("/v1/completions: HTTP 404 Not Found") && s.contains("/v1/chat/completions: Not Found"),
            "{s}"
        );
        let e = PreflightError::EndpointNotWorking {
            attempt: attempt(Endpoint::Chat, Some(404)),
            working: vec![Endpoint::Completions],
            model_note: "model `x` is not listed by /v1/models (m)\n".into(),
        };
        assert!(e.to_string().starts_with("model `x` is not listed by /v1/models (m)\n/v1/chat/completions: HTTP 404"));
        assert!(e.to_string().contains("use --endpoint completions"), "{e}");
        let e = PreflightError::NotReady { waited_s: 1.0, last_state: "waiting: connection refused".into() };
        assert!(e.to_string().contains("--ready-timeout"));
    }

    #[test]
    fn answers_name_the_status_and_a_hint_only() {
        assert_eq!(
            answer(Some(404), "Not Found"),
            "HTTP 404 Not Found (is this an OpenAI-compatible server? check the URL and --model)"
        );
        assert_eq!(answer(Some(599), ""), "HTTP 599 (the server failed: its log says why)");
        assert_eq!(answer(None, " connection refused "), "connection refused");
        let many: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
        assert!(model_list(&many).ends_with("m19, and 5 more"), "{}", model_list(&many));
        assert_eq!(model_list(&["a\u{1b}[2J".into()]), "a\\u{1b}[2J");
    }

    /// A loopback HTTP/1.1 server: `GET /v1/models` lists one model, `GET /internal/ok` is an internal page, every
    /// other request gets 404 with a body that must never reach preflight's answer. One request per connection.
    async fn secret_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head, body_len) = loop {
                        let Ok(n) = tcp.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (head, i + 4 + len);
                        }
                    };
                    while buf.len() < body_len {
                        let Ok(n) = tcp.read(&mut chunk).await else { return };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let (status, body) = match path.as_str() {
                        "/v1/models" => ("200 OK", r#"{"data":[{"id":"m","owned_by":"SECRET-OWNER"}]}"#),
                        "/internal/ok" | "/page/v1/models" => ("200 OK", "SECRET-BODY internal page"),
                        _ => ("404 Not Found", "SECRET-BODY {\"error\": \"SECRET-BODY\"}"),
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tcp.write_all(reply.as_bytes()).await;
                    let _ = tcp.shutdown().await;
                });
            }
        });
        base
    }

    #[tokio::test]
    async fn preflight_answers_carry_no_body_of_the_target() {
        let base = secret_server().await;
        let mut s = spec(serde_json::json!({"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                                            "output_tokens": {"min": 4, "max": 4}}));
        (s.target, s.ready_timeout_s) = (base.clone(), 5.0);
        let mut states = Vec::new();
        let err = preflight(&s, &mut |l: &str| states.push(l.to_owned())).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, PreflightError::NoWorkingEndpoint { .. }), "{text}");
        assert!(text.contains("/v1/completions: HTTP 404 Not Found (is this an OpenAI-compatible server?"), "{text}");
        assert!(!text.contains("SECRET") && !states.concat().contains("SECRET"), "{text}\n{states:?}");

        // The page trick: with `#`, every path would become a fragment of the internal page.
        s.target = format!("{base}/internal/ok#");
        let text = preflight(&s, &mut |_| {}).await.unwrap_err().to_string();
        assert!(!text.contains("SECRET"), "{text}");

        // A page that answers 200 where the model list should be.
        (s.target, s.ready_timeout_s) = (format!("{base}/page"), 0.3);
        let err = preflight(&s, &mut |_| {}).await.unwrap_err();
        assert!(matches!(err, PreflightError::NotReady { .. }), "{err}");
        assert!(err.to_string().contains("not a model list") && !err.to_string().contains("SECRET"), "{err}");
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
