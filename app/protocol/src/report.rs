//! What a finished run reports: [`RunReport`] per run (or per sweep step) and [`SweepReport`] for a sweep.
//! The `--json FILE` output of `tokenscope run`, the archive's record and the dashboard's summary.
//! Every figure is defined in `docs/metrics.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::ErrorClass;
use super::spec::{LoadSpec, Slo};

/// Summary of one latency distribution, in milliseconds, from an HDR histogram (3 significant digits).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LatencyStats {
    /// Number of samples.
    pub count: u64,
    /// Mean, ms.
    pub mean: f64,
    /// Median, ms.
    pub p50: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Smallest sample, ms.
    pub min: f64,
    /// Largest sample, ms.
    pub max: f64,
}

/// One failed request kept as an example of its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSample {
    /// Class of the failure.
    pub class: ErrorClass,
    /// HTTP status when the server answered.
    pub status: Option<u16>,
    /// What went wrong; for HTTP errors the first bytes of the body.
    pub message: String,
}

/// Where the prompts came from, enough to reproduce the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WorkloadInfo {
    /// `synthetic`, `jsonl` or `sharegpt`.
    pub kind: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Distinct prompts in the set (requests cycle through them).
    pub prompt_count: u64,
    /// SHA-256 (hex) of the prompt set: same value, same prompts.
    pub prompt_set_sha256: String,
    /// How the prompts' lengths were counted: `tokenizer`, `server` (the target's tokenize endpoint) or `estimate`.
    #[serde(default)]
    pub tokens_source: String,
    /// The tokenizer synthetic prompts were built with (its path or id; the server's endpoint; or the estimate).
    #[serde(default)]
    pub tokenizer: String,
    /// With the server's tokenize endpoint: the largest difference, in tokens, between a calibration prompt's asked
    /// and counted length.
    #[serde(default)]
    pub calibration_max_error_tokens: Option<u32>,
    /// Dataset entries left out: ShareGPT pairs shorter than 4 or longer than 1024 (prompt) / 2048 (in all) tokens.
    #[serde(default)]
    pub filtered_out: u64,
}

/// The result of one run, or of one step of a sweep. Warmup requests are excluded from every figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunReport {
    /// When the run (step) started, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// The load of this run (for a sweep step: the step's concurrency or rate).
    pub load: LoadSpec,
    /// Measured requests that completed successfully.
    pub requests_completed: u64,
    /// Measured requests that failed.
    pub requests_failed: u64,
    /// Warmup requests sent and left out of the figures.
    pub warmup_requests_excluded: u64,
    /// Length of the measured window (end of warmup → completion of the last measured request), seconds.
    pub duration_s: f64,
    /// Output tokens of successful measured requests / `duration_s` (vLLM's definition: ramp-up and ramp-down
    /// included).
    pub output_tokens_per_s: f64,
    /// Output tokens / second over the steady state: the interval in which the load was at its target level
    /// (closed loop: every slot busy, from the last slot filled to the first slot left empty at the end; open loop:
    /// first to last scheduled send). Tokens are counted as they arrived in it. `None` when there was no such
    /// interval (fewer requests than slots, or a single request).
    #[serde(default)]
    pub steady_output_tokens_per_s: Option<f64>,
    /// Length of the steady-state interval, seconds.
    #[serde(default)]
    pub steady_duration_s: Option<f64>,
    /// (Input + output tokens) / `duration_s`.
    pub total_tokens_per_s: f64,
    /// Successful measured requests / `duration_s`.
    pub requests_per_s: f64,
    /// Requests meeting every SLO given / `duration_s`; `None` when no SLO is given.
    pub goodput_rps: Option<f64>,
    /// Input tokens of successful measured requests (`usage.prompt_tokens`, else the workload's count).
    pub input_tokens: u64,
    /// Output tokens of successful measured requests.
    pub output_tokens: u64,
    /// Time to first token.
    pub ttft_ms: LatencyStats,
    /// Time per output token, per request.
    pub tpot_ms: LatencyStats,
    /// Inter-token latency (chunk gaps spread over the tokens each chunk carries).
    pub itl_ms: LatencyStats,
    /// Raw gaps between consecutive content chunks.
    pub itl_chunk_ms: LatencyStats,
    /// End-to-end latency.
    pub e2e_ms: LatencyStats,
    /// Open loop: actual send time − scheduled send time (empty for a closed loop).
    pub scheduler_lag_ms: LatencyStats,
    /// The objectives applied.
    pub slo: Slo,
    /// `Some(true)` when every SLO given is met at p99; `None` when no SLO is given.
    pub slo_met: Option<bool>,
    /// Measured requests sent a second time, on a fresh connection, because the server had closed their pooled
    /// connection before answering (it never read the first send; see docs/metrics.md). Not failures.
    #[serde(default)]
    pub requests_retried: u64,
    /// Failed measured requests / measured requests that finished (0 to 1).
    #[serde(default)]
    pub error_rate: f64,
    /// Failed measured requests by class.
    pub errors: BTreeMap<ErrorClass, u64>,
    /// The first three failures of each class.
    pub error_samples: Vec<ErrorSample>,
    /// Successful requests whose output tokens came from the server's `usage`.
    pub token_source_usage: u64,
    /// Successful requests whose output tokens were counted as content chunks (no `usage`, no tokenizer).
    pub token_source_chunks: u64,
    /// Successful requests whose output tokens were counted with the tokenizer over the streamed text (no `usage`).
    #[serde(default)]
    pub token_source_tokenizer: u64,
    /// Where the output token counts came from: `usage`, `tokenizer` or `chunks` — or `mixed` (see the counts).
    #[serde(default)]
    pub output_tokens_source: String,
    /// Where the prompt lengths came from: `usage` (the server's `prompt_tokens`), `tokenizer`, `server` (its
    /// tokenize endpoint) or `estimate` (words / characters, not exact).
    #[serde(default)]
    pub input_tokens_source: String,
    /// Mean of the server's `prompt_tokens` − the prompt's own token count, over requests with both: the chat
    /// template (and BOS) overhead of the endpoint.
    #[serde(default)]
    pub prompt_overhead_tokens: Option<f64>,
    /// Successful measured requests that received a different number of output tokens than they asked for
    /// (`max_tokens`) / successful measured requests.
    #[serde(default)]
    pub output_length_mismatch_rate: f64,
    /// Mean received / requested output tokens over successful measured requests.
    #[serde(default)]
    pub output_length_ratio: Option<f64>,
    /// How late the client's own runtime woke up while the load ran (a probe timer's overshoot): high values mean
    /// the client, not the server, set the pace.
    #[serde(default)]
    pub client_lag_ms: LatencyStats,
    /// True when the client fell behind its own schedule: the figures then describe the client too.
    pub client_bound: bool,
    /// Why `client_bound` is set (the rule and the measured lag).
    pub client_bound_reason: Option<String>,
    /// Early stop or failure explanation, phrased as what to do about it.
    pub verdict: Option<String>,
    /// True when the run was cancelled (Ctrl-C / stop) before its limits.
    pub stopped: bool,
    /// The prompts.
    pub workload: WorkloadInfo,
    /// What preflight found (set by the caller that ran it).
    pub preflight: Option<serde_json::Value>,
    /// Energy and efficiency of the measured window on the selected GPUs, when telemetry ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<super::gpu::EnergySummary>,
}

impl RunReport {
    /// True when the run failed: nothing completed, an early stop, or a missed SLO.
    pub fn failed(&self) -> bool {
        self.requests_completed == 0 || self.verdict.is_some() || self.slo_met == Some(false)
    }
}

/// The result of a sweep: one [`RunReport`] per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// When the sweep started, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// Steps in order of the sweep values.
    pub steps: Vec<RunReport>,
    /// Index in `steps` of the highest output tok/s step with no verdict (no early stop, error rate within the
    /// limit) that does not miss an SLO.
    pub best_step: Option<usize>,
    /// True when the sweep was cancelled.
    pub stopped: bool,
    /// Why the sweep ended early, when it did.
    pub verdict: Option<String>,
    /// What preflight found (set by the caller that ran it).
    pub preflight: Option<serde_json::Value>,
}

impl SweepReport {
    /// The step with the highest output tok/s among those with completed requests, no verdict (an early stop or
    /// too many failed requests) and `slo_met != Some(false)`.
    pub fn pick_best(steps: &[RunReport]) -> Option<usize> {
        steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.requests_completed > 0 && s.verdict.is_none() && s.slo_met != Some(false))
            .max_by(|(_, a), (_, b)| a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
            .map(|(i, _)| i)
    }
}
