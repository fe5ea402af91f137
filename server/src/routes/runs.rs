//! The runs API: start, stop, read, list, and preflight a target from the form.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};

use protocol::api::RunCreated;
use protocol::live_run::RunView;
use protocol::spec::{Backend, Endpoint, FieldError, LoadSpec, RunSpec, TokenRange, WorkloadSpec};

use super::error::{find_run, ApiError, ApiJson};
use crate::engine::preflight;
use crate::hub::StartError;
use crate::state::AppState;

/// `POST /api/runs`: validates the spec and starts it; `201` with the run's id and page.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(spec): ApiJson<RunSpec>,
) -> Result<(StatusCode, Json<RunCreated>), ApiError> {
    if let Err(e) = state.policy.check_target_resolved(&spec.target).await {
        return Err(ApiError::field("run spec", "target", e));
    }
    match state.runs.start(spec) {
        Ok(run) => {
            let id = run.id();
            Ok((StatusCode::CREATED, Json(RunCreated { url: format!("runs/{id}"), id })))
        }
        Err(StartError::Invalid(fields)) => Err(ApiError::invalid("run spec", fields)),
        Err(e @ StartError::Busy(_)) => Err(ApiError::Conflict(e.to_string())),
    }
}

/// `GET /api/runs/{id}`: the run, live or archived.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<RunView>, ApiError> {
    find_run(&state.runs, &id).await.map(Json)
}

/// `GET /api/runs`: archived runs, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<RunView>>, ApiError> {
    state.store.list_runs(200).await.map(Json).map_err(ApiError::internal)
}

/// Answer of the stop request.
#[derive(Debug, Serialize, Deserialize)]
pub struct StopAnswer {
    /// True when the run was live and is now stopping.
    pub stopping: bool,
}

/// `POST /api/runs/{id}/stop`: `202` while the run winds down (completed requests are kept).
pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<StopAnswer>), ApiError> {
    if state.runs.stop(&id) {
        return Ok((StatusCode::ACCEPTED, Json(StopAnswer { stopping: true })));
    }
    match state.runs.get(&id) {
        Some(_) => Err(ApiError::Conflict(format!("run {id} has already ended"))),
        None => Err(ApiError::NotFound(format!("no live run has the id {id:?}"))),
    }
}

/// Body of `POST /api/preflight`: the target fields of the New run form.
#[derive(Debug, Clone, Deserialize)]
pub struct PreflightRequest {
    /// Base URL of the server.
    pub target: String,
    /// Model, when the user gave one.
    #[serde(default)]
    pub model: Option<String>,
    /// Endpoint to check (`auto` tries both).
    #[serde(default)]
    pub endpoint: Endpoint,
    /// Backend preset.
    #[serde(default)]
    pub backend: Backend,
    /// Bearer token for the target.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Seconds to wait for readiness (default 5, at most 600).
    #[serde(default)]
    pub ready_timeout_s: Option<f64>,
}

impl super::error::StrictBody for PreflightRequest {
    const RESOURCE: &'static str = "preflight request";
    const FIELDS: &'static [&'static str] = &["target", "model", "endpoint", "backend", "api_key", "ready_timeout_s"];
}

/// `POST /api/preflight`: is the target ready, which models and endpoints work, does it report usage. A failure is
/// a 422 on `target` worded for the New run form (the form's live Check is `/ws/preflight`, which also offers the
/// fixes).
pub async fn check(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PreflightRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let spec = check_spec(&state, req).await?;
    let mut ignore = |_: &str| {};
    match preflight::preflight(&spec, &mut ignore).await {
        Ok(report) => Ok(Json(serde_json::to_value(report).map_err(ApiError::internal)?)),
        Err(e) => Err(ApiError::field("preflight request", "target", e.render(preflight::Surface::Form))),
    }
}

/// The spec a Check runs preflight with: the request's target fields, a 1-request run of 16 tokens in and out;
/// 422 for a ready timeout out of range or a target the URL rules or the policy refuse.
pub(super) async fn check_spec(state: &AppState, req: PreflightRequest) -> Result<RunSpec, ApiError> {
    let ready_timeout_s = req.ready_timeout_s.unwrap_or(5.0);
    let max = f64::from(protocol::preflight::FORM_MAX_READY_TIMEOUT_S);
    if !(ready_timeout_s > 0.0 && ready_timeout_s <= max) {
        return Err(ApiError::field("preflight request", "ready_timeout_s", "must be between 0 and 600 seconds"));
    }
    let spec = RunSpec {
        name: String::new(),
        target: req.target,
        model: req.model.filter(|m| !m.trim().is_empty()),
        endpoint: req.endpoint,
        backend: req.backend,
        api_key: req.api_key.filter(|k| !k.is_empty()),
        stream: true,
        load: LoadSpec::Concurrency { concurrency: 1 },
        sweep: Vec::new(),
        requests: Some(1),
        duration_s: None,
        warmup_requests: 0,
        warmup_s: 0.0,
        workload: WorkloadSpec::Synthetic { input_tokens: TokenRange::fixed(16), output_tokens: TokenRange::fixed(16) },
        seed: Some(0),
        tokenizer: None,
        slo: Default::default(),
        request_timeout_s: 30.0,
        ready_timeout_s,
        fail_fast_after: 0,
        max_error_rate: 1.0,
    };
    let target_errors: Vec<FieldError> = spec.validate().into_iter().filter(|e| e.field == "target").collect();
    if !target_errors.is_empty() {
        return Err(ApiError::invalid("preflight request", target_errors));
    }
    if let Err(e) = state.policy.check_target_resolved(&spec.target).await {
        return Err(ApiError::field("preflight request", "target", e));
    }
    Ok(spec)
}

/// What the New run form needs to offer the demo.
#[derive(Debug, Serialize, Deserialize)]
pub struct DemoInfo {
    /// URL of the built-in mock target, when this server runs one.
    pub target: Option<String>,
}

/// `GET /api/demo`.
pub async fn demo(State(state): State<AppState>) -> Json<DemoInfo> {
    Json(DemoInfo { target: state.runs.demo_target().map(str::to_owned) })
}
