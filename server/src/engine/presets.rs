//! Backend presets: the request fields each inference server honours to generate exactly `max_tokens` tokens.
//! Without them a model stops at its end-of-sequence token and runs of different lengths cannot be compared.

use serde::Serialize;

use protocol::spec::Backend;

/// The field a backend reads as its minimum output length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthField {
    /// `min_tokens: max_tokens` (vLLM, SGLang, TensorRT-LLM).
    MinTokens,
    /// `min_new_tokens: max_tokens` (LMDeploy).
    MinNewTokens,
    /// `n_predict: max_tokens` (llama.cpp).
    NPredict,
    /// `options: {num_predict: max_tokens}` (Ollama).
    OllamaNumPredict,
}

/// How one backend is asked to produce exactly `max_tokens` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Send `ignore_eos: true`.
    pub ignore_eos: bool,
    /// The length field to send, if any.
    pub length: Option<LengthField>,
}

impl Preset {
    /// True when the preset sends anything beyond plain OpenAI fields.
    pub const fn forces_length(&self) -> bool {
        self.ignore_eos || self.length.is_some()
    }
}

/// The table: one row per backend.
pub const fn preset(backend: Backend) -> Preset {
    use LengthField::*;
    let (ignore_eos, length) = match backend {
        Backend::Vllm => (true, Some(MinTokens)),
        Backend::Sglang => (true, Some(MinTokens)),
        Backend::Trtllm => (true, Some(MinTokens)),
        Backend::Lmdeploy => (true, Some(MinNewTokens)),
        Backend::LlamaCpp => (true, Some(NPredict)),
        Backend::Ollama => (false, Some(OllamaNumPredict)),
        Backend::Mock => (true, None),
        Backend::Tgi => (false, None),
        // Not yet detected (preflight resolves it): nothing a server could reject.
        Backend::Generic | Backend::Auto => (false, None),
    };
    Preset { ignore_eos, length }
}

/// Ollama's `options` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OllamaOptions {
    /// Tokens to generate.
    pub num_predict: u32,
}

/// The preset's fields for one request, flattened into the request body; absent fields are not sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PresetFields {
    /// Keep generating past the end-of-sequence token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_eos: Option<bool>,
    /// vLLM / SGLang / TensorRT-LLM minimum length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<u32>,
    /// LMDeploy minimum length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_new_tokens: Option<u32>,
    /// llama.cpp length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_predict: Option<u32>,
    /// Ollama options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<OllamaOptions>,
}

impl PresetFields {
    /// The fields `backend` needs to generate exactly `max_tokens` tokens.
    pub fn new(backend: Backend, max_tokens: u32) -> Self {
        let p = preset(backend);
        let mut fields = PresetFields { ignore_eos: p.ignore_eos.then_some(true), ..Default::default() };
        match p.length {
            Some(LengthField::MinTokens) => fields.min_tokens = Some(max_tokens),
            Some(LengthField::MinNewTokens) => fields.min_new_tokens = Some(max_tokens),
            Some(LengthField::NPredict) => fields.n_predict = Some(max_tokens),
            Some(LengthField::OllamaNumPredict) => fields.options = Some(OllamaOptions { num_predict: max_tokens }),
            None => {}
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(backend: Backend) -> serde_json::Value {
        serde_json::to_value(PresetFields::new(backend, 64)).unwrap()
    }

    #[test]
    fn every_backend_sends_its_fields() {
        let forced = json!({"ignore_eos": true, "min_tokens": 64});
        assert_eq!(fields(Backend::Vllm), forced);
        assert_eq!(fields(Backend::Sglang), forced);
        assert_eq!(fields(Backend::Trtllm), forced);
        assert_eq!(fields(Backend::Lmdeploy), json!({"ignore_eos": true, "min_new_tokens": 64}));
        assert_eq!(fields(Backend::LlamaCpp), json!({"ignore_eos": true, "n_predict": 64}));
        assert_eq!(fields(Backend::Ollama), json!({"options": {"num_predict": 64}}));
        assert_eq!(fields(Backend::Mock), json!({"ignore_eos": true}));
        assert_eq!(fields(Backend::Tgi), json!({}));
        assert_eq!(fields(Backend::Generic), json!({}));
        assert_eq!(fields(Backend::Auto), json!({}), "an unresolved `auto` sends plain fields");
    }

    #[test]
    fn only_plain_backends_leave_length_free() {
        assert!(!preset(Backend::Generic).forces_length());
        assert!(!preset(Backend::Auto).forces_length());
        assert!(!preset(Backend::Tgi).forces_length());
        assert!(preset(Backend::Ollama).forces_length());
        assert!(preset(Backend::Mock).forces_length());
    }
}
