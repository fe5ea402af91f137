//! What a run emits while it runs: one [`RunEvent`] stream feeds the CLI's progress bar, the dashboard's live
//! charts and the archive. JSON, tagged by `type`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::{ErrorClass, RequestError, TokenSource};
use super::report::RunReport;
use super::spec::LoadSpec;

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// Preflight moved on (waiting for the server, probing endpoints…).
    Preflight {
        /// What preflight is doing, in words.
        state: String,
    },
    /// A step (the whole run, when there is no sweep) started.
    StepStarted {
        /// Step index (0 without a sweep).
        step: u32,
        /// The step's load.
        load: LoadSpec,
    },
    /// One request finished (or failed, or was the last of a warmup).
    Request(RequestRecord),
    /// A 1 s window closed.
    Window(WindowStats),
    /// A step finished.
    StepFinished {
        /// Step index.
        step: u32,
        /// The step's report.
        report: Box<RunReport>,
    },
    /// The run finished (after its last step, an early stop or a cancel).
    Finished {
        /// Steps that ran.
        steps: u32,
        /// True when the run was cancelled.
        stopped: bool,
        /// Early stop or failure explanation.
        verdict: Option<String>,
        /// Seconds from the start of the first step to the end of the last.
        duration_s: f64,
    },
}

/// One request, as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Step index.
    pub step: u32,
    /// Request index within the step (0-based, warmup included).
    pub index: u64,
    /// Start of the request (scheduled send time for a rate load), ms since the run started.
    pub t_send_ms: f64,
    /// Actual send − scheduled send, ms (0 for a closed loop).
    pub scheduler_lag_ms: f64,
    /// Time to first token, ms; `None` when no content arrived.
    pub ttft_ms: Option<f64>,
    /// End-to-end latency, ms; `None` when no content arrived.
    pub e2e_ms: Option<f64>,
    /// Time per output token, ms; `None` with fewer than 2 output tokens.
    pub tpot_ms: Option<f64>,
    /// Output tokens.
    pub output_tokens: u32,
    /// Input tokens (`usage.prompt_tokens`, else the workload's count).
    pub input_tokens: u32,
    /// Where `output_tokens` came from.
    pub token_source: TokenSource,
    /// Output tokens asked for (`max_tokens`); 0 in records made before this was kept.
    #[serde(default)]
    pub requested_tokens: u32,
    /// Sent a second time on a fresh connection: the server had closed the pooled one before answering (it never
    /// read the first send).
    #[serde(default)]
    pub retried: bool,
    /// True for a warmup request (left out of the figures).
    pub warmup: bool,
    /// Set when the request failed.
    pub error: Option<RequestError>,
}

/// Windows shorter than this, ms (the last window of a step or a run can be a few ms long), give no rate to chart:
/// a handful of tokens over 9 ms reads as 200 000 tok/s and would set every chart's y axis. Their tokens still count
/// in the step's totals; only the per-window rate is left out.
pub const MIN_RATE_WINDOW_MS: f64 = 250.0;

/// One rolling 1 s window, for live charts. Covers every request that completed in the window, warmup included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    /// Step index.
    pub step: u32,
    /// End of the window, ms since the run started.
    pub t_end_ms: f64,
    /// End of the window on the wall clock, ms since the Unix epoch (the axis shared with GPU telemetry).
    pub unix_ms: u64,
    /// Real length of the window, ms: 1000 except for the last window of a step or run, which is shorter
    /// (0 in windows recorded before this field existed).
    #[serde(default)]
    pub length_ms: f64,
    /// Output tokens that arrived in the window (chunks counted as they came, corrected to the server's count when
    /// each request ended; warmup included). The windows of a step add up to its output tokens.
    #[serde(default)]
    pub output_tokens: f64,
    /// `output_tokens` / the window's real length.
    pub output_tokens_per_s: f64,
    /// Requests completed successfully in the window / window length (a completion rate, counted when requests
    /// end).
    pub requests_per_s: f64,
    /// Median TTFT of the requests whose first token arrived in the window, ms.
    pub ttft_p50_ms: Option<f64>,
    /// 99th percentile TTFT of the window, ms.
    pub ttft_p99_ms: Option<f64>,
    /// Median inter-token latency of the window, ms.
    pub itl_p50_ms: Option<f64>,
    /// 99th percentile inter-token latency of the window, ms.
    pub itl_p99_ms: Option<f64>,
    /// Median end-to-end latency of the window, ms.
    pub e2e_p50_ms: Option<f64>,
    /// 99th percentile end-to-end latency of the window, ms.
    pub e2e_p99_ms: Option<f64>,
    /// Requests in flight at the end of the window.
    pub in_flight: u64,
    /// Requests completed successfully in the step so far (warmup included).
    pub completed_total: u64,
    /// Requests failed in the step so far (warmup included).
    pub failed_total: u64,
    /// Failures in this window by class.
    pub errors: BTreeMap<ErrorClass, u64>,
}

impl WindowStats {
    /// `rate` (one of this window's per-second values) when the window is long enough to give a rate to chart
    /// ([`MIN_RATE_WINDOW_MS`]; windows recorded before `length_ms` existed count as full).
    pub fn chartable_rate(&self, rate: f64) -> Option<f64> {
        (self.length_ms == 0.0 || self.length_ms >= MIN_RATE_WINDOW_MS).then_some(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(length_ms: f64) -> WindowStats {
        WindowStats {
            step: 0,
            t_end_ms: 1000.0,
            unix_ms: 1,
            length_ms,
            output_tokens: 10.0,
            output_tokens_per_s: 10.0,
            requests_per_s: 1.0,
            ttft_p50_ms: None,
            ttft_p99_ms: None,
            itl_p50_ms: None,
            itl_p99_ms: None,
            e2e_p50_ms: None,
            e2e_p99_ms: None,
            in_flight: 0,
            completed_total: 0,
            failed_total: 0,
            errors: BTreeMap::new(),
        }
    }

    #[test]
    fn only_windows_long_enough_give_a_rate_to_chart() {
        assert_eq!(window(1000.0).chartable_rate(5.0), Some(5.0));
        assert_eq!(window(MIN_RATE_WINDOW_MS).chartable_rate(5.0), Some(5.0));
        assert_eq!(window(9.0).chartable_rate(210_762.0), None);
        assert_eq!(window(0.0).chartable_rate(5.0), Some(5.0), "archived before length_ms: a full window");
    }
}
