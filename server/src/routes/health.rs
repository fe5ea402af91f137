//! `GET /api/health`: is the server up, and which version is it.

use axum::{extract::State, Json};

use protocol::HealthResponse;

use crate::state::AppState;

/// Always `200` with a JSON [`HealthResponse`] while the server is serving.
pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_s: state.info.started.elapsed().as_secs_f64(),
    })
}
