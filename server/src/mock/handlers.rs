//! The mock's HTTP handlers: readiness, model list, and the two generation endpoints (SSE or one JSON body),
//! with the loading phase, injected failures and OpenAI-shaped error bodies.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::stream::{scaled, text, Frames, Kind, Plan, TokenStream};
use super::{InFlight, Mock};

/// `GET /health`: 200 when ready, 503 while loading.
pub(super) async fn health(State(mock): State<Arc<Mock>>) -> Response {
    if mock.loading() {
        return (StatusCode::SERVICE_UNAVAILABLE, "loading").into_response();
    }
    StatusCode::OK.into_response()
}

/// `GET /v1/models`: the one model, or 503 while loading.
pub(super) async fn models(State(mock): State<Arc<Mock>>) -> Response {
    if mock.loading() {
        return loading();
    }
    Json(json!({
        "object": "list",
        "data": [{"id": mock.cfg.model, "object": "model", "created": mock.created, "owned_by": "tokenscope"}],
    }))
    .into_response()
}

/// `POST /v1/completions`.
pub(super) async fn completions(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    generate(mock, Kind::Completions, &body).await
}

/// `POST /v1/chat/completions`, or 404 when the mock plays a completions-only server.
pub(super) async fn chat(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    if mock.cfg.no_chat {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response();
    }
    generate(mock, Kind::Chat, &body).await
}

/// The fields of a generation request the mock reads.
#[derive(Debug, Deserialize)]
struct GenRequest {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    prompt: Option<Value>,
    #[serde(default)]
    messages: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

async fn generate(mock: Arc<Mock>, kind: Kind, body: &[u8]) -> Response {
    let start = Instant::now();
    if mock.loading() {
        return loading();
    }
    let req: GenRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, &format!("invalid request body: {e}"), "invalid_request_error")
        }
    };
    let prompt_tokens = match (kind, &req.prompt, &req.messages) {
        (Kind::Completions, Some(p), _) => count_words(p),
        (Kind::Chat, _, Some(msgs)) => msgs.iter().map(|m| m.get("content").map_or(0, count_words)).sum(),
        (Kind::Completions, None, _) => {
            return error(StatusCode::BAD_REQUEST, "`prompt` is required", "invalid_request_error");
        }
        (Kind::Chat, _, None) => {
            return error(StatusCode::BAD_REQUEST, "`messages` is required", "invalid_request_error")
        }
    };
    if let Some(model) = req.model.as_deref().filter(|m| *m != mock.cfg.model) {
        let msg = format!("The model `{model}` does not exist.");
        return error(StatusCode::NOT_FOUND, &msg, "NotFoundError");
    }
    let n = mock.requests.fetch_add(1, Ordering::Relaxed);
    if mock.hangs(n) {
        // Accepted, counted in flight, never answered: until the client gives up and the connection is dropped.
        let _guard = InFlight::enter(&mock);
        std::future::pending::<()>().await;
    }
    if mock.fails(n) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "mock: injected failure (--error-rate)", "server_error");
    }
    let asked = req.max_tokens.or(req.max_completion_tokens);
    let tokens = asked.unwrap_or(mock.cfg.output_tokens);
    let finish = if asked.is_some() { "length" } else { "stop" };
    let guard = InFlight::enter(&mock);
    let model_json = serde_json::to_string(&mock.cfg.model).unwrap_or_else(|_| "\"\"".into());
    let plan = Plan::new(tokens, mock.cfg.tokens_per_chunk);
    if req.stream.unwrap_or(false) {
        let wants_usage = req.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
        let usage = (wants_usage && !mock.cfg.no_usage).then_some((prompt_tokens, tokens));
        let frames = Frames::new(kind, n, mock.created, &model_json);
        let stream = TokenStream::new(guard, frames, plan, start, mock.ttft, mock.itl, usage, finish);
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    // Whole answer once the last token is due.
    let last_token = plan.due(plan.chunks().saturating_sub(1), mock.ttft, mock.itl);
    super::precise::PreciseSleep::until((start + scaled(last_token, mock.slowdown_factor())).into_std()).await;
    drop(guard);
    let content = text(tokens);
    let choice = match kind {
        Kind::Completions => json!({"index": 0, "text": content, "logprobs": null, "finish_reason": finish}),
        Kind::Chat => {
            json!({"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish})
        }
    };
    let (id, object) = match kind {
        Kind::Completions => (format!("cmpl-mock-{n}"), "text_completion"),
        Kind::Chat => (format!("chatcmpl-mock-{n}"), "chat.completion"),
    };
    let mut answer =
        json!({"id": id, "object": object, "created": mock.created, "model": mock.cfg.model, "choices": [choice]});
    if !mock.cfg.no_usage {
        answer["usage"] = json!({
            "prompt_tokens": prompt_tokens,
            "completion_tokens": tokens,
            "total_tokens": u64::from(prompt_tokens) + u64::from(tokens),
        });
    }
    Json(answer).into_response()
}

/// Whitespace-separated words of a prompt (string, list of strings or token ids, or chat content parts).
fn count_words(v: &Value) -> u32 {
    let n = match v {
        Value::String(s) => s.split_whitespace().count(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Number(_) => 1,
                other => count_words(other) as usize,
            })
            .sum(),
        Value::Object(o) => o.get("text").map_or(0, |t| count_words(t) as usize),
        _ => 0,
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// 503 while the model "loads".
fn loading() -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "loading model", "ServiceUnavailable")
}

/// An OpenAI-shaped error body.
fn error(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_words_are_counted_in_every_shape() {
        assert_eq!(count_words(&json!("a b  c")), 3);
        assert_eq!(count_words(&json!(["a b", "c"])), 3);
        assert_eq!(count_words(&json!([1, 2, 3, 4])), 4);
        assert_eq!(count_words(&json!([{"type": "text", "text": "x y"}])), 2);
        assert_eq!(count_words(&json!(null)), 0);
    }
}
