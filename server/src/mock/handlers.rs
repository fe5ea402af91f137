//! The mock's HTTP handlers: readiness, model list, and the two generation endpoints (SSE or one JSON body),
//! with the loading phase, injected failures, early ends of sequence and OpenAI-shaped error bodies.

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

use super::error_body::{error, loading};
use super::length::LengthAsk;
use super::stream::{scaled, text, Frames, Kind, Plan, TokenStream};
use super::tokenize;
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
    let identity = mock.cfg.identity;
    let mut card =
        json!({"id": mock.cfg.model, "object": "model", "created": mock.created, "owned_by": identity.owned_by()});
    identity.model_card_extras(&mut card);
    Json(json!({"object": "list", "data": [card]})).into_response()
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
    /// vLLM, SGLang, TensorRT-LLM, LMDeploy, llama.cpp.
    #[serde(default)]
    ignore_eos: Option<bool>,
    /// vLLM, SGLang, TensorRT-LLM.
    #[serde(default)]
    min_tokens: Option<u32>,
    /// LMDeploy.
    #[serde(default)]
    min_new_tokens: Option<u32>,
    /// llama.cpp's own length limit (-1: none).
    #[serde(default)]
    n_predict: Option<i64>,
    /// Ollama's options.
    #[serde(default)]
    options: Option<OllamaOptions>,
}

#[derive(Debug, Deserialize)]
struct OllamaOptions {
    /// Tokens to generate (-1: no limit).
    #[serde(default)]
    num_predict: Option<i64>,
}

impl GenRequest {
    /// The request's length fields.
    fn length_ask(&self) -> LengthAsk {
        let non_negative = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        let num_predict = non_negative(self.options.as_ref().and_then(|o| o.num_predict));
        LengthAsk {
            max: self.max_tokens.or(self.max_completion_tokens).or(non_negative(self.n_predict)).or(num_predict),
            ignore_eos: self.ignore_eos,
            min_tokens: self.min_tokens,
            min_new_tokens: self.min_new_tokens,
            num_predict,
        }
    }
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
        (Kind::Completions, Some(p), _) => tokenize::count(p),
        (Kind::Chat, _, Some(msgs)) => tokenize::count_messages(msgs),
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
        return match &mock.cfg.error_body {
            Some(body) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], body.clone())
                .into_response(),
            None => error(StatusCode::INTERNAL_SERVER_ERROR, "mock: injected failure (--error-rate)", "server_error"),
        };
    }
    let ask = req.length_ask();
    let limit = ask.limit(mock.cfg.output_tokens);
    let length = ask.answer(mock.cfg.identity.honours(), limit, mock.eos_at(n, limit));
    let (tokens, finish) = (length.tokens, length.finish);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::presets::PresetFields;
    use protocol::spec::Backend;

    /// The length fields of a body carrying `backend`'s preset fields for 32 tokens.
    fn ask(backend: Backend) -> LengthAsk {
        let mut body = serde_json::to_value(PresetFields::new(backend, 32)).unwrap();
        body["max_tokens"] = json!(32);
        serde_json::from_value::<GenRequest>(body).unwrap().length_ask()
    }

    #[test]
    fn every_preset_field_is_read() {
        let max = LengthAsk { max: Some(32), ..Default::default() };
        let forced = LengthAsk { ignore_eos: Some(true), min_tokens: Some(32), ..max };
        assert_eq!(ask(Backend::Vllm), forced);
        assert_eq!(ask(Backend::Sglang), forced);
        assert_eq!(ask(Backend::Trtllm), forced);
        assert_eq!(ask(Backend::Lmdeploy), LengthAsk { ignore_eos: Some(true), min_new_tokens: Some(32), ..max });
        assert_eq!(ask(Backend::LlamaCpp), LengthAsk { ignore_eos: Some(true), ..max });
        assert_eq!(ask(Backend::Ollama), LengthAsk { num_predict: Some(32), ..max });
        assert_eq!(ask(Backend::Mock), LengthAsk { ignore_eos: Some(true), ..max });
        assert_eq!(ask(Backend::Generic), max);
    }

    #[test]
    fn native_length_limits_stand_in_for_max_tokens() {
        let read = |body: Value| serde_json::from_value::<GenRequest>(body).unwrap().length_ask().max;
        assert_eq!(read(json!({"n_predict": 7})), Some(7));
        assert_eq!(read(json!({"n_predict": -1})), None, "-1 is llama.cpp's no limit");
        assert_eq!(read(json!({"options": {"num_predict": 9}})), Some(9));
        assert_eq!(read(json!({"max_completion_tokens": 5, "n_predict": 7})), Some(5));
    }
}
