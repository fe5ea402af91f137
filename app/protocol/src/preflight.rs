//! What preflight found before a run: is the server ready, which model and endpoint, does it report usage and
//! honour the requested output length. Shown by the CLI, the dashboard, and stored with the run.

use serde::{Deserialize, Serialize};

use super::spec::{Backend, Endpoint};

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
}
