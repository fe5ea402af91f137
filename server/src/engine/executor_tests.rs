//! Closed and open loops against the in-process [`DummyTarget`] on tokio's paused clock: every latency is exact.

use std::sync::Arc;
use std::time::Duration;

use protocol::event::RunEvent;
use protocol::record::ErrorClass;
use protocol::spec::{Arrival, Endpoint, LoadSpec, Slo, TokenRange};
use tokio::sync::mpsc;

use super::*;
use crate::engine::dummy::DummyTarget;
use crate::engine::pacer::ArrivalClock;
use crate::engine::step::{EventSink, Limits, StepContext};
use crate::engine::tokenize::PromptSynth;
use crate::engine::verdict::VerdictContext;
use crate::engine::workload::Workload;

fn ctx(target: Arc<DummyTarget>, load: LoadSpec, limits: Limits) -> (StepContext, mpsc::UnboundedReceiver<RunEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let workload = Workload::synthetic(TokenRange::fixed(8), TokenRange::fixed(5), 1, PromptSynth::estimate());
    let ctx = StepContext {
        step: 0,
        load,
        target,
        workload: Arc::new(workload),
        events: EventSink::new(tx),
        run_start: now(),
        limits,
        slo: Slo::default(),
        fail_fast_after: 5,
        verdict: VerdictContext {
            target: "http://x".into(),
            endpoint: Endpoint::Chat,
            request_timeout_s: 60.0,
            surface: protocol::preflight::Surface::Cli,
        },
        max_error_rate: 1.0,
        prompts: Default::default(),
    };
    (ctx, rx)
}

/// Equal within the 3 significant digits of the histograms.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= b.abs() * 1e-3
}

fn drain(rx: &mut mpsc::UnboundedReceiver<RunEvent>) -> Vec<RunEvent> {
    let mut v = vec![];
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

#[tokio::test(start_paused = true)]
async fn closed_loop_counts_requests_and_excludes_warmup() {
    let target = Arc::new(DummyTarget::new());
    let limits = Limits { requests: Some(20), warmup_requests: 3, ..Limits::default() };
    let (ctx, mut rx) = ctx(target.clone(), LoadSpec::Concurrency { concurrency: 4 }, limits);
    let r = ClosedLoop { concurrency: 4 }.run(Step::new(ctx).unwrap(), CancellationToken::new()).await;
    assert_eq!(target.calls(), 23);
    assert_eq!((r.requests_completed, r.requests_failed, r.warmup_requests_excluded), (20, 0, 3));
    // 10 ms TTFT, then 4 more tokens 1 ms apart.
    assert!(near(r.ttft_ms.p50, 10.0) && near(r.ttft_ms.max, 10.0) && near(r.e2e_ms.p99, 14.0), "{r:?}");
    assert!(near(r.tpot_ms.mean, 1.0), "{r:?}");
    assert_eq!((r.itl_ms.count, r.itl_chunk_ms.count), (80, 80));
    assert_eq!((r.output_tokens, r.input_tokens, r.token_source_usage), (100, 160, 20));
    assert_eq!(r.scheduler_lag_ms.count, 0);
    assert!(!r.stopped && r.verdict.is_none() && !r.client_bound);
    let events = drain(&mut rx);
    let records: Vec<_> =
        events.iter().filter_map(|e| if let RunEvent::Request(r) = e { Some(r) } else { None }).collect();
    assert_eq!(records.len(), 23);
    assert_eq!(records.iter().filter(|r| r.warmup).count(), 3);
    assert!(matches!(events[0], RunEvent::StepStarted { step: 0, .. }));
}

#[tokio::test(start_paused = true)]
async fn open_loop_times_from_the_schedule() {
    let target = Arc::new(DummyTarget::new());
    let load = LoadSpec::Rate { rate_rps: 100.0, arrival: Arrival::Constant };
    let (ctx, _rx) = ctx(target.clone(), load, Limits { requests: Some(10), ..Limits::default() });
    let process = ArrivalProcess::new(100.0, Arrival::Constant).unwrap();
    let open =
        OpenLoop { process, rate_rps: 100.0, seed: 0, clock: ArrivalClock::Tokio, max_in_flight: MAX_OPEN_IN_FLIGHT };
    let r = open.run(Step::new(ctx).unwrap(), CancellationToken::new()).await.unwrap();
    assert_eq!(r.requests_completed, 10);
    assert!(near(r.ttft_ms.p99, 10.0) && near(r.e2e_ms.p99, 14.0), "{r:?}");
    assert_eq!((r.scheduler_lag_ms.count, r.scheduler_lag_ms.max), (10, 0.0));
    assert!(!r.client_bound);
    // First request at 0, last at 90 ms, done 14 ms later.
    assert!((r.duration_s - 0.104).abs() < 1e-3, "{}", r.duration_s);
}

#[tokio::test(start_paused = true)]
async fn warmup_by_seconds_and_duration_limit() {
    let target = Arc::new(DummyTarget::new());
    let load = LoadSpec::Rate { rate_rps: 10.0, arrival: Arrival::Constant };
    let limits =
        Limits { duration: Some(Duration::from_secs(1)), warmup: Duration::from_millis(500), ..Limits::default() };
    let (ctx, mut rx) = ctx(target.clone(), load, limits);
    let process = ArrivalProcess::new(10.0, Arrival::Constant).unwrap();
    let open =
        OpenLoop { process, rate_rps: 10.0, seed: 0, clock: ArrivalClock::Tokio, max_in_flight: MAX_OPEN_IN_FLIGHT };
    let r = open.run(Step::new(ctx).unwrap(), CancellationToken::new()).await.unwrap();
    // Sent at 0, 0.1 … 0.4 s: warmup. Then 0.5 … 1.4 s: the measured second.
    assert_eq!((r.warmup_requests_excluded, r.requests_completed), (5, 10));
    assert!((r.duration_s - 0.914).abs() < 1e-3, "{}", r.duration_s);
    let windows = drain(&mut rx).into_iter().filter(|e| matches!(e, RunEvent::Window(_))).count();
    assert!(windows >= 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_keeps_completed_results() {
    let target = Arc::new(DummyTarget { output_tokens: Some(100), ..DummyTarget::new() });
    let limits = Limits { duration: Some(Duration::from_secs(60)), ..Limits::default() };
    let (mut ctx, _rx) = ctx(target, LoadSpec::Concurrency { concurrency: 2 }, limits);
    // Prompts that ask for the 100 tokens the target sends (another length would earn a verdict).
    ctx.workload =
        Arc::new(Workload::synthetic(TokenRange::fixed(8), TokenRange::fixed(100), 1, PromptSynth::estimate()));
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        stopper.cancel();
    });
    let r = ClosedLoop { concurrency: 2 }.run(Step::new(ctx).unwrap(), cancel).await;
    assert!(r.stopped);
    // Each request takes 10 + 99 ms: 9 rounds of 2 finish within the second.
    assert_eq!(r.requests_completed, 18);
    assert!((r.duration_s - 1.0).abs() < 1e-3, "{}", r.duration_s);
    assert!(r.verdict.is_none());
}

#[tokio::test(start_paused = true)]
async fn all_failing_requests_stop_early_with_a_verdict() {
    let target = Arc::new(DummyTarget { error: Some((ErrorClass::HttpStatus, Some(404))), ..DummyTarget::new() });
    let (ctx, _rx) = ctx(
        target.clone(),
        LoadSpec::Concurrency { concurrency: 1 },
        Limits { requests: Some(100), ..Limits::default() },
    );
    let r = ClosedLoop { concurrency: 1 }.run(Step::new(ctx).unwrap(), CancellationToken::new()).await;
    assert_eq!(target.calls(), 5);
    assert_eq!((r.requests_completed, r.requests_failed), (0, 5));
    assert_eq!(r.errors.get(&ErrorClass::HttpStatus), Some(&5));
    assert_eq!(r.error_samples.len(), 3);
    let v = r.verdict.unwrap();
    assert!(v.contains("first 5 requests") && v.contains("try --endpoint completions"), "{v}");
}

#[tokio::test(start_paused = true)]
async fn a_success_among_the_first_requests_disarms_the_early_stop() {
    let target = Arc::new(DummyTarget { fail_first: 3, ..DummyTarget::new() });
    let (ctx, _rx) =
        ctx(target, LoadSpec::Concurrency { concurrency: 1 }, Limits { requests: Some(10), ..Limits::default() });
    let r = ClosedLoop { concurrency: 1 }.run(Step::new(ctx).unwrap(), CancellationToken::new()).await;
    assert_eq!((r.requests_completed, r.requests_failed), (7, 3));
    assert!(r.verdict.is_none());
}

#[tokio::test(start_paused = true)]
async fn multi_token_chunks_and_a_closed_channel() {
    let target = Arc::new(DummyTarget { output_tokens: Some(9), tokens_per_chunk: 4, ..DummyTarget::new() });
    let (ctx, rx) =
        ctx(target, LoadSpec::Concurrency { concurrency: 3 }, Limits { requests: Some(6), ..Limits::default() });
    drop(rx);
    let r = ClosedLoop { concurrency: 3 }.run(Step::new(ctx).unwrap(), CancellationToken::new()).await;
    assert_eq!(r.requests_completed, 6);
    // Chunks of 1, 4, 4 tokens 4 ms apart: raw gaps of 4 ms, per-token gaps of 1 ms.
    assert!(near(r.itl_chunk_ms.p50, 4.0) && near(r.itl_ms.p50, 1.0) && near(r.tpot_ms.p50, 1.0), "{r:?}");
    assert_eq!((r.itl_chunk_ms.count, r.itl_ms.count), (12, 48));
}

#[tokio::test(start_paused = true)]
async fn a_target_that_dies_mid_run_ends_the_step_after_ten_refusals_in_a_row() {
    let target =
        Arc::new(DummyTarget { fail_after: Some(5), error: Some((ErrorClass::Connect, None)), ..DummyTarget::new() });
    let (ctx, _rx) = ctx(
        target.clone(),
        LoadSpec::Concurrency { concurrency: 1 },
        Limits { requests: Some(1000), ..Limits::default() },
    );
    let r = ClosedLoop { concurrency: 1 }.run(Step::new(ctx).unwrap(), CancellationToken::new()).await;
    assert_eq!(target.calls(), 5 + u64::from(crate::engine::step::TARGET_LOST_AFTER));
    assert_eq!((r.requests_completed, r.requests_failed), (5, 10));
    let v = r.verdict.unwrap();
    assert!(v.contains("stopped accepting connections mid-run") && v.contains("The 5 requests completed"), "{v}");
}

#[tokio::test(start_paused = true)]
async fn refusals_before_any_answer_are_not_a_lost_target() {
    // Never answered: the fail-fast rule's verdict, not "stopped accepting connections mid-run".
    let target = Arc::new(DummyTarget { error: Some((ErrorClass::Connect, None)), ..DummyTarget::new() });
    let (never, _rx) =
        ctx(target, LoadSpec::Concurrency { concurrency: 1 }, Limits { requests: Some(100), ..Limits::default() });
    let r = ClosedLoop { concurrency: 1 }.run(Step::new(never).unwrap(), CancellationToken::new()).await;
    let v = r.verdict.unwrap();
    assert!(v.contains("refused every connection") && !v.contains("mid-run"), "{v}");
    // Twelve refusals before the target ever answered (fail-fast off), then answers: the run goes on to its limit.
    let target =
        Arc::new(DummyTarget { fail_first: 12, error: Some((ErrorClass::Connect, None)), ..DummyTarget::new() });
    let (mut step_ctx, _rx) =
        ctx(target, LoadSpec::Concurrency { concurrency: 1 }, Limits { requests: Some(30), ..Limits::default() });
    step_ctx.fail_fast_after = 0;
    let r = ClosedLoop { concurrency: 1 }.run(Step::new(step_ctx).unwrap(), CancellationToken::new()).await;
    assert_eq!((r.requests_completed, r.requests_failed), (18, 12));
    assert!(r.verdict.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_open_loop_faster_than_the_server_stops_at_its_in_flight_cap() {
    // 1000 req/s against a server that takes 10 s per request: without a cap, every arrival would stay in flight.
    let target = Arc::new(DummyTarget { ttft: Duration::from_secs(10), ..DummyTarget::new() });
    let load = LoadSpec::Rate { rate_rps: 1000.0, arrival: Arrival::Constant };
    let (mut ctx, _rx) = ctx(target.clone(), load, Limits { requests: Some(200), ..Limits::default() });
    (ctx.fail_fast_after, ctx.max_error_rate) = (0, 0.1);
    let process = ArrivalProcess::new(1000.0, Arrival::Constant).unwrap();
    let open = OpenLoop { process, rate_rps: 1000.0, seed: 0, clock: ArrivalClock::Tokio, max_in_flight: 50 };
    let r = open.run(Step::new(ctx).unwrap(), CancellationToken::new()).await.unwrap();
    assert_eq!(target.calls(), 50, "only the cap's worth was sent");
    assert_eq!((r.requests_completed, r.requests_failed), (50, 150), "{r:?}");
    assert!(r.verdict.as_deref().is_some_and(|v| v.contains("fail")), "{:?}", r.verdict);
}
