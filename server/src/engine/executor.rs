//! The two ways of applying load, as separate types over a shared [`Step`]:
//! - [`ClosedLoop`]: N requests in flight at all times; each completion starts the next (N workers sending
//!   back to back). Latencies start when a request is handed to the client.
//! - [`OpenLoop`]: a dispatcher starts each request at its scheduled instant whatever the server does, woken by
//!   a pacer thread on the OS timer (see `pacer`). Latencies start at the *scheduled* instant, and the lag of
//!   the actual send is recorded per request.
//!
//! Both stop sending at their limits, then wait for the requests in flight. On cancel (or an early stop) the
//! requests in flight are abandoned at once; everything completed is kept and the report is marked.

use tokio::task::JoinSet;
use tokio::time::{interval_at, Instant as TokioInstant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use protocol::report::RunReport;

use super::error::EngineError;
use super::metrics::now;
use super::pacer::{ArrivalClock, Arrivals};
use super::scheduler::{ArrivalProcess, Schedule};
use super::step::{Done, Step};
use super::window::WINDOW;

/// Closed loop: `concurrency` requests in flight.
#[derive(Debug, Clone, Copy)]
pub struct ClosedLoop {
    /// Requests in flight.
    pub concurrency: u32,
}

impl ClosedLoop {
    /// Runs `step` to its limits (or until `cancel`) and reports it.
    pub async fn run(self, mut step: Step, cancel: CancellationToken) -> RunReport {
        let mut tasks: JoinSet<Done> = JoinSet::new();
        let mut tick = window_ticker(step.start());
        let mut stopped = false;
        loop {
            while step.in_flight() < u64::from(self.concurrency) {
                let Some(t) = step.next_ticket(now(), false) else { break };
                tasks.spawn(step.task(t));
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => {
                    stopped = true;
                    break;
                }
                _ = tick.tick() => step.tick(now()),
                Some(joined) = tasks.join_next() => {
                    if finish(&mut step, joined) {
                        break;
                    }
                }
            }
        }
        drop(tasks);
        step.into_report(stopped, None)
    }
}

/// Most requests an open loop keeps in flight: a due arrival beyond it is not sent and counts as failed, so a
/// rate the server cannot follow ends in a verdict instead of piling up requests (and memory) without bound.
pub const MAX_OPEN_IN_FLIGHT: u64 = 10_000;

/// Open loop: arrivals drawn from `process`.
#[derive(Debug, Clone)]
pub struct OpenLoop {
    /// Gaps between arrivals.
    pub process: ArrivalProcess,
    /// Mean requests per second (for the client-bound rule).
    pub rate_rps: f64,
    /// Seed of the arrival times.
    pub seed: u64,
    /// What wakes the dispatcher at each arrival.
    pub clock: ArrivalClock,
    /// Most requests kept in flight ([`MAX_OPEN_IN_FLIGHT`]).
    pub max_in_flight: u64,
}

impl OpenLoop {
    /// Runs `step` to its limits (or until `cancel`) and reports it.
    pub async fn run(self, mut step: Step, cancel: CancellationToken) -> Result<RunReport, EngineError> {
        let t0 = step.start();
        let schedule = Schedule::new(self.process, self.seed);
        let mut arrivals = Some(Arrivals::start(schedule, t0, self.clock).map_err(EngineError::Pacer)?);
        let mut tasks: JoinSet<Done> = JoinSet::new();
        let mut tick = window_ticker(t0);
        let mut stopped = false;
        loop {
            let Some(source) = arrivals.as_mut() else {
                if tasks.is_empty() {
                    break;
                }
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        stopped = true;
                        break;
                    }
                    _ = tick.tick() => step.tick(now()),
                    Some(joined) = tasks.join_next() => {
                        if finish(&mut step, joined) {
                            break;
                        }
                    }
                }
                continue;
            };
            tokio::select! {
                biased;
                () = cancel.cancelled() => {
                    stopped = true;
                    break;
                }
                _ = tick.tick() => step.tick(now()),
                at = source.next() => match at.and_then(|at| step.next_ticket(at, true)) {
                    Some(t) if step.in_flight() >= self.max_in_flight => {
                        let refused = step.refuse(t, self.max_in_flight);
                        if finish(&mut step, Ok(refused)) {
                            break;
                        }
                    }
                    Some(t) => {
                        tasks.spawn(step.task(t));
                    }
                    // The limits are reached: stop the pacer, wait for what is in flight.
                    None => arrivals = None,
                },
                Some(joined) = tasks.join_next() => {
                    if finish(&mut step, joined) {
                        break;
                    }
                }
            }
        }
        drop(arrivals);
        drop(tasks);
        Ok(step.into_report(stopped, Some(1000.0 / self.rate_rps)))
    }
}

/// Accounts for a joined task; true when the step stopped early.
fn finish(step: &mut Step, joined: Result<Done, tokio::task::JoinError>) -> bool {
    match joined {
        Ok(done) => step.finish(done),
        Err(_) => step.lost(),
    }
    step.early_stopped()
}

/// Ticks every [`WINDOW`] from `start`; a late tick is not made up for.
fn window_ticker(start: std::time::Instant) -> tokio::time::Interval {
    let mut tick = interval_at(TokioInstant::from_std(start) + WINDOW, WINDOW);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

#[cfg(test)]
#[path = "executor_tests.rs"]
mod tests;
