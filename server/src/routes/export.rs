//! Downloads of an archived run (`Content-Disposition: attachment`): the report as `tokenscope run --json` writes
//! it, the requests and the GPU telemetry as CSV, a Markdown summary for a pull request, and its charts as a PNG.

use axum::{
    body::Body,
    extract::{Path, State},
    http::header::{CONTENT_DISPOSITION, CONTENT_TYPE},
    response::{IntoResponse, Response},
};

use protocol::live_run::RunView;

use super::archive::{cdf_of, stored_latency};
use super::error::find_run;
use super::error::ApiError;
use crate::export::{csv, file_name, markdown, named_file, png};
use crate::state::AppState;

fn attachment(content_type: &'static str, name: String, body: impl Into<Body>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(CONTENT_TYPE, content_type.to_owned()), (CONTENT_DISPOSITION, disposition)], body.into()).into_response()
}

/// The run, refusing one still in progress (its files would be partial).
async fn ended(state: &AppState, id: &str) -> Result<RunView, ApiError> {
    let view = find_run(&state.runs, id).await?;
    if view.status.is_live() {
        return Err(ApiError::Conflict(format!("run {id} is still in progress: export it once it has ended")));
    }
    Ok(view)
}

/// `GET /api/runs/{id}/export.json`: the report (`RunResult`), exactly as `tokenscope run --json FILE` writes it.
pub async fn report_json(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let view = ended(&state, &id).await?;
    let Some(result) = view.result else {
        return Err(ApiError::NotFound(format!(
            "run {id} has no report: it ended before its load produced one ({})",
            view.verdict.as_deref().unwrap_or(view.status.as_str())
        )));
    };
    let body = serde_json::to_string_pretty(&result).map_err(ApiError::internal)?;
    Ok(attachment("application/json", file_name(&id, "report.json"), body))
}

/// `GET /api/runs/{id}/export/requests.csv`: one line per request, warmup and failures included.
pub async fn requests_csv(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    ended(&state, &id).await?;
    let records = state.store.load_requests(&id).await.map_err(ApiError::internal)?;
    Ok(attachment("text/csv; charset=utf-8", file_name(&id, "requests.csv"), csv::requests(&records)))
}

/// `GET /api/runs/{id}/export/telemetry.csv`: every GPU sample stored with the run.
pub async fn telemetry_csv(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let view = ended(&state, &id).await?;
    let series = state.store.load_series(&id).await.map_err(ApiError::internal)?;
    let body = csv::telemetry(&series.gpu, view.started_unix_ms);
    Ok(attachment("text/csv; charset=utf-8", file_name(&id, "telemetry.csv"), body))
}

/// `GET /api/runs/{id}/export/summary.md`: a Markdown table of the run (one row per sweep step).
pub async fn summary_md(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let view = ended(&state, &id).await?;
    Ok(attachment("text/markdown; charset=utf-8", file_name(&id, "summary.md"), markdown::summary(&view)))
}

/// `GET /api/runs/{id}/export/charts.png`: the run's charts as one PNG drawn on the server (title block, the time
/// panels on one axis, the latency distribution), named after the run.
pub async fn charts_png(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let view = ended(&state, &id).await?;
    let series = state.store.load_series(&id).await.map_err(ApiError::internal)?;
    // The whole run's distributions from its stored histograms, as the run page shows them.
    let latency = cdf_of(&stored_latency(&state, &view).await?.histograms(None)?);
    let name = named_file(&view.spec.name, &id, "charts.png");
    // Drawing and encoding take tens of milliseconds of CPU: off the async workers.
    let body = tokio::task::spawn_blocking(move || png::render(&view, &series, &latency))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(attachment("image/png", name, body))
}
