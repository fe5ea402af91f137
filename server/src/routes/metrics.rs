//! `GET /metrics`: the latest GPU sample per GPU in Prometheus text format (see `telemetry::prometheus`).

use axum::{extract::State, http::header, response::IntoResponse};

use crate::{state::AppState, telemetry::prometheus};

/// Always `200`; with no GPU telemetry it still answers, with `tokenscope_telemetry_up 0`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = prometheus::render(&state.telemetry.status(), &state.telemetry.latest());
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], body)
}
