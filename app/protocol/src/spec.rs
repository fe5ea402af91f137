//! What a run is asked to do: the options of `tokenscope run`, and the body of `POST /api/runs`.

use serde::{Deserialize, Serialize};

/// Longest run name accepted, characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Which OpenAI-compatible endpoint requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Found by preflight: whichever of chat / completions answers a 1-token request.
    #[default]
    Auto,
    /// `POST /v1/completions` with a `prompt`.
    Completions,
    /// `POST /v1/chat/completions` with `messages`.
    Chat,
}

/// The inference server behind the target, for the request fields each honours to force the output length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Found by preflight from what the server exposes (`/version`, `/v1/models` `owned_by`, `/props`, `/info`…);
    /// `generic` when nothing is recognised. Requests never go out as `auto`: until preflight resolves it, it sends
    /// the plain OpenAI fields of `generic`.
    #[default]
    Auto,
    /// Plain OpenAI fields only.
    Generic,
    /// vLLM (`ignore_eos`, `min_tokens`).
    Vllm,
    /// SGLang (`ignore_eos`, `min_tokens`).
    Sglang,
    /// LMDeploy / TurboMind (`ignore_eos`, `min_new_tokens`).
    Lmdeploy,
    /// TensorRT-LLM `trtllm-serve` (`ignore_eos`, `min_tokens`).
    Trtllm,
    /// Hugging Face TGI's OpenAI API (no length forcing beyond `max_tokens`).
    Tgi,
    /// llama.cpp server (`ignore_eos`, `n_predict`).
    LlamaCpp,
    /// Ollama's OpenAI API (`options.num_predict`).
    Ollama,
    /// tokenscope's own mock target.
    Mock,
}

/// How request arrivals are spaced in an open-loop (rate) load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Arrival {
    /// Exponential gaps (a Poisson process).
    #[default]
    Poisson,
    /// Evenly spaced.
    Constant,
    /// Gamma-distributed gaps; `burstiness` < 1 is burstier than Poisson, > 1 more regular.
    Gamma {
        /// Shape of the gamma distribution (1 = Poisson).
        burstiness: f64,
    },
}

/// The load pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LoadSpec {
    /// Closed loop: this many requests in flight at all times.
    Concurrency {
        /// Requests in flight.
        concurrency: u32,
    },
    /// Open loop: requests sent on a schedule whatever the server does.
    Rate {
        /// Mean requests per second.
        rate_rps: f64,
        /// Spacing of arrivals.
        arrival: Arrival,
    },
}

impl Default for LoadSpec {
    /// One request at a time.
    fn default() -> Self {
        LoadSpec::Concurrency { concurrency: 1 }
    }
}

/// A length: fixed, or drawn uniformly from an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRange {
    /// Smallest value.
    pub min: u32,
    /// Largest value (= `min` for a fixed length).
    pub max: u32,
}

impl TokenRange {
    /// A fixed length.
    pub const fn fixed(n: u32) -> Self {
        TokenRange { min: n, max: n }
    }
}

/// Where the prompts come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WorkloadSpec {
    /// Generated prompts of the given lengths (seeded, reproducible).
    Synthetic {
        /// Prompt length in tokens.
        input_tokens: TokenRange,
        /// Requested output length in tokens (`max_tokens`).
        output_tokens: TokenRange,
    },
    /// A JSON-lines file: each line `{"prompt": "..."}` or `{"messages": [...]}`, optional `max_tokens`.
    Jsonl {
        /// Path of the file on the machine running tokenscope.
        path: String,
        /// `max_tokens` for lines that give none.
        output_tokens: u32,
    },
    /// A ShareGPT JSON file (`[{"conversations": [{"from": "human", "value": ...}, ...]}]`).
    ShareGpt {
        /// Path of the file on the machine running tokenscope.
        path: String,
        /// `max_tokens` when the conversation gives no reply to measure.
        output_tokens: u32,
    },
}

/// Service-level objectives; a request meets them when it meets every one given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Slo {
    /// Time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Time per output token, ms.
    pub tpot_ms: Option<f64>,
    /// End-to-end latency, ms.
    pub e2e_ms: Option<f64>,
}

impl Slo {
    /// True when no objective is set.
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none() && self.tpot_ms.is_none() && self.e2e_ms.is_none()
    }
}

/// Everything a run needs. Serialized into reports and the archive (the API key never is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// A name for the archive (optional).
    #[serde(default)]
    pub name: String,
    /// Base URL of the inference server, e.g. `http://127.0.0.1:8000`.
    pub target: String,
    /// Model name; discovered from `/v1/models` when empty.
    #[serde(default)]
    pub model: Option<String>,
    /// Endpoint to drive.
    #[serde(default)]
    pub endpoint: Endpoint,
    /// Backend preset.
    #[serde(default)]
    pub backend: Backend,
    /// Bearer token for the target; never serialized out.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// Stream responses (SSE). Without streaming, TTFT equals E2E.
    #[serde(default = "yes")]
    pub stream: bool,
    /// Load pattern.
    pub load: LoadSpec,
    /// Sweep: one step per value, replacing the concurrency or the rate of `load`.
    #[serde(default)]
    pub sweep: Vec<f64>,
    /// Stop after this many measured requests (per step).
    #[serde(default)]
    pub requests: Option<u64>,
    /// Stop after this long, seconds (per step).
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Requests sent first and left out of the metrics.
    #[serde(default)]
    pub warmup_requests: u64,
    /// Seconds at the start left out of the metrics.
    #[serde(default)]
    pub warmup_s: f64,
    /// Prompts.
    pub workload: WorkloadSpec,
    /// Seed of every random choice (prompts, lengths, arrivals). `None`: a fresh seed is drawn when the run starts
    /// (and recorded in the run's spec and report), so a second run never resends the first one's prompts to a
    /// server with a prefix cache; give the recorded seed to repeat a run exactly.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The model's tokenizer, for prompts of exactly the asked length and exact token counts: a `tokenizer.json`
    /// file, a folder holding one (a Hugging Face model folder), or a Hugging Face model id (downloaded once into
    /// the Hugging Face cache). `None`: the target's own tokenize endpoint when it has one, else an estimate that
    /// the report labels as such.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Objectives for goodput and the pass/fail verdict.
    #[serde(default)]
    pub slo: Slo,
    /// Per-request timeout, seconds.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: f64,
    /// How long preflight waits for the server to become ready, seconds.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_s: f64,
    /// Stop the run when the first this-many requests all fail (0 = never).
    #[serde(default = "default_fail_fast")]
    pub fail_fast_after: u32,
    /// A run (a sweep step) whose measured requests fail more often than this fraction ends with a verdict and
    /// counts as failed (exit status 1), whatever its SLOs.
    #[serde(default = "default_max_error_rate")]
    pub max_error_rate: f64,
}

/// Default of [`RunSpec::max_error_rate`]: 10 % failed requests.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.10;

fn yes() -> bool {
    true
}
fn default_request_timeout() -> f64 {
    600.0
}
fn default_ready_timeout() -> f64 {
    60.0
}
fn default_fail_fast() -> u32 {
    20
}
fn default_max_error_rate() -> f64 {
    DEFAULT_MAX_ERROR_RATE
}

/// One problem with one field of a spec: what the form shows beside the field and the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field, as named in the JSON body (`load.concurrency`, `requests`…).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
