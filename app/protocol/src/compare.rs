//! Which steps of the runs a comparison sets side by side, and why.
//!
//! A sweep has one report per load level. Setting each run's highest-throughput step side by side compares a
//! concurrency-16 step (seconds of TTFT) with another run's concurrency 1 and calls the difference a regression.
//! So the Compare page compares like with like: the same load when every run has it (the highest such load where
//! every run meets its SLOs, else the highest such load), else each sweep's best step under its SLO, else — no SLO
//! set — its highest-throughput step, and it says which it did ([`basis_text`]). The user can pick any step per
//! run; the picks travel in the page's query (`steps=2,0`, [`parse_steps`], [`steps_param`]).
//!
//! The comparison as one line for a chat and as a Markdown table is in [`summary`].

use crate::archive::display_name;
use crate::live_run::{RunResult, RunView};
use crate::report::{RunReport, SweepReport};
use crate::spec::LoadSpec;

pub mod summary;

/// Differences between two single runs below this many percent are not called better or worse: three identical
/// runs of one server differed by up to 8.2 % in output tok/s (docs/truth.md, llama.cpp, mean of 3, spread 6.6 %
/// and 8.2 %), two others by 7 %.
pub const NOISE_FLOOR_PCT: f64 = 8.0;

/// The note beside a comparison of single runs (no repeats to measure their own spread).
pub const NOISE_NOTE: &str = "Single runs: differences under ~8 % may be noise (three identical runs of one server \
     differed by up to 8.2 % in output tok/s).";

/// A load level, comparable across runs: a concurrency or a request rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// Closed loop: requests in flight.
    Concurrency(u32),
    /// Open loop: requests per second.
    Rate(f64),
}

impl Level {
    /// The level of a load.
    pub fn of(load: &LoadSpec) -> Self {
        match load {
            LoadSpec::Concurrency { concurrency } => Level::Concurrency(*concurrency),
            LoadSpec::Rate { rate_rps, .. } => Level::Rate(*rate_rps),
        }
    }

    /// `concurrency 4`, `rate 8/s`.
    pub fn label(self) -> String {
        match self {
            Level::Concurrency(c) => format!("concurrency {c}"),
            Level::Rate(r) => format!("rate {r}/s"),
        }
    }

    /// `c=4`, `8 rps`: for chart points and one-line summaries.
    pub fn short(self) -> String {
        match self {
            Level::Concurrency(c) => format!("c={c}"),
            Level::Rate(r) => format!("{r} rps"),
        }
    }

    /// True for the same kind of load at the same value.
    pub fn same(self, other: Level) -> bool {
        match (self, other) {
            (Level::Concurrency(a), Level::Concurrency(b)) => a == b,
            (Level::Rate(a), Level::Rate(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
            _ => false,
        }
    }

    /// The number: in-flight requests or requests per second.
    pub fn value(self) -> f64 {
        match self {
            Level::Concurrency(c) => f64::from(c),
            Level::Rate(r) => r,
        }
    }
}

/// One entry of a run's step list.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOption {
    /// Index of the step (0 for a single run).
    pub index: usize,
    /// Its load.
    pub level: Level,
    /// What the step list shows: `concurrency 4`, `concurrency 8 · best under SLO`, `whole run · concurrency 4`.
    pub label: String,
}

/// The report of step `index` of `run` (a single run has step 0 only).
pub fn step_report(run: &RunView, index: usize) -> Option<&RunReport> {
    match &run.result {
        Some(RunResult::Single(r)) => (index == 0).then_some(r.as_ref()),
        Some(RunResult::Sweep(s)) => s.steps.get(index),
        None => None,
    }
}

/// Completed requests, no verdict (early stop, too many errors) and no missed SLO: a step fit to stand for a run.
fn fit(r: &RunReport) -> bool {
    r.requests_completed > 0 && r.verdict.is_none() && r.slo_met != Some(false)
}

/// The step with the most output tok/s (among those with completed requests, else the first).
fn fastest(s: &SweepReport) -> usize {
    s.steps
        .iter()
        .enumerate()
        .filter(|(_, r)| r.requests_completed > 0)
        .max_by(|(_, a), (_, b)| a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
        .map_or(0, |(i, _)| i)
}

/// The best step under the SLO of a sweep that has one (`SweepReport::best_step`), else `None`.
fn best_under_slo(s: &SweepReport) -> Option<usize> {
    if !s.steps.iter().any(|r| r.slo_met.is_some()) {
        return None;
    }
    s.best_step.filter(|i| *i < s.steps.len()).or_else(|| SweepReport::pick_best(&s.steps))
}

/// The steps of `run` to choose from: each step of a sweep, or the whole of a single run; none without a result.
pub fn step_options(run: &RunView) -> Vec<StepOption> {
    match &run.result {
        Some(RunResult::Single(r)) => {
            let level = Level::of(&r.load);
            vec![StepOption { index: 0, level, label: format!("whole run · {}", level.label()) }]
        }
        Some(RunResult::Sweep(s)) => {
            let (best, fast) = (best_under_slo(s), fastest(s));
            let has_slo = s.steps.iter().any(|r| r.slo_met.is_some());
            s.steps
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let level = Level::of(&r.load);
                    let mark = match (has_slo, best == Some(i), fast == i) {
                        (true, true, _) => " · best under SLO",
                        (false, _, true) => " · most tok/s",
                        _ => "",
                    };
                    StepOption { index: i, level, label: format!("{}{mark}", level.label()) }
                })
                .collect()
        }
        None => Vec::new(),
    }
}

/// Why a shared load was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedReason {
    /// The highest load every run has, and every run is fit there (SLOs met, no errors verdict).
    Highest,
    /// The highest shared load at which every run is fit; at a higher shared load one is not.
    HighestFit,
    /// The highest shared load; at no shared load is every run fit.
    NoneFit,
}

/// How one run's step was picked when the runs share no load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// A single run: its one load.
    Whole,
    /// A sweep with an SLO: its best step under it.
    BestUnderSlo,
    /// A sweep without an SLO: its highest-throughput step.
    Fastest,
    /// A sweep with an SLO that no step meets: its highest-throughput step.
    FastestSloMissed,
    /// The run has no result (still live, or ended before its load produced one).
    NoResult,
}

/// Why the compared steps are the ones they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// Every run has this load.
    Shared {
        /// The load.
        level: Level,
        /// Why this one of the shared loads.
        reason: SharedReason,
    },
    /// No load is common to all runs: each is compared at its own pick (one per run).
    PerRun(Vec<Pick>),
    /// The user picked the steps (the page's selects, or `steps=` in its link).
    Chosen,
}

/// The steps compared (one index per run, in the page's order) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Step index per run.
    pub steps: Vec<usize>,
    /// Why these.
    pub basis: Basis,
}

/// The default choice over `runs` (see the module's documentation).
pub fn default_choice(runs: &[&RunView]) -> Choice {
    let options: Vec<Vec<StepOption>> = runs.iter().map(|r| step_options(r)).collect();
    let mut shared: Vec<Level> = Vec::new();
    if let Some((first, rest)) = options.split_first() {
        for o in first {
            let everywhere = rest.iter().all(|opts| opts.iter().any(|p| p.level.same(o.level)));
            if everywhere && !shared.iter().any(|l| l.same(o.level)) {
                shared.push(o.level);
            }
        }
    }
    if !runs.is_empty() && !shared.is_empty() {
        shared.sort_by(|a, b| b.value().total_cmp(&a.value()));
        // The step of run `i` at `level`: the fittest, then fastest, of the steps at that load.
        let step_at = |i: usize, level: Level| -> usize {
            options[i]
                .iter()
                .filter(|o| o.level.same(level))
                .filter_map(|o| step_report(runs[i], o.index).map(|r| (o.index, r)))
                .max_by(|(_, a), (_, b)| {
                    fit(a).cmp(&fit(b)).then(a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
                })
                .map_or(0, |(i, _)| i)
        };
        let steps_at = |level: Level| -> Vec<usize> { (0..runs.len()).map(|i| step_at(i, level)).collect() };
        let all_fit = |steps: &[usize]| runs.iter().zip(steps).all(|(r, s)| step_report(r, *s).is_some_and(fit));
        let found = shared.iter().enumerate().find(|(_, l)| all_fit(&steps_at(**l)));
        let (level, reason) = match found {
            Some((0, l)) => (*l, SharedReason::Highest),
            Some((_, l)) => (*l, SharedReason::HighestFit),
            None => (shared[0], SharedReason::NoneFit),
        };
        return Choice { steps: steps_at(level), basis: Basis::Shared { level, reason } };
    }
    let (steps, picks) = runs
        .iter()
        .map(|r| match &r.result {
            Some(RunResult::Single(_)) => (0, Pick::Whole),
            Some(RunResult::Sweep(s)) => match (s.steps.iter().any(|r| r.slo_met.is_some()), best_under_slo(s)) {
                (true, Some(i)) => (i, Pick::BestUnderSlo),
                (true, None) => (fastest(s), Pick::FastestSloMissed),
                (false, _) => (fastest(s), Pick::Fastest),
            },
            None => (0, Pick::NoResult),
        })
        .unzip();
    Choice { steps, basis: Basis::PerRun(picks) }
}

/// The choice over `runs` given the steps asked for (`steps=` of the page's query, see [`parse_steps`]): each run
/// at its asked step where that step exists, else at its default; [`Basis::Chosen`] unless that is the default.
pub fn resolve(runs: &[&RunView], asked: &[Option<usize>]) -> Choice {
    let default = default_choice(runs);
    let steps: Vec<usize> = default
        .steps
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let count = step_options(runs[i]).len();
            asked.get(i).copied().flatten().filter(|s| *s < count).unwrap_or(*d)
        })
        .collect();
    if steps == default.steps {
        default
    } else {
        Choice { steps, basis: Basis::Chosen }
    }
}

/// The steps asked for in `steps=2,0`: one entry per run, `None` where the entry is not a step number.
pub fn parse_steps(raw: &str) -> Vec<Option<usize>> {
    if raw.trim().is_empty() {
        return Vec::new();
    }
    raw.split(',').map(|s| s.trim().parse::<usize>().ok()).collect()
}

/// The query value of `steps`: `2,0`.
pub fn steps_param(steps: &[usize]) -> String {
    steps.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// "both runs" or "all 3 runs".
fn all_runs(n: usize) -> String {
    if n == 2 {
        "both runs".to_owned()
    } else {
        format!("all {n} runs")
    }
}

/// The line above the table: which steps are compared and why.
pub fn basis_text(runs: &[&RunView], choice: &Choice) -> String {
    let name = |i: usize| display_name(&runs[i].spec.name, &runs[i].id);
    let level_of = |i: usize| choice.steps.get(i).and_then(|s| step_report(runs[i], *s)).map(|r| Level::of(&r.load));
    let level_label = |i: usize| level_of(i).map_or_else(|| "no result".to_owned(), Level::label);
    let n = runs.len();
    match &choice.basis {
        Basis::Shared { level, reason } => {
            let all = all_runs(n);
            match reason {
                SharedReason::Highest => format!("Compared at {} ({all} have it).", level.label()),
                SharedReason::HighestFit => format!(
                    "Compared at {} ({all} have it; at a higher load they share, a run misses its SLO or fails).",
                    level.label()
                ),
                SharedReason::NoneFit => format!(
                    "Compared at {}, the highest load {all} have; at no load they share does every run meet its \
                     SLOs without errors.",
                    level.label()
                ),
            }
        }
        Basis::PerRun(picks) => {
            let clauses: Vec<String> = picks
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Pick::Whole => format!("{} at {} (its only load)", name(i), level_label(i)),
                    Pick::BestUnderSlo => {
                        format!("{} at its best step under the SLO ({})", name(i), level_label(i))
                    }
                    Pick::Fastest => format!("{} at its highest-throughput step ({})", name(i), level_label(i)),
                    Pick::FastestSloMissed => format!(
                        "{} at its highest-throughput step ({}): no step meets its SLO",
                        name(i),
                        level_label(i)
                    ),
                    Pick::NoResult => format!("{} has no result", name(i)),
                })
                .collect();
            let intro = if n == 2 {
                "The runs share no load".to_owned()
            } else {
                format!("No load is common to {}", all_runs(n))
            };
            let mut text = format!("{intro}: {}.", clauses.join("; "));
            let unset: Vec<String> =
                picks.iter().enumerate().filter(|(_, p)| **p == Pick::Fastest).map(|(i, _)| name(i)).collect();
            if !unset.is_empty() {
                text.push_str(&format!(
                    " No SLO set for {}: compared at the highest-throughput step, whatever its latency — set an SLO \
                     to compare at equal latency.",
                    unset.join(", ")
                ));
            }
            text
        }
        Basis::Chosen => {
            let levels: Vec<Option<Level>> = (0..n).map(level_of).collect();
            match levels.first().copied().flatten() {
                Some(first) if levels.iter().all(|l| l.is_some_and(|l| l.same(first))) => {
                    format!("Compared at {} (the steps chosen).", first.label())
                }
                _ => {
                    let each: Vec<String> = (0..n).map(|i| format!("{} at {}", name(i), level_label(i))).collect();
                    format!(
                        "Compared at the steps chosen: {} — not the same load, so the latencies are not like for like.",
                        each.join(", ")
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
