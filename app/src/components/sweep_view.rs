//! A sweep's result on its run page: one table row per step (the shared rows of `protocol::sweep`: load, tok/s,
//! latencies, ok/failed, SLO met/missed), ★ on the best step, the best step in words, a warning for each step too
//! short or too small to trust, and each step's detailed tables folded under its load.

use leptos::prelude::*;

use super::run_charts::ReportTables;
use protocol::report::SweepReport;
use protocol::sweep::{self, SloMark, SweepRow};

/// A latency cell, ms: one decimal, or a dash when the step has no sample of it.
fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
}

/// The SLO cell: a met / missed badge, or a muted dash when no SLO was given.
fn slo_cell(slo: SloMark) -> impl IntoView {
    let class = match slo {
        SloMark::Met => "badge badge-ok",
        SloMark::Missed => "badge badge-bad",
        SloMark::NotSet => "muted",
    };
    view! {
        <span class=class data-testid="sweep-slo">
            {slo.as_str()}
        </span>
    }
}

fn row(r: SweepRow) -> impl IntoView {
    let failed = r.failed > 0;
    let title = if r.best { "the best step: the highest output tok/s within the SLOs" } else { "" };
    view! {
        <tr data-testid="sweep-row" data-step=r.step.to_string() class:sweep-best-row=r.best title=title>
            <td>
                {r.step}
                {r.best.then(|| view! { <span class="sweep-star" data-testid="sweep-star">" ★"</span> })}
            </td>
            <td class="sweep-load" data-testid="sweep-load">{r.load}</td>
            <td>{format!("{:.1}", r.output_tokens_per_s)}</td>
            <td>{format!("{:.2}", r.requests_per_s)}</td>
            <td>{ms(r.ttft_p50_ms)}</td>
            <td>{ms(r.ttft_p99_ms)}</td>
            <td>{ms(r.tpot_p50_ms)}</td>
            <td>{ms(r.itl_p50_ms)}</td>
            <td>{ms(r.e2e_p99_ms)}</td>
            <td class:bad=failed>{format!("{} / {}", r.completed, r.failed)}</td>
            <td>{slo_cell(r.slo)}</td>
        </tr>
    }
}

/// The result of a sweep: its table, the best step, the warnings, and each step's details.
#[component]
pub fn SweepView(
    /// The sweep's report.
    sweep: SweepReport,
) -> impl IntoView {
    let rows = sweep::rows(&sweep);
    let best = sweep::best_line(&sweep);
    let warnings: Vec<String> = rows.iter().filter_map(|r| r.warning.clone()).collect();
    let details = rows
        .iter()
        .zip(sweep.steps)
        .map(|(r, report)| {
            let summary = format!("Step {} · {}{}", r.step, r.load, if r.best { " ★" } else { "" });
            view! {
                <details class="sweep-step" data-testid="sweep-step">
                    <summary>{summary}</summary>
                    <ReportTables report />
                </details>
            }
        })
        .collect_view();
    view! {
        <h2>"Sweep"</h2>
        <div class="table-wrap">
            <table class="table sweep-table" data-testid="sweep-table">
                <thead>
                    <tr>
                        <th>"step"</th>
                        <th>"load"</th>
                        <th>"output tok/s"</th>
                        <th>"req/s"</th>
                        <th>"TTFT p50 (ms)"</th>
                        <th>"TTFT p99 (ms)"</th>
                        <th>"TPOT p50 (ms)"</th>
                        <th>"ITL p50 (ms)"</th>
                        <th>"E2E p99 (ms)"</th>
                        <th>"ok / failed"</th>
                        <th>"SLO (p99)"</th>
                    </tr>
                </thead>
                <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
        <p class="sweep-best" data-testid="sweep-best">{best}</p>
        {(!warnings.is_empty())
            .then(|| {
                view! {
                    <ul class="sweep-warnings">
                        {warnings
                            .into_iter()
                            .map(|w| view! { <li class="warn" data-testid="sweep-warning">"⚠ " {w}</li> })
                            .collect_view()}
                    </ul>
                }
            })}
        <h3>"Each step"</h3>
        {details}
    }
}
