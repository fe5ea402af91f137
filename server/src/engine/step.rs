//! One step of a run (the whole run when there is no sweep), as both executors share it: which request goes
//! next and whether it is warmup, the limits, the per-request bookkeeping (metrics, windows, events, early stop)
//! and the step's final [`RunReport`].

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use protocol::event::{RequestRecord, RunEvent};
use protocol::record::{ErrorClass, RequestError};
use protocol::report::{ErrorSample, RunReport};
use protocol::spec::{LoadSpec, Slo};
use tokio::sync::mpsc::UnboundedSender;

use super::error::EngineError;
use super::metrics::{for_each_gap, micros, now, per_s, Accumulator, Measured};
use super::target::{RequestResult, Target};
use super::verdict::{FailureTally, VerdictContext};
use super::window::{RequestTap, WindowAccumulator};
use super::workload::Workload;

/// Error samples kept per class.
const SAMPLES_PER_CLASS: u64 = 3;
/// Scheduler lag (p99) above which an open loop is flagged client-bound, ms.
const CLIENT_BOUND_LAG_MS: f64 = 10.0;
/// Mean scheduler lag above this fraction of the mean arrival gap (and above 1 ms) also flags an open loop
/// client-bound: requests leave systematically late, so the offered rate is lower than asked.
const CLIENT_BOUND_GAP_FRACTION: f64 = 0.10;
/// Mean lag below this never flags on the gap rule (timer granularity, not a client falling behind), ms.
const CLIENT_BOUND_MIN_MEAN_LAG_MS: f64 = 1.0;

/// Sends events without ever blocking or failing: once the receiver is gone the engine keeps measuring.
#[derive(Debug, Clone)]
pub struct EventSink(UnboundedSender<RunEvent>);

impl EventSink {
    /// Wraps the channel.
    pub fn new(tx: UnboundedSender<RunEvent>) -> Self {
        EventSink(tx)
    }

    /// Sends `ev` when someone listens.
    pub fn send(&self, ev: RunEvent) {
        let _ = self.0.send(ev);
    }

    /// True while a receiver exists (lets callers skip building events nobody reads).
    pub fn listening(&self) -> bool {
        !self.0.is_closed()
    }
}

/// When a step stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    /// Measured requests to send.
    pub requests: Option<u64>,
    /// Sending stops this long after the first measured request started.
    pub duration: Option<Duration>,
    /// The first this-many requests are warmup.
    pub warmup_requests: u64,
    /// Requests starting this soon after the step started are warmup.
    pub warmup: Duration,
}

/// What a step needs from the run.
#[derive(Clone)]
pub struct StepContext {
    /// Step index.
    pub step: u32,
    /// The step's load.
    pub load: LoadSpec,
    /// The server under test.
    pub target: Arc<dyn Target>,
    /// The prompts.
    pub workload: Arc<Workload>,
    /// Where events go.
    pub events: EventSink,
    /// Zero of every `t_*_ms`.
    pub run_start: Instant,
    /// When to stop sending.
    pub limits: Limits,
    /// Objectives.
    pub slo: Slo,
    /// Stop when the first this-many requests all fail (0 = never).
    pub fail_fast_after: u32,
    /// For phrasing verdicts.
    pub verdict: VerdictContext,
    /// A step whose measured requests fail more often than this fraction ends with a verdict.
    pub max_error_rate: f64,
    /// The run's prompt counter, shared by its steps: each request takes the next prompt, so no step resends
    /// another's prompts.
    pub prompts: Arc<AtomicU64>,
}

/// A request about to be sent.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// Request index in the step.
    pub index: u64,
    /// Index of its prompt in the run's workload (counted over all steps and warmup).
    pub prompt: u64,
    /// Left out of the metrics.
    pub warmup: bool,
    /// Open loop: when it is due (the clock of its latencies starts there).
    pub scheduled: Option<Instant>,
}

/// A request task's answer.
#[derive(Debug)]
pub struct Done {
    ticket: Ticket,
    result: RequestResult,
    input_estimate: u32,
    /// The `max_tokens` it asked for.
    requested: u32,
    /// Output tokens its tap counted into the live windows as chunks arrived.
    counted_live: f64,
}

/// The state of a running step.
pub struct Step {
    ctx: StepContext,
    start: Instant,
    started_at_ms: u64,
    dispatched: u64,
    measured: u64,
    measure_start: Option<Instant>,
    last_done: Option<Instant>,
    in_flight: u64,
    warmup_seen: u64,
    acc: Accumulator,
    window: WindowAccumulator,
    errors: BTreeMap<ErrorClass, u64>,
    samples: Vec<ErrorSample>,
    first: FailureTally,
    first_ok: bool,
    all: FailureTally,
    ok_total: u64,
    /// Refused connections since the last success (see [`TARGET_LOST_AFTER`]).
    refused_in_a_row: u32,
    early_stop: Option<String>,
    /// Output tokens of successful measured requests by when they arrived, for the steady-state rate.
    arrivals: Arrivals,
    /// The first time a request was refused by the limits: from here the load falls below its target level.
    drain_from: Option<Instant>,
    /// Open loop: the last scheduled send.
    last_scheduled: Option<Instant>,
}

/// Share of successful requests with another output length than asked above which a step gets a verdict.
pub const MAX_LENGTH_MISMATCH: f64 = 0.05;
/// Shortest steady-state interval a rate is given for.
const STEADY_MIN: Duration = Duration::from_millis(500);
/// Resolution of the arrival timeline behind the steady-state rate.
const ARRIVAL_BIN: Duration = Duration::from_millis(50);

/// Output tokens by arrival time since the step's start, in [`ARRIVAL_BIN`]s: each content chunk's tokens (the
/// first chunk one, the rest spread as the ITL rule spreads them) at the time it arrived.
#[derive(Debug, Default)]
struct Arrivals(Vec<f64>);

impl Arrivals {
    fn bin(origin: Instant, at: Instant) -> usize {
        (at.saturating_duration_since(origin).as_micros() / ARRIVAL_BIN.as_micros()) as usize
    }

    fn put(&mut self, origin: Instant, at: Instant, tokens: f64) {
        let i = Self::bin(origin, at);
        if self.0.len() <= i {
            self.0.resize(i + 1, 0.0);
        }
        self.0[i] += tokens;
    }

    fn add(&mut self, r: &RequestResult, origin: Instant) {
        let Some(first) = r.chunks.first() else { return };
        if r.output_tokens == 0 {
            return;
        }
        self.put(origin, first.at, 1.0);
        let mut i = 1;
        for_each_gap(&r.chunks, r.output_tokens, |_, _, k| {
            if let Some(c) = r.chunks.get(i) {
                self.put(origin, c.at, k as f64);
            }
            i += 1;
        });
    }

    /// Tokens that arrived between `a` and `b` (bins cut by the interval count pro rata).
    fn between(&self, origin: Instant, a: Instant, b: Instant) -> f64 {
        let bin_s = ARRIVAL_BIN.as_secs_f64();
        let (a_s, b_s) =
            (a.saturating_duration_since(origin).as_secs_f64(), b.saturating_duration_since(origin).as_secs_f64());
        self.0
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let (lo, hi) = (i as f64 * bin_s, (i + 1) as f64 * bin_s);
                let overlap = (hi.min(b_s) - lo.max(a_s)).max(0.0);
                n * overlap / bin_s
            })
            .sum()
    }
}

/// Refused connections in a row, after at least one success, after which the target counts as gone and the step
/// (and the run) ends with a verdict that says so — instead of hammering a dead port until the limits.
pub const TARGET_LOST_AFTER: u32 = 10;

impl Step {
    /// Starts step `ctx.step` now and announces it.
    pub fn new(ctx: StepContext) -> Result<Self, EngineError> {
        let start = now();
        ctx.events.send(RunEvent::StepStarted { step: ctx.step, load: ctx.load.clone() });
        Ok(Step {
            acc: Accumulator::new(ctx.slo)?,
            window: WindowAccumulator::new(ctx.step, ctx.run_start, start)?,
            ctx,
            start,
            started_at_ms: unix_ms(),
            dispatched: 0,
            measured: 0,
            measure_start: None,
            last_done: None,
            in_flight: 0,
            warmup_seen: 0,
            errors: BTreeMap::new(),
            samples: Vec::new(),
            first: FailureTally::default(),
            first_ok: false,
            all: FailureTally::default(),
            ok_total: 0,
            refused_in_a_row: 0,
            early_stop: None,
            arrivals: Arrivals::default(),
            drain_from: None,
            last_scheduled: None,
        })
    }

    /// When the step started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// True once the first requests all failed: stop sending and finish.
    pub fn early_stopped(&self) -> bool {
        self.early_stop.is_some()
    }

    /// The next request if the limits allow one starting at `at` (its scheduled time when `scheduled`).
    pub fn next_ticket(&mut self, at: Instant, scheduled: bool) -> Option<Ticket> {
        if self.early_stop.is_some() {
            return None;
        }
        let lim = self.ctx.limits;
        let index = self.dispatched;
        let warmup = index < lim.warmup_requests || at < self.start + lim.warmup;
        if !warmup {
            if lim.requests.is_some_and(|r| self.measured >= r) {
                self.drain_from.get_or_insert(at);
                return None;
            }
            let first = *self.measure_start.get_or_insert(at);
            if lim.duration.is_some_and(|d| at >= first + d) {
                self.drain_from.get_or_insert(at);
                return None;
            }
            self.measured += 1;
            if scheduled {
                self.last_scheduled = Some(at);
            }
        }
        self.dispatched += 1;
        let prompt = self.ctx.prompts.fetch_add(1, Ordering::Relaxed);
        Some(Ticket { index, prompt, warmup, scheduled: scheduled.then_some(at) })
    }

    /// The task that sends `t` (counted in flight from now); it never panics.
    pub fn task(&mut self, t: Ticket) -> impl Future<Output = Done> + Send + 'static {
        self.in_flight += 1;
        let (target, workload, live) = (self.ctx.target.clone(), self.ctx.workload.clone(), self.window.live());
        async move {
            let prompt = workload.prompt(t.prompt);
            let tap = RequestTap::new(live, t.scheduled.unwrap_or_else(now));
            let result = match AssertUnwindSafe(target.execute(&prompt, &tap)).catch_unwind().await {
                Ok(r) => r,
                Err(_) => panicked(&t),
            };
            let (input_estimate, requested) = (prompt.input_tokens, prompt.max_tokens);
            Done { ticket: t, result, input_estimate, requested, counted_live: tap.counted() }
        }
    }

    /// `t` is due but not sent, because `cap` requests are already in flight: an open loop faster than the server
    /// would otherwise pile up requests (and memory) without bound. It counts as a failed request at once.
    pub fn refuse(&mut self, t: Ticket, cap: u64) -> Done {
        self.in_flight += 1;
        let message = format!(
            "not sent: {cap} requests were already in flight (the open loop's cap) — the server is not keeping up \
             with this rate"
        );
        let result = failed_unsent(&t, message);
        Done { ticket: t, result, input_estimate: 0, requested: 0, counted_live: 0.0 }
    }

    /// A task vanished without an answer (it cannot panic, so only on shutdown).
    pub fn lost(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Accounts for one finished request.
    pub fn finish(&mut self, d: Done) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Done { ticket, result, input_estimate, requested, counted_live } = d;
        let start = ticket.scheduled.unwrap_or(result.sent_at);
        let lag_us = ticket.scheduled.map(|s| micros(result.sent_at.saturating_duration_since(s)));
        let m = Measured::new(&result, start, lag_us, input_estimate);
        self.window.record(&m, counted_live);
        if ticket.warmup {
            self.warmup_seen += 1;
        } else {
            self.acc.record(&m);
            self.acc.record_lengths(&m, requested, input_estimate);
            if m.ok() {
                self.arrivals.add(&result, self.start);
            }
            self.last_done = Some(self.last_done.map_or(result.done_at, |t| t.max(result.done_at)));
            if let Some(e) = &m.error {
                let n = self.errors.entry(e.class).or_default();
                *n += 1;
                if *n <= SAMPLES_PER_CLASS {
                    self.samples.push(ErrorSample { class: e.class, status: e.status, message: e.message.clone() });
                }
            }
        }
        match &m.error {
            None => {
                self.ok_total += 1;
                self.refused_in_a_row = 0;
            }
            Some(e) => {
                self.all.add(e);
                // Mid-stream cuts and timeouts neither prove nor disprove that the target is gone.
                if e.class == ErrorClass::Connect {
                    self.refused_in_a_row += 1;
                    self.check_target_lost(&e.message);
                }
            }
        }
        self.check_fail_fast(m.error.as_ref());
        if self.ctx.events.listening() {
            self.ctx.events.send(RunEvent::Request(self.record(&m, &ticket, requested)));
        }
    }

    /// A target that answered before and now refused [`TARGET_LOST_AFTER`] connections in a row is gone. (One that
    /// never answered is the fail-fast rule's case, with its own verdict.)
    fn check_target_lost(&mut self, message: &str) {
        if self.early_stop.is_some() || self.ok_total == 0 || self.refused_in_a_row < TARGET_LOST_AFTER {
            return;
        }
        let message: String = message.chars().take(200).collect();
        self.early_stop = Some(format!(
            "the target stopped accepting connections mid-run: {TARGET_LOST_AFTER} requests in a row were refused \
             ({message}); is the server at {} still running? The {} requests completed before are kept",
            self.ctx.verdict.target, self.ok_total
        ));
    }

    fn check_fail_fast(&mut self, error: Option<&RequestError>) {
        let n = u64::from(self.ctx.fail_fast_after);
        if n == 0 || self.first_ok || self.first.total >= n {
            return;
        }
        match error {
            None => self.first_ok = true,
            Some(e) => {
                self.first.add(e);
                if self.first.total == n {
                    let why = self.first.explain(&self.ctx.verdict);
                    self.early_stop = Some(format!("stopped after the first {n} requests all failed — {why}"));
                }
            }
        }
    }

    fn record(&self, m: &Measured<'_>, t: &Ticket, requested: u32) -> RequestRecord {
        let ms = |us: u64| us as f64 / 1000.0;
        RequestRecord {
            step: self.ctx.step,
            index: t.index,
            t_send_ms: m.start.saturating_duration_since(self.ctx.run_start).as_secs_f64() * 1000.0,
            scheduler_lag_ms: m.lag_us.map_or(0.0, ms),
            ttft_ms: m.ttft_us.map(ms),
            e2e_ms: m.e2e_us.map(ms),
            tpot_ms: m.tpot_us.map(ms),
            output_tokens: m.result.output_tokens,
            input_tokens: m.input_tokens,
            token_source: m.result.token_source,
            requested_tokens: requested,
            retried: m.result.retried,
            warmup: t.warmup,
            error: m.error.clone(),
        }
    }

    /// Closes the current 1 s window at `at` and emits it.
    pub fn tick(&mut self, at: Instant) {
        let w = self.window.close(at, self.in_flight);
        self.ctx.events.send(RunEvent::Window(w));
    }

    /// The step's report. `stopped`: cancelled; `mean_gap_ms`: the open loop's mean arrival gap.
    pub fn into_report(mut self, stopped: bool, mean_gap_ms: Option<f64>) -> RunReport {
        let end = now();
        if !self.window.is_empty() {
            self.tick(end);
        }
        let window_end = if stopped || self.early_stop.is_some() { Some(end) } else { self.last_done };
        let duration_s = match (self.measure_start, window_end) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        let steady_end = if mean_gap_ms.is_some() { self.last_scheduled } else { self.drain_from.or(Some(end)) };
        let steady = match (self.measure_start, steady_end) {
            (Some(a), Some(b)) if b.saturating_duration_since(a) >= STEADY_MIN => {
                let secs = b.saturating_duration_since(a).as_secs_f64();
                Some((self.arrivals.between(self.start, a, b) / secs, secs))
            }
            _ => None,
        };
        let acc = &self.acc;
        let (client_bound_reason, verdict) = (self.client_bound(mean_gap_ms), self.verdict());
        let input_tokens_source = if acc.completed > 0 && acc.input_source_usage == acc.completed {
            "usage".to_owned()
        } else {
            self.ctx.workload.info.tokens_source.clone()
        };
        RunReport {
            started_at_ms: self.started_at_ms,
            load: self.ctx.load.clone(),
            requests_completed: acc.completed,
            requests_failed: acc.failed,
            warmup_requests_excluded: self.warmup_seen,
            duration_s,
            output_tokens_per_s: per_s(acc.output_tokens, duration_s),
            steady_output_tokens_per_s: steady.map(|(rate, _)| rate),
            steady_duration_s: steady.map(|(_, secs)| secs),
            total_tokens_per_s: per_s(acc.output_tokens + acc.input_tokens, duration_s),
            requests_per_s: per_s(acc.completed, duration_s),
            goodput_rps: acc.goodput_rps(duration_s),
            input_tokens: acc.input_tokens,
            output_tokens: acc.output_tokens,
            ttft_ms: acc.ttft.stats(),
            tpot_ms: acc.tpot.stats(),
            itl_ms: acc.itl.stats(),
            itl_chunk_ms: acc.itl_chunk.stats(),
            e2e_ms: acc.e2e.stats(),
            scheduler_lag_ms: acc.lag.stats(),
            slo: self.ctx.slo,
            slo_met: acc.slo_met(),
            error_rate: acc.error_rate(),
            requests_retried: acc.retried,
            errors: std::mem::take(&mut self.errors),
            error_samples: std::mem::take(&mut self.samples),
            token_source_usage: acc.token_source_usage,
            token_source_chunks: acc.token_source_chunks,
            token_source_tokenizer: acc.token_source_tokenizer,
            output_tokens_source: acc.output_source().to_owned(),
            input_tokens_source,
            prompt_overhead_tokens: (acc.prompt_overhead.1 > 0)
                .then(|| acc.prompt_overhead.0 as f64 / acc.prompt_overhead.1 as f64),
            output_length_mismatch_rate: if acc.completed > 0 {
                acc.length_mismatched as f64 / acc.completed as f64
            } else {
                0.0
            },
            output_length_ratio: (acc.completed > 0).then(|| acc.length_ratio_sum / acc.completed as f64),
            client_lag_ms: Default::default(),
            client_bound: client_bound_reason.is_some(),
            client_bound_reason,
            verdict,
            stopped,
            workload: self.ctx.workload.info.clone(),
            preflight: None,
            gpu: None,
        }
    }

    /// The early stop, why nothing succeeded, or that too many measured requests failed.
    fn verdict(&self) -> Option<String> {
        if let Some(v) = &self.early_stop {
            return Some(v.clone());
        }
        if self.ok_total == 0 && self.all.total > 0 {
            return Some(self.all.explain(&self.ctx.verdict));
        }
        let (rate, limit) = (self.acc.error_rate(), self.ctx.max_error_rate);
        if rate <= limit {
            return self.length_verdict();
        }
        Some(format!(
            "{} of {} measured requests failed ({:.1} %, above the {:.1} % limit): {}; the figures describe the \
                 requests that succeeded only (raise --max-error-rate to accept this)",
            self.acc.failed,
            self.acc.failed + self.acc.completed,
            rate * 100.0,
            limit * 100.0,
            self.all.summary(),
        ))
    }

    /// More than [`MAX_LENGTH_MISMATCH`] of the successful requests got another output length than they asked for:
    /// TPOT, throughput and energy per token then describe other outputs than the ones configured.
    fn length_verdict(&self) -> Option<String> {
        let acc = &self.acc;
        let rate = if acc.completed > 0 { acc.length_mismatched as f64 / acc.completed as f64 } else { 0.0 };
        if rate <= MAX_LENGTH_MISMATCH {
            return None;
        }
        let ratio = acc.length_ratio_sum / acc.completed as f64;
        let pct = rate * 100.0;
        Some(if acc.token_source_chunks > 0 && acc.token_source_usage == 0 && acc.token_source_tokenizer == 0 {
            format!(
                "{pct:.0} % of requests got another output length than asked (received/asked {ratio:.2}), counted as \
                 content chunks: the server sends no `usage` and a chunk may carry several tokens — give --tokenizer \
                 (the model's tokenizer.json) for exact counts"
            )
        } else {
            format!(
                "{pct:.0} % of requests got another output length than asked (received/asked {ratio:.2}): the server \
                 stops at EOS or caps max_tokens — use its --backend preset (vllm, sglang, lmdeploy, trtllm, \
                 llama-cpp, ollama send ignore_eos / min_tokens) or check the server's max length"
            )
        })
    }

    /// The client-bound rule: the open loop's p99 scheduler lag exceeds 10 ms, or its mean lag exceeds both 1 ms
    /// and 10 % of the mean gap between arrivals. Either way requests left later than planned, so the load the
    /// server saw was not the load asked (latencies still count from the scheduled times).
    fn client_bound(&self, mean_gap_ms: Option<f64>) -> Option<String> {
        let gap = mean_gap_ms?;
        let p99 = self.acc.lag.quantile_ms(0.99)?;
        let mean = self.acc.lag.stats().mean;
        let over = if p99 > CLIENT_BOUND_LAG_MS {
            format!("p99 scheduler lag {p99:.3} ms > {CLIENT_BOUND_LAG_MS} ms")
        } else if mean > CLIENT_BOUND_MIN_MEAN_LAG_MS && mean > CLIENT_BOUND_GAP_FRACTION * gap {
            format!("mean scheduler lag {mean:.3} ms > 10 % of the mean arrival gap of {gap:.3} ms")
        } else {
            return None;
        };
        Some(format!("{over}: the client fell behind its schedule; give it more CPU or lower --rate"))
    }
}

fn panicked(t: &Ticket) -> RequestResult {
    failed_unsent(t, "the request task panicked".into())
}

/// A request that failed with `message` before (or without) any answer.
fn failed_unsent(t: &Ticket, message: String) -> RequestResult {
    let at = t.scheduled.unwrap_or_else(now);
    RequestResult {
        index: t.index,
        sent_at: at,
        chunks: Vec::new(),
        done_at: now(),
        output_tokens: 0,
        token_source: protocol::record::TokenSource::Chunks,
        prompt_tokens: None,
        retried: false,
        error: Some(RequestError { class: ErrorClass::Other, status: None, message }),
    }
}

use crate::clock::unix_ms;
