//! The mock's realism: early ends of sequence (`eos_rate`) that only the length fields of the server it plays
//! suppress, `/tokenize` in llama.cpp's and vLLM's shapes counting exactly what `usage.prompt_tokens` reports,
//! and preflight's note when a server returns fewer tokens than asked.

use std::time::Duration;

use protocol::spec::{Backend, Endpoint, RunSpec};
use serde_json::{json, Value};
use server::engine::openai::{OpenAiTarget, TargetConfig};
use server::engine::preflight::preflight;
use server::engine::target::{NoTap, Target, TokenSource};
use server::mock::{Identity, MockConfig};

use crate::helpers::{fast, prompt, spawn_mock, spec, MODEL};

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new().post(format!("{base}{path}")).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A mock where every request would end early.
fn eos_always(identity: Identity) -> MockConfig {
    MockConfig { eos_rate: 1.0, identity, ..fast() }
}

/// A client sending `backend`'s preset fields.
fn client(base: &str, backend: Backend, stream: bool) -> OpenAiTarget {
    OpenAiTarget::new(TargetConfig {
        base_url: base.into(),
        endpoint: Endpoint::Completions,
        model: MODEL.into(),
        backend,
        api_key: None,
        stream,
        request_timeout: Duration::from_secs(10),
    })
    .unwrap()
}

#[tokio::test]
async fn an_early_eos_stops_with_stop_and_usage_tells_the_real_count() {
    let base = spawn_mock(eos_always(Identity::Mock)).await;
    let (status, v) = post(&base, "/v1/completions", json!({"prompt": "a b c", "max_tokens": 50})).await;
    assert_eq!(status, 200, "{v}");
    let got = v["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..50).contains(&got), "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["choices"][0]["text"].as_str().unwrap().split_whitespace().count() as u64, got);

    let body = json!({"prompt": "a", "max_tokens": 50, "stream": true, "stream_options": {"include_usage": true}});
    let text = reqwest::Client::new().post(format!("{base}/v1/completions")).json(&body).send().await.unwrap();
    let text = text.text().await.unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|e| *e != "[DONE]")
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let content: Vec<&Value> =
        events.iter().filter(|e| e["choices"].as_array().is_some_and(|c| !c.is_empty())).collect();
    let usage = events.last().unwrap()["usage"]["completion_tokens"].as_u64().unwrap();
    assert_eq!(content.len() as u64, usage, "one token a chunk, as many as usage says");
    assert!(usage < 50);
    assert_eq!(content.last().unwrap()["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn ignore_eos_and_min_tokens_give_exact_lengths_with_length() {
    let base = spawn_mock(eos_always(Identity::Mock)).await;
    for fields in [json!({"ignore_eos": true}), json!({"min_tokens": 40}), json!({"min_new_tokens": 40})] {
        let mut body = json!({"prompt": "a", "max_tokens": 40});
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        let (_, v) = post(&base, "/v1/completions", body).await;
        assert_eq!(v["usage"]["completion_tokens"], 40, "{fields}");
        assert_eq!(v["choices"][0]["finish_reason"], "length", "{fields}");
    }
}

#[tokio::test]
async fn each_preset_forces_the_length_on_the_server_it_is_for() {
    let pairs = [
        (Identity::Vllm, Backend::Vllm),
        (Identity::Sglang, Backend::Sglang),
        (Identity::Trtllm, Backend::Trtllm),
        (Identity::Lmdeploy, Backend::Lmdeploy),
        (Identity::LlamaCpp, Backend::LlamaCpp),
        (Identity::Ollama, Backend::Ollama),
        (Identity::Mock, Backend::Mock),
    ];
    for (identity, backend) in pairs {
        let base = spawn_mock(eos_always(identity)).await;
        for stream in [true, false] {
            let r = client(&base, backend, stream).execute(&prompt(20), &NoTap).await;
            assert_eq!(r.error, None, "{backend:?}");
            assert_eq!((r.output_tokens, r.token_source), (20, TokenSource::Usage), "{backend:?} stream {stream}");
        }
        // Plain OpenAI fields do not stop the end of sequence.
        let r = client(&base, Backend::Generic, true).execute(&prompt(20), &NoTap).await;
        assert!(r.output_tokens < 20, "{identity:?}: generic got {}", r.output_tokens);
    }
    // Another server's fields are ignored: Ollama's options.num_predict means nothing to vLLM.
    let base = spawn_mock(eos_always(Identity::Vllm)).await;
    let r = client(&base, Backend::Ollama, true).execute(&prompt(20), &NoTap).await;
    assert!(r.output_tokens < 20, "ollama's fields on vllm: {}", r.output_tokens);
}

#[tokio::test]
async fn eos_works_with_multi_token_chunks_and_without_usage() {
    let base = spawn_mock(MockConfig { tokens_per_chunk: 4, no_usage: true, ..eos_always(Identity::Mock) }).await;
    let (_, v) = post(&base, "/v1/completions", json!({"prompt": "a", "max_tokens": 30})).await;
    assert!(v.get("usage").is_none());
    let words = v["choices"][0]["text"].as_str().unwrap().split_whitespace().count();
    assert!((1..30).contains(&words), "{v}");
    let r = client(&base, Backend::Generic, true).execute(&prompt(30), &NoTap).await;
    assert_eq!(r.token_source, TokenSource::Chunks);
    assert!(r.output_tokens <= 30usize.div_ceil(4) as u32, "counted as chunks of up to 4: {}", r.output_tokens);
    let r = client(&base, Backend::Mock, true).execute(&prompt(30), &NoTap).await;
    assert_eq!(r.chunks.len(), 8, "30 tokens in chunks of 4");
}

#[tokio::test]
async fn the_eos_rate_is_a_fraction_of_requests() {
    let base = spawn_mock(MockConfig { eos_rate: 0.5, seed: 1, ..fast() }).await;
    let t = client(&base, Backend::Generic, false);
    let p = prompt(16);
    let results = futures::future::join_all((0..200).map(|_| t.execute(&p, &NoTap))).await;
    let short = results.iter().filter(|r| r.output_tokens < 16).count();
    assert!((70..130).contains(&short), "{short} of 200 ended early");
}

#[tokio::test]
async fn tokenize_answers_both_shapes_and_matches_usage() {
    let base = spawn_mock(fast()).await;
    let text = "the quick brown fox jumps over the lazy dog";
    let (status, llama) = post(&base, "/tokenize", json!({"content": text, "add_special": true})).await;
    assert_eq!(status, 200);
    let ids = llama["tokens"].as_array().unwrap();
    assert_eq!(ids.len(), 9);
    assert_eq!(ids[0], ids[6], "`the` twice, one id");

    let (status, vllm) =
        post(&base, "/tokenize", json!({"model": MODEL, "prompt": text, "add_special_tokens": true})).await;
    assert_eq!(status, 200);
    assert_eq!(vllm["count"], 9);
    assert_eq!(vllm["tokens"], llama["tokens"]);
    assert!(vllm["max_model_len"].as_u64().unwrap() >= 4096);
    let (_, chat) = post(&base, "/tokenize", json!({"messages": [{"role": "user", "content": "a b"}]})).await;
    assert_eq!(chat["count"], 2);

    // A prompt built to N tokens through /tokenize is N prompt tokens in usage.
    let (_, v) = post(&base, "/v1/completions", json!({"prompt": text, "max_tokens": 1})).await;
    assert_eq!(v["usage"]["prompt_tokens"], 9);
    let (_, v) = post(&base, "/v1/completions", json!({"prompt": [5, 6, 7], "max_tokens": 1})).await;
    assert_eq!(v["usage"]["prompt_tokens"], 3, "token ids count one each");

    assert_eq!(post(&base, "/tokenize", json!({"model": "gpt-9", "prompt": "x"})).await.0, 404);
    assert_eq!(post(&base, "/tokenize", json!({"text": "x"})).await.0, 400);
    let off = spawn_mock(MockConfig { no_tokenize: true, ..fast() }).await;
    assert_eq!(post(&off, "/tokenize", json!({"content": "x"})).await.0, 404);
}

/// A spec for `base` asking for 64 output tokens.
fn spec64(base: &str, backend: Backend) -> RunSpec {
    let mut s = spec(base);
    s.backend = backend;
    s.workload = serde_json::from_value(json!({"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                                               "output_tokens": {"min": 16, "max": 64}}))
    .unwrap();
    s
}

#[tokio::test]
async fn preflight_asks_for_the_run_length_and_notes_short_outputs() {
    // An unknown server that stops early: the note names the fix.
    let base = spawn_mock(eos_always(Identity::Generic)).await;
    let (lines, mut on_state) = crate::helpers::recorder();
    let report = preflight(&spec64(&base, Backend::Auto), &mut on_state).await.unwrap();
    assert_eq!(report.output_length_requested, 64, "the most the run asks");
    assert!(report.output_length_received < 64);
    assert!(!report.output_length_honoured);
    let note = report.notes.iter().find(|n| n.starts_with("asked for 64 output tokens")).expect("a note");
    assert!(note.contains("EOS not suppressed") && note.contains("--backend"), "{note}");
    assert!(lines.lock().unwrap().iter().any(|l| l.contains("(ended early)")), "{:?}", lines.lock().unwrap());

    // Detected: the preset suppresses the end of sequence and the length is exact.
    let base = spawn_mock(eos_always(Identity::Sglang)).await;
    let report = preflight(&spec64(&base, Backend::Auto), &mut |_| {}).await.unwrap();
    assert_eq!((report.backend, report.output_length_received), (Backend::Sglang, 64));
    assert!(report.output_length_honoured && report.notes.is_empty(), "{:?}", report.notes);

    // The wrong preset given by hand: the note names the right one.
    let report = preflight(&spec64(&base, Backend::Ollama), &mut |_| {}).await.unwrap();
    assert!(!report.output_length_honoured);
    let note = report.notes.iter().find(|n| n.starts_with("asked for 64")).expect("a note");
    assert!(note.contains("try --backend sglang"), "{note}");

    // TGI cannot force a length at all: said so.
    let base = spawn_mock(eos_always(Identity::Tgi)).await;
    let report = preflight(&spec64(&base, Backend::Auto), &mut |_| {}).await.unwrap();
    assert!(report.notes.iter().any(|n| n.contains("TGI's OpenAI API cannot force a length")), "{:?}", report.notes);
}

#[tokio::test]
async fn the_length_check_is_capped() {
    let base = spawn_mock(MockConfig { ttft_ms: 1.0, itl_ms: 0.0, ..Default::default() }).await;
    let mut s = spec(&base);
    s.workload = serde_json::from_value(json!({"kind": "jsonl", "path": "x.jsonl", "output_tokens": 100_000})).unwrap();
    let report = preflight(&s, &mut |_| {}).await.unwrap();
    assert_eq!((report.output_length_requested, report.output_length_received), (1024, 1024));
}
