//! Which inference server the mock plays (`--identity`): the endpoints and `owned_by` by which that server can be
//! recognised, and which of the length-forcing request fields it honours. Each answer copies the shape of the
//! real server's (fields a detector may read are all there; the rest is trimmed):
//!
//! | identity    | recognised by                                                            |
//! |-------------|--------------------------------------------------------------------------|
//! | `mock`      | `GET /version` → `{"version", "server": "tokenscope-mock"}`, `owned_by: "tokenscope"` |
//! | `vllm`      | `GET /version` → `{"version"}`, `owned_by: "vllm"`                        |
//! | `sglang`    | `GET /get_model_info` (`model_path`, `is_generation`), `/get_server_info`, `owned_by: "sglang"` |
//! | `tgi`       | `GET /info` → `{"model_id", "router": "text-generation-router", "version"…}` |
//! | `llama-cpp` | `GET /props` → `{"default_generation_settings", "total_slots"…}`, `owned_by: "llamacpp"` |
//! | `ollama`    | `GET /` → `Ollama is running`, `GET /api/version`, `GET /api/tags`, `owned_by: "library"` |
//! | `lmdeploy`  | `owned_by: "lmdeploy"`                                                    |
//! | `trtllm`    | `GET /version` → `{"version"}`, `owned_by: "tensorrt_llm"`                |
//! | `generic`   | nothing (`owned_by: "system"`)                                           |

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::Mock;

/// The server the mock pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Identity {
    /// tokenscope's own mock: `GET /version` says `"server": "tokenscope-mock"`.
    #[default]
    Mock,
    /// vLLM (`vllm serve`).
    Vllm,
    /// SGLang (`python -m sglang.launch_server`).
    Sglang,
    /// Hugging Face Text Generation Inference.
    Tgi,
    /// llama.cpp's `llama-server`.
    LlamaCpp,
    /// Ollama.
    Ollama,
    /// LMDeploy's `api_server`.
    Lmdeploy,
    /// TensorRT-LLM's `trtllm-serve`.
    Trtllm,
    /// An OpenAI-compatible server with nothing that identifies it.
    Generic,
}

/// The length-forcing request fields a server honours (the ones tokenscope's backend presets send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Honours {
    /// `ignore_eos: true` keeps generating past the end-of-sequence token.
    pub ignore_eos: bool,
    /// `min_tokens` (vLLM, SGLang, TensorRT-LLM) is a floor on the output length.
    pub min_tokens: bool,
    /// `min_new_tokens` (LMDeploy) is a floor on the output length.
    pub min_new_tokens: bool,
    /// `options.num_predict` (Ollama) fixes the output length, as tokenscope's Ollama preset assumes.
    pub num_predict: bool,
}

impl Identity {
    /// The `owned_by` of every model in `/v1/models`.
    pub(super) const fn owned_by(self) -> &'static str {
        match self {
            Identity::Mock => "tokenscope",
            Identity::Vllm => "vllm",
            Identity::Sglang => "sglang",
            // TGI answers with the model's own organisation; the mock has none.
            Identity::Tgi => "text-generation-inference",
            Identity::LlamaCpp => "llamacpp",
            Identity::Ollama => "library",
            Identity::Lmdeploy => "lmdeploy",
            Identity::Trtllm => "tensorrt_llm",
            Identity::Generic => "system",
        }
    }

    /// The fields this server reads. The mock's own identity and `generic` honour every one, so any preset gets
    /// exact lengths from them; the others honour only their own, so a wrong `--backend` shows.
    pub(super) const fn honours(self) -> Honours {
        let (ignore_eos, min_tokens, min_new_tokens, num_predict) = match self {
            Identity::Mock | Identity::Generic => (true, true, true, true),
            Identity::Vllm | Identity::Sglang | Identity::Trtllm => (true, true, false, false),
            Identity::Lmdeploy => (true, false, true, false),
            // llama.cpp's `n_predict` is a cap, not a floor: only `ignore_eos` forces the length.
            Identity::LlamaCpp => (true, false, false, false),
            Identity::Ollama => (false, false, false, true),
            // TGI's OpenAI API has no way to force a length.
            Identity::Tgi => (false, false, false, false),
        };
        Honours { ignore_eos, min_tokens, min_new_tokens, num_predict }
    }

    /// Extra fields of a `/v1/models` entry.
    pub(super) fn model_card_extras(self, card: &mut Value) {
        if self == Identity::Vllm {
            card["max_model_len"] = json!(super::tokenize::MAX_MODEL_LEN);
        }
    }

    /// The identifying routes this server exposes.
    pub(super) fn routes(self) -> Router<Arc<Mock>> {
        let r = Router::new();
        match self {
            Identity::Mock => r.route("/version", get(mock_version)),
            Identity::Vllm => r.route("/version", get(|s: State<Arc<Mock>>| version(s, "0.10.1"))),
            Identity::Trtllm => r.route("/version", get(|s: State<Arc<Mock>>| version(s, "1.0.0"))),
            Identity::Sglang => r
                .route("/get_model_info", get(sglang_model_info))
                .route("/get_server_info", get(sglang_server_info))
                .route("/server_info", get(sglang_server_info)),
            Identity::Tgi => r.route("/info", get(tgi_info)),
            Identity::LlamaCpp => r.route("/props", get(llama_props)),
            Identity::Ollama => r
                .route("/", get(|| async { "Ollama is running" }))
                .route("/api/version", get(|s: State<Arc<Mock>>| version(s, "0.11.4")))
                .route("/api/tags", get(ollama_tags)),
            Identity::Lmdeploy | Identity::Generic => r,
        }
    }
}

/// Answers `body` once the model has "loaded", 503 before.
fn when_ready(mock: &Mock, body: Value) -> Response {
    if mock.loading() {
        return super::error_body::loading();
    }
    Json(body).into_response()
}

async fn mock_version(State(mock): State<Arc<Mock>>) -> Response {
    when_ready(&mock, json!({"version": env!("CARGO_PKG_VERSION"), "server": "tokenscope-mock"}))
}

async fn version(State(mock): State<Arc<Mock>>, version: &'static str) -> Response {
    when_ready(&mock, json!({ "version": version }))
}

async fn sglang_model_info(State(mock): State<Arc<Mock>>) -> Response {
    let model = &mock.cfg.model;
    let body = json!({"model_path": model, "tokenizer_path": model, "is_generation": true,
                      "preferred_sampling_params": null, "weight_version": "default"});
    when_ready(&mock, body)
}

async fn sglang_server_info(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({"model_path": mock.cfg.model, "tp_size": 1, "context_length": super::tokenize::MAX_MODEL_LEN,
                      "internal_states": [], "version": "0.5.0"});
    when_ready(&mock, body)
}

async fn tgi_info(State(mock): State<Arc<Mock>>) -> Response {
    let max = super::tokenize::MAX_MODEL_LEN;
    let body = json!({"model_id": mock.cfg.model, "model_sha": null, "model_pipeline_tag": "text-generation",
                      "max_concurrent_requests": 128, "max_best_of": 2, "max_stop_sequences": 4,
                      "max_input_tokens": max - 1, "max_total_tokens": max, "validation_workers": 2,
                      "max_client_batch_size": 4, "router": "text-generation-router", "version": "3.3.4",
                      "sha": null, "docker_label": null});
    when_ready(&mock, body)
}

async fn llama_props(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({
        "default_generation_settings": {"n_ctx": super::tokenize::MAX_MODEL_LEN, "params": {"n_predict": -1}},
        "total_slots": 1,
        "model_path": format!("/models/{}.gguf", mock.cfg.model),
        "chat_template": "",
        "build_info": "b0000-tokenscope-mock",
    });
    when_ready(&mock, body)
}

async fn ollama_tags(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({"models": [{"name": mock.cfg.model, "model": mock.cfg.model, "size": 0, "digest": "",
                                  "details": {"format": "gguf", "family": "mock"}}]});
    when_ready(&mock, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_are_the_cli_spellings() {
        let names: Vec<String> = Identity::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().into())
            .collect();
        assert_eq!(names, ["mock", "vllm", "sglang", "tgi", "llama-cpp", "ollama", "lmdeploy", "trtllm", "generic"]);
    }

    #[test]
    fn only_the_permissive_identities_honour_every_field() {
        let all = Honours { ignore_eos: true, min_tokens: true, min_new_tokens: true, num_predict: true };
        assert_eq!(Identity::Mock.honours(), all);
        assert_eq!(Identity::Generic.honours(), all);
        assert!(!Identity::Tgi.honours().ignore_eos && !Identity::Tgi.honours().min_tokens);
        assert!(Identity::Lmdeploy.honours().min_new_tokens && !Identity::Lmdeploy.honours().min_tokens);
    }
}
