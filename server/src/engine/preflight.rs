//! Checks a target before any load is fired at it: waits until the server is ready, picks the model, tells
//! which server it is (for `--backend auto`; see [`detect`]), picks the endpoint (a 1-token request to each), then
//! sends one request of the run's own output length to learn whether the server reports `usage` and generates
//! as many tokens as asked. A server that is not ready gets no load; detection never fails preflight.
//!
//! A transient failure of a probe or of the length check (an HTTP 5xx, a refused or reset connection) is retried
//! a few times ([`retry`]) before it counts, and the retries are reported. Messages name settings in the words of
//! whoever asked ([`PreflightObserver::surface`]: flags for the CLI, fields for the New run form), and an error
//! lists the [`Fix`]es that may make the check pass.
//!
//! Preflight checks whatever URL it is given, for whoever asks (`POST /api/preflight`), so its answers — errors,
//! states, notes, evidence — carry no text of the target's answers: statuses, reason phrases and our own hints
//! only. It reads bodies where it must (the model list, backend detection) and quotes none of them; the model ids
//! it names are shown as visible, clipped text.

mod detect;
mod error;
mod notes;
mod retry;
#[cfg(test)]
mod tests;

use std::time::Duration;

use protocol::preflight::{endpoint_name, endpoint_path, Fix, Setting};
use protocol::spec::{Backend, Endpoint, RunSpec, WorkloadSpec};

pub use error::{CheckFailure, EndpointAttempt, PreflightError};
pub use protocol::preflight::{PreflightReport, Surface, WaitProgress};

use super::openai::{auth_header, http_client, server_url, ClientError, OpenAiTarget, TargetConfig};
use super::readiness::Poller;
use super::target::{ErrorClass, NoTap, Prompt, PromptBody, Target};
use crate::export::text::clip;
use error::model_list;
use notes::{note_backend, record_check};
use retry::{transient, with_retries, Tried};

/// Most output tokens asked for in the length check (a run asking for more is checked at this length).
const LENGTH_CHECK_CAP: u32 = 1024;
/// Shortest time the length check is given (unless the request timeout is shorter); a longer `ready_timeout_s`
/// gives it that long.
const LENGTH_CHECK_MIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Used when the spec's request timeout is not a valid duration.
const FALLBACK_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Hears preflight as it goes. A closure `FnMut(&str)` is one that hears the state lines only, for the CLI.
pub trait PreflightObserver: Send {
    /// One human line per step or change of state ("waiting: connection refused", "ready: 1 model").
    fn state(&mut self, line: &str);
    /// Where the wait for the server stands: at every poll, and at least once a second, until it is ready.
    fn waiting(&mut self, _progress: &WaitProgress) {}
    /// Whose words the notes and hints use.
    fn surface(&self) -> Surface {
        Surface::Cli
    }
}

impl<F: FnMut(&str) + Send> PreflightObserver for F {
    fn state(&mut self, line: &str) {
        self(line);
    }
}

/// Waits for the target of `spec` to be ready and learns how to drive it. `on_state` hears one human line per
/// change ("waiting: connection refused", "ready: 1 model", …). No load is sent unless this returns `Ok`.
pub async fn preflight(
    spec: &RunSpec,
    mut on_state: &mut (dyn FnMut(&str) + Send),
) -> Result<PreflightReport, PreflightError> {
    preflight_with(spec, &mut on_state).await
}

/// [`preflight`] for an observer that also hears the wait's progress and says whose words to use.
pub async fn preflight_with(
    spec: &RunSpec,
    observer: &mut dyn PreflightObserver,
) -> Result<PreflightReport, PreflightError> {
    let surface = observer.surface();
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
        .wait(ready_timeout, observer, &mut states)
        .await
        .map_err(|n| PreflightError::NotReady { waited_s: n.waited_s, last_state: n.last_state })?;

    let mut notes = Vec::new();
    let mut fixes = Vec::new();
    let model = match spec.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            if !ready.models.iter().any(|listed| listed == m) {
                notes.push(format!(
                    "model `{}` is not listed by /v1/models ({}); requests may fail",
                    clip(m, 100),
                    model_list(&ready.models)
                ));
                fixes.extend(ready.models.first().map(|m| Fix::Model { model: clip(m, 100) }));
            }
            m.to_string()
        }
        None => match ready.models.as_slice() {
            [one] => one.clone(),
            _ => return Err(PreflightError::SeveralModels(ready.models)),
        },
    };

    state(observer, &mut states, "detecting: which server this is".into());
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
        fixes,
    };
    let line = note_backend(spec.backend, &mut report, surface);
    state(observer, &mut report.states, line);
    state(observer, &mut report.states, "probing: a 1-token request to each endpoint".into());
    let (endpoint, working, retried) = choose_endpoint(spec, &report).await?;
    for line in retried {
        state(observer, &mut report.states, format!("retried: {line}"));
        report.notes.push(line);
    }
    report.endpoint = endpoint;
    report.endpoints_working = working;
    state(observer, &mut report.states, format!("endpoint: {} ({})", endpoint_name(endpoint), endpoint_path(endpoint)));

    let asked = report.output_length_requested;
    let timeout = length_check_timeout(spec);
    let cfg = TargetConfig { request_timeout: timeout, ..target_config(spec, &report) };
    let (target, request) = (OpenAiTarget::new(cfg.clone())?.hide_bodies(), prompt(asked));
    // A length check that timed out has waited long already: only quick failures are retried.
    let quick = |e: &super::target::RequestError| transient(e) && e.class != ErrorClass::Timeout;
    let tried = with_retries(|| target.execute(&request, &NoTap), quick).await;
    if let Some(line) = tried.passed_after_retries(&format!("the {asked}-token check")) {
        state(observer, &mut report.states, format!("retried: {line}"));
        report.notes.push(line);
    }
    let check = &tried.result;
    let finished = match &check.error {
        None => true,
        // Slow but generating: not a reason to refuse the run, only to leave the length unverified.
        Some(err) if err.class == ErrorClass::Timeout && check.output_tokens > 0 => {
            report.notes.push(format!(
                "the length check ({asked} tokens) did not finish within {} s ({} tokens arrived), so the output \
                 length is not verified; a longer {} gives it longer",
                timeout.as_secs(),
                check.output_tokens,
                Setting::ReadyTimeout.name(surface)
            ));
            false
        }
        Some(err) => {
            let streaming_only = spec.stream && answers_without_streaming(cfg, asked, err.class).await;
            let failure = CheckFailure {
                status: err.status,
                message: err.message.clone(),
                attempts: tried.attempts(),
                streaming_only,
            };
            return Err(PreflightError::CheckFailed { endpoint, tokens: asked, failure });
        }
    };
    record_check(&mut report, check, finished, surface);
    let line = format!(
        "checked: {}/{asked} tokens{}{}",
        report.output_length_received,
        if finished && check.output_tokens < asked { " (ended early)" } else { "" },
        if report.usage_reported { ", usage reported" } else { ", no usage" }
    );
    state(observer, &mut report.states, line);
    Ok(report)
}

/// After a streamed length check failed: whether the same request without streaming is answered (then only
/// streaming fails). Asked only when the failure could be streaming's: a server error, or a stream that did not
/// parse or ended early — not a refused connection or a timeout.
async fn answers_without_streaming(cfg: TargetConfig, tokens: u32, class: ErrorClass) -> bool {
    if !matches!(class, ErrorClass::HttpStatus | ErrorClass::Parse | ErrorClass::StreamEnded) {
        return false;
    }
    let Ok(target) = OpenAiTarget::new(TargetConfig { stream: false, ..cfg }) else { return false };
    target.hide_bodies().execute(&prompt(tokens), &NoTap).await.error.is_none()
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

fn state(observer: &mut dyn PreflightObserver, states: &mut Vec<String>, line: String) {
    observer.state(&line);
    states.push(line);
}

fn prompt(max_tokens: u32) -> Prompt {
    let text = "Write a long story about a lighthouse keeper.".to_string();
    Prompt { index: 0, body: PromptBody::Text(text), input_tokens: 9, max_tokens }
}

/// Sends a 1-token request to both endpoints (each retried on a transient failure); picks the one asked for, or
/// for `Auto` completions before chat (completions is what length-forcing presets target). Also returns a line for
/// each probe that passed only after retries.
async fn choose_endpoint(
    spec: &RunSpec,
    pf: &PreflightReport,
) -> Result<(Endpoint, Vec<Endpoint>, Vec<String>), PreflightError> {
    let probe = |endpoint: Endpoint| async move {
        let cfg = TargetConfig { endpoint, stream: false, ..target_config(spec, pf) };
        let (target, request) = (OpenAiTarget::new(cfg)?.hide_bodies(), prompt(1));
        let tried = with_retries(|| target.execute(&request, &NoTap), transient).await;
        Ok::<_, ClientError>((endpoint, tried))
    };
    let (completions, chat) = futures::join!(probe(Endpoint::Completions), probe(Endpoint::Chat));
    let tried = [completions?, chat?];
    let retried: Vec<String> = tried
        .iter()
        .filter_map(|(e, t)| t.passed_after_retries(&format!("the 1-token probe of {}", endpoint_path(*e))))
        .collect();
    let attempts = tried.map(|(endpoint, t)| probe_outcome(endpoint, t));
    let working: Vec<Endpoint> = attempts.iter().filter_map(|a| a.as_ref().ok().copied()).collect();
    let (model_note, listed) = model_note(spec, pf);
    match spec.endpoint {
        Endpoint::Auto => match working.first() {
            Some(&e) => Ok((e, working, retried)),
            None => Err(PreflightError::NoWorkingEndpoint {
                attempts: attempts.into_iter().filter_map(Result::err).collect(),
                model_note,
                listed,
            }),
        },
        asked => match attempts.into_iter().find(|a| endpoint_of(a) == asked) {
            Some(Err(attempt)) => Err(PreflightError::EndpointNotWorking { attempt, working, model_note, listed }),
            _ => Ok((asked, working, retried)),
        },
    }
}

/// `model `x` is not listed by /v1/models (…)` and a line break, with the models listed, when the model given is
/// not listed; else empty.
fn model_note(spec: &RunSpec, pf: &PreflightReport) -> (String, Vec<String>) {
    match spec.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) if !pf.models.iter().any(|listed| listed == m) => (
            format!("model `{}` is not listed by /v1/models ({})\n", clip(m, 100), model_list(&pf.models)),
            pf.models.clone(),
        ),
        _ => (String::new(), Vec::new()),
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
fn probe_outcome(endpoint: Endpoint, tried: Tried) -> Result<Endpoint, EndpointAttempt> {
    let attempts = tried.attempts();
    match tried.result.error {
        None => Ok(endpoint),
        Some(e) if e.class == ErrorClass::StreamEnded => Ok(endpoint),
        Some(e) => Err(EndpointAttempt { endpoint, status: e.status, message: e.message, attempts }),
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
