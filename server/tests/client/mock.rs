//! The mock seen from a plain HTTP client: readiness, model list, default length, model check, SSE shape.

use serde_json::{json, Value};
use server::mock::MockConfig;

use crate::helpers::{fast, spawn_mock, MODEL};

async fn post(base: &str, path: &str, body: Value) -> (u16, String) {
    let resp = reqwest::Client::new().post(format!("{base}{path}")).json(&body).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn models_and_health() {
    let base = spawn_mock(fast()).await;
    let models: Value = reqwest::get(format!("{base}/v1/models")).await.unwrap().json().await.unwrap();
    assert_eq!(models["data"][0]["id"], MODEL);
    assert_eq!(reqwest::get(format!("{base}/health")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn loading_answers_503_until_ready() {
    let base = spawn_mock(MockConfig { startup_delay_s: 60.0, ..fast() }).await;
    assert_eq!(reqwest::get(format!("{base}/health")).await.unwrap().status(), 503);
    assert_eq!(reqwest::get(format!("{base}/v1/models")).await.unwrap().status(), 503);
    let (status, _) = post(&base, "/v1/completions", json!({"prompt": "x"})).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn without_max_tokens_the_configured_length_is_used() {
    let base = spawn_mock(MockConfig { output_tokens: 7, ..fast() }).await;
    let (status, body) =
        post(&base, "/v1/chat/completions", json!({"messages": [{"role": "user", "content": "a b"}]})).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["usage"], json!({"prompt_tokens": 2, "completion_tokens": 7, "total_tokens": 9}));
    assert_eq!(v["choices"][0]["message"]["content"], " w0 w1 w2 w3 w4 w5 w6");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn unknown_models_and_bad_bodies_are_refused() {
    let base = spawn_mock(fast()).await;
    let (status, body) = post(&base, "/v1/completions", json!({"model": "gpt-9", "prompt": "x"})).await;
    assert_eq!(status, 404);
    assert!(body.contains("gpt-9"));
    assert_eq!(post(&base, "/v1/completions", json!({"messages": []})).await.0, 400);
    assert_eq!(post(&base, "/v1/chat/completions", json!({"prompt": "x"})).await.0, 400);
}

#[tokio::test]
async fn the_stream_is_role_content_usage_done() {
    let base = spawn_mock(fast()).await;
    let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2,
                      "stream": true, "stream_options": {"include_usage": true}});
    let (status, text) = post(&base, "/v1/chat/completions", body).await;
    assert_eq!(status, 200);
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 5, "{text}");
    let json = |i: usize| serde_json::from_str::<Value>(events[i].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(json(0)["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(json(1)["choices"][0]["delta"]["content"], " w0");
    assert_eq!(json(2)["choices"][0]["finish_reason"], "length");
    assert_eq!(json(3)["usage"]["completion_tokens"], 2);
    assert_eq!(events[4], "data: [DONE]");
}
