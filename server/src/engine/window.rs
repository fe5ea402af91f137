//! Rolling 1 s windows for live charts: each request is counted in the window in which it completed (warmup
//! included), and every window closes into a [`WindowStats`] event stamped with its end on the wall clock.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use app::protocol::event::WindowStats;
use app::protocol::record::ErrorClass;

use super::error::EngineError;
use super::metrics::{for_each_gap, Hist, Measured};

/// Length of a window.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// The window being filled.
#[derive(Debug)]
pub struct WindowAccumulator {
    step: u32,
    run_start: Instant,
    start: Instant,
    ttft: Hist,
    itl: Hist,
    e2e: Hist,
    output_tokens: u64,
    ok: u64,
    errors: BTreeMap<ErrorClass, u64>,
    completed_total: u64,
    failed_total: u64,
}

impl WindowAccumulator {
    /// The first window of step `step`, opening at `start`; `run_start` is the zero of `t_end_ms`.
    pub fn new(step: u32, run_start: Instant, start: Instant) -> Result<Self, EngineError> {
        Ok(WindowAccumulator {
            step,
            run_start,
            start,
            ttft: Hist::new()?,
            itl: Hist::new()?,
            e2e: Hist::new()?,
            output_tokens: 0,
            ok: 0,
            errors: BTreeMap::new(),
            completed_total: 0,
            failed_total: 0,
        })
    }

    /// Counts one finished request.
    pub fn record(&mut self, m: &Measured<'_>) {
        if let Some(e) = &m.error {
            self.failed_total += 1;
            *self.errors.entry(e.class).or_default() += 1;
            return;
        }
        self.ok += 1;
        self.completed_total += 1;
        self.output_tokens += u64::from(m.result.output_tokens);
        if let Some(v) = m.ttft_us {
            self.ttft.record_us(v);
        }
        if let Some(v) = m.e2e_us {
            self.e2e.record_us(v);
        }
        let itl = &mut self.itl;
        for_each_gap(&m.result.chunks, m.result.output_tokens, |_, token_us, k| {
            if k > 0 {
                itl.record_n_us(token_us, k);
            }
        });
    }

    /// True when nothing finished in the current window.
    pub fn is_empty(&self) -> bool {
        self.ok == 0 && self.errors.is_empty()
    }

    /// Closes the window at `end` with `in_flight` requests outstanding and opens the next one.
    pub fn close(&mut self, end: Instant, in_flight: u64) -> WindowStats {
        let len_s = end.saturating_duration_since(self.start).as_secs_f64();
        let rate = |n: u64| if len_s > 0.0 { n as f64 / len_s } else { 0.0 };
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let stats = WindowStats {
            step: self.step,
            t_end_ms: end.saturating_duration_since(self.run_start).as_secs_f64() * 1000.0,
            unix_ms,
            output_tokens_per_s: rate(self.output_tokens),
            requests_per_s: rate(self.ok),
            ttft_p50_ms: self.ttft.quantile_ms(0.5),
            ttft_p99_ms: self.ttft.quantile_ms(0.99),
            itl_p50_ms: self.itl.quantile_ms(0.5),
            itl_p99_ms: self.itl.quantile_ms(0.99),
            e2e_p50_ms: self.e2e.quantile_ms(0.5),
            e2e_p99_ms: self.e2e.quantile_ms(0.99),
            in_flight,
            completed_total: self.completed_total,
            failed_total: self.failed_total,
            errors: std::mem::take(&mut self.errors),
        };
        self.start = end;
        self.ttft.reset();
        self.itl.reset();
        self.e2e.reset();
        self.output_tokens = 0;
        self.ok = 0;
        stats
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use app::protocol::record::{RequestError, TokenSource};

    use super::*;
    use crate::engine::target::{ContentChunk, RequestResult};

    #[test]
    fn a_window_reports_rates_and_resets() {
        let t0 = Instant::now();
        let mut w = WindowAccumulator::new(2, t0, t0).unwrap();
        let ok = RequestResult {
            index: 0,
            sent_at: t0,
            chunks: vec![
                ContentChunk { at: t0 + Duration::from_millis(20), bytes: 1 },
                ContentChunk { at: t0 + Duration::from_millis(30), bytes: 1 },
            ],
            done_at: t0 + Duration::from_millis(31),
            output_tokens: 2,
            token_source: TokenSource::Chunks,
            prompt_tokens: None,
            error: None,
        };
        let bad = RequestResult {
            chunks: vec![],
            error: Some(RequestError { class: ErrorClass::HttpStatus, status: Some(500), message: String::new() }),
            ..ok.clone()
        };
        w.record(&Measured::new(&ok, t0, None, 1));
        w.record(&Measured::new(&ok, t0, None, 1));
        w.record(&Measured::new(&bad, t0, None, 1));
        let s = w.close(t0 + Duration::from_millis(500), 7);
        assert_eq!((s.step, s.t_end_ms, s.in_flight), (2, 500.0, 7));
        assert_eq!((s.output_tokens_per_s, s.requests_per_s), (8.0, 4.0));
        let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() <= want * 1e-3);
        assert!(near(s.ttft_p50_ms, 20.0) && near(s.itl_p99_ms, 10.0) && near(s.e2e_p99_ms, 30.0), "{s:?}");
        assert_eq!((s.completed_total, s.failed_total), (2, 1));
        assert_eq!(s.errors.get(&ErrorClass::HttpStatus), Some(&1));
        assert!(s.unix_ms > 1_600_000_000_000);
        assert!(w.is_empty());
        let s = w.close(t0 + Duration::from_millis(1500), 0);
        assert_eq!((s.output_tokens_per_s, s.ttft_p50_ms, s.completed_total), (0.0, None, 2));
        assert!(s.errors.is_empty());
    }
}
