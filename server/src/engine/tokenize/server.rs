//! Token counting by the target server's own tokenize endpoint, for when no local tokenizer is given.
//!
//! All four servers answer `POST {base}/tokenize`, with different bodies:
//!
//! | server | request | answer |
//! | --- | --- | --- |
//! | llama.cpp | `{"content": t, "add_special": false}` | `{"tokens": [ids]}` (objects `{"id", "piece"}` with `with_pieces`) |
//! | vLLM, SGLang | `{"model": m, "prompt": t, "add_special_tokens": false}` | `{"tokens": [ids], "count": n, "max_model_len": l}` |
//! | TGI | `{"inputs": t, "add_special_tokens": false}` | `[{"id", "text", "start", "stop"}, ...]` |
//!
//! llama.cpp answers `{"tokens": []}` to a body without `content`, so an answer counts only if it has tokens for
//! a non-empty probe. TGI versions that ignore `add_special_tokens` add BOS; those tokens have empty offsets
//! (`start == stop`) and are not counted. Any remaining constant overhead is measured by `PromptSynth`'s
//! calibration.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

use super::error::TokenizerError;

/// The text sent to find out which body the server understands.
const PROBE: &str = "The quick brown fox jumps over the lazy dog.";
/// Limit on one detection request.
const DETECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit on one count request.
const COUNT_TIMEOUT: Duration = Duration::from_secs(60);

/// Which tokenize dialect the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFlavor {
    /// llama.cpp's `llama-server`.
    LlamaCpp,
    /// vLLM or SGLang (same request and answer).
    VllmSglang,
    /// Hugging Face text-generation-inference.
    Tgi,
}

impl fmt::Display for ServerFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LlamaCpp => "llama.cpp",
            Self::VllmSglang => "vLLM/SGLang",
            Self::Tgi => "TGI",
        })
    }
}

/// The request body variants tried, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    LlamaCpp,
    /// vLLM/SGLang with the model name (a server serving another name answers 404, hence the variant below).
    OpenAiWithModel,
    OpenAiNoModel,
    TgiNoSpecial,
    TgiPlain,
}

impl Dialect {
    const ALL: [Dialect; 5] =
        [Self::LlamaCpp, Self::OpenAiWithModel, Self::OpenAiNoModel, Self::TgiNoSpecial, Self::TgiPlain];

    fn flavor(self) -> ServerFlavor {
        match self {
            Self::LlamaCpp => ServerFlavor::LlamaCpp,
            Self::OpenAiWithModel | Self::OpenAiNoModel => ServerFlavor::VllmSglang,
            Self::TgiNoSpecial | Self::TgiPlain => ServerFlavor::Tgi,
        }
    }

    fn body(self, model: &str, text: &str) -> Value {
        match self {
            Self::LlamaCpp => json!({ "content": text, "add_special": false }),
            Self::OpenAiWithModel => json!({ "model": model, "prompt": text, "add_special_tokens": false }),
            Self::OpenAiNoModel => json!({ "prompt": text, "add_special_tokens": false }),
            Self::TgiNoSpecial => json!({ "inputs": text, "add_special_tokens": false }),
            Self::TgiPlain => json!({ "inputs": text }),
        }
    }

    /// The token count in an answer, if the answer has this dialect's shape.
    fn parse(self, answer: &Value) -> Option<u32> {
        match self.flavor() {
            ServerFlavor::LlamaCpp => token_list_len(answer.get("tokens")?),
            ServerFlavor::VllmSglang => {
                let listed = answer.get("tokens").and_then(token_list_len);
                let counted = answer.get("count").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
                listed.or(counted)
            }
            ServerFlavor::Tgi => tgi_count(answer),
        }
    }
}

/// Length of a list of ids (numbers) or of token objects with an `id`.
fn token_list_len(tokens: &Value) -> Option<u32> {
    let list = tokens.as_array()?;
    let well_formed = list.iter().all(|t| t.is_u64() || t.get("id").is_some_and(Value::is_u64));
    well_formed.then(|| u32::try_from(list.len()).ok()).flatten()
}

/// TGI's list of `{"id", "text", "start", "stop"}`, less the zero-width (special) tokens, unless all are
/// zero-width (TGI's answer when it has no offsets).
fn tgi_count(answer: &Value) -> Option<u32> {
    let list = answer.as_array()?;
    let mut spans = 0u32;
    for token in list {
        token.get("id").filter(|id| id.is_u64())?;
        let start = token.get("start").and_then(Value::as_u64);
        let stop = token.get("stop").and_then(Value::as_u64);
        if start != stop {
            spans += 1;
        }
    }
    let all = u32::try_from(list.len()).ok()?;
    Some(if spans == 0 { all } else { spans })
}

/// A server's tokenize endpoint, found by [`ServerTokenizer::detect`].
#[derive(Debug, Clone)]
pub struct ServerTokenizer {
    client: reqwest::Client,
    url: String,
    model: String,
    dialect: Dialect,
}

impl ServerTokenizer {
    /// Finds which tokenize dialect the server at `base_url` (its root, without `/v1`) speaks, by sending a probe
    /// in each body in turn and checking the answer's shape; `None` if none fits (no endpoint, or an unknown
    /// one). `model` is the served model name (vLLM and SGLang check it).
    pub async fn detect(client: &reqwest::Client, base_url: &str, model: &str) -> Option<ServerTokenizer> {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let url = format!("{base}/tokenize");
        for dialect in Dialect::ALL {
            if dialect == Dialect::OpenAiWithModel && model.is_empty() {
                continue;
            }
            let candidate =
                ServerTokenizer { client: client.clone(), url: url.clone(), model: model.to_string(), dialect };
            match candidate.request(PROBE, DETECT_TIMEOUT).await {
                Ok(n) if (1..=PROBE.len() as u32).contains(&n) => {
                    let url = protocol::spec::redact_target(&url);
                    tracing::info!(%url, flavor = %dialect.flavor(), probe_tokens = n, "server tokenizer found");
                    return Some(candidate);
                }
                Ok(n) => {
                    tracing::debug!(url = %protocol::spec::redact_target(&url), ?dialect, n, "tokenize answer does not fit the probe")
                }
                Err(e) => {
                    tracing::debug!(url = %protocol::spec::redact_target(&url), ?dialect, error = %e, "tokenize dialect not understood")
                }
            }
        }
        None
    }

    /// Which server it is.
    pub fn flavor(&self) -> ServerFlavor {
        self.dialect.flavor()
    }

    /// The endpoint, `{base}/tokenize`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The number of tokens of `text`, as the server counts it without special tokens (see the module doc for
    /// TGI).
    pub async fn count(&self, text: &str) -> Result<u32, TokenizerError> {
        self.request(text, COUNT_TIMEOUT).await
    }

    async fn request(&self, text: &str, timeout: Duration) -> Result<u32, TokenizerError> {
        let fail = |reason: String| TokenizerError::Server { url: self.url.clone(), reason };
        let response = self
            .client
            .post(&self.url)
            .timeout(timeout)
            .json(&self.dialect.body(&self.model, text))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(fail(format!("HTTP {status}: {head}")));
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| fail(format!("the answer is not JSON: {e}")))?;
        self.dialect
            .parse(&answer)
            .ok_or_else(|| fail(format!("the answer is not a {} tokenize answer", self.dialect.flavor())))
    }
}
