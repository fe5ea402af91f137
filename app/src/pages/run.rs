//! A run's page `/runs/{id}`: live while it runs (progress, Stop, charts on one clock, errors), its summary after.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::badges::{status_class, TagChips};
use crate::components::copy_button::RunCopyButtons;
use crate::components::gpu_view::{GpuCharts, GpuHistory};
use crate::components::live_stats::LiveStats;
use crate::components::meta_editor::MetaEditor;
use crate::components::preflight_log::PreflightLog;
use crate::components::run_archive::{ExportLinks, LatencyChart};
use crate::components::run_charts::{ErrorPanel, ReportTables, RunCharts};
use crate::components::share_panel::SharePanel;
use crate::components::sweep_view::SweepView;
use protocol::archive::{display_name, Outcome};
use protocol::event::WindowStats;
use protocol::gpu::TelemetryStatus;
use protocol::live_run::{Progress, RunResult, RunStatus, RunView};
use protocol::report::ErrorSample;
use protocol::share::KIND_RUN;
use protocol::sweep::{step_loads, step_markers};

/// Client-side state of the page, filled from `/ws/runs/{id}`.
#[derive(Clone, Copy)]
struct RunState {
    view: RwSignal<Option<RunView>>,
    windows: RwSignal<Vec<WindowStats>>,
    gpu: RwSignal<GpuHistory>,
    telemetry: RwSignal<Option<TelemetryStatus>>,
    errors: RwSignal<Vec<ErrorSample>>,
    preflight: RwSignal<Vec<String>>,
    progress: RwSignal<(RunStatus, Progress)>,
}

#[cfg(feature = "hydrate")]
fn on_frame(st: RunState, text: &str) {
    use crate::components::gpu_view::append;
    use protocol::live_run::RunWsFrame;
    let Ok(frame) = protocol::decode::from_str::<RunWsFrame>(text) else { return };
    match frame {
        RunWsFrame::Hello { run, windows, telemetry, gpu } => {
            st.progress.set((run.status, run.progress));
            st.errors.set(run.error_samples.clone());
            st.preflight.set(run.preflight_states.clone());
            st.windows.set(windows);
            st.telemetry.set(Some(telemetry));
            st.gpu.set(GpuHistory::new());
            st.gpu.update(|h| append(h, gpu));
            st.view.set(Some(*run));
        }
        RunWsFrame::Progress { status, progress } => st.progress.set((status, progress)),
        RunWsFrame::Preflight { state } => st.preflight.update(|p| p.push(state)),
        // A window closing between the hello snapshot and the subscription can arrive twice.
        RunWsFrame::Window(w) => st.windows.update(|v| {
            if v.last().is_none_or(|l| (l.step, l.t_end_ms) < (w.step, w.t_end_ms)) {
                v.push(w);
            }
        }),
        RunWsFrame::Gpu { samples } => st.gpu.update(|h| append(h, samples)),
        RunWsFrame::Error(e) => st.errors.update(|v| v.push(e)),
        RunWsFrame::Storage { error } => st.view.update(|v| {
            if let Some(v) = v {
                v.storage_error = error;
            }
        }),
        RunWsFrame::Finished { run } => {
            st.progress.set((run.status, run.progress));
            st.view.set(Some(*run));
        }
    }
}

fn fmt_eta(p: &Progress) -> String {
    let mut s = format!("{} done", p.done);
    if let Some(t) = p.total {
        s = format!("{} / {t} requests", p.done);
    }
    s.push_str(&format!(" · {:.0} s elapsed", p.elapsed_s));
    if let Some(quiet) = p.stalled_s {
        s.push_str(&format!(" · no request has finished for {quiet:.0} s: the end depends on the request timeout"));
    } else if let Some(eta) = p.eta_s.filter(|e| *e > 0.0) {
        s.push_str(&format!(" · ETA {eta:.0} s"));
    }
    s.push_str(&format!(" · {} in flight · {} failed", p.in_flight, p.failed));
    s
}

/// `/runs/{id}`.
#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let st = RunState {
        view: RwSignal::new(None),
        windows: RwSignal::new(Vec::new()),
        gpu: RwSignal::new(GpuHistory::new()),
        telemetry: RwSignal::new(None),
        errors: RwSignal::new(Vec::new()),
        preflight: RwSignal::new(Vec::new()),
        progress: RwSignal::new((RunStatus::Preflight, Progress::default())),
    };
    #[cfg(feature = "hydrate")]
    {
        let path = format!("/ws/runs/{}", id());
        let socket =
            crate::components::socket::ReconnectingSocket::open(&path, move |t: String| on_frame(st, &t), |_| {});
        let socket = StoredValue::new_local(socket);
        on_cleanup(move || socket.with_value(|s| s.close()));
    }
    let origin = Signal::derive(move || st.view.with(|v| v.as_ref().map(|v| v.started_unix_ms).unwrap_or(0)));
    let x_range = Signal::derive(move || {
        let last_w = st.windows.with(|w| w.last().map(|w| (w.unix_ms as f64 - origin.get() as f64) / 1000.0));
        let elapsed = st.progress.with(|(_, p)| p.elapsed_s);
        (0.0, last_w.unwrap_or(0.0).max(elapsed).max(10.0))
    });
    // A sweep's step starts, labelled with their loads, on every time chart.
    let markers = Signal::derive(move || {
        let loads = st.view.with(|v| v.as_ref().map(|v| step_loads(&v.spec)).unwrap_or_default());
        st.windows.with(|w| step_markers(w, origin.get(), &loads))
    });
    let stopping = RwSignal::new(false);
    let stop = move |_| {
        stopping.set(true);
        #[cfg(feature = "hydrate")]
        {
            let path = format!("/api/runs/{}/stop", id());
            leptos::task::spawn_local(async move {
                let _ = crate::api::post_json::<_, serde_json::Value>(&path, &serde_json::json!({})).await;
            });
        }
    };
    // Ended once the server says so (hello or finished): the archive then holds all of the run.
    let ended = Signal::derive(move || st.view.with(|v| v.as_ref().is_some_and(|v| !v.status.is_live())));
    let gpus = move || st.telemetry.get().map(|t| t.gpus().to_vec()).unwrap_or_default();
    view! {
        <section data-testid="page-run">
            <div class="run-head">
                <h1>
                    {move || {
                        st.view
                            .get()
                            .map(|v| display_name(&v.spec.name, &v.id))
                            .unwrap_or_else(|| display_name("", &id()))
                    }}
                </h1>
                <span class=move || status_class(st.progress.get().0) data-testid="run-status">
                    {move || st.progress.get().0.as_str()}
                </span>
                {move || {
                    st.view
                        .get()
                        .map(|v| Outcome::of(&v))
                        .filter(|o| matches!(o, Outcome::SloMet | Outcome::SloMissed | Outcome::ClientBound))
                        .map(|o| {
                            view! {
                                <span class=format!("badge badge-{}", o.tone()) data-testid="run-outcome">
                                    {o.label()}
                                </span>
                            }
                        })
                }}
                {move || {
                    st.view.get().filter(|v| v.demo).map(|_| view! { <span class="tag tag-sim">"demo target"</span> })
                }}
                {move || {
                    st.telemetry
                        .get()
                        .filter(|t| matches!(t, TelemetryStatus::Simulated { .. }))
                        .map(|_| view! { <span class="tag tag-sim">"simulated GPU telemetry"</span> })
                }}
                {move || st.view.get().map(|v| view! { <TagChips tags=v.tags /> })}
                <RunCopyButtons view=st.view />
            </div>
            <SharePanel kind=KIND_RUN runs=Signal::derive(move || vec![id()]) />
            {move || {
                st.view
                    .get()
                    .filter(|v| !v.notes.is_empty())
                    .map(|v| view! { <p class="notes" data-testid="run-notes">{v.notes}</p> })
            }}
            <Show when=move || st.view.with(|v| v.as_ref().is_some_and(|v| !v.status.is_live()))>
                <MetaEditor view=st.view />
            </Show>
            <p class="muted mono">
                {move || st.view.get().map(|v| format!("{} · model {}", v.spec.target, v.spec.model.unwrap_or_else(|| "auto".into())))}
            </p>
            <div class="progress-row">
                <div class="progress" data-testid="progress">
                    <div
                        class="progress-fill"
                        // An ended run's bar is drawn at its final width at once, not animated from 0.
                        class:static-fill=move || !st.progress.get().0.is_live()
                        style=move || {
                            let f = st.progress.get().1.fraction().unwrap_or(0.0);
                            format!("width: {:.1}%", f * 100.0)
                        }
                    ></div>
                </div>
                <button
                    class="btn btn-stop owner-only"
                    data-testid="stop"
                    on:click=stop
                    disabled=move || stopping.get() || !st.progress.get().0.is_live()
                >
                    {move || if stopping.get() && st.progress.get().0.is_live() { "Stopping…" } else { "Stop" }}
                </button>
            </div>
            <p class="muted" data-testid="progress-text">{move || fmt_eta(&st.progress.get().1)}</p>
            <PreflightLog states=st.preflight status=Signal::derive(move || st.progress.get().0) />
            {move || {
                st.view
                    .get()
                    .and_then(|v| v.verdict)
                    .map(|v| view! { <p class="verdict" data-testid="verdict">{v}</p> })
            }}
            // The archive refuses writes (disk full, database locked): measuring goes on, rows are retried.
            {move || {
                st.view.get().and_then(|v| v.storage_error).map(|e| {
                    view! { <p class="verdict" data-testid="storage-error">{format!("Archive: {e}")}</p> }
                })
            }}
            <Show when=move || ended.get()>
                <ExportLinks run_id=id() />
            </Show>
            <Show when=move || !ended.get()>
                <LiveStats windows=st.windows gpu=st.gpu progress=Signal::derive(move || st.progress.get().1) />
            </Show>
            <RunCharts windows=st.windows origin_ms=origin x_range markers />
            {move || {
                gpus()
                    .into_iter()
                    .map(|g| {
                        let (index, memory) = (g.index, g.memory_total_bytes);
                        view! {
                            <h2>{format!("GPU {} · {}", g.index, g.name)}</h2>
                            <GpuCharts index history=st.gpu origin_ms=origin x_range markers memory_total_bytes=memory />
                        }
                    })
                    .collect_view()
            }}
            <ErrorPanel samples=st.errors />
            <LatencyChart run_id=id() ended />
            {move || {
                st.view
                    .get()
                    .and_then(|v| v.result)
                    .map(|r| match r {
                        RunResult::Single(report) => view! { <h2>"Summary"</h2> <ReportTables report=*report /> }.into_any(),
                        RunResult::Sweep(s) => view! { <SweepView sweep=s /> }.into_any(),
                    })
            }}
        </section>
    }
}
