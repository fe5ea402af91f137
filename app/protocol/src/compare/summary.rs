//! A comparison in words: the figures compared ([`METRICS`]), how they and their changes are written
//! ([`figure`], [`signed_pct`]), the one line for a chat ([`one_line`]) and the Markdown table ([`markdown`]).

use std::fmt::Write;

use super::{step_report, Level, NOISE_NOTE};
use crate::archive::{display_name, Outcome};
use crate::live_run::{RunStatus, RunView};
use crate::report::RunReport;

/// A figure of the comparison.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Short name (a column heading).
    pub name: &'static str,
    /// Its unit (the heading's second line).
    pub unit: &'static str,
    /// True when more is better (throughput), false when less is (latency, energy).
    pub higher_is_better: bool,
    /// The figure of a report; `None` when it has none (no latency samples, no GPU telemetry).
    pub get: fn(&RunReport) -> Option<f64>,
}

fn latency(count: u64, v: f64) -> Option<f64> {
    (count > 0).then_some(v)
}

/// The figures of the Compare table and its Markdown, in column order.
pub const METRICS: [Metric; 7] = [
    Metric { name: "Output", unit: "tok/s", higher_is_better: true, get: |r| Some(r.output_tokens_per_s) },
    Metric { name: "Requests", unit: "req/s", higher_is_better: true, get: |r| Some(r.requests_per_s) },
    Metric { name: "TTFT p50", unit: "ms", higher_is_better: false, get: |r| latency(r.ttft_ms.count, r.ttft_ms.p50) },
    Metric { name: "TTFT p99", unit: "ms", higher_is_better: false, get: |r| latency(r.ttft_ms.count, r.ttft_ms.p99) },
    Metric { name: "TPOT p50", unit: "ms", higher_is_better: false, get: |r| latency(r.tpot_ms.count, r.tpot_ms.p50) },
    Metric { name: "E2E p99", unit: "ms", higher_is_better: false, get: |r| latency(r.e2e_ms.count, r.e2e_ms.p99) },
    Metric {
        name: "Energy",
        unit: "J/token",
        higher_is_better: false,
        get: |r| r.gpu.as_ref().and_then(|g| g.j_per_output_token),
    },
];

/// A figure with about three significant digits: `1004`, `157`, `12.3`, `1.25`, `0.456`.
pub fn figure(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "—".to_owned()
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The change of `value` against `base`, percent; `None` without a meaningful base.
pub fn change_pct(value: f64, base: f64) -> Option<f64> {
    (value.is_finite() && base.is_finite() && base.abs() >= 1e-12).then(|| (value - base) / base.abs() * 100.0)
}

/// A change for people: `+12 %`, `−30 %`, `+4.2 %`, `±0 %` (a true minus sign).
pub fn signed_pct(pct: f64) -> String {
    let text = if pct.abs() < 0.05 {
        return "±0 %".to_owned();
    } else if pct.abs() >= 9.95 {
        format!("{pct:+.0} %")
    } else {
        format!("{pct:+.1} %")
    };
    text.replace('-', "−")
}

/// How step `step` of `run` turned out: the run's outcome while it is not an ended, completed run; else the
/// step's own (client-bound, errors, SLO met or missed, completed).
pub fn step_outcome(run: &RunView, step: usize) -> Outcome {
    let whole = Outcome::of(run);
    let Some(r) = step_report(run, step).filter(|_| run.status == RunStatus::Completed) else { return whole };
    if r.client_bound {
        Outcome::ClientBound
    } else if r.verdict.is_some() || r.requests_completed == 0 {
        Outcome::Errors
    } else {
        match r.slo_met {
            Some(true) => Outcome::SloMet,
            Some(false) => Outcome::SloMissed,
            None => Outcome::Completed,
        }
    }
}

/// The comparison in one line, one clause per run against the baseline:
/// `B vs A at c=4: +12 % tok/s, TTFT p99 −30 %; C (c=8) vs A (c=4): …`.
pub fn one_line(runs: &[&RunView], steps: &[usize], baseline: usize) -> String {
    let name = |i: usize| display_name(&runs[i].spec.name, &runs[i].id);
    let report = |i: usize| steps.get(i).and_then(|s| step_report(runs[i], *s));
    let Some(base) = report(baseline) else { return format!("{}: no result to compare with", name(baseline)) };
    let clauses: Vec<String> = (0..runs.len())
        .filter(|i| *i != baseline)
        .map(|i| {
            let Some(r) = report(i) else { return format!("{}: no result", name(i)) };
            let (li, lb) = (Level::of(&r.load), Level::of(&base.load));
            let head = if li.same(lb) {
                format!("{} vs {} at {}", name(i), name(baseline), li.short())
            } else {
                format!("{} ({}) vs {} ({})", name(i), li.short(), name(baseline), lb.short())
            };
            let mut parts = Vec::new();
            if let Some(p) = change_pct(r.output_tokens_per_s, base.output_tokens_per_s) {
                parts.push(format!("{} tok/s", signed_pct(p)));
            }
            let p99 = |x: &RunReport| latency(x.ttft_ms.count, x.ttft_ms.p99);
            if let Some(p) = p99(r).zip(p99(base)).and_then(|(v, b)| change_pct(v, b)) {
                parts.push(format!("TTFT p99 {}", signed_pct(p)));
            }
            if parts.is_empty() {
                format!("{head}: nothing to compare")
            } else {
                format!("{head}: {}", parts.join(", "))
            }
        })
        .collect();
    clauses.join("; ")
}

/// `s` as inline Markdown that shows as itself: HTML's `& < > "` as entities, Markdown's inline metacharacters
/// backslash-escaped (and a leading `#`, `+`, `-`, `=`), control characters and line breaks as spaces. Safe in a
/// table cell. (The server's `export::text::inline` does the same for `summary.md`.)
pub fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut lead = true;
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '!' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '+' | '-' | '=' if lead => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || c.is_whitespace() => out.push(' '),
            c if matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') => {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
        lead = lead && (c == ' ' || c.is_whitespace());
    }
    out
}

/// The comparison as Markdown: a heading, the `basis` line, one row per run with each figure and its change
/// against the baseline, and the noise note.
pub fn markdown(runs: &[&RunView], steps: &[usize], baseline: usize, basis: &str) -> String {
    let name = |i: usize| display_name(&runs[i].spec.name, &runs[i].id);
    let report = |i: usize| steps.get(i).and_then(|s| step_report(runs[i], *s));
    let names: Vec<String> = (0..runs.len()).map(|i| md_inline(&name(i))).collect();
    let mut out = format!("### tokenscope: {}\n\n{}\n\n", names.join(" vs "), md_inline(basis));
    out.push_str("| run | step | outcome |");
    for m in METRICS {
        let _ = write!(out, " {} ({}) |", m.name, m.unit);
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---:|".repeat(METRICS.len()));
    out.push('\n');
    let base = report(baseline);
    for (i, run_name) in names.iter().enumerate() {
        let r = report(i);
        let step = r.map_or_else(|| "no result".to_owned(), |r| Level::of(&r.load).label());
        let outcome = steps.get(i).map_or_else(|| Outcome::of(runs[i]), |s| step_outcome(runs[i], *s));
        let marker = if i == baseline { " (baseline)" } else { "" };
        let _ = write!(out, "| {run_name}{marker} | {step} | {} |", outcome.label());
        for m in METRICS {
            let v = r.and_then(m.get);
            let change = match (v, base.and_then(m.get)) {
                (Some(v), Some(b)) if i != baseline => change_pct(v, b).map(|p| format!(" ({})", signed_pct(p))),
                _ => None,
            };
            let _ = write!(out, " {}{} |", v.map_or_else(|| "—".to_owned(), figure), change.unwrap_or_default());
        }
        out.push('\n');
    }
    let _ = write!(out, "\n{NOISE_NOTE}\n");
    out
}
