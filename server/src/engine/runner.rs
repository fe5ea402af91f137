//! The engine's entry point: validates a [`RunSpec`], builds the workload, runs one step (or one per sweep value)
//! with the matching executor, streams [`RunEvent`]s and returns the report.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use protocol::event::RunEvent;
use protocol::report::{RunReport, SweepReport};
use protocol::spec::{LoadSpec, RunSpec, WorkloadSpec};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::error::EngineError;
use super::executor::{ClosedLoop, OpenLoop, MAX_OPEN_IN_FLIGHT};
use super::lag_probe::LagProbe;
use super::metrics::now;
use super::pacer::ArrivalClock;
use super::scheduler::ArrivalProcess;
use super::step::{EventSink, Limits, Step, StepContext};
use super::target::Target;
use super::verdict::VerdictContext;
use super::workload::{Tokens, Workload};
use crate::clock::unix_ms;

/// What a run returns.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // reason: built once per run; boxing would only add noise at every use
pub enum RunOutcome {
    /// A run without a sweep.
    Single(RunReport),
    /// A sweep: one report per step.
    Sweep(SweepReport),
}

/// Runs `spec` against `target`, sending events on `events` (never blocking; a closed channel is ignored) until
/// done or `cancel`led. Steps stop early when their first `spec.fail_fast_after` requests all fail; a sweep stops
/// at the first step that has a verdict (early stop or nothing succeeded) or on cancel.
pub async fn run(
    spec: &RunSpec,
    target: Arc<dyn Target>,
    events: UnboundedSender<RunEvent>,
    cancel: CancellationToken,
) -> Result<RunOutcome, EngineError> {
    let errs = spec.validate();
    if !errs.is_empty() {
        return Err(EngineError::InvalidSpec(errs));
    }
    let workload = Arc::new(Workload::build(spec, &Tokens::estimate(), &super::dataset::DatasetAccess::local()).await?);
    run_workload(spec, workload, target, events, cancel, protocol::preflight::Surface::Cli).await
}

/// [`run`] with the prompt set already built (with the run's tokenizer: see `session`).
pub async fn run_workload(
    spec: &RunSpec,
    workload: Arc<Workload>,
    target: Arc<dyn Target>,
    events: UnboundedSender<RunEvent>,
    cancel: CancellationToken,
    surface: protocol::preflight::Surface,
) -> Result<RunOutcome, EngineError> {
    let errs = spec.validate();
    if !errs.is_empty() {
        return Err(EngineError::InvalidSpec(errs));
    }
    let events = EventSink::new(events);
    let (run_start, started_at_ms) = (now(), unix_ms());
    let dataset = !matches!(spec.workload, WorkloadSpec::Synthetic { .. });
    let limits = Limits {
        requests: spec
            .requests
            .or_else(|| (dataset && spec.duration_s.is_none()).then_some(workload.len().unwrap_or(1))),
        duration: spec.duration_s.and_then(|d| Duration::try_from_secs_f64(d).ok()),
        warmup_requests: spec.warmup_requests,
        warmup: Duration::try_from_secs_f64(spec.warmup_s).unwrap_or_default(),
    };
    let verdict = VerdictContext {
        target: protocol::spec::redact_target(&spec.target).into_owned(),
        endpoint: spec.endpoint,
        request_timeout_s: spec.request_timeout_s,
        surface,
    };
    let mut reports: Vec<RunReport> = Vec::new();
    let mut sweep_verdict = None;
    let prompts = Arc::new(AtomicU64::new(0));
    for (i, load) in step_loads(spec).into_iter().enumerate() {
        if i > 0 && cancel.is_cancelled() {
            break;
        }
        let step = u32::try_from(i).unwrap_or(u32::MAX);
        let ctx = StepContext {
            step,
            load: load.clone(),
            target: target.clone(),
            workload: workload.clone(),
            events: events.clone(),
            run_start,
            limits,
            slo: spec.slo,
            fail_fast_after: spec.fail_fast_after,
            verdict: verdict.clone(),
            max_error_rate: spec.max_error_rate,
            prompts: prompts.clone(),
        };
        let probe = LagProbe::start()?;
        let mut report = match load {
            LoadSpec::Concurrency { concurrency } => {
                ClosedLoop { concurrency }.run(Step::new(ctx)?, cancel.clone()).await
            }
            LoadSpec::Rate { rate_rps, arrival } => {
                let process = ArrivalProcess::new(rate_rps, arrival)?;
                let seed = spec.seed.unwrap_or_default();
                let open = OpenLoop {
                    process,
                    rate_rps,
                    seed,
                    clock: ArrivalClock::Thread,
                    max_in_flight: MAX_OPEN_IN_FLIGHT,
                };
                open.run(Step::new(ctx)?, cancel.clone()).await?
            }
        };
        let (lag, lag_reason) = probe.finish();
        report.client_lag_ms = lag;
        if let (false, Some(reason)) = (report.client_bound, lag_reason) {
            report.client_bound = true;
            report.client_bound_reason = Some(reason);
        }
        events.send(RunEvent::StepFinished { step, report: Box::new(report.clone()) });
        let end = report.stopped || report.verdict.is_some();
        if let Some(v) = &report.verdict {
            sweep_verdict = Some(format!("step {} ({}): {v}", i + 1, describe(&report.load)));
        }
        reports.push(report);
        if end {
            break;
        }
    }
    let stopped = reports.last().is_some_and(|r| r.stopped);
    let duration_s = now().saturating_duration_since(run_start).as_secs_f64();
    let single = spec.sweep.is_empty();
    let verdict = if single { reports.first().and_then(|r| r.verdict.clone()) } else { sweep_verdict };
    events.send(RunEvent::Finished { steps: reports.len() as u32, stopped, verdict: verdict.clone(), duration_s });
    if single {
        if let Some(r) = reports.pop() {
            return Ok(RunOutcome::Single(r));
        }
    }
    Ok(RunOutcome::Sweep(SweepReport {
        started_at_ms,
        best_step: SweepReport::pick_best(&reports),
        steps: reports,
        stopped,
        verdict,
        preflight: None,
    }))
}

/// The load of each step (one place for the engine, the CLI, the pages and the PNG).
pub use protocol::sweep::step_loads;

/// `concurrency 8` / `rate 2.5/s`.
pub use protocol::sweep::load_label as describe;

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
