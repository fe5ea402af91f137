//! A sweep described once for every reader: the CLI table, the run page, the charts PNG and `summary.md` all show
//! the same rows (load, throughput, latencies, SLO, the best step ★) and the same **trust warnings** for steps
//! too short or too small for their figures to mean much, with what would fix them. The thresholds are defined in
//! `docs/metrics.md` (section "Sweeps").

use super::event::WindowStats;
use super::report::{LatencyStats, RunReport, SweepReport};
use super::spec::{LoadSpec, RunSpec};

/// Successful requests a step needs before its p99 means anything: with fewer than 100 samples the 99th percentile
/// is the single slowest request (the nearest rank of 0.99 × n is n), so one outlier sets it.
pub const MIN_P99_SAMPLES: u64 = 100;

/// Seconds a step's measured window must last for a steady state: below 10 s the step has fewer than ten 1 s
/// windows, and its ramp-up (filling the slots) and ramp-down (draining the last requests, about one E2E
/// latency) weigh heavily in its output tok/s.
pub const MIN_STEP_S: f64 = 10.0;

/// Least share of the measured window that must be steady state (`steady_duration_s`: the load at its target
/// level); below it ramp-up and ramp-down dominate the step's tok/s.
pub const MIN_STEADY_SHARE: f64 = 0.5;

/// Whether a step met its SLOs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloMark {
    /// Every SLO given is met at p99.
    Met,
    /// Some SLO given is missed.
    Missed,
    /// No SLO was given.
    NotSet,
}

impl SloMark {
    /// Of a report.
    pub fn of(r: &RunReport) -> Self {
        match r.slo_met {
            Some(true) => SloMark::Met,
            Some(false) => SloMark::Missed,
            None => SloMark::NotSet,
        }
    }

    /// `met`, `missed` or `—`.
    pub fn as_str(self) -> &'static str {
        match self {
            SloMark::Met => "met",
            SloMark::Missed => "missed",
            SloMark::NotSet => "—",
        }
    }
}

/// One step of a sweep as every table shows it. Latencies are `None` when the step has no sample of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Step number, from 1.
    pub step: usize,
    /// The step's load: `concurrency 16`, `rate 4/s`.
    pub load: String,
    /// The same, short, for chart markers: `c=16`, `4 rps`.
    pub short_load: String,
    /// Output tokens / s over the measured window.
    pub output_tokens_per_s: f64,
    /// Successful requests / s.
    pub requests_per_s: f64,
    /// Median TTFT, ms.
    pub ttft_p50_ms: Option<f64>,
    /// 99th percentile TTFT, ms.
    pub ttft_p99_ms: Option<f64>,
    /// Median TPOT, ms.
    pub tpot_p50_ms: Option<f64>,
    /// Median ITL, ms.
    pub itl_p50_ms: Option<f64>,
    /// 99th percentile end-to-end latency, ms.
    pub e2e_p99_ms: Option<f64>,
    /// Successful measured requests.
    pub completed: u64,
    /// Failed measured requests.
    pub failed: u64,
    /// SLO met, missed or not set.
    pub slo: SloMark,
    /// The sweep's best step (★).
    pub best: bool,
    /// Why this step's figures are not to be trusted, and what would fix it.
    pub warning: Option<String>,
}

/// `concurrency 16`, `rate 4/s` (the words of [`crate::compare::Level::label`]).
pub fn load_label(load: &LoadSpec) -> String {
    crate::compare::Level::of(load).label()
}

/// `c=16`, `4 rps`: a step's load on a chart marker ([`crate::compare::Level::short`]).
pub fn load_short(load: &LoadSpec) -> String {
    crate::compare::Level::of(load).short()
}

/// The load of each step of `spec`: its load, or one per sweep value replacing its concurrency or rate.
pub fn step_loads(spec: &RunSpec) -> Vec<LoadSpec> {
    if spec.sweep.is_empty() {
        return vec![spec.load.clone()];
    }
    spec.sweep
        .iter()
        .map(|&v| match &spec.load {
            LoadSpec::Concurrency { .. } => LoadSpec::Concurrency { concurrency: v as u32 },
            LoadSpec::Rate { arrival, .. } => LoadSpec::Rate { rate_rps: v, arrival: *arrival },
        })
        .collect()
}

fn lat(s: &LatencyStats, v: f64) -> Option<f64> {
    (s.count > 0).then_some(v)
}

/// The rows of a sweep, in step order.
pub fn rows(s: &SweepReport) -> Vec<SweepRow> {
    s.steps
        .iter()
        .enumerate()
        .map(|(i, r)| SweepRow {
            step: i + 1,
            load: load_label(&r.load),
            short_load: load_short(&r.load),
            output_tokens_per_s: r.output_tokens_per_s,
            requests_per_s: r.requests_per_s,
            ttft_p50_ms: lat(&r.ttft_ms, r.ttft_ms.p50),
            ttft_p99_ms: lat(&r.ttft_ms, r.ttft_ms.p99),
            tpot_p50_ms: lat(&r.tpot_ms, r.tpot_ms.p50),
            itl_p50_ms: lat(&r.itl_ms, r.itl_ms.p50),
            e2e_p99_ms: lat(&r.e2e_ms, r.e2e_ms.p99),
            completed: r.requests_completed,
            failed: r.requests_failed,
            slo: SloMark::of(r),
            best: s.best_step == Some(i),
            warning: trust_warning(i + 1, r),
        })
        .collect()
}

/// The best step in one line: `best: concurrency 8 — 1234.5 output tok/s within the SLOs`; a best step whose
/// figures are not to be trusted says so.
pub fn best_line(s: &SweepReport) -> String {
    let Some((i, b)) = s.best_step.and_then(|i| s.steps.get(i).map(|b| (i, b))) else {
        return "best: none (no step completed requests within the SLOs)".to_owned();
    };
    let mut line = format!(
        "best: {} — {:.1} output tok/s{}",
        load_label(&b.load),
        b.output_tokens_per_s,
        if b.slo_met == Some(true) { " within the SLOs" } else { "" }
    );
    if trust_warning(i + 1, b).is_some() {
        line.push_str(&format!(" (but see the warning on step {}: its figures are not to be trusted)", i + 1));
    }
    line
}

/// Why step `step` (numbered from 1) is too short or too small to trust, and what would fix it; `None` when it is
/// long and large enough, or completed nothing (its verdict then says why).
///
/// A step is flagged when it completed fewer than [`MIN_P99_SAMPLES`] requests (its p99 is its slowest request),
/// lasted less than [`MIN_STEP_S`], or spent less than [`MIN_STEADY_SHARE`] of its window at its target load. The
/// fix names the step duration and the request count that would clear every flag at the step's own rate.
pub fn trust_warning(step: usize, r: &RunReport) -> Option<String> {
    if r.requests_completed == 0 {
        return None;
    }
    let rps = if r.requests_per_s > 0.0 { r.requests_per_s } else { r.requests_completed as f64 / r.duration_s };
    let few = r.requests_completed < MIN_P99_SAMPLES;
    let short = r.duration_s < MIN_STEP_S;
    // No steady state recorded: none was reached when a closed loop never had its slots filled; otherwise the
    // report predates the field and nothing is known.
    let steady = match (r.steady_duration_s, &r.load) {
        (Some(s), _) => Some(s),
        (None, LoadSpec::Concurrency { concurrency })
            if r.requests_completed + r.requests_failed < u64::from(*concurrency) =>
        {
            Some(0.0)
        }
        (None, _) => None,
    };
    let ramp = !short && steady.is_some_and(|s| s < MIN_STEADY_SHARE * r.duration_s);
    let steady = steady.unwrap_or(0.0);
    if !(few || short || ramp) {
        return None;
    }
    let mut problems = Vec::new();
    if few {
        problems.push("too few to trust its p99".to_owned());
    }
    if short {
        problems.push("too short for a steady state".to_owned());
    }
    if ramp {
        problems.push(format!(
            "at its target load for only {steady:.1} s of it (ramp-up and ramp-down dominate its tok/s)"
        ));
    }
    // The length that clears every flag: enough requests at the step's rate, at least MIN_STEP_S, and a ramp
    // (the time not at the target load) under half the window.
    let mut need_s = MIN_STEP_S;
    if rps.is_finite() && rps > 0.0 {
        need_s = need_s.max(MIN_P99_SAMPLES as f64 / rps);
    }
    if ramp {
        need_s = need_s.max((r.duration_s - steady) / (1.0 - MIN_STEADY_SHARE));
    }
    let need_s = need_s.ceil();
    let need_requests = if rps.is_finite() && rps > 0.0 {
        ((rps * need_s).ceil() as u64).max(MIN_P99_SAMPLES)
    } else {
        MIN_P99_SAMPLES
    };
    let requests = r.requests_completed + r.requests_failed;
    Some(format!(
        "step {step} ({}) lasted {:.1} s with {requests} request{}: {} — raise the step duration (duration_s, \
         --duration) to at least {need_s:.0} s or the request count (requests, --requests) to at least {need_requests}",
        load_label(&r.load),
        r.duration_s,
        if requests == 1 { "" } else { "s" },
        problems.join(" and "),
    ))
}

/// The start of each step on a chart of `windows` (x in seconds since `origin_ms`), labelled with the step's load
/// (`c=4`, `4 rps`; `step N` when `loads` does not know it). Empty unless the windows span more than one step or
/// `loads` holds several (a sweep): a single run has no steps to mark.
pub fn step_markers(windows: &[WindowStats], origin_ms: u64, loads: &[LoadSpec]) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    let mut last = None;
    for w in windows {
        if last == Some(w.step) {
            continue;
        }
        last = Some(w.step);
        let length = if w.length_ms > 0.0 { w.length_ms } else { 1000.0 };
        let start = (w.unix_ms as f64 - origin_ms as f64 - length) / 1000.0;
        let label = loads.get(w.step as usize).map(load_short).unwrap_or_else(|| format!("step {}", w.step + 1));
        out.push((start.max(0.0), label));
    }
    if out.len() < 2 && loads.len() < 2 {
        out.clear();
    }
    out
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
