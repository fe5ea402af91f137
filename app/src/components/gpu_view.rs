//! GPU telemetry views shared by the GPU page and the live run page: per-GPU charts and a current-values card.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::chart::{Marker, Series, TimeChart, PALETTE};
use protocol::gpu::{GpuInfo, GpuSample};

/// Samples per GPU index, oldest first.
pub type GpuHistory = BTreeMap<u32, Vec<GpuSample>>;

/// Most samples kept per GPU in the browser (15 min at 20 Hz).
pub const MAX_SAMPLES: usize = 18_000;

/// Appends `samples` to `history`, keeping at most [`MAX_SAMPLES`] per GPU.
pub fn append(history: &mut GpuHistory, samples: Vec<GpuSample>) {
    for s in samples {
        let v = history.entry(s.index).or_default();
        if v.last().is_some_and(|l| l.unix_ms >= s.unix_ms) {
            continue; // a repeat after a reconnect
        }
        v.push(s);
        if v.len() > MAX_SAMPLES {
            let cut = v.len() - MAX_SAMPLES;
            v.drain(..cut);
        }
    }
}

/// Gaps wider than this many times the usual sampling interval break a line (telemetry paused, a reconnect).
pub const GAP_FACTOR: f64 = 4.0;

/// One line of `f` over the samples, x in seconds since `origin_ms`; samples without the field are skipped, and
/// the line is broken where several samples in a row are missing.
pub fn line(
    label: &str,
    color: usize,
    samples: &[GpuSample],
    origin_ms: u64,
    f: impl Fn(&GpuSample) -> Option<f64>,
) -> Series {
    let points =
        samples.iter().filter_map(|s| f(s).map(|v| ((s.unix_ms as f64 - origin_ms as f64) / 1000.0, v))).collect();
    Series {
        label: label.into(),
        color: PALETTE[color % PALETTE.len()],
        points: protocol::lines::break_gaps(points, GAP_FACTOR),
    }
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The installed memory of a GPU in GiB: what its samples report, else `known` (its static facts); the memory
/// chart's y axis ends there.
pub fn mem_total_gib(samples: &[GpuSample], known: Option<u64>) -> Option<f64> {
    samples.iter().filter_map(|s| s.mem_total_bytes).max().or(known).map(|b| b as f64 / GIB)
}

/// Utilization, memory and power charts of one GPU on the shared x range.
#[component]
pub fn GpuCharts(
    /// Which GPU.
    index: u32,
    /// All samples of all GPUs.
    #[prop(into)]
    history: Signal<GpuHistory>,
    /// Unix ms of x = 0.
    #[prop(into)]
    origin_ms: Signal<u64>,
    /// Shared x range, seconds.
    #[prop(into)]
    x_range: Signal<(f64, f64)>,
    /// A sweep's step starts with their loads; none outside a sweep.
    #[prop(into, optional)]
    markers: Signal<Vec<Marker>>,
    /// The GPU's installed memory, bytes, when its samples may not say (`GpuInfo::memory_total_bytes`).
    #[prop(default = None)]
    memory_total_bytes: Option<u64>,
) -> impl IntoView {
    let util = Signal::derive(move || {
        let h = history.get();
        let s = h.get(&index).map(Vec::as_slice).unwrap_or(&[]);
        let o = origin_ms.get();
        let mut out = vec![
            line("utilization (NVML)", 0, s, o, |x| x.util_gpu_percent),
            line("SM activity (GPM)", 1, s, o, |x| x.gpm_sm_activity_percent),
            line("tensor activity (GPM)", 2, s, o, |x| x.gpm_tensor_activity_percent),
        ];
        out.retain(|l| !l.points.is_empty());
        out
    });
    let mem = Signal::derive(move || {
        let h = history.get();
        let s = h.get(&index).map(Vec::as_slice).unwrap_or(&[]);
        let o = origin_ms.get();
        vec![line("used (GiB)", 4, s, o, |x| x.mem_used_bytes.map(|b| b as f64 / GIB))]
    });
    let power = Signal::derive(move || {
        let h = history.get();
        let s = h.get(&index).map(Vec::as_slice).unwrap_or(&[]);
        let o = origin_ms.get();
        vec![line("power (W)", 2, s, o, |x| x.power_w), line("limit (W)", 5, s, o, |x| x.power_limit_w)]
    });
    // The memory axis ends at the card's size (141 GiB, not a rounded-up 200).
    let mem_cap = Signal::derive(move || {
        history.with(|h| mem_total_gib(h.get(&index).map(Vec::as_slice).unwrap_or(&[]), memory_total_bytes))
    });
    view! {
        <div class="chart-grid">
            <TimeChart
                title="GPU utilization"
                y_unit="%"
                series=util
                x_range
                markers
                y_floor=100.0
                testid="chart-gpu-util"
            />
            <TimeChart
                title="GPU memory"
                y_unit="GiB"
                series=mem
                x_range
                markers
                y_floor=1.0
                y_cap=mem_cap
                testid="chart-gpu-mem"
            />
            <TimeChart
                title="GPU power"
                y_unit="W"
                series=power
                x_range
                markers
                y_floor=100.0
                testid="chart-gpu-power"
            />
        </div>
    }
}

fn fmt_opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    v.map(|x| format!("{x:.digits$} {unit}")).unwrap_or_else(|| "—".into())
}

/// The latest values of one GPU as a compact table.
#[component]
pub fn GpuNow(
    /// Static facts.
    info: GpuInfo,
    /// The latest sample, if any.
    #[prop(into)]
    latest: Signal<Option<GpuSample>>,
) -> impl IntoView {
    let cell = move |f: fn(&GpuSample) -> String| move || latest.get().as_ref().map(f).unwrap_or_else(|| "—".into());
    view! {
        <div class="gpu-head">
            <h2>
                {format!("GPU {} · {}", info.index, info.name)}
                {info.simulated.then(|| view! { <span class="tag tag-sim">"simulated"</span> })}
            </h2>
            <span class="muted mono">{info.uuid.clone()}</span>
        </div>
        <dl class="kv" data-testid=format!("gpu-now-{}", info.index)>
            <dt>"Utilization"</dt>
            <dd>{cell(|s| fmt_opt(s.util_gpu_percent, 0, "%"))}</dd>
            <dt>"SM activity"</dt>
            <dd>{cell(|s| fmt_opt(s.gpm_sm_activity_percent, 1, "%"))}</dd>
            <dt>"Tensor"</dt>
            <dd>{cell(|s| fmt_opt(s.gpm_tensor_activity_percent, 1, "%"))}</dd>
            <dt>"DRAM bw"</dt>
            <dd>{cell(|s| fmt_opt(s.gpm_dram_bw_util_percent, 1, "%"))}</dd>
            <dt>"Memory"</dt>
            <dd>
                {cell(|s| match (s.mem_used_bytes, s.mem_total_bytes) {
                    (Some(u), Some(t)) => format!("{:.1} / {:.0} GiB", u as f64 / GIB, t as f64 / GIB),
                    _ => "—".into(),
                })}
            </dd>
            <dt>"Power"</dt>
            <dd>
                {cell(|s| match (s.power_w, s.power_limit_w) {
                    (Some(p), Some(l)) => format!("{p:.0} / {l:.0} W"),
                    (Some(p), None) => format!("{p:.0} W"),
                    _ => "—".into(),
                })}
            </dd>
            <dt>"Energy"</dt>
            <dd>{cell(|s| fmt_opt(s.energy_j.map(|j| j / 1000.0), 1, "kJ"))}</dd>
            <dt>"Temp"</dt>
            <dd>{cell(|s| fmt_opt(s.temperature_c.map(f64::from), 0, "°C"))}</dd>
            <dt>"SM clock"</dt>
            <dd>{cell(|s| fmt_opt(s.sm_clock_mhz.map(f64::from), 0, "MHz"))}</dd>
            <dt>"Throttle"</dt>
            <dd>
                {cell(|s| {
                    s.throttle_reasons
                        .as_ref()
                        .map(|r| if r.is_empty() { "none".to_string() } else { r.join(", ") })
                        .unwrap_or_else(|| "—".into())
                })}
            </dd>
        </dl>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(index: u32, unix_ms: u64, util: f64) -> GpuSample {
        GpuSample { index, unix_ms, util_gpu_percent: Some(util), ..Default::default() }
    }

    #[test]
    fn append_skips_repeats_and_caps() {
        let mut h = GpuHistory::new();
        append(&mut h, vec![sample(0, 1, 5.0), sample(1, 1, 6.0), sample(0, 1, 7.0), sample(0, 2, 8.0)]);
        assert_eq!(h[&0].len(), 2);
        assert_eq!(h[&1].len(), 1);
        append(&mut h, (3..(MAX_SAMPLES as u64 + 10)).map(|t| sample(0, t, 1.0)).collect());
        assert_eq!(h[&0].len(), MAX_SAMPLES);
    }

    #[test]
    fn line_skips_absent_fields_and_uses_seconds() {
        let s = vec![sample(0, 1_000, 10.0), GpuSample { index: 0, unix_ms: 2_000, ..Default::default() }];
        let l = line("u", 0, &s, 500, |x| x.util_gpu_percent);
        assert_eq!(l.points, vec![(0.5, 10.0)]);
    }

    #[test]
    fn a_pause_in_the_samples_breaks_the_line() {
        let s: Vec<GpuSample> = (0..10).chain(40..50).map(|i| sample(0, i * 100, 50.0)).collect();
        let l = line("u", 0, &s, 0, |x| x.util_gpu_percent);
        let pieces: Vec<usize> = protocol::lines::pieces(&l.points).iter().map(|p| p.len()).collect();
        assert_eq!(pieces, [10, 10]);
    }

    #[test]
    fn memory_total_comes_from_samples_else_the_gpu_facts() {
        let mut s = sample(0, 1, 5.0);
        assert_eq!(mem_total_gib(std::slice::from_ref(&s), Some(80 << 30)), Some(80.0));
        s.mem_total_bytes = Some(141 << 30);
        assert_eq!(mem_total_gib(&[s], Some(80 << 30)), Some(141.0));
        assert_eq!(mem_total_gib(&[], None), None);
    }
}
