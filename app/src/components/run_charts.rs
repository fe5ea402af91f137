//! The live run's charts and tables: throughput, latency, load and errors, on the run's clock.

use leptos::prelude::*;

use super::chart::{Marker, Series, TimeChart, PALETTE};
use protocol::event::WindowStats;
use protocol::lines;
use protocol::report::{ErrorSample, LatencyStats, RunReport};

/// Gaps wider than this many times a line's usual spacing break it: a few 1 s windows without a value.
pub const GAP_FACTOR: f64 = 4.0;

/// A line over the run's windows, x = seconds since `origin_ms` (window ends), skipping absent values; broken where
/// a sweep's step changes and where several windows in a row have no value (never joined across either).
pub fn window_line(
    label: &str,
    color: usize,
    windows: &[WindowStats],
    origin_ms: u64,
    f: impl Fn(&WindowStats) -> Option<f64>,
) -> Series {
    let mut points = Vec::with_capacity(windows.len() + 4);
    let mut step = None;
    for w in windows {
        let Some(v) = f(w) else { continue };
        let x = (w.unix_ms as f64 - origin_ms as f64) / 1000.0;
        if step.is_some_and(|s| s != w.step) {
            points.push((x, lines::BREAK));
        }
        step = Some(w.step);
        points.push((x, v));
    }
    Series { label: label.into(), color: PALETTE[color % PALETTE.len()], points: lines::break_gaps(points, GAP_FACTOR) }
}

/// Throughput, TTFT, ITL and load charts of a run; a sweep's step starts marked on each.
#[component]
pub fn RunCharts(
    /// The run's 1 s windows.
    #[prop(into)]
    windows: Signal<Vec<WindowStats>>,
    /// Unix ms of x = 0 (load start).
    #[prop(into)]
    origin_ms: Signal<u64>,
    /// Shared x range, seconds.
    #[prop(into)]
    x_range: Signal<(f64, f64)>,
    /// A sweep's step starts with their loads (`protocol::sweep::step_markers`); none for a single run.
    #[prop(into, optional)]
    markers: Signal<Vec<Marker>>,
) -> impl IntoView {
    let series = move |make: fn(&[WindowStats], u64) -> Vec<Series>| {
        Signal::derive(move || windows.with(|w| make(w, origin_ms.get())))
    };
    let tok = series(|w, o| vec![window_line("output tok/s", 0, w, o, |x| x.chartable_rate(x.output_tokens_per_s))]);
    let req = series(|w, o| vec![window_line("requests/s", 1, w, o, |x| x.chartable_rate(x.requests_per_s))]);
    let ttft = series(|w, o| {
        vec![window_line("TTFT p50", 0, w, o, |x| x.ttft_p50_ms), window_line("TTFT p99", 3, w, o, |x| x.ttft_p99_ms)]
    });
    let itl = series(|w, o| {
        vec![window_line("ITL p50", 1, w, o, |x| x.itl_p50_ms), window_line("ITL p99", 2, w, o, |x| x.itl_p99_ms)]
    });
    let load = series(|w, o| {
        vec![
            window_line("in flight", 4, w, o, |x| Some(x.in_flight as f64)),
            window_line("errors/s", 3, w, o, |x| Some(x.errors.values().sum::<u64>() as f64)),
        ]
    });
    view! {
        <div class="chart-grid">
            <TimeChart title="Output tokens/s" y_unit="tok/s" series=tok x_range markers testid="chart-tokens" />
            <TimeChart title="Requests/s (completed)" y_unit="req/s" series=req x_range markers testid="chart-requests" />
            <TimeChart title="Time to first token" y_unit="ms" series=ttft x_range markers testid="chart-ttft" />
            <TimeChart title="Inter-token latency" y_unit="ms" series=itl x_range markers testid="chart-itl" />
            <TimeChart title="In flight and errors" y_unit="requests" series=load x_range markers testid="chart-load" />
        </div>
    }
}

fn row(name: &'static str, s: LatencyStats) -> impl IntoView {
    let c = |v: f64| format!("{v:.1}");
    view! {
        <tr>
            <th>{name}</th>
            <td>{c(s.mean)}</td>
            <td>{c(s.p50)}</td>
            <td>{c(s.p90)}</td>
            <td>{c(s.p95)}</td>
            <td>{c(s.p99)}</td>
            <td>{c(s.min)}</td>
            <td>{c(s.max)}</td>
            <td>{s.count}</td>
        </tr>
    }
}

/// The final report of one run (or one sweep step) as tables.
#[component]
pub fn ReportTables(
    /// The report.
    report: RunReport,
) -> impl IntoView {
    let r = report;
    let goodput = r.goodput_rps.map(|g| format!("{g:.2} req/s")).unwrap_or_else(|| "— (no SLO)".into());
    let steady = r.steady_output_tokens_per_s.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
    let (counts, exact) = token_sources(&r);
    view! {
        {r.client_bound_reason.clone().map(|why| view! { <p class="warn" data-testid="client-bound">"Client-bound: " {why}</p> })}
        <p class=if exact { "muted" } else { "warn" } data-testid="token-sources">{counts}</p>
        <div class="summary" data-testid="summary">
            <div class="stat">
                <span>"Output tokens/s"</span>
                <b>{format!("{:.1}", r.output_tokens_per_s)}</b>
            </div>
            <div class="stat" title="over the interval where the load was at its target level">
                <span>"Steady-state tokens/s"</span>
                <b data-testid="steady">{steady}</b>
            </div>
            <div class="stat">
                <span>"Requests/s"</span>
                <b>{format!("{:.2}", r.requests_per_s)}</b>
            </div>
            <div class="stat">
                <span>"Completed / failed"</span>
                <b>{format!("{} / {} ({:.1} %)", r.requests_completed, r.requests_failed, r.error_rate * 100.0)}</b>
            </div>
            <div class="stat">
                <span>"Duration"</span>
                <b>{format!("{:.1} s", r.duration_s)}</b>
            </div>
            <div class="stat">
                <span>"Goodput"</span>
                <b>{goodput}</b>
            </div>
            {r.gpu.map(|g| {
                let per_token = g.j_per_output_token.map(|j| format!("{j:.3} J")).unwrap_or_else(|| "n/a".into());
                let power = g.mean_power_w.map(|w| format!("{w:.0} W")).unwrap_or_else(|| "n/a".into());
                let label = if g.simulated { " (simulated)" } else { "" };
                view! {
                    <div class="stat" data-testid="energy">
                        <span>{format!("Energy per output token{label}")}</span>
                        <b>{per_token}</b>
                    </div>
                    <div class="stat">
                        <span>{format!("Mean GPU power, GPUs {:?}{label}", g.gpu_indices)}</span>
                        <b>{power}</b>
                    </div>
                }
            })}
        </div>
        <table class="table" data-testid="percentiles">
            <thead>
                <tr>
                    <th>"ms"</th>
                    <th>"mean"</th>
                    <th>"p50"</th>
                    <th>"p90"</th>
                    <th>"p95"</th>
                    <th>"p99"</th>
                    <th>"min"</th>
                    <th>"max"</th>
                    <th>"n"</th>
                </tr>
            </thead>
            <tbody>
                {row("TTFT", r.ttft_ms)}
                {row("TPOT", r.tpot_ms)}
                {row("ITL", r.itl_ms)}
                {row("ITL per chunk", r.itl_chunk_ms)}
                {row("E2E", r.e2e_ms)}
            </tbody>
        </table>
    }
}

/// Where the token counts came from, in one line, and whether they are exact (false: an estimate or chunk counts).
pub fn token_sources(r: &RunReport) -> (String, bool) {
    let name = |s: &str| match s {
        "usage" => "the server's usage".to_owned(),
        "tokenizer" => "the model's tokenizer".to_owned(),
        "server" => "the server's tokenize endpoint".to_owned(),
        "estimate" => "an ESTIMATE (no tokenizer)".to_owned(),
        "chunks" => "CHUNK COUNTS (no usage, no tokenizer)".to_owned(),
        "" => "not recorded".to_owned(),
        other => other.to_owned(),
    };
    let exact = !matches!(r.input_tokens_source.as_str(), "estimate")
        && !matches!(r.output_tokens_source.as_str(), "chunks" | "mixed");
    let mut line = format!(
        "Prompt tokens from {}; output tokens from {}",
        name(&r.input_tokens_source),
        name(&r.output_tokens_source)
    );
    if let Some(o) = r.prompt_overhead_tokens {
        line.push_str(&format!("; template overhead {o:+.1} tokens per prompt"));
    }
    if r.output_length_mismatch_rate > 0.0 {
        line.push_str(&format!(
            "; {:.1} % of requests got another output length than asked",
            r.output_length_mismatch_rate * 100.0
        ));
    }
    (line, exact)
}

/// The first failures of each class with the bodies the server sent.
#[component]
pub fn ErrorPanel(
    /// Samples, in arrival order.
    #[prop(into)]
    samples: Signal<Vec<ErrorSample>>,
) -> impl IntoView {
    view! {
        <Show when=move || !samples.get().is_empty()>
            <section class="panel errors" data-testid="errors">
                <h2>"Errors"</h2>
                <ul>
                    {move || {
                        samples
                            .get()
                            .into_iter()
                            .map(|e| {
                                let status = e.status.map(|s| format!("HTTP {s} ")).unwrap_or_default();
                                view! {
                                    <li>
                                        <b>{e.class.as_str()}</b>
                                        " "
                                        {status}
                                        <code>{e.message}</code>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn window(step: u32, end_s: u64, tok_s: f64) -> WindowStats {
        WindowStats {
            step,
            t_end_ms: end_s as f64 * 1000.0,
            unix_ms: 5_000 + end_s * 1000,
            length_ms: 1000.0,
            output_tokens: tok_s,
            output_tokens_per_s: tok_s,
            requests_per_s: 1.0,
            ttft_p50_ms: end_s.is_multiple_of(2).then_some(40.0),
            ttft_p99_ms: None,
            itl_p50_ms: None,
            itl_p99_ms: None,
            e2e_p50_ms: None,
            e2e_p99_ms: None,
            in_flight: 1,
            completed_total: 0,
            failed_total: 0,
            errors: BTreeMap::new(),
        }
    }

    fn piece_lengths(s: &Series) -> Vec<usize> {
        lines::pieces(&s.points).iter().map(|p| p.len()).collect()
    }

    #[test]
    fn lines_are_not_joined_across_steps_or_gaps() {
        let w: Vec<WindowStats> =
            (1..=5).map(|t| window(0, t, 100.0)).chain((6..=9).map(|t| window(1, t, 300.0))).collect();
        let tok = window_line("tok/s", 0, &w, 5_000, |x| Some(x.output_tokens_per_s));
        assert_eq!(piece_lengths(&tok), [5, 4], "one piece per step");
        assert_eq!(tok.points.iter().filter(|p| p.1.is_finite()).count(), 9, "every window kept");
        // A value every other window is one line; a hole of several windows breaks it.
        let ttft = window_line("TTFT", 0, &w[..5], 5_000, |x| x.ttft_p50_ms);
        assert_eq!(piece_lengths(&ttft), [2]);
        let holed: Vec<WindowStats> = (1..=4).chain(20..=23).map(|t| window(0, t, 1.0)).collect();
        assert_eq!(piece_lengths(&window_line("x", 0, &holed, 5_000, |x| Some(x.in_flight as f64))), [4, 4]);
    }
}
