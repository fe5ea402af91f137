//! What preflight found before a run: is the server ready, which model and endpoint, does it report usage and
//! honour the requested output length. Shown by the CLI, the dashboard, and stored with the run.

use serde::{Deserialize, Serialize};

use super::spec::{Backend, Endpoint, FieldError};

/// The result of checking a target before load is fired at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightReport {
    /// The server answered `/v1/models` with at least one model (always true in a returned report).
    pub ready: bool,
    /// Seconds spent waiting for the server to become ready.
    pub waited_s: f64,
    /// Each change of state while waiting, in order ("waiting: connection refused", "ready: 1 model").
    pub states: Vec<String>,
    /// HTTP status of the last `GET /health` (`None` when it could not be reached).
    pub health_status: Option<u16>,
    /// Models listed by `/v1/models`.
    pub models: Vec<String>,
    /// The model requests will name.
    pub model: String,
    /// The endpoint requests will go to (never `Auto`).
    pub endpoint: Endpoint,
    /// Endpoints that answered a 1-token request.
    pub endpoints_working: Vec<Endpoint>,
    /// The backend preset requests use: the one asked for, or the one detected for `auto` (never `Auto`, except
    /// in reports written before detection existed).
    #[serde(default)]
    pub backend: Backend,
    /// What the server looks like from what it exposes; `None` when nothing was recognised.
    #[serde(default)]
    pub backend_detected: Option<Backend>,
    /// What the detection relied on, one fact a line (`GET /version: {"version": "0.6.3"}`,
    /// `/v1/models owned_by "vllm"`).
    #[serde(default)]
    pub backend_evidence: Vec<String>,
    /// The server sent `usage` in a streamed answer (else output tokens are counted from chunks).
    pub usage_reported: bool,
    /// Output tokens asked for in the length check.
    pub output_length_requested: u32,
    /// Output tokens received in the length check.
    pub output_length_received: u32,
    /// The server generated exactly the requested number of tokens.
    pub output_length_honoured: bool,
    /// Warnings and advice for the user.
    pub notes: Vec<String>,
    /// Changes the notes suggest (the dashboard offers each as a button).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
}

/// Who shows a message: its hints name that surface's settings (`--endpoint completions` for `tokenscope run`,
/// "set Endpoint to /v1/completions" for the New run form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// `tokenscope run`: settings are flags.
    #[default]
    Cli,
    /// The dashboard's New run form: settings are fields.
    Form,
}

/// A setting a message can point the user at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The server's base URL.
    Target,
    /// The model requests name.
    Model,
    /// Chat or completions.
    Endpoint,
    /// The backend preset.
    Backend,
    /// The bearer token.
    ApiKey,
    /// How long preflight waits for the server.
    ReadyTimeout,
    /// How long one request may take.
    RequestTimeout,
    /// Output tokens per request.
    OutputTokens,
    /// Streaming on or off.
    Stream,
}

impl Setting {
    /// The setting as `surface` names it: a flag, or a field of the form by its label.
    pub fn name(self, surface: Surface) -> &'static str {
        match (surface, self) {
            (Surface::Cli, Setting::Target) => "--target",
            (Surface::Cli, Setting::Model) => "--model",
            (Surface::Cli, Setting::Endpoint) => "--endpoint",
            (Surface::Cli, Setting::Backend) => "--backend",
            (Surface::Cli, Setting::ApiKey) => "--api-key",
            (Surface::Cli, Setting::ReadyTimeout) => "--ready-timeout",
            (Surface::Cli, Setting::RequestTimeout) => "--request-timeout",
            (Surface::Cli, Setting::OutputTokens) => "--output-tokens",
            (Surface::Cli, Setting::Stream) => "--no-stream",
            (Surface::Form, Setting::Target) => "Server URL",
            (Surface::Form, Setting::Model) => "Model",
            (Surface::Form, Setting::Endpoint) => "Endpoint",
            (Surface::Form, Setting::Backend) => "Backend preset",
            (Surface::Form, Setting::ApiKey) => "API key",
            (Surface::Form, Setting::ReadyTimeout) => "Ready timeout",
            (Surface::Form, Setting::RequestTimeout) => "the request timeout (tokenscope run --request-timeout)",
            (Surface::Form, Setting::OutputTokens) => "Output tokens",
            (Surface::Form, Setting::Stream) => "streaming (the form always streams; tokenscope run --no-stream)",
        }
    }
}

/// A change that may make the check pass. The CLI says it as a flag, the form as a field to set, with a button
/// that sets it and checks again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// Wait longer for the server to load.
    ReadyTimeout {
        /// The ready timeout to try, seconds.
        seconds: u32,
    },
    /// Send requests to this endpoint.
    Endpoint {
        /// The endpoint that works (never `auto`).
        endpoint: Endpoint,
    },
    /// Name this model (one the server lists).
    Model {
        /// Its id, as `/v1/models` lists it.
        model: String,
    },
    /// Send this backend preset's length fields.
    Backend {
        /// The preset (never `auto`).
        backend: Backend,
    },
}

// Tagged by `kind` on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for Fix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::decode::{field, object, tag, unknown};
        let mut o = object(serde_json::Value::deserialize(d)?, "a fix")?;
        Ok(match tag(&mut o, "kind")?.as_str() {
            "ready_timeout" => Fix::ReadyTimeout { seconds: field(&mut o, "seconds")? },
            "endpoint" => Fix::Endpoint { endpoint: field(&mut o, "endpoint")? },
            "model" => Fix::Model { model: field(&mut o, "model")? },
            "backend" => Fix::Backend { backend: field(&mut o, "backend")? },
            other => return Err(unknown(other, &["ready_timeout", "endpoint", "model", "backend"])),
        })
    }
}

/// `/v1/completions` or `/v1/chat/completions`.
pub fn endpoint_path(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Chat => "/v1/chat/completions",
        Endpoint::Completions | Endpoint::Auto => "/v1/completions",
    }
}

/// The name `--endpoint` takes.
pub fn endpoint_name(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Chat => "chat",
        Endpoint::Completions => "completions",
        Endpoint::Auto => "auto",
    }
}

/// The name `--backend` takes (`llama-cpp`).
pub const fn backend_cli_name(b: Backend) -> &'static str {
    match b {
        Backend::Auto => "auto",
        Backend::Generic => "generic",
        Backend::Vllm => "vllm",
        Backend::Sglang => "sglang",
        Backend::Lmdeploy => "lmdeploy",
        Backend::Trtllm => "trtllm",
        Backend::Tgi => "tgi",
        Backend::LlamaCpp => "llama-cpp",
        Backend::Ollama => "ollama",
        Backend::Mock => "mock",
    }
}

/// The preset as the form's Backend preset list labels it.
pub const fn backend_label(b: Backend) -> &'static str {
    match b {
        Backend::Auto => "auto (detect)",
        Backend::Generic => "Generic OpenAI",
        Backend::Vllm => "vLLM",
        Backend::Sglang => "SGLang",
        Backend::Lmdeploy => "LMDeploy / TurboMind",
        Backend::Trtllm => "TensorRT-LLM (trtllm-serve)",
        Backend::Tgi => "TGI",
        Backend::LlamaCpp => "llama.cpp server",
        Backend::Ollama => "Ollama",
        Backend::Mock => "tokenscope mock",
    }
}

impl Fix {
    /// The fix in `surface`'s words: `--endpoint completions` / `set Endpoint to /v1/completions`.
    pub fn words(&self, surface: Surface) -> String {
        match (surface, self) {
            (Surface::Cli, Fix::ReadyTimeout { seconds }) => format!("--ready-timeout {seconds}s"),
            (Surface::Cli, Fix::Endpoint { endpoint }) => format!("--endpoint {}", endpoint_name(*endpoint)),
            (Surface::Cli, Fix::Model { model }) => format!("--model {model}"),
            (Surface::Cli, Fix::Backend { backend }) => format!("--backend {}", backend_cli_name(*backend)),
            (Surface::Form, Fix::ReadyTimeout { seconds }) => format!("set Ready timeout to {seconds} s"),
            (Surface::Form, Fix::Endpoint { endpoint }) => format!("set Endpoint to {}", endpoint_path(*endpoint)),
            (Surface::Form, Fix::Model { model }) => format!("set Model to {model}"),
            (Surface::Form, Fix::Backend { backend }) => format!("set Backend preset to {}", backend_label(*backend)),
        }
    }

    /// The label of the form's one-click button ("Use /v1/completions", "Wait longer (60 s)").
    pub fn button(&self) -> String {
        match self {
            Fix::ReadyTimeout { seconds } => format!("Wait longer ({seconds} s)"),
            Fix::Endpoint { endpoint } => format!("Use {}", endpoint_path(*endpoint)),
            Fix::Model { model } => format!("Use model {model}"),
            Fix::Backend { backend } => format!("Use the {} preset", backend_label(*backend)),
        }
    }
}

/// Longest ready timeout the New run form (and `POST /api/preflight`) accepts, seconds.
pub const FORM_MAX_READY_TIMEOUT_S: u32 = 600;

/// A longer ready timeout to offer after waiting `waited_s` in vain: twice as long, at least a minute, at most
/// [`FORM_MAX_READY_TIMEOUT_S`]; `None` when the wait was already that long.
pub fn longer_ready_timeout(waited_s: f64) -> Option<u32> {
    let waited = if waited_s.is_finite() { waited_s.max(0.0).ceil() as u32 } else { FORM_MAX_READY_TIMEOUT_S };
    (waited < FORM_MAX_READY_TIMEOUT_S).then(|| waited.saturating_mul(2).clamp(60, FORM_MAX_READY_TIMEOUT_S))
}

/// Where a wait for the server stands: sent at every poll and at least once a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitProgress {
    /// Polls so far (the one in flight included).
    pub attempt: u32,
    /// Seconds waited.
    pub elapsed_s: f64,
    /// Seconds preflight waits in all.
    pub timeout_s: f64,
    /// Why the server is not ready yet ("connection refused", "/v1/models 503").
    pub reason: String,
}

impl WaitProgress {
    /// `waiting for 127.0.0.1:9 — connection refused (attempt 3, 4 s of 30 s)`.
    pub fn line(&self, host: &str) -> String {
        format!(
            "waiting for {host} — {} (attempt {}, {:.0} s of {:.0} s)",
            self.reason,
            self.attempt,
            self.elapsed_s.floor(),
            self.timeout_s
        )
    }
}

/// Frames of the Check socket (`/ws/preflight`), JSON text tagged by `type`. The browser sends one
/// [`PreflightRequest`]-shaped object first; frames follow until `passed` or `failed`, after which the server closes
/// the socket. Closing it earlier cancels the check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckFrame {
    /// A step of preflight ("ready: 1 model", "endpoint: completions (/v1/completions)").
    State {
        /// The line.
        state: String,
    },
    /// Still waiting for the server.
    Waiting {
        /// Where the wait stands.
        progress: WaitProgress,
    },
    /// The target passed.
    Passed {
        /// What preflight found.
        report: Box<PreflightReport>,
    },
    /// The target (or the request) failed.
    Failed {
        /// What went wrong and what to do, in the form's words.
        error: String,
        /// Per-field problems of the request, when it was the request that was wrong.
        #[serde(default)]
        fields: Vec<FieldError>,
        /// Changes that may fix it, each a button on the form.
        #[serde(default)]
        fixes: Vec<Fix>,
    },
}

// Tagged by `type` on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for CheckFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::decode::{field, object, tag, unknown};
        let mut o = object(serde_json::Value::deserialize(d)?, "a check frame")?;
        Ok(match tag(&mut o, "type")?.as_str() {
            "state" => CheckFrame::State { state: field(&mut o, "state")? },
            "waiting" => CheckFrame::Waiting { progress: field(&mut o, "progress")? },
            "passed" => CheckFrame::Passed { report: field(&mut o, "report")? },
            "failed" => CheckFrame::Failed {
                error: field(&mut o, "error")?,
                fields: field::<Option<_>, _>(&mut o, "fields")?.unwrap_or_default(),
                fixes: field::<Option<_>, _>(&mut o, "fixes")?.unwrap_or_default(),
            },
            other => return Err(unknown(other, &["state", "waiting", "passed", "failed"])),
        })
    }
}

/// `host:port` of a target URL as the status line shows it (no scheme, no credentials, no path).
pub fn target_host(target: &str) -> String {
    let t = target.trim();
    let rest = t.split_once("://").map_or(t, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_are_flags_on_the_cli_and_fields_on_the_form() {
        let fix = Fix::Endpoint { endpoint: Endpoint::Completions };
        assert_eq!(fix.words(Surface::Cli), "--endpoint completions");
        assert_eq!(fix.words(Surface::Form), "set Endpoint to /v1/completions");
        assert_eq!(fix.button(), "Use /v1/completions");
        let fix = Fix::Model { model: "llama".into() };
        assert_eq!((fix.words(Surface::Cli), fix.button()), ("--model llama".into(), "Use model llama".into()));
        let fix = Fix::ReadyTimeout { seconds: 60 };
        assert_eq!(fix.words(Surface::Cli), "--ready-timeout 60s");
        assert_eq!(fix.words(Surface::Form), "set Ready timeout to 60 s");
        let fix = Fix::Backend { backend: Backend::LlamaCpp };
        assert_eq!(fix.words(Surface::Cli), "--backend llama-cpp");
        assert_eq!(fix.words(Surface::Form), "set Backend preset to llama.cpp server");
        assert_eq!(Setting::ReadyTimeout.name(Surface::Cli), "--ready-timeout");
        assert_eq!(Setting::ReadyTimeout.name(Surface::Form), "Ready timeout");
    }

    #[test]
    fn fixes_and_frames_round_trip_as_tagged_json() {
        let fix = Fix::Endpoint { endpoint: Endpoint::Completions };
        let json = serde_json::to_value(&fix).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "endpoint", "endpoint": "completions"}));
        let frame = CheckFrame::Failed { error: "e".into(), fields: vec![], fixes: vec![fix] };
        let text = serde_json::to_string(&frame).unwrap();
        assert!(text.starts_with(r#"{"type":"failed""#), "{text}");
        assert_eq!(serde_json::from_str::<CheckFrame>(&text).unwrap(), frame);
    }

    #[test]
    fn a_longer_wait_is_offered_up_to_the_forms_limit() {
        assert_eq!(longer_ready_timeout(3.0), Some(60));
        assert_eq!(longer_ready_timeout(45.2), Some(92));
        assert_eq!(longer_ready_timeout(400.0), Some(600));
        assert_eq!(longer_ready_timeout(600.0), None);
        assert_eq!(longer_ready_timeout(f64::NAN), None);
    }

    #[test]
    fn the_waiting_line_names_host_reason_attempt_and_time() {
        let p = WaitProgress { attempt: 3, elapsed_s: 4.7, timeout_s: 30.0, reason: "connection refused".into() };
        assert_eq!(p.line("127.0.0.1:9"), "waiting for 127.0.0.1:9 — connection refused (attempt 3, 4 s of 30 s)");
        assert_eq!(target_host("http://user:pw@127.0.0.1:9/v1?x#y"), "127.0.0.1:9");
        assert_eq!(target_host("pod:8000"), "pod:8000");
    }
}
