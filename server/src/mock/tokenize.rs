//! The mock's tokenizer and `POST /tokenize`.
//!
//! The tokenizer is deliberately trivial and exact: **one token per whitespace-separated word** (a prompt given as
//! token ids counts one per id), and a word's id is a hash of its bytes below [`VOCAB`]. It has no special tokens,
//! so `add_special` / `add_special_tokens` change nothing. The same walk counts `usage.prompt_tokens` of every
//! generation request, so a client that builds a prompt of N tokens through `/tokenize` gets exactly N back in
//! `usage`.
//!
//! Both request shapes in use are answered on the one route, told apart by their fields:
//! - llama.cpp: `{"content": "...", "add_special": bool}` → `{"tokens": [ids]}`;
//! - vLLM (and SGLang): `{"model": ..., "prompt": "..." | "messages": [...], "add_special_tokens": bool}` →
//!   `{"count": n, "max_model_len": m, "tokens": [ids], "token_strs": null}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error_body::{error, loading};
use super::Mock;

/// Context length the mock claims (`max_model_len`, `n_ctx`, `max_total_tokens`).
pub(super) const MAX_MODEL_LEN: u32 = 32_768;
/// Size of the vocabulary word ids are hashed into.
const VOCAB: u64 = 32_000;

/// The id of one word: FNV-1a of its bytes, below [`VOCAB`].
fn word_id(word: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    u32::try_from(h % VOCAB).unwrap_or(0)
}

/// Calls `f` with each token id of a prompt: a string, a list of strings or token ids, or chat content parts
/// (`{"type": "text", "text": ...}`).
fn walk(v: &Value, f: &mut dyn FnMut(u32)) {
    match v {
        Value::String(s) => s.split_whitespace().for_each(|w| f(word_id(w))),
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Number(n) => f(n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0)),
                    other => walk(other, f),
                }
            }
        }
        Value::Object(o) => {
            if let Some(text) = o.get("text") {
                walk(text, f);
            }
        }
        _ => {}
    }
}

/// Token ids of a prompt value.
pub(super) fn encode(v: &Value) -> Vec<u32> {
    let mut ids = Vec::new();
    walk(v, &mut |id| ids.push(id));
    ids
}

/// Tokens of a prompt value: `encode(v).len()` without the list.
pub(super) fn count(v: &Value) -> u32 {
    let mut n: u32 = 0;
    walk(v, &mut |_| n = n.saturating_add(1));
    n
}

/// Tokens of a chat conversation: the contents of its messages (the mock applies no chat template).
pub(super) fn count_messages(msgs: &[Value]) -> u32 {
    msgs.iter().map(|m| m.get("content").map_or(0, count)).fold(0, u32::saturating_add)
}

/// `POST /tokenize` in the llama.cpp or the vLLM shape; 404 under `--no-tokenize`.
pub(super) async fn tokenize(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    if mock.cfg.no_tokenize {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response();
    }
    if mock.loading() {
        return loading();
    }
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, &format!("invalid request body: {e}"), "invalid_request_error")
        }
    };
    if let Some(content) = req.get("content") {
        return Json(json!({ "tokens": encode(content) })).into_response();
    }
    if let Some(model) = req.get("model").and_then(Value::as_str).filter(|m| *m != mock.cfg.model) {
        return error(StatusCode::NOT_FOUND, &format!("The model `{model}` does not exist."), "NotFoundError");
    }
    let tokens = match (req.get("prompt"), req.get("messages")) {
        (Some(prompt), _) => encode(prompt),
        (None, Some(Value::Array(msgs))) => msgs.iter().filter_map(|m| m.get("content")).flat_map(encode).collect(),
        _ => {
            let msg = "`prompt` or `messages` is required (or `content`, as llama.cpp reads it)";
            return error(StatusCode::BAD_REQUEST, msg, "invalid_request_error");
        }
    };
    Json(json!({"count": tokens.len(), "max_model_len": MAX_MODEL_LEN, "tokens": tokens, "token_strs": null}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_tokens_are_counted_in_every_shape() {
        assert_eq!(count(&json!("a b  c")), 3);
        assert_eq!(count(&json!(["a b", "c"])), 3);
        assert_eq!(count(&json!([1, 2, 3, 4])), 4);
        assert_eq!(count(&json!([{"type": "text", "text": "x y"}])), 2);
        assert_eq!(count(&json!(null)), 0);
        let msgs = [json!({"role": "system", "content": "be brief"}), json!({"role": "user", "content": "hi"})];
        assert_eq!(count_messages(&msgs), 3);
    }

    #[test]
    fn counting_and_encoding_agree() {
        for v in [json!("the quick  brown\tfox\n"), json!(["x", 7, {"text": "y z"}]), json!("")] {
            assert_eq!(count(&v) as usize, encode(&v).len(), "{v}");
        }
    }

    #[test]
    fn ids_are_deterministic_and_in_the_vocabulary() {
        let ids = encode(&json!("hello world hello"));
        assert_eq!(ids[0], ids[2]);
        assert_ne!(ids[0], ids[1]);
        assert!(ids.iter().all(|&id| u64::from(id) < VOCAB));
        assert_eq!(encode(&json!([5, 70000])), [5, 70000], "ids given are kept");
    }
}
