//! The progress bar of `tokenscope run`, driven by the engine's events (the same stream the dashboard reads):
//! done/total for a request-bounded step, elapsed/duration for a timed one, with live tok/s, requests in flight
//! and errors. Hidden with `--quiet` or when stderr is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protocol::event::RunEvent;
use protocol::spec::RunSpec;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::engine::runner::{describe, step_loads};

/// What the bar needs to know in advance.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Draw nothing.
    pub quiet: bool,
    /// Requests per step (warmup included), when bounded by a count.
    pub requests: Option<u64>,
    /// Seconds per step, when bounded by time only.
    pub duration_s: Option<f64>,
    /// Step labels (`concurrency 8`…).
    pub labels: Vec<String>,
}

impl Plan {
    /// The plan of `spec`.
    pub fn new(spec: &RunSpec, quiet: bool) -> Self {
        Plan {
            quiet,
            requests: spec.requests.map(|r| r + spec.warmup_requests),
            duration_s: spec.duration_s.map(|d| d + spec.warmup_s),
            labels: step_loads(spec).iter().map(describe).collect(),
        }
    }

    /// True when the bar counts requests (else it shows time).
    fn counts_requests(&self) -> bool {
        self.requests.is_some() || self.duration_s.is_none()
    }
}

/// Follows `rx` until the engine drops its sender, drawing one bar per step.
pub async fn follow(mut rx: UnboundedReceiver<RunEvent>, plan: Plan) {
    let mut bar: Option<(ProgressBar, Instant)> = None;
    let (mut errors, mut tok_s, mut in_flight) = (0u64, 0.0, 0u64);
    while let Some(ev) = rx.recv().await {
        match ev {
            RunEvent::StepStarted { step, .. } => {
                (errors, tok_s, in_flight) = (0, 0.0, 0);
                let label = plan.labels.get(step as usize).cloned().unwrap_or_default();
                let prefix = if plan.labels.len() > 1 {
                    format!("step {}/{} {label}", step + 1, plan.labels.len())
                } else {
                    label
                };
                bar = Some((new_bar(&plan, prefix), Instant::now()));
            }
            RunEvent::Request(r) => {
                errors += u64::from(r.error.is_some());
                if let Some((b, _)) = &bar {
                    if plan.counts_requests() {
                        b.inc(1);
                    }
                }
            }
            RunEvent::Window(w) => {
                (tok_s, in_flight) = (w.output_tokens_per_s, w.in_flight);
                if let Some((b, started)) = &bar {
                    if !plan.counts_requests() {
                        b.set_position(started.elapsed().as_millis() as u64);
                    }
                }
            }
            RunEvent::StepFinished { .. } | RunEvent::Finished { .. } => {
                if let Some((b, _)) = bar.take() {
                    b.finish_and_clear();
                }
                continue;
            }
            RunEvent::Preflight { .. } => {}
        }
        if let Some((b, _)) = &bar {
            b.set_message(format!("{tok_s:.0} tok/s · {in_flight} in flight · {errors} errors"));
        }
    }
    if let Some((b, _)) = bar {
        b.finish_and_clear();
    }
}

fn new_bar(plan: &Plan, prefix: String) -> ProgressBar {
    let target = if plan.quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
    let (len, template) = match (plan.requests, plan.duration_s) {
        (Some(n), _) => (Some(n), "{prefix} [{bar:30}] {pos}/{len} requests · {msg}".to_owned()),
        (None, Some(d)) => {
            (Some((d * 1000.0) as u64), format!("{{prefix}} [{{bar:30}}] {{elapsed}}/{d:.0}s · {{msg}}"))
        }
        (None, None) => (None, "{prefix} {spinner} {pos} requests · {msg}".to_owned()),
    };
    let style = ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::with_draw_target(len, target).with_style(style.progress_chars("=> ")).with_prefix(prefix);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
