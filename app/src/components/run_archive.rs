//! What a run page adds once the run has ended, from the archive: the latency distributions of its requests and
//! the downloads of its report, requests, telemetry and summary, and its charts as one PNG (drawn by the server).

use leptos::prelude::*;

use super::chart::{Series, TimeChart, PALETTE};
use protocol::archive::{CdfPoint, LatencyCdf};

/// A CDF as a chart line: x = latency (ms), y = percent of requests.
pub fn cdf_line(label: &str, color: usize, points: &[CdfPoint]) -> Series {
    Series {
        label: label.into(),
        color: PALETTE[color % PALETTE.len()],
        points: points.iter().map(|p| (p.ms, p.fraction * 100.0)).collect(),
    }
}

/// TTFT and end-to-end latency CDFs of an ended run (fetched once `ended` holds).
#[component]
pub fn LatencyChart(
    /// The run.
    run_id: String,
    /// True once the run has ended (its records are all stored).
    #[prop(into)]
    ended: Signal<bool>,
) -> impl IntoView {
    let cdf = RwSignal::new(None::<LatencyCdf>);
    #[cfg(feature = "hydrate")]
    {
        let requested = StoredValue::new(false);
        Effect::new(move |_| {
            if ended.get() && !requested.get_value() {
                requested.set_value(true);
                let path = format!("/api/runs/{run_id}/latency");
                leptos::task::spawn_local(async move {
                    if let Ok(c) = crate::api::get_json::<LatencyCdf>(&path).await {
                        cdf.set(Some(c));
                    }
                });
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = run_id;
    let series = Signal::derive(move || {
        cdf.with(|c| {
            c.as_ref().map(|c| vec![cdf_line("TTFT", 0, &c.ttft), cdf_line("E2E", 3, &c.e2e)]).unwrap_or_default()
        })
    });
    let x_range = Signal::derive(move || {
        let max = cdf.with(|c| c.as_ref().and_then(|c| c.e2e.last().or(c.ttft.last()).map(|p| p.ms)));
        (0.0, max.unwrap_or(1.0).max(1.0) * 1.02)
    });
    let note = move || match cdf.get() {
        Some(c) if c.requests == 0 => "No per-request records are stored for this run.".to_owned(),
        Some(c) => format!("{} measured, successful requests (warmup excluded).", c.requests),
        None => "Reading the request records…".to_owned(),
    };
    view! {
        <Show when=move || ended.get()>
            <h2>"Latency distribution"</h2>
            <p class="muted" data-testid="latency-note">{note}</p>
            <div class="chart-grid">
                <TimeChart
                    title="TTFT and end-to-end latency, cumulative"
                    y_unit="% of requests"
                    x_desc="latency (ms)"
                    series
                    x_range
                    y_floor=100.0
                    testid="chart-latency-cdf"
                />
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
