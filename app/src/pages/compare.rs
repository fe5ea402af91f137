//! Compare: two to six archived runs side by side — a summary table at comparable steps (the same load where the
//! runs share one, else each sweep's best step under its SLO; the steps chosen travel in the link as
//! `steps=2,0`), with the changes against a baseline run; throughput against TTFT p99 over the steps of sweeps;
//! the runs overlaid on a time axis relative to each run's start; their latency CDFs; GPU power and energy per
//! token. "Copy summary" and "Copy Markdown" put the comparison in a chat or a pull request.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::components::chart::{Series, TimeChart, PALETTE};
use crate::components::compare_charts::{any_sweep, cdf_overlay, cdf_x_range, latencies, EnergyBars};
use crate::components::compare_scatter::{scatter_runs, SweepScatter};
use crate::components::compare_table::{CompareTable, Compared};
use crate::components::copy_button::CopyButton;
use crate::components::share_panel::SharePanel;
use protocol::archive::{CdfPoint, LatencyCdf, MAX_COMPARE, MIN_COMPARE};
use protocol::compare::summary::{markdown, one_line};
use protocol::compare::{basis_text, parse_steps, resolve, steps_param, Basis, Choice};
use protocol::event::WindowStats;
use protocol::live_run::RunView;
use protocol::share::{parse_ids, KIND_COMPARE};

/// One line per run of `f` over its windows; x = seconds since the run's load start, legend = the run's name.
fn overlay(runs: &[Compared], f: fn(&WindowStats) -> Option<f64>) -> Vec<Series> {
    runs.iter()
        .enumerate()
        .map(|(i, c)| {
            let origin = c.view.started_unix_ms as f64;
            let points =
                c.windows.iter().filter_map(|w| f(w).map(|v| ((w.unix_ms as f64 - origin) / 1000.0, v))).collect();
            Series { label: c.name(), color: PALETTE[i % PALETTE.len()], points }
        })
        .collect()
}

/// The views of `runs`, for the pure logic of `protocol::compare`.
fn views(runs: &[Compared]) -> Vec<&RunView> {
    runs.iter().map(|c| &c.view).collect()
}

#[cfg(feature = "hydrate")]
async fn fetch(ids: Vec<String>) -> (Vec<Compared>, Vec<String>) {
    use crate::api::get_json;
    use protocol::archive::RunSeries;
    // Every document of every run at once: over a pod proxy each sequential read would cost a round trip.
    let one = |id: String| async move {
        let (v, s, l) =
            (format!("/api/runs/{id}"), format!("/api/runs/{id}/series"), format!("/api/runs/{id}/latency"));
        let (view, series, latency) =
            futures::join!(get_json::<RunView>(&v), get_json::<RunSeries>(&s), get_json::<LatencyCdf>(&l));
        match (view, series) {
            // A run without request records (an imported report) has no distribution: its lines stay empty.
            (Ok(view), Ok(series)) => {
                Ok(Compared { view, windows: series.windows, latency: latency.unwrap_or_default() })
            }
            (Err(e), _) | (_, Err(e)) => Err(format!("run {id}: {}", e.message())),
        }
    };
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    for r in futures::future::join_all(ids.into_iter().map(one)).await {
        match r {
            Ok(c) => runs.push(c),
            Err(p) => problems.push(p),
        }
    }
    (runs, problems)
}

/// `/compare?runs=a,b,…`.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let ids = Memo::new(move |_| parse_ids(&query.with(|q| q.get("runs").unwrap_or_default())));
    let valid = move || (MIN_COMPARE..=MAX_COMPARE).contains(&ids.with(Vec::len));
    let runs = RwSignal::new(Vec::<Compared>::new());
    let problems = RwSignal::new(Vec::<String>::new());
    let loading = RwSignal::new(true);
    let baseline = RwSignal::new(0usize);
    let asked = Memo::new(move |_| parse_steps(&query.with(|q| q.get("steps").unwrap_or_default())));
    let choice = Memo::new(move |_| runs.with(|r| asked.with(|a| resolve(&views(r), a))));
    let steps = Signal::derive(move || choice.with(|c| c.steps.clone()));
    let ready = move || !loading.get() && runs.with(|r| r.len() >= MIN_COMPARE);
    let basis = Signal::derive(move || runs.with(|r| choice.with(|c: &Choice| basis_text(&views(r), c))));
    let base_index = move || baseline.get().min(runs.with(Vec::len).saturating_sub(1));
    let summary =
        Signal::derive(move || ready().then(|| runs.with(|r| steps.with(|s| one_line(&views(r), s, base_index())))));
    let summary_md = Signal::derive(move || {
        ready().then(|| runs.with(|r| steps.with(|s| markdown(&views(r), s, base_index(), &basis.get()))))
    });
    // The router's navigate, kept for the step lists (it adds the base path itself).
    let navigate = StoredValue::new_local(use_navigate());
    let go = move |query: String| {
        let ids = ids.get_untracked().join(",");
        let opts = NavigateOptions { replace: true, scroll: false, ..Default::default() };
        navigate.with_value(|nav| nav(&format!("/compare?runs={ids}{query}"), opts));
    };
    let on_step = Callback::new(move |(i, step): (usize, usize)| {
        let mut next = steps.get_untracked();
        if let Some(s) = next.get_mut(i) {
            *s = step;
        }
        go(format!("&steps={}", steps_param(&next)));
    });
    let chosen = move || choice.with(|c| c.basis == Basis::Chosen);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let ids = ids.get();
        if !(MIN_COMPARE..=MAX_COMPARE).contains(&ids.len()) {
            return;
        }
        loading.set(true);
        leptos::task::spawn_local(async move {
            let (got, errs) = fetch(ids).await;
            baseline.set(0);
            runs.set(got);
            problems.set(errs);
            loading.set(false);
        });
    });
    let tokens = Signal::derive(move || runs.with(|r| overlay(r, |w| w.chartable_rate(w.output_tokens_per_s))));
    let ttft = Signal::derive(move || runs.with(|r| overlay(r, |w| w.ttft_p50_ms)));
    // The latency distributions of each sweep's compared step (`None`: the whole run's), fetched as steps change.
    let step_cdfs = RwSignal::new(Vec::<Option<LatencyCdf>>::new());
    #[cfg(feature = "hydrate")]
    {
        let generation = StoredValue::new(0u64);
        Effect::new(move |_| {
            let steps = steps.get();
            let asks: Vec<(String, Option<usize>)> = runs.with(|r| {
                r.iter()
                    .zip(&steps)
                    .map(|(c, s)| {
                        (
                            c.view.id.clone(),
                            matches!(c.view.result, Some(protocol::live_run::RunResult::Sweep(_))).then_some(*s),
                        )
                    })
                    .collect()
            });
            generation.update_value(|g| *g += 1);
            let mine = generation.get_value();
            leptos::task::spawn_local(async move {
                let mut got = Vec::new();
                for (id, step) in asks {
                    let path = step.map(|s| format!("/api/runs/{id}/latency?step={s}"));
                    got.push(match path {
                        Some(p) => crate::api::get_json::<LatencyCdf>(&p).await.ok(),
                        None => None,
                    });
                }
                // A later choice of steps may have answered first: keep only the latest.
                if generation.get_value() == mine {
                    step_cdfs.set(got);
                }
            });
        });
    }
    let cdf_of = move |pick: fn(&LatencyCdf) -> &[CdfPoint]| {
        Signal::derive(move || runs.with(|r| step_cdfs.with(|s| cdf_overlay(&latencies(r, s), pick))))
    };
    let cdf_x_of = move |pick: fn(&LatencyCdf) -> &[CdfPoint]| {
        Signal::derive(move || runs.with(|r| step_cdfs.with(|s| cdf_x_range(&latencies(r, s), pick))))
    };
    let (ttft_cdf, ttft_cdf_x) = (cdf_of(|l| &l.ttft), cdf_x_of(|l| &l.ttft));
    let (e2e_cdf, e2e_cdf_x) = (cdf_of(|l| &l.e2e), cdf_x_of(|l| &l.e2e));
    let scatter = Signal::derive(move || runs.with(|r| steps.with(|s| scatter_runs(r, s))));
    let has_sweep = move || runs.with(|r| any_sweep(r));
    let x_range = Signal::derive(move || {
        let last = runs.with(|r| {
            r.iter()
                .flat_map(|c| c.windows.last().map(|w| (w.unix_ms as f64 - c.view.started_unix_ms as f64) / 1000.0))
                .fold(0.0, f64::max)
        });
        (0.0, last.max(10.0))
    });
    let status = move || {
        if loading.get() {
            "Reading the runs from the archive…".to_owned()
        } else {
            format!("{} runs; times are seconds since each run's load started.", runs.with(Vec::len))
        }
    };
    view! {
        <section data-testid="page-compare">
            <h1>"Compare"</h1>
            <Show
                when=valid
                fallback=move || {
                    let n = ids.with(Vec::len);
                    view! {
                        <p class="lede">
                            "Two to six runs overlaid on a time axis relative to their start, with a summary table "
                            "of changes against a baseline you choose."
                        </p>
                        <div class="empty" data-testid="compare-empty">
                            {(n > 0).then(|| view! { <p>{format!("Compare takes {MIN_COMPARE} to {MAX_COMPARE} runs; this link names {n}.")}</p> })}
                            <p>"Tick the runs to compare on the " <a href=crate::paths::url("/runs")>"Runs"</a> " page."</p>
                        </div>
                    }
                }
            >
                <SharePanel kind=KIND_COMPARE runs=ids />
                <p class="muted" data-testid="compare-status">{status}</p>
                {move || {
                    problems
                        .get()
                        .into_iter()
                        .map(|p| view! { <p class="form-message" data-testid="compare-problem">{p}</p> })
                        .collect_view()
                }}
                <ul class="legend" data-testid="compare-legend">
                    {move || {
                        runs.with(|r| {
                            r.iter()
                                .enumerate()
                                .map(|(i, c)| {
                                    let (r, g, b) = PALETTE[i % PALETTE.len()];
                                    view! {
                                        <li>
                                            <span class="swatch" style=format!("background: rgb({r}, {g}, {b})")></span>
                                            {c.name()}
                                        </li>
                                    }
                                })
                                .collect_view()
                        })
                    }}
                </ul>
                <h2>"Summary"</h2>
                <Show when=ready>
                    <p class="compare-basis" data-testid="compare-basis">
                        {move || basis.get()}
                        <Show when=chosen>
                            " "
                            <button
                                class="btn btn-small"
                                type="button"
                                data-testid="compare-steps-reset"
                                on:click=move |_| go(String::new())
                            >
                                "Back to the default steps"
                            </button>
                        </Show>
                    </p>
                </Show>
                <p class="muted">
                    "Each run at the step compared (pick another in its Step list), and the change against the baseline."
                </p>
                <div class="copy-bar">
                    <CopyButton
                        label="Copy summary"
                        testid="copy-summary"
                        text=summary
                        title="The comparison in one line, for a chat"
                    />
                    <CopyButton
                        label="Copy Markdown"
                        testid="copy-markdown"
                        text=summary_md
                        title="The table as Markdown, for a pull request"
                    />
                </div>
                <CompareTable runs steps baseline on_step />
                <Show when=has_sweep>
                    <SweepScatter runs=scatter />
                </Show>
                <h2>"Over time and in distribution"</h2>
                <div class="chart-grid">
                    <TimeChart
                        title="Output tokens/s"
                        y_unit="tok/s"
                        series=tokens
                        x_range
                        legend=false
                        testid="compare-tokens"
                    />
                    <TimeChart
                        title="Time to first token, p50"
                        y_unit="ms"
                        series=ttft
                        x_range
                        legend=false
                        testid="compare-ttft"
                    />
                    <TimeChart
                        title="TTFT distribution at the compared steps (CDF)"
                        y_unit="% of requests"
                        x_desc="TTFT (ms)"
                        series=ttft_cdf
                        x_range=ttft_cdf_x
                        y_floor=100.0
                        legend=false
                        testid="compare-ttft-cdf"
                    />
                    <TimeChart
                        title="End-to-end latency at the compared steps (CDF)"
                        y_unit="% of requests"
                        x_desc="E2E (ms)"
                        series=e2e_cdf
                        x_range=e2e_cdf_x
                        y_floor=100.0
                        legend=false
                        testid="compare-e2e-cdf"
                    />
                </div>
                <h2>"GPU power and energy"</h2>
                <p class="muted">
                    "Mean power of the run's GPUs over the compared step's measured window, and joules per output token."
                </p>
                <EnergyBars runs steps />
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_split_trimmed_and_unique() {
        assert_eq!(parse_ids(" a, b,,a ,c"), vec!["a", "b", "c"]);
        assert!(parse_ids("").is_empty());
    }
}
