//! The live summary strip of a running run: the latest 1 s window's figures and the GPU energy used so far.

use leptos::prelude::*;

use super::gpu_view::GpuHistory;
use protocol::event::WindowStats;
use protocol::live_run::Progress;

/// Joules used so far by every GPU since its first sample in `history` (the run's start), from the total-energy
/// counter; `None` when no GPU reports one.
pub fn energy_so_far_j(history: &GpuHistory) -> Option<f64> {
    let per_gpu = history.values().filter_map(|v| {
        let first = v.iter().find_map(|s| s.energy_j)?;
        let last = v.iter().rev().find_map(|s| s.energy_j)?;
        Some(last - first)
    });
    per_gpu.fold(None, |acc, e| Some(acc.unwrap_or(0.0) + e))
}

fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
}

/// Figures of the latest window, the counts so far and the GPU energy so far.
#[component]
pub fn LiveStats(
    /// The run's windows.
    #[prop(into)]
    windows: Signal<Vec<WindowStats>>,
    /// GPU samples since the run started.
    #[prop(into)]
    gpu: Signal<GpuHistory>,
    /// Progress.
    #[prop(into)]
    progress: Signal<Progress>,
) -> impl IntoView {
    let last = move || windows.with(|w| w.last().cloned());
    let stat = |label: &'static str, value: Signal<String>| {
        view! {
            <div class="stat">
                <span>{label}</span>
                <b>{move || value.get()}</b>
            </div>
        }
    };
    let tok =
        Signal::derive(move || last().map(|w| format!("{:.0}", w.output_tokens_per_s)).unwrap_or_else(|| "—".into()));
    let req = Signal::derive(move || last().map(|w| format!("{:.2}", w.requests_per_s)).unwrap_or_else(|| "—".into()));
    let ttft = Signal::derive(move || {
        last().map(|w| format!("{} / {}", ms(w.ttft_p50_ms), ms(w.ttft_p99_ms))).unwrap_or_else(|| "—".into())
    });
    let itl = Signal::derive(move || {
        last().map(|w| format!("{} / {}", ms(w.itl_p50_ms), ms(w.itl_p99_ms))).unwrap_or_else(|| "—".into())
    });
    let done = Signal::derive(move || progress.with(|p| format!("{} / {}", p.done - p.failed, p.failed)));
    let energy = Signal::derive(move || {
        gpu.with(energy_so_far_j)
            .map(|j| if j >= 10_000.0 { format!("{:.1} kJ", j / 1000.0) } else { format!("{j:.0} J") })
            .unwrap_or_else(|| "—".into())
    });
    view! {
        <div class="summary live-stats" data-testid="live-stats">
            {stat("Output tok/s (last 1 s)", tok)}
            {stat("Requests/s", req)}
            {stat("TTFT p50 / p99 (ms)", ttft)}
            {stat("ITL p50 / p99 (ms)", itl)}
            {stat("Completed / failed", done)}
            {stat("GPU energy so far", energy)}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::gpu::GpuSample;

    fn s(index: u32, e: Option<f64>) -> GpuSample {
        GpuSample { index, energy_j: e, ..Default::default() }
    }

    #[test]
    fn energy_sums_each_gpus_counter_delta() {
        let mut h = GpuHistory::new();
        h.insert(0, vec![s(0, None), s(0, Some(100.0)), s(0, Some(150.0)), s(0, None)]);
        h.insert(1, vec![s(1, Some(10.0)), s(1, Some(30.0))]);
        assert_eq!(energy_so_far_j(&h), Some(70.0));
        assert_eq!(energy_so_far_j(&GpuHistory::new()), None);
    }
}
