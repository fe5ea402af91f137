//! The mock's OpenAI-shaped error answers, shared by every route.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// 503 while the model "loads".
pub(super) fn loading() -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "loading model", "ServiceUnavailable")
}

/// An OpenAI-shaped error body.
pub(super) fn error(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "code": status.as_u16()}});
    (status, Json(body)).into_response()
}
