//! Rate-limiting lookups of share-link ids that do not exist, per client, with the wrong-token limiter's machinery
//! ([`crate::auth::Access::share_limiter`]; `--trust-proxy` decides who the client is, as for tokens).
//!
//! Share ids are 131 random bits: no one finds a link by guessing, whatever the rate. The limit makes a scan short
//! and visible (a warning in the log, 429 with `Retry-After` to the scanner) and bounds the archive reads it causes.
//! A link that exists always opens, also from a blocked address: a NAT or a proxy shared with a scanner must not
//! lock out the people a link was sent to.
//!
//! Counted: the id of `GET /s/{id}` and every id of a share cookie (`tokenscope_share`), since a cookie carries ids
//! to the server just as well. Repeats count once (the limiter remembers the last
//! [`crate::auth::SHARE_REMEMBERED`] per client), so a cookie still naming links whose runs were deleted costs a few
//! counts once, not one per request.

use std::time::Duration;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use protocol::api::ApiErrorBody;

use crate::auth::{ClientKey, FAILURE_WINDOW};
use crate::state::AppState;

/// Counts `unknown` (ids that name no link) for `key`. `Some(time left)` when the client was already blocked: the
/// caller answers [`too_many`] instead of "not found". Nothing is counted then (the window is not stretched).
pub fn count_unknown(state: &AppState, key: ClientKey, unknown: &[&str]) -> Option<Duration> {
    if unknown.is_empty() {
        return None;
    }
    let limiter = state.access.share_limiter();
    if let Some(left) = limiter.blocked(key) {
        return Some(left);
    }
    let counted = unknown.iter().fold(false, |any, id| limiter.fail(key, id) | any);
    if counted && limiter.blocked(key).is_some() {
        tracing::warn!(
            client = ?key,
            "{} unknown share-link ids from one client within {} s: its lookups of unknown ids get 429 until the \
             window ends (links that exist still open)",
            limiter.max(),
            FAILURE_WINDOW.as_secs(),
        );
    }
    None
}

/// 429 for a blocked client's lookup of an unknown id: JSON for the API and sockets, a small page for a link
/// opened in a browser; `Retry-After` in whole seconds (rounded up) until its window ends.
pub fn too_many(api: bool, left: Duration) -> Response {
    let secs = (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1);
    let mut resp = if api {
        let error = format!(
            "too many unknown share links from this address; try again in {secs} s (links that exist always open)"
        );
        (StatusCode::TOO_MANY_REQUESTS, Json(ApiErrorBody { error, fields: Vec::new() })).into_response()
    } else {
        let line = format!(
            "This address asked for too many share links that do not exist. Try again in {secs} s; check that the \
             whole link was copied (links that exist always open)."
        );
        super::notice(StatusCode::TOO_MANY_REQUESTS, "Too many unknown share links", &line)
    };
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_answer_says_when_to_retry() {
        let resp = too_many(true, Duration::from_millis(41_200));
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("try again in 42 s") && text.contains("always open"), "{text}");
        let page = too_many(false, Duration::from_millis(10));
        assert_eq!(page.headers()[header::RETRY_AFTER], "1");
        assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    }
}
