//! The HTTP layer's one error type: validation → 4xx with per-field messages, internal → 500 with details logged
//! but not shown. Every body is an [`ApiErrorBody`].

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use protocol::{api::ApiErrorBody, spec::FieldError};

mod strict;
pub use strict::StrictBody;

/// What an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: the body parsed but its values are wrong; one message per field.
    #[error("invalid {resource}")]
    Invalid {
        /// What was being created or changed ("run spec", "share link", "run details"…), for the summary line.
        resource: &'static str,
        /// The problems, one per field.
        fields: Vec<FieldError>,
    },
    /// 400/413/415: the body is not JSON of the expected shape (the message says where).
    #[error("{message}")]
    BadBody {
        /// Status to answer with.
        status: StatusCode,
        /// What is wrong.
        message: String,
    },
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 500: logged, not shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// 422 on `resource`, with these per-field problems.
    pub fn invalid(resource: &'static str, fields: Vec<FieldError>) -> Self {
        ApiError::Invalid { resource, fields }
    }

    /// 422 on one field of `resource`.
    pub fn field(resource: &'static str, field: &str, message: impl Into<String>) -> Self {
        ApiError::invalid(resource, vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    /// 500 from anything that went wrong inside (logged, not shown).
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }
}

/// A run from memory (live or recent) or the archive, or 404 naming the id.
pub async fn find_run(runs: &crate::hub::RunManager, id: &str) -> Result<protocol::live_run::RunView, ApiError> {
    runs.find(id).await?.ok_or_else(|| ApiError::NotFound(format!("no run has the id {id:?}")))
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, fields) = match self {
            ApiError::Invalid { resource, fields } => {
                let summary = fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                (StatusCode::UNPROCESSABLE_ENTITY, format!("invalid {resource}: {summary}"), fields)
            }
            ApiError::BadBody { status, message } => (status, message, Vec::new()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m, Vec::new()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m, Vec::new()),
            ApiError::Internal(e) => {
                tracing::error!("internal error: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error (details are in the server log)".into(), Vec::new())
            }
        };
        (status, Json(ApiErrorBody { error, fields })).into_response()
    }
}

/// A JSON request body that configures something, read strictly: `Content-Type: application/json` (else 415),
/// within the body limit (else 413), JSON (else 400 with the line and column), every value of its type (else 422
/// naming the field by path, `load.concurrency`, and what was expected, without the value sent), and no field
/// the server does not know (else 422 listing each one, with the known name nearest to it). Strict because a
/// misspelt `duraton_s` that is silently ignored makes a run that does not do what was asked. What is read back
/// (an exported report to import, the archive) stays lenient: see [`crate::import::parse_report`].
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: StrictBody> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::BadBody {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "send the body as JSON with `Content-Type: application/json`".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            let status = r.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { r.body_text() };
            ApiError::BadBody { status, message }
        })?;
        strict::from_slice(&bytes).map(ApiJson)
    }
}

/// `application/json` or `application/*+json`, parameters aside (as axum's `Json` accepts).
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

/// Keeps every `/api/*` error a JSON [`ApiErrorBody`]. Handlers already answer that way; this catches what is
/// answered below them in plain text or HTML: axum's own extractor rejections (a run id that is not UTF-8, a query
/// string that does not parse, a body over the limit read as bytes), wrong methods, and unknown API paths (which
/// would otherwise get the site's HTML 404 page).
pub async fn json_api_errors(req: Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !path.starts_with("/api/") || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let content_type = resp.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|c| c.starts_with("application/json")) {
        return resp;
    }
    let html = content_type.is_some_and(|c| c.starts_with("text/html"));
    let (mut parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(b) if !html => String::from_utf8_lossy(&b).trim().to_owned(),
        _ => String::new(),
    };
    let error = match status {
        StatusCode::NOT_FOUND if text.is_empty() => format!("no API route {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::METHOD_NOT_ALLOWED if text.is_empty() => format!("{path} does not take this method"),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    (parts, Json(ApiErrorBody { error, fields: Vec::new() })).into_response()
}

/// Largest request body any route accepts (the router's limit layer); a larger one gets a 413 saying so.
pub const BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

/// What a 413 says: the body limit, in MiB.
fn too_large() -> String {
    format!("the body is too large (the limit is {} MiB)", BODY_LIMIT_BYTES >> 20)
}
