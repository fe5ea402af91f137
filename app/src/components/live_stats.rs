//! The live summary strip of a running run: the latest 1 s window's figures and the GPU energy used so far —
//! counted from the first request sent (the load's start), not while preflight waits for the server.

use leptos::prelude::*;

use super::gpu_view::GpuHistory;
use protocol::event::WindowStats;
use protocol::gpu::GpuSample;
use protocol::live_run::Progress;

/// When the load started (its first request was sent), Unix ms, from the run's first window; `None` before any.
pub fn load_start_ms(windows: &[WindowStats]) -> Option<u64> {
    let first = windows.first()?;
    let since_start = if first.t_end_ms.is_finite() { first.t_end_ms.max(0.0) as u64 } else { 0 };
    Some(first.unix_ms.saturating_sub(since_start))
}

/// A GPU's total-energy counter at `t_ms`: interpolated between the readings around it, else the nearest one.
fn counter_at(samples: &[GpuSample], t_ms: u64) -> Option<f64> {
    let before = samples.iter().rev().find(|s| s.unix_ms <= t_ms && s.energy_j.is_some());
    let after = samples.iter().find(|s| s.unix_ms >= t_ms && s.energy_j.is_some());
    match (before, after) {
        (Some(a), Some(b)) if b.unix_ms > a.unix_ms => {
            let (ea, eb) = (a.energy_j?, b.energy_j?);
            let f = (t_ms - a.unix_ms) as f64 / (b.unix_ms - a.unix_ms) as f64;
            Some(ea + (eb - ea) * f)
        }
        (Some(s), _) | (None, Some(s)) => s.energy_j,
        (None, None) => None,
    }
}

/// Joules used by every GPU since `since_ms` (the load's start), from the total-energy counter; `None` before the
/// load started or when no GPU reports one. Samples before the start (preflight, waiting) do not count.
pub fn energy_so_far_j(history: &GpuHistory, since_ms: Option<u64>) -> Option<f64> {
    let since = since_ms?;
    let per_gpu = history.values().filter_map(|v| {
        let last = v.iter().rev().find(|s| s.energy_j.is_some() && s.unix_ms >= since)?;
        Some((last.energy_j? - counter_at(v, since)?).max(0.0))
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
        let since = windows.with(|w| load_start_ms(w));
        gpu.with(|h| energy_so_far_j(h, since))
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
            <div class="stat" title="counted from the first request sent: waiting for the server does not count">
                <span>"GPU energy so far"</span>
                <b data-testid="energy-so-far">{move || energy.get()}</b>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(index: u32, unix_ms: u64, e: Option<f64>) -> GpuSample {
        GpuSample { index, unix_ms, energy_j: e, ..Default::default() }
    }

    #[test]
    fn energy_counts_each_gpus_counter_from_the_load_start() {
        let mut h = GpuHistory::new();
        h.insert(0, vec![s(0, 1000, None), s(0, 2000, Some(100.0)), s(0, 3000, Some(150.0)), s(0, 4000, None)]);
        h.insert(1, vec![s(1, 2000, Some(10.0)), s(1, 3000, Some(30.0))]);
        assert_eq!(energy_so_far_j(&h, Some(0)), Some(70.0));
        assert_eq!(energy_so_far_j(&h, Some(2500)), Some(25.0 + 10.0), "interpolated at the start");
        assert_eq!(energy_so_far_j(&GpuHistory::new(), Some(0)), None);
    }

    #[test]
    fn nothing_counts_before_the_first_request() {
        let mut h = GpuHistory::new();
        // Preflight waited from 0 to 10 s, burning 1 kJ; the load started at 10 s.
        h.insert(0, (0..=12).map(|t| s(0, t * 1000, Some(t as f64 * 100.0))).collect());
        assert_eq!(energy_so_far_j(&h, None), None, "no window yet: still waiting");
        let first: WindowStats = serde_json::from_value(serde_json::json!({
            "step": 0, "t_end_ms": 1000.0, "unix_ms": 11_000, "output_tokens_per_s": 0.0, "requests_per_s": 0.0,
            "ttft_p50_ms": null, "ttft_p99_ms": null, "itl_p50_ms": null, "itl_p99_ms": null, "e2e_p50_ms": null,
            "e2e_p99_ms": null, "in_flight": 0, "completed_total": 0, "failed_total": 0, "errors": {},
        }))
        .unwrap();
        assert_eq!(load_start_ms(std::slice::from_ref(&first)), Some(10_000));
        assert_eq!(energy_so_far_j(&h, load_start_ms(&[first])), Some(200.0));
    }
}
