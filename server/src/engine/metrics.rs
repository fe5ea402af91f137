//! Per-request metrics derived from raw instants exactly as `docs/metrics.md` defines them (TTFT, E2E, TPOT, ITL
//! with multi-token chunks spread), and the HDR histograms they accumulate into. Samples are recorded in
//! microseconds and reported in milliseconds.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use protocol::record::{ErrorClass, RequestError, TokenSource};
use protocol::report::LatencyStats;
use protocol::spec::Slo;

use super::error::EngineError;
use super::target::{ContentChunk, RequestResult};

/// Longest latency a histogram tracks, µs (24 h); longer samples are clamped.
const HIST_MAX_US: u64 = 86_400_000_000;

/// The engine's clock: tokio's (so tests with a paused clock measure exact virtual times), as a std `Instant`.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Microseconds in `d`, saturating.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A latency histogram: microsecond samples, 3 significant digits, 1 µs to 24 h.
#[derive(Debug, Clone)]
pub struct Hist(Histogram<u64>);

impl Hist {
    /// An empty histogram.
    pub fn new() -> Result<Self, EngineError> {
        Ok(Hist(Histogram::new_with_bounds(1, HIST_MAX_US, 3)?))
    }

    /// Records one sample, µs.
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us);
    }

    /// Records `n` samples of `us` µs.
    pub fn record_n_us(&mut self, us: u64, n: u64) {
        self.0.saturating_record_n(us, n);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at quantile `q` (0..=1), ms; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| ms(self.0.value_at_quantile(q)))
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// Count, mean, p50/p90/p95/p99, min and max, ms (all 0 when empty).
    pub fn stats(&self) -> LatencyStats {
        if self.count() == 0 {
            return LatencyStats::default();
        }
        let h = &self.0;
        LatencyStats {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            min: ms(h.min()),
            max: ms(h.max()),
        }
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Calls `f(chunk_gap_us, token_gap_us, k)` for each gap between consecutive content chunks: the raw gap, and the
/// per-token gap when the later chunk is taken to carry `k` tokens (`k` calls' worth; `k = 0` passes no token gap).
///
/// Servers do not say how many tokens each chunk holds. The first chunk is taken to carry 1 token, and the other
/// `output_tokens − 1` are spread over the later chunks as evenly as whole numbers allow (the last
/// `(output_tokens − 1) mod (chunks − 1)` chunks get one more). A chunk given 0 tokens (fewer tokens than chunks)
/// passes its gap on to the next chunk that carries tokens — the last chunk always carries one when there are
/// tokens to spread — so the per-token gaps sum to E2E − TTFT.
pub fn for_each_gap(chunks: &[ContentChunk], output_tokens: u32, mut f: impl FnMut(u64, u64, u64)) {
    let later = chunks.len().saturating_sub(1) as u64;
    if later == 0 {
        return;
    }
    let tokens = u64::from(output_tokens.saturating_sub(1));
    let (base, extra) = (tokens / later, tokens % later);
    let mut pending_us = 0u64;
    for (i, pair) in chunks.windows(2).enumerate() {
        let gap_us = micros(pair[1].at.saturating_duration_since(pair[0].at));
        let k = base + u64::from(i as u64 >= later - extra);
        pending_us += gap_us;
        match pending_us.checked_div(k) {
            Some(token_us) => {
                f(gap_us, token_us, k);
                pending_us = 0;
            }
            None => f(gap_us, 0, 0),
        }
    }
}

/// One request's derived metrics.
#[derive(Debug, Clone)]
pub struct Measured<'a> {
    /// The raw result.
    pub result: &'a RequestResult,
    /// Where the clock starts: the scheduled send time (open loop) or the actual one (closed loop).
    pub start: Instant,
    /// Actual − scheduled send, µs; `None` for a closed loop.
    pub lag_us: Option<u64>,
    /// Time to first token, µs.
    pub ttft_us: Option<u64>,
    /// End-to-end latency, µs.
    pub e2e_us: Option<u64>,
    /// Time per output token, µs, with at least 2 output tokens.
    pub tpot_us: Option<u64>,
    /// Input tokens (`usage.prompt_tokens`, else the workload's estimate).
    pub input_tokens: u32,
    /// The failure, if any: the target's, or `stream_ended` for a success without content.
    pub error: Option<RequestError>,
}

impl<'a> Measured<'a> {
    /// Derives the metrics of `result`, timed from `start` (`lag_us` for an open loop).
    pub fn new(result: &'a RequestResult, start: Instant, lag_us: Option<u64>, prompt_tokens_estimate: u32) -> Self {
        let mut error = result.error.clone();
        if error.is_none() && result.chunks.is_empty() {
            error = Some(RequestError {
                class: ErrorClass::StreamEnded,
                status: None,
                message: "the response carried no content".into(),
            });
        }
        let since = |at: Instant| micros(at.saturating_duration_since(start));
        let (ttft_us, e2e_us) = match (result.chunks.first(), result.chunks.last()) {
            (Some(first), Some(last)) => (Some(since(first.at)), Some(since(last.at))),
            _ => (None, None),
        };
        let tpot_us = match (ttft_us, e2e_us) {
            (Some(t), Some(e)) if result.output_tokens > 1 && error.is_none() => {
                Some(e.saturating_sub(t) / u64::from(result.output_tokens - 1))
            }
            _ => None,
        };
        Measured {
            result,
            start,
            lag_us,
            ttft_us,
            e2e_us,
            tpot_us,
            input_tokens: result.prompt_tokens.unwrap_or(prompt_tokens_estimate),
            error,
        }
    }

    /// True when the request succeeded.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// True when the request succeeded and met every objective in `slo` (TPOT counts as met without one).
    pub fn meets(&self, slo: &Slo) -> bool {
        let within = |v: Option<u64>, limit: Option<f64>| match (v, limit) {
            (_, None) | (None, Some(_)) => true,
            (Some(us), Some(limit_ms)) => ms(us) <= limit_ms,
        };
        self.ok()
            && self.ttft_us.is_some()
            && within(self.ttft_us, slo.ttft_ms)
            && within(self.tpot_us, slo.tpot_ms)
            && within(self.e2e_us, slo.e2e_ms)
    }
}

/// Everything a run report summarises, accumulated one measured (non-warmup) request at a time.
#[derive(Debug, Clone)]
pub struct Accumulator {
    /// Time to first token.
    pub ttft: Hist,
    /// Time per output token.
    pub tpot: Hist,
    /// Per-token inter-token latency.
    pub itl: Hist,
    /// Raw inter-chunk gaps.
    pub itl_chunk: Hist,
    /// End-to-end latency.
    pub e2e: Hist,
    /// Scheduler lag (open loop).
    pub lag: Hist,
    /// Successful requests.
    pub completed: u64,
    /// Failed requests.
    pub failed: u64,
    /// Input tokens of successful requests.
    pub input_tokens: u64,
    /// Output tokens of successful requests.
    pub output_tokens: u64,
    /// Successful requests counted by `usage`.
    pub token_source_usage: u64,
    /// Successful requests counted by chunks.
    pub token_source_chunks: u64,
    /// Successful requests counted with the tokenizer over the streamed text.
    pub token_source_tokenizer: u64,
    /// Successful requests whose prompt length came from the server's `usage.prompt_tokens`.
    pub input_source_usage: u64,
    /// Successful requests that received a different number of output tokens than they asked for.
    pub length_mismatched: u64,
    /// Sum over successful requests of received / requested output tokens.
    pub length_ratio_sum: f64,
    /// Sum and count of (server's prompt tokens − the prompt's own count), over requests with both.
    pub prompt_overhead: (i64, u64),
    /// Requests (ok or failed) sent a second time after the server had closed their pooled connection.
    pub retried: u64,
    /// Successful requests meeting every SLO.
    pub good: u64,
    slo: Slo,
}

impl Accumulator {
    /// An empty accumulator judging requests against `slo`.
    pub fn new(slo: Slo) -> Result<Self, EngineError> {
        Ok(Accumulator {
            ttft: Hist::new()?,
            tpot: Hist::new()?,
            itl: Hist::new()?,
            itl_chunk: Hist::new()?,
            e2e: Hist::new()?,
            lag: Hist::new()?,
            completed: 0,
            failed: 0,
            input_tokens: 0,
            output_tokens: 0,
            token_source_usage: 0,
            token_source_chunks: 0,
            token_source_tokenizer: 0,
            input_source_usage: 0,
            length_mismatched: 0,
            length_ratio_sum: 0.0,
            prompt_overhead: (0, 0),
            retried: 0,
            good: 0,
            slo,
        })
    }

    /// Adds one measured request (failures only count; their errors are tallied elsewhere).
    pub fn record(&mut self, m: &Measured<'_>) {
        if let Some(lag) = m.lag_us {
            self.lag.record_us(lag);
        }
        if m.result.retried {
            self.retried += 1;
        }
        if !m.ok() {
            self.failed += 1;
            return;
        }
        self.completed += 1;
        self.input_tokens += u64::from(m.input_tokens);
        self.output_tokens += u64::from(m.result.output_tokens);
        match m.result.token_source {
            TokenSource::Usage => self.token_source_usage += 1,
            TokenSource::Chunks => self.token_source_chunks += 1,
            TokenSource::Tokenizer => self.token_source_tokenizer += 1,
        }
        if m.result.prompt_tokens.is_some() {
            self.input_source_usage += 1;
        }
        if let Some(v) = m.ttft_us {
            self.ttft.record_us(v);
        }
        if let Some(v) = m.e2e_us {
            self.e2e.record_us(v);
        }
        if let Some(v) = m.tpot_us {
            self.tpot.record_us(v);
        }
        let (itl, itl_chunk) = (&mut self.itl, &mut self.itl_chunk);
        for_each_gap(&m.result.chunks, m.result.output_tokens, |chunk_us, token_us, k| {
            itl_chunk.record_us(chunk_us);
            if k > 0 {
                itl.record_n_us(token_us, k);
            }
        });
        if m.meets(&self.slo) {
            self.good += 1;
        }
    }

    /// Compares a successful request's output with what it asked for (`requested` = its `max_tokens`), and the
    /// server's prompt count with the prompt's own (`own_prompt_tokens`, the workload's count).
    pub fn record_lengths(&mut self, m: &Measured<'_>, requested: u32, own_prompt_tokens: u32) {
        if !m.ok() {
            return;
        }
        let received = m.result.output_tokens;
        if received != requested {
            self.length_mismatched += 1;
        }
        if requested > 0 {
            self.length_ratio_sum += f64::from(received) / f64::from(requested);
        }
        if let Some(server) = m.result.prompt_tokens {
            self.prompt_overhead.0 += i64::from(server) - i64::from(own_prompt_tokens);
            self.prompt_overhead.1 += 1;
        }
    }

    /// Failed / finished measured requests (0 when none finished).
    pub fn error_rate(&self) -> f64 {
        let n = self.completed + self.failed;
        if n == 0 {
            0.0
        } else {
            self.failed as f64 / n as f64
        }
    }

    /// Where the output counts came from: the one source every successful request used, else `mixed`.
    pub fn output_source(&self) -> &'static str {
        match (self.token_source_usage, self.token_source_tokenizer, self.token_source_chunks) {
            (0, 0, 0) => "none",
            (_, 0, 0) => "usage",
            (0, _, 0) => "tokenizer",
            (0, 0, _) => "chunks",
            _ => "mixed",
        }
    }

    /// `Some(true)` when every SLO given is met at p99 (and something completed); `None` without SLOs. A failed
    /// request misses every objective: it counts as an infinitely slow request in each percentile, so more than
    /// 1 % failed requests miss every p99 objective.
    pub fn slo_met(&self) -> Option<bool> {
        if self.slo.is_empty() {
            return None;
        }
        // The p99 of successes and failures together, failures ranked last: the successes' quantile at
        // 0.99 × all / successes, or beyond them (missed) when that exceeds 1.
        let all = (self.completed + self.failed) as f64;
        let q = if self.completed > 0 { 0.99 * all / self.completed as f64 } else { f64::INFINITY };
        let within =
            |h: &Hist, limit: Option<f64>| limit.is_none_or(|l| q <= 1.0 && h.quantile_ms(q).is_none_or(|p| p <= l));
        Some(
            self.completed > 0
                && within(&self.ttft, self.slo.ttft_ms)
                && within(&self.tpot, self.slo.tpot_ms)
                && within(&self.e2e, self.slo.e2e_ms),
        )
    }

    /// Requests meeting every SLO per second of `duration_s`; `None` without SLOs.
    pub fn goodput_rps(&self, duration_s: f64) -> Option<f64> {
        (!self.slo.is_empty()).then(|| per_s(self.good, duration_s))
    }
}

/// `n / duration_s`, 0 for an empty window.
pub fn per_s(n: u64, duration_s: f64) -> f64 {
    if duration_s > 0.0 {
        n as f64 / duration_s
    } else {
        0.0
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
