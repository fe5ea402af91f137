//! The Compare page's summary table: each run's headline figures with the change against a chosen baseline run,
//! green when better (more tokens/s, less latency or energy) and red when worse.

use leptos::prelude::*;

use super::chart::PALETTE;
use protocol::archive::{display_name, headline, LatencyCdf, Outcome};
use protocol::event::WindowStats;
use protocol::live_run::RunView;
use protocol::report::RunReport;

/// One run of a comparison: its view and its stored 1 s windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// The run.
    pub view: RunView,
    /// Its windows, in time order.
    pub windows: Vec<WindowStats>,
    /// Its TTFT and E2E distributions (empty for a run without request records, e.g. an imported report).
    pub latency: LatencyCdf,
}

impl Compared {
    /// The run's name for legends and the table.
    pub fn name(&self) -> String {
        display_name(&self.view.spec.name, &self.view.id)
    }
}

/// A column of the table.
struct Metric {
    label: &'static str,
    digits: usize,
    higher_is_better: bool,
    get: fn(&RunReport) -> Option<f64>,
}

fn latency(count: u64, v: f64) -> Option<f64> {
    (count > 0).then_some(v)
}

const METRICS: [Metric; 7] = [
    Metric { label: "Output tok/s", digits: 1, higher_is_better: true, get: |r| Some(r.output_tokens_per_s) },
    Metric { label: "Requests/s", digits: 2, higher_is_better: true, get: |r| Some(r.requests_per_s) },
    Metric {
        label: "TTFT p50 (ms)",
        digits: 1,
        higher_is_better: false,
        get: |r| latency(r.ttft_ms.count, r.ttft_ms.p50),
    },
    Metric {
        label: "TTFT p99 (ms)",
        digits: 1,
        higher_is_better: false,
        get: |r| latency(r.ttft_ms.count, r.ttft_ms.p99),
    },
    Metric {
        label: "TPOT p50 (ms)",
        digits: 2,
        higher_is_better: false,
        get: |r| latency(r.tpot_ms.count, r.tpot_ms.p50),
    },
    Metric {
        label: "E2E p99 (ms)",
        digits: 1,
        higher_is_better: false,
        get: |r| latency(r.e2e_ms.count, r.e2e_ms.p99),
    },
    Metric {
        label: "J / token (GPU)",
        digits: 3,
        higher_is_better: false,
        get: |r| r.gpu.as_ref().and_then(|g| g.j_per_output_token),
    },
];

/// The change of `value` against `base` in percent (`+12.3%`) and its CSS classes: good, bad, or the same (under
/// half a percent). `None` when there is no meaningful base.
pub fn delta(value: f64, base: f64, higher_is_better: bool) -> Option<(String, &'static str)> {
    if !value.is_finite() || !base.is_finite() || base.abs() < 1e-12 {
        return None;
    }
    let pct = (value - base) / base.abs() * 100.0;
    let class = if pct.abs() < 0.5 {
        "delta"
    } else if (pct > 0.0) == higher_is_better {
        "delta delta-good"
    } else {
        "delta delta-bad"
    };
    Some((format!("{pct:+.1}%"), class))
}

/// Headline figures of each run against the run at index `baseline`, which the radio buttons choose.
#[component]
pub fn CompareTable(
    /// The runs, in the order of the URL.
    #[prop(into)]
    runs: Signal<Vec<Compared>>,
    /// Index of the baseline run.
    baseline: RwSignal<usize>,
) -> impl IntoView {
    let rows = move || {
        let runs = runs.get();
        let base = baseline.get().min(runs.len().saturating_sub(1));
        let base_report = runs.get(base).and_then(|c| headline(c.view.result.as_ref()).cloned());
        runs.into_iter()
            .enumerate()
            .map(|(i, c)| {
                let (r, g, b) = PALETTE[i % PALETTE.len()];
                let report = headline(c.view.result.as_ref()).cloned();
                let simulated = report.as_ref().and_then(|r| r.gpu.as_ref()).is_some_and(|g| g.simulated);
                let cells = METRICS
                    .iter()
                    .map(|m| {
                        let value = report.as_ref().and_then(m.get);
                        let text = value.map(|v| format!("{v:.*}", m.digits)).unwrap_or_else(|| "—".into());
                        let change = match (value, base_report.as_ref().and_then(m.get)) {
                            (Some(v), Some(bv)) if i != base => delta(v, bv, m.higher_is_better),
                            _ => None,
                        };
                        view! {
                            <td class="num">
                                {text}
                                {change.map(|(t, class)| view! { <span class=class>{t}</span> })}
                            </td>
                        }
                    })
                    .collect_view();
                view! {
                    <tr data-testid="compare-row">
                        <td>
                            <input
                                type="radio"
                                name="baseline"
                                data-testid="compare-baseline"
                                aria-label="baseline"
                                prop:checked=i == base
                                on:change=move |_| baseline.set(i)
                            />
                        </td>
                        <td>
                            <span class="swatch" style=format!("background: rgb({r}, {g}, {b})")></span>
                            <a href=crate::paths::url(&format!("/runs/{}", c.view.id))>{c.name()}</a>
                        </td>
                        <td>
                            {
                                let outcome = Outcome::of(&c.view);
                                view! {
                                    <span class=format!("badge badge-{}", outcome.tone()) data-testid="compare-outcome">
                                        {outcome.label()}
                                    </span>
                                }
                            }
                        </td>
                        <td>
                            {protocol::archive::describe_load(&c.view.spec)}
                            {c.view.demo.then(|| view! { <span class="tag tag-sim">"demo"</span> })}
                            {simulated.then(|| view! { <span class="tag tag-sim">"simulated GPU"</span> })}
                        </td>
                        {cells}
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="table-wrap">
        <table class="table compare-table" data-testid="compare-table">
            <thead>
                <tr>
                    <th>"Baseline"</th>
                    <th>"Run"</th>
                    <th title="SLO met or missed, errors, client-bound, stopped, completed">"Outcome"</th>
                    <th>"Load"</th>
                    {METRICS.iter().map(|m| view! { <th class="num">{m.label}</th> }).collect_view()}
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
    fn deltas_are_coloured_by_what_is_better() {
        assert_eq!(delta(110.0, 100.0, true), Some(("+10.0%".into(), "delta delta-good")));
        assert_eq!(delta(110.0, 100.0, false), Some(("+10.0%".into(), "delta delta-bad")));
        assert_eq!(delta(90.0, 100.0, false), Some(("-10.0%".into(), "delta delta-good")));
        assert_eq!(delta(100.2, 100.0, true), Some(("+0.2%".into(), "delta")));
        assert_eq!(delta(5.0, 0.0, true), None);
        assert_eq!(delta(f64::NAN, 1.0, true), None);
    }
}
