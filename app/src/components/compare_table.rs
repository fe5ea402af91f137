//! The Compare page's summary table: each run at its compared step (chosen per run in the table), its figures and
//! their change against a chosen baseline run — green when better (more tokens/s, less latency or energy), red
//! when worse, uncoloured under the single-run noise floor ([`protocol::compare::NOISE_FLOOR_PCT`]).

use leptos::prelude::*;

use super::chart::PALETTE;
use protocol::archive::{describe_load, display_name, LatencyCdf};
use protocol::compare::summary::{change_pct, figure, step_outcome, METRICS};
use protocol::compare::{step_options, step_report, NOISE_FLOOR_PCT, NOISE_NOTE};
use protocol::event::WindowStats;
use protocol::live_run::{RunResult, RunView};

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

/// The change of `value` against `base` in percent (`+12.3%`) and its CSS classes: better, worse, or neither (under
/// the noise floor). `None` when there is no meaningful base.
pub fn delta(value: f64, base: f64, higher_is_better: bool) -> Option<(String, &'static str)> {
    let pct = change_pct(value, base)?;
    let class = if pct.abs() < NOISE_FLOOR_PCT {
        "delta"
    } else if (pct > 0.0) == higher_is_better {
        "delta delta-good"
    } else {
        "delta delta-bad"
    };
    Some((format!("{pct:+.1}%"), class))
}

/// The step list of run `i`: its steps by load (a single run: "whole run"), the compared one selected.
fn step_select(c: &Compared, i: usize, chosen: usize, on_step: Callback<(usize, usize)>) -> impl IntoView {
    let options = step_options(&c.view);
    let single = options.len() <= 1;
    let sweep = matches!(c.view.result, Some(RunResult::Sweep(_))).then(|| describe_load(&c.view.spec));
    view! {
        <select
            class="step-select"
            data-testid=format!("compare-step-{i}")
            aria-label=format!("Step of {} to compare", c.name())
            disabled=single
            prop:value=chosen.to_string()
            on:change=move |ev| {
                if let Ok(step) = event_target_value(&ev).parse::<usize>() {
                    on_step.run((i, step));
                }
            }
        >
            {options
                .into_iter()
                .map(|o| view! { <option value=o.index.to_string() selected=o.index == chosen>{o.label}</option> })
                .collect_view()}
        </select>
        {sweep.map(|s| view! { <div class="muted step-of">{format!("sweep: {s}")}</div> })}
    }
}

/// Each run's figures at its compared step (`steps`, one index per run) against the run at index `baseline`, which
/// the radio buttons choose; the step lists call `on_step((run, step))`.
#[component]
pub fn CompareTable(
    /// The runs, in the order of the URL.
    #[prop(into)]
    runs: Signal<Vec<Compared>>,
    /// The compared step of each run.
    #[prop(into)]
    steps: Signal<Vec<usize>>,
    /// Index of the baseline run.
    baseline: RwSignal<usize>,
    /// Called with (run index, step index) when a step list changes.
    on_step: Callback<(usize, usize)>,
) -> impl IntoView {
    let rows = move || {
        let runs = runs.get();
        let steps = steps.get();
        let step = |i: usize| steps.get(i).copied().unwrap_or(0);
        let base = baseline.get().min(runs.len().saturating_sub(1));
        let base_report = runs.get(base).and_then(|c| step_report(&c.view, step(base)).cloned());
        runs.iter()
            .enumerate()
            .map(|(i, c)| {
                let (r, g, b) = PALETTE[i % PALETTE.len()];
                let report = step_report(&c.view, step(i));
                let simulated = report.and_then(|r| r.gpu.as_ref()).is_some_and(|g| g.simulated);
                let cells = METRICS
                    .iter()
                    .map(|m| {
                        let value = report.and_then(m.get);
                        let text = value.map_or_else(|| "—".to_owned(), figure);
                        let change = match (value, base_report.as_ref().and_then(m.get)) {
                            (Some(v), Some(bv)) if i != base => delta(v, bv, m.higher_is_better),
                            _ => None,
                        };
                        view! {
                            <td class="num">
                                {text}
                                {change.map(|(t, class)| view! { <br /> <span class=class>{t}</span> })}
                            </td>
                        }
                    })
                    .collect_view();
                let outcome = step_outcome(&c.view, step(i));
                view! {
                    <tr data-testid="compare-row">
                        <td>
                            <input
                                type="radio"
                                name="baseline"
                                data-testid="compare-baseline"
                                aria-label=format!("{} as the baseline", c.name())
                                prop:checked=i == base
                                on:change=move |_| baseline.set(i)
                            />
                        </td>
                        <td class="run-cell">
                            <span class="swatch" style=format!("background: rgb({r}, {g}, {b})")></span>
                            <a href=crate::paths::url(&format!("/runs/{}", c.view.id))>{c.name()}</a>
                            {(c.view.demo || simulated).then(|| view! {
                                <div>
                                    {c.view.demo.then(|| view! { <span class="tag tag-sim">"demo"</span> })}
                                    {simulated.then(|| view! { <span class="tag tag-sim">"simulated GPU"</span> })}
                                </div>
                            })}
                        </td>
                        <td>{step_select(c, i, step(i), on_step)}</td>
                        <td>
                            <span class=format!("badge badge-{}", outcome.tone()) data-testid="compare-outcome">
                                {outcome.label()}
                            </span>
                        </td>
                        {cells}
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="table-wrap table-scroll" data-testid="compare-table-scroll">
            <table class="table compare-table" data-testid="compare-table">
                <thead>
                    <tr>
                        <th title="The run the changes are measured against">"Base"</th>
                        <th>"Run"</th>
                        <th title="The step compared: one load of a sweep, or the whole of a single run">"Step"</th>
                        <th title="SLO met or missed, errors, client-bound, stopped, completed (of the step)">"Outcome"</th>
                        {METRICS
                            .iter()
                            .map(|m| view! { <th class="num">{m.name} <br /> <span class="unit">{m.unit}</span></th> })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p class="muted table-note" data-testid="compare-noise">
            {format!("{NOISE_NOTE} Changes under {NOISE_FLOOR_PCT:.0} % are not coloured as better or worse.")}
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_are_coloured_by_what_is_better_beyond_the_noise() {
        assert_eq!(delta(110.0, 100.0, true), Some(("+10.0%".into(), "delta delta-good")));
        assert_eq!(delta(110.0, 100.0, false), Some(("+10.0%".into(), "delta delta-bad")));
        assert_eq!(delta(90.0, 100.0, false), Some(("-10.0%".into(), "delta delta-good")));
        assert_eq!(delta(105.0, 100.0, true), Some(("+5.0%".into(), "delta")), "within single-run noise");
        assert_eq!(delta(100.2, 100.0, true), Some(("+0.2%".into(), "delta")));
        assert_eq!(delta(5.0, 0.0, true), None);
        assert_eq!(delta(f64::NAN, 1.0, true), None);
    }
}
