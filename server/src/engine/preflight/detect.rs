//! Which inference server is behind a target, from what it exposes without generating anything: the `owned_by`
//! of `/v1/models` (already fetched while waiting for readiness) and five GETs sent at once with a short timeout.
//! Never fails: what does not answer, or answers something else, is simply no evidence.
//!
//! What each server is known by (from its source):
//!
//! | server        | evidence                                                                                 |
//! |---------------|------------------------------------------------------------------------------------------|
//! | vLLM          | `owned_by: "vllm"` (`ModelCard`); `GET /version` → `{"version"}`                          |
//! | SGLang        | `owned_by: "sglang"`; `GET /get_model_info` → `{"model_path", "is_generation"…}`          |
//! | TGI           | `GET /info` → `{"model_id", "router": "text-generation-router", "version"…}`              |
//! | llama.cpp     | `owned_by: "llamacpp"`; `GET /props` → `{"default_generation_settings", "total_slots"…}`   |
//! | Ollama        | `GET /api/version` → `{"version"}`                                                        |
//! | LMDeploy      | `owned_by: "lmdeploy"`                                                                    |
//! | TensorRT-LLM  | `owned_by: "tensorrt_llm"`; `GET /version` → `{"version"}` (like vLLM's)                  |
//! | tokenscope    | `GET /version` → `{"server": "tokenscope-mock"}`                                           |
//!
//! A server's name for itself in `owned_by` beats the endpoints (a proxy may pass some of them through), and a
//! bare `/version` comes last: vLLM and `trtllm-serve` both answer it, and both take the same length fields.
//!
//! The evidence names what was seen in our words and quotes no value the server sent (a version string, a router
//! name) beyond the fixed ones it was matched against: preflight's answers carry no text of the target's.

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Client;
use serde_json::Value;

use protocol::spec::Backend;

use crate::engine::openai::server_url;

/// Limit on each detection GET, connect to last byte.
const DETECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bodies longer than this are not read (a `/props` with a large chat template is ~20 KB).
const BODY_LIMIT: usize = 1 << 20;

/// What the identifying endpoints answered: each 2xx JSON body, and the `owned_by` values of `/v1/models`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Answers {
    /// `/v1/models` `owned_by` of each model (empty ones left out).
    pub owned_by: Vec<String>,
    /// `GET /version` (vLLM, TensorRT-LLM, the mock).
    pub version: Option<Value>,
    /// `GET /get_model_info` (SGLang).
    pub get_model_info: Option<Value>,
    /// `GET /info` (TGI).
    pub info: Option<Value>,
    /// `GET /props` (llama.cpp).
    pub props: Option<Value>,
    /// `GET /api/version` (Ollama).
    pub api_version: Option<Value>,
}

/// What detection concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detection {
    /// The server recognised, if any.
    pub backend: Option<Backend>,
    /// Every fact that pointed at a server, the deciding one first (`/v1/models owned_by "vllm" → vllm`).
    pub evidence: Vec<String>,
}

/// Sends the identifying GETs to `base` at once and collects what they answered.
pub(crate) async fn fetch(client: &Client, base: &str, auth: Option<&HeaderValue>, owned_by: Vec<String>) -> Answers {
    let get = |path: &'static str| get_json(client, base, path, auth);
    let (version, get_model_info, info, props, api_version) =
        futures::join!(get("version"), get("get_model_info"), get("info"), get("props"), get("api/version"));
    Answers { owned_by, version, get_model_info, info, props, api_version }
}

/// `GET {base}/{path}` → its JSON body, when it answers 2xx with JSON in time.
async fn get_json(client: &Client, base: &str, path: &str, auth: Option<&HeaderValue>) -> Option<Value> {
    let mut req = client.get(server_url(base, path).ok()?).timeout(DETECT_TIMEOUT);
    if let Some(auth) = auth {
        req = req.header(AUTHORIZATION, auth.clone());
    }
    let mut resp = req.send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > BODY_LIMIT {
            return None;
        }
    }
    serde_json::from_slice(&body).ok()
}

/// The CLI's name of a backend (`--backend NAME`).
pub(crate) const fn cli_name(b: Backend) -> &'static str {
    protocol::preflight::backend_cli_name(b)
}

/// A server's `owned_by` name for itself.
fn owner(owned_by: &str) -> Option<Backend> {
    Some(match owned_by {
        "vllm" => Backend::Vllm,
        "sglang" => Backend::Sglang,
        "lmdeploy" => Backend::Lmdeploy,
        "tensorrt_llm" => Backend::Trtllm,
        "llamacpp" => Backend::LlamaCpp,
        "tokenscope" => Backend::Mock,
        _ => return None,
    })
}

/// A string field of a JSON object.
fn str_field<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v?.get(key)?.as_str()
}

/// Names the server from what it answered.
pub(crate) fn classify(a: &Answers) -> Detection {
    // (strength: lower wins, backend, fact)
    let mut found: Vec<(u8, Backend, String)> = Vec::new();
    if str_field(a.version.as_ref(), "server") == Some("tokenscope-mock") {
        found.push((0, Backend::Mock, r#"GET /version: "server": "tokenscope-mock""#.into()));
    }
    for o in &a.owned_by {
        if let Some(b) = owner(o) {
            found.push((1, b, format!("/v1/models owned_by {o:?}")));
        }
    }
    let info = a.get_model_info.as_ref();
    if info.and_then(|v| v.get("model_path")).is_some() && info.and_then(|v| v.get("is_generation")).is_some() {
        found.push((2, Backend::Sglang, "GET /get_model_info: model_path and is_generation".into()));
    }
    if let Some(router) = str_field(a.info.as_ref(), "router").filter(|r| r.contains("text-generation")) {
        let fact = if router == "text-generation-router" {
            r#"GET /info: "router": "text-generation-router""#
        } else {
            r#"GET /info: a "router" naming text-generation"#
        };
        found.push((2, Backend::Tgi, fact.into()));
    }
    if a.props.as_ref().and_then(|p| p.get("default_generation_settings")).is_some_and(Value::is_object) {
        found.push((2, Backend::LlamaCpp, "GET /props: default_generation_settings".into()));
    }
    if str_field(a.api_version.as_ref(), "version").is_some() {
        found.push((2, Backend::Ollama, r#"GET /api/version: {"version": …}"#.into()));
    }
    if str_field(a.version.as_ref(), "version").is_some() && str_field(a.version.as_ref(), "server").is_none() {
        found.push((3, Backend::Vllm, r#"GET /version: {"version": …} (vLLM or trtllm-serve)"#.into()));
    }
    found.sort_by_key(|f| f.0);
    let backend = found.first().map(|f| f.1);
    let evidence = found.into_iter().map(|(_, b, fact)| format!("{fact} → {}", cli_name(b))).collect();
    Detection { backend, evidence }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owned(o: &str) -> Answers {
        Answers { owned_by: vec![o.into()], ..Default::default() }
    }

    #[test]
    fn each_server_is_named_by_its_own_evidence() {
        let version = |v: Value| Answers { version: Some(v), ..Default::default() };
        let cases = [
            (owned("vllm"), Backend::Vllm),
            (version(json!({"version": "0.10.1"})), Backend::Vllm),
            (owned("sglang"), Backend::Sglang),
            (
                Answers {
                    get_model_info: Some(json!({"model_path": "m", "is_generation": true})),
                    ..Default::default()
                },
                Backend::Sglang,
            ),
            (
                Answers {
                    info: Some(json!({"model_id": "m", "router": "text-generation-router"})),
                    ..Default::default()
                },
                Backend::Tgi,
            ),
            (owned("llamacpp"), Backend::LlamaCpp),
            (
                Answers { props: Some(json!({"default_generation_settings": {"n_ctx": 4096}})), ..Default::default() },
                Backend::LlamaCpp,
            ),
            (Answers { api_version: Some(json!({"version": "0.11.4"})), ..Default::default() }, Backend::Ollama),
            (owned("lmdeploy"), Backend::Lmdeploy),
            (owned("tensorrt_llm"), Backend::Trtllm),
            (version(json!({"version": "0.1.0", "server": "tokenscope-mock"})), Backend::Mock),
        ];
        for (answers, backend) in cases {
            let d = classify(&answers);
            assert_eq!(d.backend, Some(backend), "{answers:?}");
            assert_eq!(d.evidence.len(), 1, "{:?}", d.evidence);
            assert!(d.evidence[0].ends_with(&format!("→ {}", cli_name(backend))), "{:?}", d.evidence);
        }
    }

    #[test]
    fn evidence_quotes_no_value_the_server_sent() {
        let a = Answers {
            version: Some(json!({"version": "SECRET-1"})),
            info: Some(json!({"router": "text-generation-SECRET-2"})),
            api_version: Some(json!({"version": "SECRET-3"})),
            owned_by: vec!["SECRET-4".into()],
            ..Default::default()
        };
        let d = classify(&a);
        assert_eq!(d.evidence.len(), 3, "{:?}", d.evidence);
        assert!(d.evidence.iter().all(|e| !e.contains("SECRET")), "{:?}", d.evidence);
    }

    #[test]
    fn owned_by_beats_a_bare_version() {
        let a = Answers { version: Some(json!({"version": "1.0.0"})), ..owned("tensorrt_llm") };
        let d = classify(&a);
        assert_eq!(d.backend, Some(Backend::Trtllm));
        assert_eq!(d.evidence[0], "/v1/models owned_by \"tensorrt_llm\" → trtllm");
        assert!(d.evidence[1].starts_with("GET /version"), "every fact is kept: {:?}", d.evidence);
    }

    #[test]
    fn unknown_or_malformed_answers_are_no_evidence() {
        let a = Answers {
            owned_by: vec!["openai".into(), "system".into()],
            version: Some(json!("0.1")),
            get_model_info: Some(json!({"model_path": "m"})),
            info: Some(json!({"router": 3})),
            props: Some(json!({"default_generation_settings": "x"})),
            api_version: Some(json!({"v": "1"})),
        };
        assert_eq!(classify(&a), Detection { backend: None, evidence: vec![] });
        assert_eq!(classify(&Answers::default()).backend, None);
    }

    #[test]
    fn cli_names_match_the_flag_values() {
        use clap::ValueEnum;
        for b in Backend::value_variants() {
            let name = b.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(cli_name(*b)));
        }
    }
}
