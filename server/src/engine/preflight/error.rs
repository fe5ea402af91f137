//! Why preflight refused a target, in the words of whoever asked: [`PreflightError::render`] names flags for
//! `tokenscope run` ([`Surface::Cli`], also its `Display`) and fields for the New run form ([`Surface::Form`]);
//! [`PreflightError::fixes`] lists the changes that may make it pass, which the form offers as buttons.

use std::fmt;

use protocol::preflight::{endpoint_name, endpoint_path, longer_ready_timeout, Fix, Setting, Surface};
use protocol::spec::Endpoint;

use crate::engine::openai::ClientError;
use crate::export::text::clip;

/// How one endpoint answered the 1-token probe (after its retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAttempt {
    /// The endpoint tried.
    pub endpoint: Endpoint,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// What went wrong in our words: the status's reason phrase, or the client's error — never the target's body.
    pub message: String,
    /// Requests sent (more than one when a transient failure was retried).
    pub attempts: u32,
}

impl EndpointAttempt {
    /// `/v1/completions: HTTP 404 Not Found (hint)`, the hint in `surface`'s words.
    pub fn render(&self, surface: Surface) -> String {
        let tries = if self.attempts > 1 { format!(" ({} attempts)", self.attempts) } else { String::new() };
        format!("{}: {}{tries}", endpoint_path(self.endpoint), answer(self.status, &self.message, surface))
    }
}

impl fmt::Display for EndpointAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Surface::Cli))
    }
}

/// `HTTP 404 Not Found (is this an OpenAI-compatible server? …)` for a status, else the client's `message`.
pub(super) fn answer(status: Option<u16>, message: &str, surface: Surface) -> String {
    let message = message.trim();
    match status {
        Some(status) if message.is_empty() => format!("HTTP {status} ({})", status_hint(status, surface)),
        Some(status) => format!("HTTP {status} {message} ({})", status_hint(status, surface)),
        None => message.to_owned(),
    }
}

/// What to check after a non-2xx answer (the body is not shown: the server's log has it).
fn status_hint(status: u16, surface: Surface) -> String {
    let [model, key, backend] = [Setting::Model, Setting::ApiKey, Setting::Backend].map(|s| s.name(surface));
    match status {
        404 | 405 => format!("is this an OpenAI-compatible server? check the URL and {model}"),
        401 | 403 => format!("the server wants an API key: check {key}"),
        400 | 413 | 422 => format!("the server refused the request: check {model} and {backend}"),
        500..=599 => "the server failed: its log says why".into(),
        _ => "the server's log says why".into(),
    }
}

/// Model ids as a message may show them: each visible and clipped, at most 20 named.
pub(super) fn model_list(models: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut list: Vec<String> = models.iter().take(SHOWN).map(|m| clip(m, 100)).collect();
    if models.len() > SHOWN {
        list.push(format!("and {} more", models.len() - SHOWN));
    }
    list.join(", ")
}

/// What the length check's failure looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The reason phrase or the client's error (never the target's body).
    pub message: String,
    /// Requests sent.
    pub attempts: u32,
    /// The same request without streaming was answered: only streaming fails.
    pub streaming_only: bool,
}

/// Why preflight refused to start a run.
#[derive(Debug)]
pub enum PreflightError {
    /// The server did not become ready in time; no load was sent.
    NotReady {
        /// Seconds waited.
        waited_s: f64,
        /// The last state seen.
        last_state: String,
    },
    /// `/v1/models` lists several models and none was chosen.
    SeveralModels(Vec<String>),
    /// Neither endpoint answered a 1-token request.
    NoWorkingEndpoint {
        /// Each endpoint's answer.
        attempts: Vec<EndpointAttempt>,
        /// `model `x` is not listed by /v1/models (…)` and a line break when the model given is not listed, else
        /// empty (the server's answer, which may say so, is not quoted).
        model_note: String,
        /// The models the server lists, when the one given is not among them (each a fix to offer).
        listed: Vec<String>,
    },
    /// The endpoint asked for does not work.
    EndpointNotWorking {
        /// The failed attempt.
        attempt: EndpointAttempt,
        /// Endpoints that do work.
        working: Vec<Endpoint>,
        /// As in `NoWorkingEndpoint`.
        model_note: String,
        /// As in `NoWorkingEndpoint`.
        listed: Vec<String>,
    },
    /// The short check request failed although the endpoint answered the probe.
    CheckFailed {
        /// The endpoint.
        endpoint: Endpoint,
        /// Tokens asked for.
        tokens: u32,
        /// How it failed.
        failure: CheckFailure,
    },
    /// The target URL or API key is unusable.
    Client(ClientError),
}

/// The CLI's words.
impl fmt::Display for PreflightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Surface::Cli))
    }
}

impl std::error::Error for PreflightError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PreflightError::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientError> for PreflightError {
    fn from(e: ClientError) -> Self {
        PreflightError::Client(e)
    }
}

/// Models offered as one-click fixes, at most.
const MODEL_FIXES: usize = 3;

impl PreflightError {
    /// The message in `surface`'s words.
    pub fn render(&self, surface: Surface) -> String {
        let name = |s: Setting| s.name(surface);
        match self {
            PreflightError::NotReady { waited_s, last_state } => {
                let wait = match surface {
                    Surface::Cli => "wait longer with --ready-timeout".to_owned(),
                    Surface::Form => format!("wait longer (raise {})", name(Setting::ReadyTimeout)),
                };
                format!(
                    "the target was not ready after {waited_s:.1} s (last state: {last_state}); check that the server \
                     is starting and that {} points at it, or {wait}",
                    name(Setting::Target)
                )
            }
            PreflightError::SeveralModels(models) => {
                format!(
                    "the server serves several models: {}; choose one with {}",
                    model_list(models),
                    name(Setting::Model)
                )
            }
            PreflightError::NoWorkingEndpoint { attempts, model_note, .. } => {
                let line = |i: usize| attempts.get(i).map(|a| a.render(surface)).unwrap_or_default();
                let [model, key, target, backend] =
                    [Setting::Model, Setting::ApiKey, Setting::Target, Setting::Backend].map(name);
                format!(
                    "{model_note}no endpoint answered a 1-token request:\n  {}\n  {}\ncheck {model} and {key}, put any \
                     path prefix in {target}, and check {backend} (its fields may be rejected)",
                    line(0),
                    line(1)
                )
            }
            PreflightError::EndpointNotWorking { attempt, working, model_note, .. } => {
                let suggestion = match (working.first(), surface) {
                    (Some(e), Surface::Cli) => {
                        format!("{} works: use --endpoint {} (or auto)", endpoint_path(*e), endpoint_name(*e))
                    }
                    (Some(e), Surface::Form) => format!("{} works: set Endpoint to {0} (or auto)", endpoint_path(*e)),
                    (None, _) => format!(
                        "no other endpoint works either: check {}, {} and {}",
                        name(Setting::Model),
                        name(Setting::ApiKey),
                        name(Setting::Backend)
                    ),
                };
                format!(
                    "{model_note}{}\nthe endpoint given does not answer a 1-token request; {suggestion}",
                    attempt.render(surface)
                )
            }
            PreflightError::CheckFailed { endpoint, tokens, failure } => {
                check_failed(*endpoint, *tokens, failure, surface)
            }
            PreflightError::Client(e) => e.to_string(),
        }
    }

    /// Changes that may make the check pass, for the form's buttons (the CLI's message names them already).
    pub fn fixes(&self) -> Vec<Fix> {
        let models = |listed: &[String]| -> Vec<Fix> {
            listed.iter().take(MODEL_FIXES).map(|m| Fix::Model { model: clip(m, 100) }).collect()
        };
        match self {
            PreflightError::NotReady { waited_s, .. } => {
                longer_ready_timeout(*waited_s).map(|seconds| Fix::ReadyTimeout { seconds }).into_iter().collect()
            }
            PreflightError::SeveralModels(listed) => models(listed),
            PreflightError::NoWorkingEndpoint { listed, .. } => models(listed),
            PreflightError::EndpointNotWorking { working, listed, .. } => {
                let endpoint = working.first().map(|&endpoint| Fix::Endpoint { endpoint });
                endpoint.into_iter().chain(models(listed)).collect()
            }
            PreflightError::CheckFailed { .. } | PreflightError::Client(_) => Vec::new(),
        }
    }
}

/// The length check's failure, with the hint its failure calls for: a server error is the server's (its log says
/// why), and streaming is named only when the same request without streaming was answered.
fn check_failed(endpoint: Endpoint, tokens: u32, f: &CheckFailure, surface: Surface) -> String {
    let kind = match endpoint {
        Endpoint::Chat => "chat",
        Endpoint::Completions | Endpoint::Auto => "completions",
    };
    let tries = if f.attempts > 1 { format!(" on {} attempts", f.attempts) } else { String::new() };
    let what = match f.status {
        Some(s) => format!("HTTP {s}: {}", f.message.trim()).trim_end_matches([':', ' ']).to_owned(),
        None => f.message.trim().to_owned(),
    };
    if f.streaming_only {
        let fix = match surface {
            Surface::Cli => "try --no-stream".to_owned(),
            Surface::Form => "the form always streams: run it with tokenscope run --no-stream".to_owned(),
        };
        return format!(
            "the server answered a {tokens}-token {kind} request without streaming but not with it ({what}{tries}): \
             it may not support streaming; {fix}"
        );
    }
    match f.status {
        Some(500..=599) => format!(
            "the server failed to answer a {kind} request ({what}{tries}) in the {tokens}-token check at {}: its log \
             says why",
            endpoint_path(endpoint)
        ),
        Some(s) => format!(
            "a {tokens}-token request to {} failed: {}{tries}",
            endpoint_path(endpoint),
            answer(Some(s), &f.message, surface)
        ),
        None => format!(
            "a {tokens}-token request to {} failed: {what}{tries} (after the 1-token probe had passed: the server may \
             have gone away or stalled; its log says why)",
            endpoint_path(endpoint)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(endpoint: Endpoint, status: Option<u16>) -> EndpointAttempt {
        EndpointAttempt { endpoint, status, message: "Not Found".into(), attempts: 1 }
    }

    #[test]
    fn errors_tell_what_to_do() {
        let e = PreflightError::SeveralModels(vec!["a".into(), "b".into()]);
        assert_eq!(e.to_string(), "the server serves several models: a, b; choose one with --model");
        assert_eq!(e.render(Surface::Form), "the server serves several models: a, b; choose one with Model");
        assert_eq!(e.fixes(), [Fix::Model { model: "a".into() }, Fix::Model { model: "b".into() }]);
        let e = PreflightError::NoWorkingEndpoint {
            attempts: vec![attempt(Endpoint::Completions, Some(404)), attempt(Endpoint::Chat, None)],
            model_note: String::new(),
            listed: vec![],
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
            listed: vec!["m".into()],
        };
        assert!(e.to_string().starts_with("model `x` is not listed by /v1/models (m)\n/v1/chat/completions: HTTP 404"));
        assert!(e.to_string().contains("use --endpoint completions"), "{e}");
        let form = e.render(Surface::Form);
        assert!(form.contains("set Endpoint to /v1/completions") && !form.contains("--"), "{form}");
        assert_eq!(e.fixes(), [Fix::Endpoint { endpoint: Endpoint::Completions }, Fix::Model { model: "m".into() }]);
        let e = PreflightError::NotReady { waited_s: 1.0, last_state: "waiting: connection refused".into() };
        assert!(e.to_string().contains("--ready-timeout") && e.to_string().contains("--target"), "{e}");
        let form = e.render(Surface::Form);
        assert!(form.contains("raise Ready timeout") && form.contains("Server URL") && !form.contains("--"), "{form}");
        assert_eq!(e.fixes(), [Fix::ReadyTimeout { seconds: 60 }]);
    }

    #[test]
    fn answers_name_the_status_and_a_hint_only() {
        assert_eq!(
            answer(Some(404), "Not Found", Surface::Cli),
            "HTTP 404 Not Found (is this an OpenAI-compatible server? check the URL and --model)"
        );
        assert_eq!(answer(Some(401), "", Surface::Form), "HTTP 401 (the server wants an API key: check API key)");
        assert_eq!(answer(Some(599), "", Surface::Cli), "HTTP 599 (the server failed: its log says why)");
        assert_eq!(answer(None, " connection refused ", Surface::Cli), "connection refused");
        let many: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
        assert!(model_list(&many).ends_with("m19, and 5 more"), "{}", model_list(&many));
        assert_eq!(model_list(&["a\u{1b}[2J".into()]), "a\\u{1b}[2J");
        let retried = EndpointAttempt { attempts: 3, ..attempt(Endpoint::Chat, Some(500)) };
        assert!(retried.to_string().ends_with("(3 attempts)"), "{retried}");
    }

    #[test]
    fn a_server_error_in_the_check_is_the_servers_not_streamings() {
        let failure = |status, streaming_only| CheckFailure {
            status,
            message: "Internal Server Error".into(),
            attempts: 3,
            streaming_only,
        };
        let e =
            PreflightError::CheckFailed { endpoint: Endpoint::Chat, tokens: 16, failure: failure(Some(500), false) };
        let s = e.to_string();
        assert!(
            s.starts_with("the server failed to answer a chat request (HTTP 500: Internal Server Error on 3 attempts)"),
            "{s}"
        );
        assert!(!s.contains("stream"), "{s}");
        let e = PreflightError::CheckFailed { endpoint: Endpoint::Chat, tokens: 16, failure: failure(Some(500), true) };
        assert!(e.to_string().contains("may not support streaming; try --no-stream"), "{e}");
        assert!(e.render(Surface::Form).contains("the form always streams"), "{e}");
        let e =
            PreflightError::CheckFailed { endpoint: Endpoint::Completions, tokens: 8, failure: failure(None, false) };
        assert!(e.to_string().starts_with("a 8-token request to /v1/completions failed"), "{e}");
        assert!(e.fixes().is_empty());
    }
}
