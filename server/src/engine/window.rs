//! Rolling 1 s windows for live charts, counted by arrival: output tokens in the window in which they arrived, TTFT
//! in the window in which the first token arrived, inter-token gaps when they happened; completions, E2E and
//! failures when requests end. Every window closes into a [`WindowStats`] event stamped with its end on the wall
//! clock; its rates are divided by its real length (a short final window is not a 1 s window).
//!
//! Request tasks report chunks through a [`RequestTap`] into the step's shared [`LiveCounts`]; servers do not say
//! how many tokens a chunk holds, so a chunk is counted at the tokens-per-chunk ratio learned from the requests
//! finished so far (1 until one has finished), and when a request ends the difference between its real count and
//! what was counted live is added to the window it ends in. The windows' tokens thus add up to the step's output
//! tokens (warmup included, failed requests' partial outputs excluded).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use protocol::event::WindowStats;
use protocol::record::ErrorClass;

use super::error::EngineError;
use super::metrics::{micros, Hist, Measured};
use super::target::ChunkTap;

/// Length of a window.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// What request tasks add to the open window as chunks arrive.
#[derive(Debug)]
struct Live {
    /// Output tokens counted in the open window (may go below what was counted when a request's final count
    /// corrects an overestimate).
    tokens: f64,
    ttft: Hist,
    itl: Hist,
    /// Tokens per content chunk of the requests finished so far (tokens, chunks).
    learned: (u64, u64),
}

/// The step's live tallies, shared by its request tasks and the step.
#[derive(Debug)]
pub struct LiveCounts(Mutex<Live>);

impl LiveCounts {
    /// Empty tallies.
    pub fn new() -> Result<Arc<Self>, EngineError> {
        Ok(Arc::new(LiveCounts(Mutex::new(Live {
            tokens: 0.0,
            ttft: Hist::new()?,
            itl: Hist::new()?,
            learned: (0, 0),
        }))))
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tokens one chunk is taken to carry, from the requests finished so far.
    fn tokens_per_chunk(live: &Live) -> f64 {
        let (tokens, chunks) = live.learned;
        if chunks == 0 {
            1.0
        } else {
            (tokens as f64 / chunks as f64).max(0.0)
        }
    }
}

/// One request's view of the live tallies: counts its chunks as they arrive and remembers how many tokens it
/// counted, so its final count can correct the difference.
#[derive(Debug)]
pub struct RequestTap {
    live: Arc<LiveCounts>,
    /// Where its TTFT clock starts (the scheduled send of an open loop, else the send).
    start: Instant,
    state: Mutex<TapState>,
}

#[derive(Debug, Default)]
struct TapState {
    chunks: u64,
    last: Option<Instant>,
    counted: f64,
}

impl RequestTap {
    /// A tap for a request whose latency clock starts at `start`.
    pub fn new(live: Arc<LiveCounts>, start: Instant) -> Self {
        RequestTap { live, start, state: Mutex::new(TapState::default()) }
    }

    /// Tokens counted live so far.
    pub fn counted(&self) -> f64 {
        self.state.lock().map(|s| s.counted).unwrap_or(0.0)
    }
}

impl ChunkTap for RequestTap {
    fn chunk(&self, at: Instant, _bytes: u32) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut live = self.live.lock();
        // The first chunk carries one token (as the report counts it); later ones the learned ratio.
        let k = if st.chunks == 0 { 1.0 } else { LiveCounts::tokens_per_chunk(&live) };
        live.tokens += k;
        match st.last {
            None => live.ttft.record_us(micros(at.saturating_duration_since(self.start))),
            Some(prev) => {
                let n = k.round().max(1.0) as u64;
                live.itl.record_n_us(micros(at.saturating_duration_since(prev)) / n, n);
            }
        }
        st.chunks += 1;
        st.last = Some(at);
        st.counted += k;
    }
}

/// The window being filled.
#[derive(Debug)]
pub struct WindowAccumulator {
    step: u32,
    run_start: Instant,
    start: Instant,
    live: Arc<LiveCounts>,
    e2e: Hist,
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
            live: LiveCounts::new()?,
            e2e: Hist::new()?,
            ok: 0,
            errors: BTreeMap::new(),
            completed_total: 0,
            failed_total: 0,
        })
    }

    /// The tallies request taps write into.
    pub fn live(&self) -> Arc<LiveCounts> {
        self.live.clone()
    }

    /// Counts one finished request; `counted_live` is what its tap counted as chunks arrived.
    pub fn record(&mut self, m: &Measured<'_>, counted_live: f64) {
        let final_tokens = if m.error.is_some() { 0 } else { m.result.output_tokens };
        {
            let mut live = self.live.lock();
            live.tokens += f64::from(final_tokens) - counted_live;
            if m.error.is_none() && !m.result.chunks.is_empty() {
                // The first chunk is one token; the ratio is learned over the later ones.
                let later = m.result.chunks.len() as u64 - 1;
                if later > 0 {
                    live.learned.0 += u64::from(final_tokens.saturating_sub(1));
                    live.learned.1 += later;
                }
            }
        }
        if let Some(e) = &m.error {
            self.failed_total += 1;
            *self.errors.entry(e.class).or_default() += 1;
            return;
        }
        self.ok += 1;
        self.completed_total += 1;
        if let Some(v) = m.e2e_us {
            self.e2e.record_us(v);
        }
    }

    /// True when nothing arrived or finished in the current window.
    pub fn is_empty(&self) -> bool {
        self.ok == 0 && self.errors.is_empty() && self.live.lock().tokens == 0.0
    }

    /// Closes the window at `end` with `in_flight` requests outstanding and opens the next one.
    pub fn close(&mut self, end: Instant, in_flight: u64) -> WindowStats {
        let len_s = end.saturating_duration_since(self.start).as_secs_f64();
        let rate = |n: f64| if len_s > 0.0 { n / len_s } else { 0.0 };
        let unix_ms = crate::clock::unix_ms();
        let (tokens, ttft_p50, ttft_p99, itl_p50, itl_p99) = {
            let mut live = self.live.lock();
            let out = (
                live.tokens,
                live.ttft.quantile_ms(0.5),
                live.ttft.quantile_ms(0.99),
                live.itl.quantile_ms(0.5),
                live.itl.quantile_ms(0.99),
            );
            live.tokens = 0.0;
            live.ttft.reset();
            live.itl.reset();
            out
        };
        let stats = WindowStats {
            step: self.step,
            t_end_ms: end.saturating_duration_since(self.run_start).as_secs_f64() * 1000.0,
            unix_ms,
            length_ms: len_s * 1000.0,
            output_tokens: tokens,
            output_tokens_per_s: rate(tokens),
            requests_per_s: rate(self.ok as f64),
            ttft_p50_ms: ttft_p50,
            ttft_p99_ms: ttft_p99,
            itl_p50_ms: itl_p50,
            itl_p99_ms: itl_p99,
            e2e_p50_ms: self.e2e.quantile_ms(0.5),
            e2e_p99_ms: self.e2e.quantile_ms(0.99),
            in_flight,
            completed_total: self.completed_total,
            failed_total: self.failed_total,
            errors: std::mem::take(&mut self.errors),
        };
        self.start = end;
        self.e2e.reset();
        self.ok = 0;
        stats
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use protocol::record::{RequestError, TokenSource};

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
            retried: false,
            error: None,
        };
        let bad = RequestResult {
            chunks: vec![],
            retried: false,
            error: Some(RequestError { class: ErrorClass::HttpStatus, status: Some(500), message: String::new() }),
            ..ok.clone()
        };
        for r in [&ok, &ok] {
            let tap = RequestTap::new(w.live(), t0);
            for c in &r.chunks {
                tap.chunk(c.at, c.bytes);
            }
            w.record(&Measured::new(r, t0, None, 1), tap.counted());
        }
        w.record(&Measured::new(&bad, t0, None, 1), 0.0);
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

    /// Tokens are counted when they arrive, at the learned tokens-per-chunk ratio, and each request's final count
    /// corrects the difference in the window it ends in: the windows add up to the real total.
    #[test]
    fn tokens_count_on_arrival_and_add_up() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut w = WindowAccumulator::new(0, t0, t0).unwrap();
        // A long request: 4 chunks of 4 tokens each after the first (13 tokens), the server reports 13.
        let chunks: Vec<ContentChunk> =
            [100, 600, 1100, 1600, 2100].iter().map(|&m| ContentChunk { at: ms(m), bytes: 16 }).collect();
        let r = RequestResult {
            index: 0,
            sent_at: t0,
            chunks: chunks.clone(),
            done_at: ms(2100),
            output_tokens: 17,
            token_source: TokenSource::Usage,
            prompt_tokens: None,
            retried: false,
            error: None,
        };
        let tap = RequestTap::new(w.live(), t0);
        tap.chunk(chunks[0].at, 16);
        tap.chunk(chunks[1].at, 16);
        let w1 = w.close(ms(1000), 1);
        assert_eq!(w1.output_tokens, 2.0, "first chunk 1 token, then 1 per chunk until a ratio is learned");
        assert!(w1.ttft_p50_ms.is_some_and(|v| (v - 100.0).abs() < 1.0), "{w1:?}");
        tap.chunk(chunks[2].at, 16);
        tap.chunk(chunks[3].at, 16);
        let w2 = w.close(ms(2000), 1);
        assert_eq!(w2.output_tokens, 2.0);
        assert_eq!(w2.ttft_p50_ms, None, "TTFT belongs to the window of the first token");
        tap.chunk(chunks[4].at, 16);
        w.record(&Measured::new(&r, t0, None, 1), tap.counted());
        let w3 = w.close(ms(2500), 0);
        assert_eq!(w1.output_tokens + w2.output_tokens + w3.output_tokens, 17.0);
        assert_eq!(w3.length_ms, 500.0);
        assert_eq!(w3.output_tokens_per_s, w3.output_tokens / 0.5, "a partial window is divided by its real length");
        // The next request is counted at the learned ratio (16 tokens over 4 later chunks = 4 per chunk).
        let tap = RequestTap::new(w.live(), ms(2500));
        tap.chunk(ms(2600), 16);
        tap.chunk(ms(2700), 16);
        assert_eq!(tap.counted(), 5.0);
    }
}
