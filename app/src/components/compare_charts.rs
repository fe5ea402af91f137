//! The Compare page's overlays beyond the time axis: latency CDFs (TTFT and E2E, one line per run) and each run's
//! GPU mean power and energy per token, at its compared step, as bars. Throughput against TTFT p99 over the steps
//! of sweeps is in `compare_scatter`.

use leptos::prelude::*;

use super::chart::{Series, PALETTE};
use super::compare_table::Compared;
use super::run_archive::cdf_line;
use protocol::archive::{CdfPoint, LatencyCdf};
use protocol::compare::step_report;
use protocol::live_run::RunResult;

/// Each run's name and latency distributions: those of its compared step where `at_step` holds them (a sweep),
/// else the whole run's.
pub fn latencies<'a>(runs: &'a [Compared], at_step: &'a [Option<LatencyCdf>]) -> Vec<(String, &'a LatencyCdf)> {
    runs.iter()
        .enumerate()
        .map(|(i, c)| (c.name(), at_step.get(i).and_then(Option::as_ref).unwrap_or(&c.latency)))
        .collect()
}

/// One CDF line per run: x = latency (ms), y = percent of requests at or below it.
pub fn cdf_overlay(runs: &[(String, &LatencyCdf)], pick: fn(&LatencyCdf) -> &[CdfPoint]) -> Vec<Series> {
    runs.iter().enumerate().map(|(i, (name, l))| cdf_line(name, i, pick(l))).collect()
}

/// The x range (ms) from a little under every run's fastest request in `pick` to a little over the slowest, so
/// that close distributions stay apart.
pub fn cdf_x_range(runs: &[(String, &LatencyCdf)], pick: fn(&LatencyCdf) -> &[CdfPoint]) -> (f64, f64) {
    let ends = runs.iter().filter_map(|(_, l)| Some((pick(l).first()?.ms, pick(l).last()?.ms)));
    let (lo, hi) = ends.fold((f64::MAX, 0.0_f64), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
    if hi <= 0.0 {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi * 0.02);
    ((lo - span * 0.1).max(0.0).floor(), (hi + span * 0.1).ceil())
}

/// True when at least one run is a sweep.
pub fn any_sweep(runs: &[Compared]) -> bool {
    runs.iter().any(|c| matches!(c.view.result, Some(RunResult::Sweep(_))))
}

/// A run's GPU figures at step `step` for the bars: (mean power W, J per output token, simulated, the GPUs counted).
fn energy_of(c: &Compared, step: usize) -> (Option<f64>, Option<f64>, bool, Option<String>) {
    let gpu = step_report(&c.view, step).and_then(|r| r.gpu.as_ref());
    (
        gpu.and_then(|g| g.mean_power_w),
        gpu.and_then(|g| g.j_per_output_token),
        gpu.is_some_and(|g| g.simulated),
        gpu.map(|g| gpus_label(&g.gpu_indices)),
    )
}

/// "GPU 1" or "GPUs 0, 1": which GPUs a run's energy counts.
pub fn gpus_label(indices: &[u32]) -> String {
    let list = indices.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    if indices.len() == 1 {
        format!("GPU {list}")
    } else {
        format!("GPUs {list}")
    }
}

/// Bar width in percent of the largest value of its column.
pub fn bar_percent(value: f64, max: f64) -> f64 {
    if max > 0.0 && value.is_finite() {
        (value / max * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

/// Per run: GPU mean power and energy per output token at its compared step, as bars.
#[component]
pub fn EnergyBars(
    /// The runs, in the order of the URL.
    #[prop(into)]
    runs: Signal<Vec<Compared>>,
    /// The compared step of each run.
    #[prop(into)]
    steps: Signal<Vec<usize>>,
) -> impl IntoView {
    let rows = move || {
        let runs = runs.get();
        let steps = steps.get();
        let figures: Vec<_> =
            runs.iter().enumerate().map(|(i, c)| energy_of(c, steps.get(i).copied().unwrap_or(0))).collect();
        let max_w = figures.iter().filter_map(|f| f.0).fold(0.0, f64::max);
        let max_j = figures.iter().filter_map(|f| f.1).fold(0.0, f64::max);
        runs.iter()
            .zip(figures)
            .enumerate()
            .map(|(i, (c, (power, joules, simulated, counted)))| {
                let (r, g, b) = PALETTE[i % PALETTE.len()];
                let bar = move |v: Option<f64>, max: f64, digits: usize, unit: &'static str| match v {
                    Some(v) => view! {
                        <td class="bar-cell">
                            <span class="bar" style=format!("width: {:.1}%; background: rgb({r}, {g}, {b})", 0.7 * bar_percent(v, max))></span>
                            <span class="bar-value">{format!("{v:.digits$} {unit}")}</span>
                        </td>
                    }
                    .into_any(),
                    None => view! { <td class="bar-cell muted">"no GPU telemetry"</td> }.into_any(),
                };
                view! {
                    <tr data-testid="energy-row">
                        <td>
                            <span class="swatch" style=format!("background: rgb({r}, {g}, {b})")></span>
                            {c.name()}
                            {simulated.then(|| view! { <span class="tag tag-sim">"simulated GPU"</span> })}
                        </td>
                        <td class="muted" data-testid="energy-gpus">{counted.unwrap_or_default()}</td>
                        {bar(power, max_w, 1, "W")}
                        {bar(joules, max_j, 3, "J/token")}
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="table-wrap table-scroll">
        <table class="table energy-bars" data-testid="compare-energy">
            <thead>
                <tr>
                    <th>"Run"</th>
                    <th>"GPUs counted"</th>
                    <th>"GPU mean power"</th>
                    <th>"Energy per output token"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gpus_counted_are_named() {
        assert_eq!(gpus_label(&[1]), "GPU 1");
        assert_eq!(gpus_label(&[0, 1]), "GPUs 0, 1");
    }

    #[test]
    fn cdf_ranges_hug_the_data() {
        let run = |ms: &[f64]| Compared {
            view: serde_json::from_value(serde_json::json!({
                "id": "x", "status": "completed", "started_unix_ms": 0, "progress": {
                    "done": 0, "failed": 0, "total": null, "elapsed_s": 0.0, "planned_s": null, "eta_s": null,
                    "in_flight": 0, "step": 0, "steps": 1, "output_tokens": 0 },
                "preflight_states": [], "verdict": null, "error_samples": [], "result": null, "demo": false,
                "spec": { "target": "", "load": {"kind": "concurrency", "concurrency": 1}, "workload": {
                    "kind": "synthetic", "input_tokens": {"min": 1, "max": 1}, "output_tokens": {"min": 1, "max": 1}}}
            }))
            .unwrap(),
            windows: Vec::new(),
            latency: LatencyCdf { requests: 0, ttft: LatencyCdf::points(ms, 10), e2e: Vec::new() },
        };
        let runs = [run(&[120.0, 122.0]), run(&[124.0])];
        let (lo, hi) = cdf_x_range(&latencies(&runs, &[]), |l| &l.ttft);
        assert!(lo < 120.0 && lo > 100.0 && hi > 124.0 && hi < 130.0, "{lo}..{hi}");
        assert_eq!(cdf_x_range(&latencies(&[run(&[])], &[]), |l| &l.ttft), (0.0, 1.0));
        // A step's distribution stands in for the whole run's where there is one.
        let step = LatencyCdf { requests: 1, ttft: LatencyCdf::points(&[500.0], 10), e2e: Vec::new() };
        let (_, hi) = cdf_x_range(&latencies(&runs, &[None, Some(step)]), |l| &l.ttft);
        assert!(hi > 500.0, "{hi}");
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        assert_eq!(bar_percent(50.0, 200.0), 25.0);
        assert_eq!(bar_percent(3.0, 0.0), 0.0);
        assert_eq!(bar_percent(f64::NAN, 1.0), 0.0);
        assert_eq!(bar_percent(2.0, 1.0), 100.0);
    }
}
