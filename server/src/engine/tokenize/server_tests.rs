//! Tests of `ServerTokenizer` and of server calibration, against in-process imitations of llama.cpp, vLLM,
//! SGLang and TGI `/tokenize` endpoints that count with a fixture tokenizer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::hf::HfTokenizer;
use super::server::{ServerFlavor, ServerTokenizer};
use super::synth::{PromptSynth, SynthSource};
use super::test_util::{load, serve, Reply, Request, BPE, SPM_BPE};

const BOS: u32 = 0;

fn ids(tok: &HfTokenizer, text: &str, add_bos: bool) -> Vec<u32> {
    let mut ids = tok.encode_ids(text).unwrap();
    if add_bos {
        ids.insert(0, BOS);
    }
    ids
}

/// llama.cpp: `content` → `{"tokens": [...]}`; a body without `content` gets `{"tokens": []}` (as llama.cpp
/// does).
fn llama_cpp(tok: HfTokenizer) -> impl Fn(Request) -> Reply {
    move |req| {
        if req.path != "/tokenize" {
            return Reply::status(404);
        }
        let body = req.json().unwrap_or(Value::Null);
        let tokens = match body.get("content").and_then(Value::as_str) {
            Some(text) => ids(&tok, text, body.get("add_special").and_then(Value::as_bool).unwrap_or(false)),
            None => Vec::new(),
        };
        Reply::json(200, &json!({ "tokens": tokens }))
    }
}

/// vLLM: `model` (if given) must be the served name, `prompt` is required; answers count, tokens and
/// max_model_len. `honour_special = false` imitates a server that always adds BOS.
fn vllm(tok: HfTokenizer, served: &'static str, honour_special: bool) -> impl Fn(Request) -> Reply {
    move |req| {
        if req.path != "/tokenize" {
            return Reply::status(404);
        }
        let body = req.json().unwrap_or(Value::Null);
        if let Some(model) = body.get("model").and_then(Value::as_str) {
            if model != served {
                return Reply::json(
                    404,
                    &json!({ "error": { "message": format!("The model `{model}` does not exist.") } }),
                );
            }
        }
        let Some(text) = body.get("prompt").and_then(Value::as_str) else {
            return Reply::json(400, &json!({ "error": { "message": "Field required: prompt" } }));
        };
        let special = body.get("add_special_tokens").and_then(Value::as_bool).unwrap_or(true);
        let tokens = ids(&tok, text, special || !honour_special);
        Reply::json(200, &json!({ "count": tokens.len(), "max_model_len": 8192, "tokens": tokens, "token_strs": null }))
    }
}

/// TGI: `inputs` → a list of `{"id", "text", "start", "stop"}` with a zero-width BOS first. With `strict`, a
/// body with fields TGI does not know is refused (422), as a stricter version might.
fn tgi(tok: HfTokenizer, strict: bool) -> impl Fn(Request) -> Reply {
    move |req| {
        if req.path != "/tokenize" {
            return Reply::status(404);
        }
        let body = req.json().unwrap_or(Value::Null);
        let Some(text) = body.get("inputs").and_then(Value::as_str) else {
            return Reply::json(422, &json!({ "error": "missing field `inputs`", "error_type": "validation" }));
        };
        if strict && body.as_object().is_some_and(|o| o.len() > 1) {
            return Reply::json(422, &json!({ "error": "unknown field", "error_type": "validation" }));
        }
        let encoding = tok.inner().encode_char_offsets(text, false).unwrap();
        let mut list = vec![json!({ "id": BOS, "text": "", "start": 0, "stop": 0 })];
        for (id, (start, stop)) in encoding.get_ids().iter().zip(encoding.get_offsets()) {
            list.push(json!({ "id": id, "text": text.chars().skip(*start).take(stop - start).collect::<String>(), "start": start, "stop": stop }));
        }
        Reply::json(200, &Value::Array(list))
    }
}

#[tokio::test]
async fn detects_llama_cpp() {
    let tok = load(BPE);
    let base = serve(llama_cpp(tok.clone())).await;
    let client = reqwest::Client::new();
    let server = ServerTokenizer::detect(&client, &base, "whatever").await.expect("detected");
    assert_eq!(server.flavor(), ServerFlavor::LlamaCpp);
    assert_eq!(server.url(), format!("{base}/tokenize"));
    let text = "the people of the world, and the time";
    assert_eq!(server.count(text).await.unwrap(), tok.count(text));
}

#[tokio::test]
async fn detects_vllm_with_and_without_the_served_name() {
    let tok = load(BPE);
    let base = serve(vllm(tok.clone(), "served-model", true)).await;
    let client = reqwest::Client::new();
    let text = "the people of the world, and the time";
    for model in ["served-model", "another-name", ""] {
        // A trailing /v1/ is tolerated.
        let server = ServerTokenizer::detect(&client, &format!("{base}/v1/"), model).await.expect("detected");
        assert_eq!(server.flavor(), ServerFlavor::VllmSglang);
        assert_eq!(server.count(text).await.unwrap(), tok.count(text), "{model}");
    }
}

#[tokio::test]
async fn detects_sglang_shape() {
    // SGLang: same body as vLLM, answer with extra fields and the model name ignored.
    let tok = load(BPE);
    let counter = tok.clone();
    let base = serve(move |req: Request| {
        let body = req.json().unwrap_or(Value::Null);
        match body.get("prompt").and_then(Value::as_str) {
            Some(text) => {
                let tokens = ids(&counter, text, false);
                Reply::json(
                    200,
                    &json!({ "tokens": tokens, "count": tokens.len(), "max_model_len": 32768, "extra": {"a": 1} }),
                )
            }
            None => Reply::json(400, &json!({ "detail": "prompt missing" })),
        }
    })
    .await;
    let server = ServerTokenizer::detect(&reqwest::Client::new(), &base, "default").await.expect("detected");
    assert_eq!(server.flavor(), ServerFlavor::VllmSglang);
    assert_eq!(server.count("the world").await.unwrap(), 2);
}

#[tokio::test]
async fn detects_tgi_and_leaves_out_zero_width_specials() {
    let tok = load(BPE);
    for strict in [false, true] {
        let base = serve(tgi(tok.clone(), strict)).await;
        let server = ServerTokenizer::detect(&reqwest::Client::new(), &base, "tgi").await.expect("detected");
        assert_eq!(server.flavor(), ServerFlavor::Tgi);
        let text = "the people of the world";
        assert_eq!(server.count(text).await.unwrap(), tok.count(text), "strict={strict}");
    }
}

#[tokio::test]
async fn no_tokenize_endpoint_means_none() {
    let client = reqwest::Client::new();
    let not_found = serve(|_| Reply::status(404)).await;
    assert!(ServerTokenizer::detect(&client, &not_found, "m").await.is_none());
    // A server answering 200 with something else (a web page, an unrelated JSON) is not a tokenizer either.
    let html = serve(|_| Reply { status: 200, headers: vec![], body: b"<html>hi</html>".to_vec() }).await;
    assert!(ServerTokenizer::detect(&client, &html, "m").await.is_none());
    let other = serve(|_| Reply::json(200, &json!({ "tokens": "many", "count": -1 }))).await;
    assert!(ServerTokenizer::detect(&client, &other, "m").await.is_none());
    // Nothing listening.
    assert!(ServerTokenizer::detect(&client, "http://127.0.0.1:9", "m").await.is_none());
}

#[tokio::test]
async fn count_errors_name_the_endpoint() {
    let tok = load(BPE);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let inner = llama_cpp(tok);
    // Works for detection, then fails.
    let base =
        serve(move |req| if seen.fetch_add(1, Ordering::SeqCst) == 0 { inner(req) } else { Reply::status(500) }).await;
    let server = ServerTokenizer::detect(&reqwest::Client::new(), &base, "m").await.expect("detected");
    let e = server.count("the world").await.expect_err("500");
    let msg = e.to_string();
    assert!(msg.contains(&format!("{base}/tokenize")) && msg.contains("500"), "{msg}");
}

async fn calibrated(handler: impl Fn(Request) -> Reply + Send + Sync + 'static) -> PromptSynth {
    let base = serve(handler).await;
    let server = ServerTokenizer::detect(&reqwest::Client::new(), &base, "served-model").await.expect("detected");
    PromptSynth::from_server(&server).await.expect("calibrated")
}

#[tokio::test]
async fn server_calibration_gives_exact_prompts() {
    for fixture in [BPE, SPM_BPE] {
        let tok = load(fixture);
        let synth = calibrated(llama_cpp(tok.clone())).await;
        assert_eq!(synth.source(), SynthSource::Server);
        let cal = synth.calibration().expect("calibration").clone();
        assert!(cal.words_kept >= 100, "{fixture}: {cal:?}");
        assert_eq!(cal.special_tokens, 0, "{fixture}");
        assert_eq!(cal.offset, 0, "{fixture}");
        assert_eq!(cal.max_abs_error, 0, "{fixture}: {cal:?}");
        assert_eq!(cal.samples.len(), 10);
        assert!(synth.label().starts_with("server llama.cpp http://127.0.0.1:"), "{}", synth.label());
        // Prompts need no server, and count exactly by the server's tokenizer.
        for n in [1, 2, 3, 10, 100, 1000, 3000] {
            for index in [0, 1, 99] {
                let p = synth.generate(3, index, n);
                assert!(!p.exact, "not measured");
                assert_eq!(p.tokens, n);
                assert_eq!(tok.count(&p.text), n, "{fixture} n={n} index={index}");
            }
        }
    }
}

#[tokio::test]
async fn server_calibration_subtracts_tokens_added_to_every_text() {
    let tok = load(BPE);
    // A vLLM-like server that adds BOS although asked not to.
    let synth = calibrated(vllm(tok.clone(), "served-model", false)).await;
    let cal = synth.calibration().expect("calibration");
    assert_eq!(cal.special_tokens, 1);
    assert_eq!(cal.max_abs_error, 0, "{cal:?}");
    assert_eq!(tok.count(&synth.prompt(1, 2, 500)), 500);

    let synth = calibrated(tgi(tok.clone(), true)).await;
    assert_eq!(synth.calibration().expect("calibration").max_abs_error, 0);
    assert_eq!(tok.count(&synth.prompt(1, 2, 77)), 77);
}

#[tokio::test]
async fn server_calibration_measures_a_constant_offset() {
    // A server that counts one token more for texts of three words or more (as a tokenizer would whose first
    // word of a long text splits in two): calibration finds offset 1 and prompts get one word less.
    let tok = load(BPE);
    let counter = tok.clone();
    let synth = calibrated(move |req: Request| {
        let body = req.json().unwrap_or(Value::Null);
        let Some(text) = body.get("content").and_then(Value::as_str) else {
            return Reply::json(200, &json!({ "tokens": [] }));
        };
        let mut tokens = ids(&counter, text, false);
        if text.split(' ').count() > 2 {
            tokens.push(BOS);
        }
        Reply::json(200, &json!({ "tokens": tokens }))
    })
    .await;
    let cal = synth.calibration().expect("calibration");
    assert_eq!(cal.offset, 1, "{cal:?}");
    // After the correction the samples count right (prompts of 2 tokens, 1 word, would not; none is sampled).
    assert_eq!(cal.max_abs_error, 0, "{cal:?}");
    assert_eq!(tok.count(&synth.prompt(5, 6, 1000)) + 1, 1000);
}

#[tokio::test]
async fn server_calibration_fails_without_one_token_words() {
    // Character-level counting: no word is one token.
    let synth = async {
        let base = serve(|req: Request| {
            let body = req.json().unwrap_or(Value::Null);
            let Some(text) = body.get("content").and_then(Value::as_str) else {
                return Reply::json(200, &json!({ "tokens": [] }));
            };
            let tokens: Vec<u32> = text.bytes().map(u32::from).collect();
            Reply::json(200, &json!({ "tokens": tokens }))
        })
        .await;
        let server = ServerTokenizer::detect(&reqwest::Client::new(), &base, "m").await.expect("detected");
        PromptSynth::from_server(&server).await
    }
    .await;
    let e = synth.expect_err("cannot calibrate");
    assert!(e.to_string().contains("one token"), "{e}");
}
