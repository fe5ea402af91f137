//! GPU: live telemetry of every GPU on this machine, with or without a run — nvtop in the browser.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::components::gpu_view::append;
use crate::components::gpu_view::{GpuCharts, GpuHistory, GpuNow};
#[cfg(feature = "hydrate")]
use protocol::gpu::GpuWsFrame;
use protocol::gpu::TelemetryStatus;

/// Seconds of history shown on the charts.
const WINDOW_S: f64 = 300.0;

/// `/gpu`.
#[component]
pub fn GpuPage() -> impl IntoView {
    let status = RwSignal::new(None::<TelemetryStatus>);
    let history = RwSignal::new(GpuHistory::new());
    let now_ms = RwSignal::new(0_u64);
    #[cfg(feature = "hydrate")]
    {
        let socket = crate::components::socket::ReconnectingSocket::open(
            protocol::gpu::GPU_WS_PATH,
            move |text: String| match protocol::decode::from_str::<GpuWsFrame>(&text) {
                Ok(GpuWsFrame::Hello { status: st, server_time_ms, history: past, .. }) => {
                    status.set(Some(st));
                    now_ms.set(server_time_ms);
                    history.update(|h| append(h, past));
                }
                Ok(GpuWsFrame::Samples { samples }) => {
                    if let Some(t) = samples.iter().map(|s| s.unix_ms).max() {
                        now_ms.set(t);
                    }
                    history.update(|h| append(h, samples));
                }
                Err(_) => {}
            },
            |_| {},
        );
        let socket = StoredValue::new_local(socket);
        on_cleanup(move || socket.with_value(|s| s.close()));
    }
    // x = seconds relative to now: the right edge is the latest sample.
    let origin = Signal::derive(move || now_ms.get());
    // The axis spans the history held (at least 30 s, at most WINDOW_S), so a fresh page is not squeezed right.
    let x_range = Signal::derive(move || {
        let now = now_ms.get();
        let oldest = history.with(|h| h.values().filter_map(|v| v.first().map(|s| s.unix_ms)).min()).unwrap_or(now);
        let span_s = now.saturating_sub(oldest) as f64 / 1000.0;
        (-span_s.clamp(30.0, WINDOW_S), 0.0)
    });
    view! {
        <section data-testid="page-gpu">
            <h1>"GPU"</h1>
            <p class="lede">
                "Live telemetry of every GPU on this machine, read through NVML: utilization and GPM SM-activity "
                "(the true share of SMs busy — NVML's utilization only says a kernel was running), memory, power "
                "and energy, temperature and clocks."
            </p>
            {move || match status.get() {
                None => view! { <p class="muted" data-testid="gpu-status">"connecting to telemetry…"</p> }.into_any(),
                Some(TelemetryStatus::Unavailable { reason }) => {
                    view! {
                        <div class="empty" data-testid="gpu-status">
                            <p>"No GPU telemetry: " {reason}</p>
                            <p>"Start with " <code>"--simulate-gpu 1"</code> " to try the dashboard with a simulated GPU."</p>
                        </div>
                    }
                        .into_any()
                }
                Some(st) => {
                    let simulated = matches!(st, TelemetryStatus::Simulated { .. });
                    let gpus = st.gpus().to_vec();
                    view! {
                        <p class="status-line" data-testid="gpu-status">
                            {format!("{} GPU{}", gpus.len(), if gpus.len() == 1 { "" } else { "s" })}
                            {simulated
                                .then(|| {
                                    view! {
                                        <span class="tag tag-sim">"simulated telemetry (demo) — not a real GPU"</span>
                                    }
                                })}
                        </p>
                        {gpus
                            .into_iter()
                            .map(|info| {
                                let (index, memory) = (info.index, info.memory_total_bytes);
                                let latest = Signal::derive(move || {
                                    history.with(|h| h.get(&index).and_then(|v| v.last().cloned()))
                                });
                                view! {
                                    <article class="panel" data-testid=format!("gpu-{index}")>
                                        <GpuNow info latest />
                                        <GpuCharts index history origin_ms=origin x_range memory_total_bytes=memory />
                                    </article>
                                }
                            })
                            .collect_view()}
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
