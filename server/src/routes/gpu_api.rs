//! `GET /api/gpu`: the telemetry status and the latest sample per GPU, as JSON.

use axum::{extract::State, Json};

use protocol::gpu::GpuSnapshot;

use crate::{clock::unix_ms, state::AppState};

/// Always `200` with a [`GpuSnapshot`]; `status` says `available`, `simulated` or `unavailable` (with `reason`).
pub async fn gpu_snapshot(State(state): State<AppState>) -> Json<GpuSnapshot> {
    Json(GpuSnapshot { status: state.telemetry.status(), server_time_ms: unix_ms(), samples: state.telemetry.latest() })
}
