//! What a run page adds once the run has ended, from the archive: the latency distributions of its requests (per
//! sweep step for a sweep) and the downloads of its report, requests, telemetry and summary, and its charts as one PNG (drawn by the server).

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::chart::{Series, TimeChart, PALETTE};
use protocol::archive::{CdfPoint, LatencyDistribution};

/// A CDF as a chart line: x = latency (ms), y = percent of requests.
pub fn cdf_line(label: &str, color: usize, points: &[CdfPoint]) -> Series {
    Series {
        label: label.into(),
        color: PALETTE[color % PALETTE.len()],
        points: points.iter().map(|p| (p.ms, p.fraction * 100.0)).collect(),
    }
}

/// Which distributions the latency chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CdfScope {
    /// One line per sweep step, a chart for TTFT and one for E2E (a sweep's default).
    EachStep,
    /// The whole run: every step merged.
    Merged,
    /// One sweep step.
    Step(u32),
}

impl CdfScope {
    /// The `<select>` value.
    fn value(self) -> String {
        match self {
            CdfScope::EachStep => "each".into(),
            CdfScope::Merged => "all".into(),
            CdfScope::Step(i) => i.to_string(),
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "each" => CdfScope::EachStep,
            v => v.parse().map_or(CdfScope::Merged, CdfScope::Step),
        }
    }
}

/// The x range (ms) of a CDF chart: from a little under the fastest value of `lines` to a little over the slowest,
/// so that close distributions (the steps of a sweep, TTFT beside E2E) stay apart.
fn cdf_x_range(lines: &[Series]) -> (f64, f64) {
    let ends = lines.iter().filter_map(|l| Some((l.points.first()?.0, l.points.last()?.0)));
    let (lo, hi) = ends.fold((f64::MAX, 0.0_f64), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
    if hi <= 0.0 {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi * 0.02);
    ((lo - span * 0.1).max(0.0).floor(), (hi + span * 0.1).ceil())
}

/// What the note says: how many requests the chart covers.
fn cdf_note(whole: Option<&LatencyDistribution>, shown: Option<&LatencyDistribution>, scope: CdfScope) -> String {
    let Some(whole) = whole else {
        return "Reading the request records…".to_owned();
    };
    if whole.cdf.requests == 0 {
        return "No per-request records are stored for this run.".to_owned();
    }
    let sweep = whole.steps.len() > 1;
    match scope {
        CdfScope::Step(i) => {
            let label = whole.step_of(i).map(LatencyDistribution::step_label).unwrap_or_else(|| format!("step {i}"));
            match shown {
                Some(d) => format!("{} measured, successful requests in {label} (warmup excluded).", d.cdf.requests),
                None => format!("Reading {label}…"),
            }
        }
        _ if sweep => format!(
            "{} measured, successful requests in {} steps (warmup excluded){}.",
            whole.cdf.requests,
            whole.steps.len(),
            if scope == CdfScope::EachStep { "; one line per step" } else { ", all steps merged" }
        ),
        _ => format!("{} measured, successful requests (warmup excluded).", whole.cdf.requests),
    }
}

/// TTFT and end-to-end latency CDFs of an ended run (fetched once `ended` holds). For a sweep, a selector shows
/// each step's distribution as its own line (the default), every step merged, or one step alone.
#[component]
pub fn LatencyChart(
    /// The run.
    run_id: String,
    /// True once the run has ended (its records are all stored).
    #[prop(into)]
    ended: Signal<bool>,
) -> impl IntoView {
    let whole = RwSignal::new(None::<LatencyDistribution>);
    // Each step's distributions (sweeps only), by step index, as they arrive.
    let by_step = RwSignal::new(BTreeMap::<u32, LatencyDistribution>::new());
    let scope = RwSignal::new(CdfScope::Merged);
    #[cfg(feature = "hydrate")]
    {
        let requested = StoredValue::new(false);
        Effect::new(move |_| {
            if ended.get() && !requested.get_value() {
                requested.set_value(true);
                let base = format!("/api/runs/{run_id}/latency");
                leptos::task::spawn_local(async move {
                    let Ok(d) = crate::api::get_json::<LatencyDistribution>(&base).await else { return };
                    let steps: Vec<u32> = d.steps.iter().map(|s| s.index).collect();
                    if steps.len() > 1 && d.cdf.requests > 0 {
                        scope.set(CdfScope::EachStep);
                        for i in steps {
                            let path = format!("{base}?step={i}");
                            leptos::task::spawn_local(async move {
                                if let Ok(s) = crate::api::get_json::<LatencyDistribution>(&path).await {
                                    by_step.update(|m| {
                                        m.insert(i, s);
                                    });
                                }
                            });
                        }
                    }
                    whole.set(Some(d));
                });
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = run_id;
    let sweep = move || whole.with(|w| w.as_ref().is_some_and(|w| w.steps.len() > 1 && w.cdf.requests > 0));
    let each = move || sweep() && scope.get() == CdfScope::EachStep;
    // TTFT and E2E of the whole run or of one step, on one chart.
    let both = Signal::derive(move || {
        let line = |d: &LatencyDistribution| vec![cdf_line("TTFT", 0, &d.cdf.ttft), cdf_line("E2E", 3, &d.cdf.e2e)];
        match scope.get() {
            CdfScope::Step(i) => by_step.with(|m| m.get(&i).map(line)).unwrap_or_default(),
            _ => whole.with(|w| w.as_ref().map(line)).unwrap_or_default(),
        }
    });
    // One line per step of one metric.
    let per_step = move |pick: fn(&LatencyDistribution) -> &[CdfPoint]| {
        Signal::derive(move || {
            let steps = whole.with(|w| w.as_ref().map(|w| w.steps.clone()).unwrap_or_default());
            by_step.with(|m| {
                steps
                    .iter()
                    .enumerate()
                    .filter_map(|(n, s)| m.get(&s.index).map(|d| cdf_line(&s.load, n, pick(d))))
                    .collect::<Vec<_>>()
            })
        })
    };
    let ttft_steps = per_step(|d| &d.cdf.ttft);
    let e2e_steps = per_step(|d| &d.cdf.e2e);
    let both_x = Signal::derive(move || both.with(|l| cdf_x_range(l)));
    let ttft_x = Signal::derive(move || ttft_steps.with(|l| cdf_x_range(l)));
    let e2e_x = Signal::derive(move || e2e_steps.with(|l| cdf_x_range(l)));
    let note = move || {
        let s = scope.get();
        whole.with(|w| {
            by_step.with(|m| {
                let shown = match s {
                    CdfScope::Step(i) => m.get(&i),
                    _ => w.as_ref(),
                };
                cdf_note(w.as_ref(), shown, s)
            })
        })
    };
    let options = move || {
        let steps = whole.with(|w| w.as_ref().map(|w| w.steps.clone()).unwrap_or_default());
        let step_options = steps
            .into_iter()
            .map(|s| {
                let value = CdfScope::Step(s.index).value();
                let text = format!("{} ({} requests)", LatencyDistribution::step_label(&s), s.requests);
                view! { <option value=value>{text}</option> }
            })
            .collect_view();
        view! {
            <option value="each">"Each step, one line per step"</option>
            <option value="all">"All steps merged"</option>
            {step_options}
        }
    };
    view! {
        <Show when=move || ended.get()>
            <h2>"Latency distribution"</h2>
            <div class="row cdf-head">
                <p class="muted" data-testid="latency-note">{note}</p>
                <Show when=sweep>
                    <label class="field" style="flex: 0 1 auto">
                        <span>"Sweep steps"</span>
                        <select
                            data-testid="cdf-step"
                            aria-label="Which sweep steps the latency distribution shows"
                            prop:value=move || scope.get().value()
                            on:change=move |ev| scope.set(CdfScope::parse(&event_target_value(&ev)))
                        >
                            {options}
                        </select>
                    </label>
                </Show>
            </div>
            <div class="chart-grid">
                <Show
                    when=each
                    fallback=move || {
                        view! {
                            <TimeChart
                                title="TTFT and end-to-end latency, cumulative"
                                y_unit="% of requests"
                                x_desc="latency (ms)"
                                series=both
                                x_range=both_x
                                y_floor=100.0
                                testid="chart-latency-cdf"
                            />
                        }
                    }
                >
                    <TimeChart
                        title="TTFT by sweep step, cumulative"
                        y_unit="% of requests"
                        x_desc="time to first token (ms)"
                        series=ttft_steps
                        x_range=ttft_x
                        y_floor=100.0
                        testid="chart-latency-cdf-ttft"
                    />
                    <TimeChart
                        title="End-to-end latency by sweep step, cumulative"
                        y_unit="% of requests"
                        x_desc="end-to-end latency (ms)"
                        series=e2e_steps
                        x_range=e2e_x
                        y_floor=100.0
                        testid="chart-latency-cdf-e2e"
                    />
                </Show>
            </div>
        </Show>
    }
}

/// Download links of an ended run.
#[component]
pub fn ExportLinks(
    /// The run.
    run_id: String,
) -> impl IntoView {
    let base = crate::paths::url(&format!("/api/runs/{run_id}"));
    view! {
        <nav class="exports" data-testid="exports">
            <span class="muted">"Download"</span>
            <a href=format!("{base}/export.json") download="" data-testid="export-json">
                "report (JSON)"
            </a>
            <a href=format!("{base}/export/requests.csv") download="" data-testid="export-requests">
                "requests (CSV)"
            </a>
            <a href=format!("{base}/export/telemetry.csv") download="" data-testid="export-telemetry">
                "GPU telemetry (CSV)"
            </a>
            <a href=format!("{base}/export/summary.md") download="" data-testid="export-summary">
                "summary (Markdown)"
            </a>
            <a href=format!("{base}/export/charts.png") download="" data-testid="export-png">
                "charts (PNG)"
            </a>
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::archive::{CdfStep, LatencyCdf};

    fn sweep(requests: [u64; 2]) -> LatencyDistribution {
        LatencyDistribution {
            cdf: LatencyCdf { requests: requests.iter().sum(), ..LatencyCdf::default() },
            step: None,
            steps: vec![
                CdfStep { index: 0, load: "concurrency 1".into(), requests: requests[0] },
                CdfStep { index: 1, load: "concurrency 8".into(), requests: requests[1] },
            ],
        }
    }

    #[test]
    fn scopes_round_trip_through_the_select() {
        for scope in [CdfScope::EachStep, CdfScope::Merged, CdfScope::Step(3)] {
            assert_eq!(CdfScope::parse(&scope.value()), scope);
        }
        assert_eq!(CdfScope::parse("anything else"), CdfScope::Merged);
    }

    #[test]
    fn the_note_counts_what_the_chart_shows() {
        let whole = sweep([10, 80]);
        let step = LatencyDistribution {
            cdf: LatencyCdf { requests: 80, ..LatencyCdf::default() },
            step: Some(1),
            ..whole.clone()
        };
        assert_eq!(cdf_note(None, None, CdfScope::Merged), "Reading the request records…");
        assert_eq!(
            cdf_note(Some(&whole), Some(&whole), CdfScope::EachStep),
            "90 measured, successful requests in 2 steps (warmup excluded); one line per step."
        );
        assert_eq!(
            cdf_note(Some(&whole), Some(&step), CdfScope::Step(1)),
            "80 measured, successful requests in step 2 · concurrency 8 (warmup excluded)."
        );
        assert_eq!(cdf_note(Some(&whole), None, CdfScope::Step(1)), "Reading step 2 · concurrency 8…");
        let single = LatencyDistribution { steps: vec![whole.steps[0].clone()], ..whole.clone() };
        assert_eq!(
            cdf_note(Some(&single), Some(&single), CdfScope::Merged),
            "90 measured, successful requests (warmup excluded)."
        );
        let imported = sweep([0, 0]);
        assert_eq!(
            cdf_note(Some(&imported), Some(&imported), CdfScope::Merged),
            "No per-request records are stored for this run."
        );
    }

    #[test]
    fn the_x_range_hugs_the_lines() {
        let line = |pts: &[f64]| cdf_line("x", 0, &LatencyCdf::points(pts, 10));
        let (lo, hi) = cdf_x_range(&[line(&[120.0, 122.0]), line(&[124.0, 300.0])]);
        assert!((100.0..120.0).contains(&lo) && (300.0..330.0).contains(&hi), "{lo}..{hi}");
        assert_eq!(cdf_x_range(&[line(&[])]), (0.0, 1.0));
    }
}
