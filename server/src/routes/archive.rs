//! The archive API: the Runs page's rows, rename/annotate and delete, and a run's stored series and latency
//! distributions (for the run and compare pages; per sweep step, from stored histograms), and the import of a
//! report file.

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;

use protocol::api::RunCreated;
use protocol::archive::{reports, CdfStep, LatencyCdf, LatencyDistribution, RunPatch, RunSeries, RunSummary};
use protocol::live_run::RunView;

use super::error::find_run;
use super::error::{ApiError, ApiJson};
use crate::engine::runner::{describe, step_loads};
use crate::hub::looks_like_id;
use crate::import::{imported_view, parse_report, ImportError};
use crate::state::AppState;
use crate::store::histograms::StepHistograms;
use crate::store::StoredLatency;
use crate::telemetry::ring::thin_per_gpu;

/// Rows the Runs page lists at most.
pub const LIST_LIMIT: i64 = 500;
/// Points per distribution in `GET /api/runs/{id}/latency`.
pub const CDF_POINTS: usize = 200;
/// GPU samples per GPU in `GET /api/runs/{id}/series`.
pub const SERIES_POINTS_PER_GPU: usize = 1200;

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no run has the id {id:?}"))
}

/// The archive's rows, newest first, with the run in progress (if any) on top.
pub async fn summaries_of(state: &AppState) -> Result<Vec<RunSummary>, ApiError> {
    let views = state.store.list_runs(LIST_LIMIT).await.map_err(ApiError::internal)?;
    Ok(views
        .iter()
        .map(|v| match state.runs.get(&v.id) {
            // The archive holds a live run's first view only; memory has its progress.
            Some(live) if v.status.is_live() => RunSummary::of(&live.view()),
            _ => RunSummary::of(v),
        })
        .collect())
}

/// `GET /api/runs/summaries`: one row per archived run, newest first.
pub async fn summaries(State(state): State<AppState>) -> Result<Json<Vec<RunSummary>>, ApiError> {
    summaries_of(&state).await.map(Json)
}

fn refuse_live(state: &AppState, id: &str, what: &str) -> Result<(), ApiError> {
    match state.runs.get(id) {
        Some(run) if run.view().status.is_live() => Err(ApiError::Conflict(format!(
            "run {id} is still in progress: stop it or wait for it to end before you {what} it"
        ))),
        _ => Ok(()),
    }
}

/// `PATCH /api/runs/{id}`: changes the name, notes or tags of an ended run; the run as it now is.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<RunPatch>,
) -> Result<Json<RunView>, ApiError> {
    let patch = patch.normalized();
    let errors = patch.validate();
    if !errors.is_empty() {
        return Err(ApiError::invalid("run details", errors));
    }
    if !looks_like_id(&id) {
        return Err(not_found(&id));
    }
    refuse_live(&state, &id, "rename")?;
    if !state.store.update_meta(&id, &patch).await.map_err(ApiError::internal)? {
        return Err(not_found(&id));
    }
    // Later reads come from the archive, which has the new name.
    state.runs.forget(&id);
    state.store.load_run(&id).await.map_err(ApiError::internal)?.map(Json).ok_or_else(|| not_found(&id))
}

/// `DELETE /api/runs/{id}`: deletes an ended run and its series; `204`, `409` for a live run.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if !looks_like_id(&id) {
        return Err(not_found(&id));
    }
    refuse_live(&state, &id, "delete")?;
    let stored = state.store.delete_run(&id).await.map_err(ApiError::internal)?;
    let in_memory = state.runs.get(&id).is_some() && state.runs.forget(&id);
    if stored || in_memory {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

/// `GET /api/runs/{id}/series`: the stored windows and GPU samples (at most 1200 per GPU) of a run.
pub async fn series(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<RunSeries>, ApiError> {
    find_run(&state.runs, &id).await?;
    let mut series = state.store.load_series(&id).await.map_err(ApiError::internal)?;
    series.gpu = thin_per_gpu(series.gpu, SERIES_POINTS_PER_GPU);
    Ok(Json(series))
}

/// Query of `GET /api/runs/{id}/latency`.
#[derive(Debug, Default, Deserialize)]
pub struct LatencyQuery {
    /// Sweep step index, from 0; absent (or empty) for the whole run.
    pub step: Option<String>,
}

/// `GET /api/runs/{id}/latency[?step=N]`: TTFT and E2E distributions of the measured, successful requests of the
/// whole run or of sweep step `N`, with the run's steps. Read from the run's stored histograms, in time independent
/// of its number of requests (the first read of a run archived without them builds and stores them); a run still
/// being recorded is read from its request rows so far. `422` naming `step` and the valid range for a bad step.
pub async fn latency(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<LatencyQuery>,
) -> Result<Json<LatencyDistribution>, ApiError> {
    let view = find_run(&state.runs, &id).await?;
    let stored = stored_latency(&state, &view).await?;
    let steps = step_list(&view, &stored);
    let step = parse_step(query.step.as_deref(), &steps)?;
    Ok(Json(LatencyDistribution { cdf: cdf_of(&stored.histograms(step)?), step, steps }))
}

/// How long a read of a run that has just ended waits for its last rows and histograms to be archived.
const ARCHIVE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A run's latency distributions: the stored histograms of an ended run (waiting, at most [`ARCHIVE_WAIT`], for a
/// run that ended moments ago to be archived), or, for a run still under load (or whose archiving lags), built
/// from its request rows so far without storing them.
pub async fn stored_latency(state: &AppState, view: &RunView) -> Result<StoredLatency, ApiError> {
    let mut recording = view.status.is_live();
    if let Some(run) = state.runs.get(&view.id).filter(|_| !recording) {
        // The end of a run writes its last rows and its histograms, then marks it archived.
        let _ = tokio::time::timeout(ARCHIVE_WAIT, run.archived.cancelled()).await;
        recording = !run.archived.is_cancelled();
    }
    let stored =
        if recording { state.store.latency_unsaved(&view.id).await } else { state.store.latency(&view.id).await };
    stored.map_err(ApiError::internal)
}

/// The TTFT and E2E CDFs of `hists`, [`CDF_POINTS`] points at most each.
pub fn cdf_of(hists: &StepHistograms) -> LatencyCdf {
    LatencyCdf { requests: hists.requests(), ttft: hists.ttft.cdf(CDF_POINTS), e2e: hists.e2e.cdf(CDF_POINTS) }
}

/// The run's steps: those with stored distributions and those of its report, each with its load in words.
fn step_list(view: &RunView, stored: &StoredLatency) -> Vec<CdfStep> {
    let reported: Vec<String> = reports(view.result.as_ref()).iter().map(|r| describe(&r.load)).collect();
    let planned: Vec<String> = step_loads(&view.spec).iter().map(describe).collect();
    let mut steps: BTreeMap<u32, u64> = stored.steps().into_iter().collect();
    for i in 0..reported.len() {
        steps.entry(u32::try_from(i).unwrap_or(u32::MAX)).or_insert(0);
    }
    steps
        .into_iter()
        .map(|(index, requests)| {
            let i = index as usize;
            let load = reported.get(i).or_else(|| planned.get(i)).cloned().unwrap_or_else(|| format!("step {}", i + 1));
            CdfStep { index, load, requests }
        })
        .collect()
}

/// The step asked for: `None` (the whole run) when absent or empty, else one of `steps`' indexes.
fn parse_step(step: Option<&str>, steps: &[CdfStep]) -> Result<Option<u32>, ApiError> {
    let Some(raw) = step.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Some(found) = raw.parse::<u32>().ok().filter(|i| steps.iter().any(|s| s.index == *i)) {
        return Ok(Some(found));
    }
    let shown: String = raw.chars().take(20).collect();
    let message = match (steps.first(), steps.last()) {
        (Some(first), _) if steps.len() == 1 => format!(
            "{shown:?} is not a step of this run: it has one step, {}; use step={} or leave `step` out for the \
             whole run",
            first.index, first.index
        ),
        (Some(first), Some(last)) => format!(
            "{shown:?} is not a step of this run: use a step index from {} to {} ({} steps), or leave `step` out \
             for the whole run",
            first.index,
            last.index,
            steps.len()
        ),
        _ => format!(
            "{shown:?}: this run has no per-step latency distributions (no request was recorded); leave `step` out"
        ),
    };
    Err(ApiError::field("latency query", "step", message))
}

/// Query of `POST /api/runs/import`.
#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    /// Name for the imported run (a `name` in an envelope body wins).
    pub name: Option<String>,
}

/// `POST /api/runs/import`: archives a report (`tokenscope run --json` / `export.json`: a run's report, or a
/// sweep's with `steps`) as an ended run with a new id, tagged `imported`. The body is the report itself (name in
/// `?name=`) or `{"report": …, "name": …}`, sent as `Content-Type: application/json`. `201` with the new run; `415`
/// for another content type (a cross-site page can send `text/plain` without asking: see `routes::origin`),
/// `400` when the body is not JSON, `422` when it is not a report.
pub async fn import(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<RunCreated>), ApiError> {
    if !is_json(&headers) {
        return Err(ApiError::BadBody {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "send the report as JSON with `Content-Type: application/json` (curl: -H 'Content-Type: \
                      application/json' --data-binary @report.json), or use `tokenscope import FILE`"
                .into(),
        });
    }
    let bad = |e: ImportError| {
        let status = match e {
            ImportError::Syntax(_) => StatusCode::BAD_REQUEST,
            ImportError::Shape(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::BadBody { status, message: e.to_string() }
    };
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| bad(ImportError::Syntax(e.to_string())))?;
    let (report, name) = match value {
        serde_json::Value::Object(mut envelope) if envelope.contains_key("report") => {
            let name = match envelope.remove("name") {
                Some(serde_json::Value::String(n)) => Some(n),
                Some(serde_json::Value::Null) | None => query.name,
                Some(_) => return Err(bad(ImportError::Shape("`name` must be a string".into()))),
            };
            (envelope.remove("report").unwrap_or_default(), name)
        }
        report => (report, query.name),
    };
    let result = parse_report(report).map_err(bad)?;
    let view = imported_view(&result, name.as_deref()).map_err(bad)?;
    state.store.save_run_with_meta(&view).await.map_err(ApiError::internal)?;
    let id = view.id;
    Ok((StatusCode::CREATED, Json(RunCreated { url: format!("runs/{id}"), id })))
}

/// Whether the request says its body is JSON: `application/json` or `application/…+json`, any parameters.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}
