//! Compare: two to six archived runs overlaid on a time axis relative to each run's start, their latency CDFs,
//! throughput against latency over sweep steps, GPU power and energy per token, and a summary table of changes
//! against a baseline run.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::chart::{Series, TimeChart, PALETTE};
use crate::components::compare_charts::{
    any_sweep, cdf_overlay, cdf_x_range, sweep_overlay, sweep_x_range, EnergyBars,
};
use crate::components::compare_table::{CompareTable, Compared};
use crate::components::share_panel::SharePanel;
use protocol::archive::{MAX_COMPARE, MIN_COMPARE};
use protocol::event::WindowStats;
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

#[cfg(feature = "hydrate")]
async fn fetch(ids: Vec<String>) -> (Vec<Compared>, Vec<String>) {
    use crate::api::get_json;
    use protocol::archive::{LatencyCdf, RunSeries};
    use protocol::live_run::RunView;
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    for id in ids {
        let view = get_json::<RunView>(&format!("/api/runs/{id}")).await;
        let series = get_json::<RunSeries>(&format!("/api/runs/{id}/series")).await;
        match (view, series) {
            (Ok(view), Ok(series)) => {
                // A run without request records (an imported report) has no distribution: its lines stay empty.
                let latency = get_json::<LatencyCdf>(&format!("/api/runs/{id}/latency")).await.unwrap_or_default();
                runs.push(Compared { view, windows: series.windows, latency })
            }
            (Err(e), _) | (_, Err(e)) => problems.push(format!("run {id}: {}", e.message())),
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
    let ttft_cdf = Signal::derive(move || runs.with(|r| cdf_overlay(r, |l| &l.ttft)));
    let ttft_cdf_x = Signal::derive(move || runs.with(|r| cdf_x_range(r, |l| &l.ttft)));
    let e2e_cdf = Signal::derive(move || runs.with(|r| cdf_overlay(r, |l| &l.e2e)));
    let e2e_cdf_x = Signal::derive(move || runs.with(|r| cdf_x_range(r, |l| &l.e2e)));
    let sweeps = Signal::derive(move || runs.with(|r| sweep_overlay(r)));
    let sweeps_x = Signal::derive(move || sweeps.with(|s| sweep_x_range(s)));
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
                        title="TTFT distribution (CDF)"
                        y_unit="% of requests"
                        x_desc="TTFT (ms)"
                        series=ttft_cdf
                        x_range=ttft_cdf_x
                        y_floor=100.0
                        legend=false
                        testid="compare-ttft-cdf"
                    />
                    <TimeChart
                        title="End-to-end latency distribution (CDF)"
                        y_unit="% of requests"
                        x_desc="E2E (ms)"
                        series=e2e_cdf
                        x_range=e2e_cdf_x
                        y_floor=100.0
                        legend=false
                        testid="compare-e2e-cdf"
                    />
                    <Show when=has_sweep>
                        <TimeChart
                            title="Throughput vs TTFT p99 (sweep steps)"
                            y_unit="TTFT p99 (ms)"
                            x_desc="output tok/s"
                            series=sweeps
                            x_range=sweeps_x
                            legend=false
                            testid="compare-sweep"
                        />
                    </Show>
                </div>
                <h2>"GPU power and energy"</h2>
                <p class="muted">"Mean power of the run's GPUs over the measured window, and joules per output token."</p>
                <EnergyBars runs />
                <h2>"Summary"</h2>
                <p class="muted">
                    "Each run's figures (the best step of a sweep), and in colour the change against the baseline."
                </p>
                <CompareTable runs baseline />
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
