//! Values derived over a run window and a set of GPUs: energy, mean power, joules per output token, tokens per joule,
//! and estimated MBU/MFU against the peak table.
//!
//! Energy per GPU: the Δ of NVML's total-energy counter between its first and last reading inside the window, plus
//! the power integral over the window's edges the counter readings do not cover (they come once a second). Without
//! a counter, ∫ power dt (trapezoids over the fast samples, holding the first/last value at the ends).
//!
//! MFU ≈ 2 · params · tokens/s ÷ Σ peak BF16 FLOP/s (a forward pass costs ~2 FLOP per parameter per token).
//! MBU ≈ params · bytes/param · decode steps/s ÷ Σ peak memory bandwidth (each decode step reads every weight once;
//! KV-cache reads are left out, so this is a lower bound).

use std::collections::BTreeSet;

use protocol::gpu::{EnergySource, EnergySummary, GpuInfo, GpuSample};

use super::peaks::{peak_for, GpuPeak};

/// What MBU/MFU estimates need to know about the model and its load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelLoad {
    /// Parameter count (e.g. 8e9).
    pub params: f64,
    /// Bytes per parameter as served (2 for BF16/FP16, 1 for FP8).
    pub bytes_per_param: f64,
    /// Tokens processed per second, prompt and output together (for MFU).
    pub tokens_per_s: f64,
    /// Decode forward passes per second: 1000 / mean TPOT in ms (for MBU).
    pub decode_steps_per_s: f64,
}

/// ∫ power dt in joules over `[from_ms, to_ms]` of a power curve given as `(unix_ms, watts)` points sorted by time;
/// linear between points, flat before the first and after the last. `None` without points.
pub fn integrate_power(points: &[(u64, f64)], from_ms: u64, to_ms: u64) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    if to_ms <= from_ms {
        return Some(0.0);
    }
    let at = |t: u64| -> f64 {
        let i = points.partition_point(|p| p.0 < t);
        if i == 0 {
            return first.1;
        }
        if i == points.len() {
            return last.1;
        }
        let ((t0, p0), (t1, p1)) = (points[i - 1], points[i]);
        if t1 == t0 {
            return p1;
        }
        p0 + (p1 - p0) * (t - t0) as f64 / (t1 - t0) as f64
    };
    let mut knots = vec![from_ms];
    knots.extend(points.iter().map(|p| p.0).filter(|&t| t > from_ms && t < to_ms));
    knots.push(to_ms);
    Some(knots.windows(2).map(|w| (at(w[0]) + at(w[1])) / 2.0 * (w[1] - w[0]) as f64 / 1_000.0).sum())
}

/// Energy of one GPU over the window, from its samples (any order, may extend beyond the window).
pub fn gpu_energy_j(samples: &[&GpuSample], start_ms: u64, end_ms: u64) -> Option<(f64, EnergySource)> {
    let mut power: Vec<(u64, f64)> = samples.iter().filter_map(|s| Some((s.unix_ms, s.power_w?))).collect();
    power.sort_by_key(|p| p.0);
    let mut counter: Vec<(u64, f64)> = samples
        .iter()
        .filter_map(|s| Some((s.slow_unix_ms?, s.energy_j?)))
        .filter(|(t, _)| (start_ms..=end_ms).contains(t))
        .collect();
    counter.sort_by_key(|c| c.0);
    counter.dedup_by_key(|c| c.0);
    if let (Some(&(t0, e0)), Some(&(t1, e1))) = (counter.first(), counter.last()) {
        // A counter that went backwards (driver reload) is not trusted.
        if t1 > t0 && e1 >= e0 {
            let inner = e1 - e0;
            let edges =
                integrate_power(&power, start_ms, t0).zip(integrate_power(&power, t1, end_ms)).map(|(a, b)| a + b);
            let energy = match edges {
                Some(e) => inner + e,
                None => inner * (end_ms - start_ms) as f64 / (t1 - t0) as f64,
            };
            return Some((energy, EnergySource::Counter));
        }
    }
    integrate_power(&power, start_ms, end_ms).map(|e| (e, EnergySource::PowerIntegral))
}

/// Energy of the selected GPUs (all GPUs seen in `samples` when `gpus` is empty). `None` when any of them has
/// neither counter nor power in the window: a partial sum would understate.
pub fn window_energy_j(samples: &[GpuSample], gpus: &[u32], start_ms: u64, end_ms: u64) -> Option<(f64, EnergySource)> {
    let selected = selection(samples, gpus);
    if selected.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut sources = BTreeSet::new();
    for gpu in selected {
        let of_gpu: Vec<&GpuSample> = samples.iter().filter(|s| s.index == gpu).collect();
        let (e, src) = gpu_energy_j(&of_gpu, start_ms, end_ms)?;
        total += e;
        sources.insert(matches!(src, EnergySource::Counter));
    }
    let source = match (sources.contains(&true), sources.contains(&false)) {
        (true, false) => EnergySource::Counter,
        (false, true) => EnergySource::PowerIntegral,
        _ => EnergySource::Mixed,
    };
    Some((total, source))
}

fn selection(samples: &[GpuSample], gpus: &[u32]) -> Vec<u32> {
    if gpus.is_empty() {
        samples.iter().map(|s| s.index).collect::<BTreeSet<_>>().into_iter().collect()
    } else {
        gpus.iter().copied().collect::<BTreeSet<_>>().into_iter().collect()
    }
}

/// Estimated MFU, percent of the summed dense BF16 peaks.
pub fn estimate_mfu_percent(model: &ModelLoad, peaks: &[&GpuPeak]) -> Option<f64> {
    let peak: f64 = peaks.iter().map(|p| p.bf16_dense_flops).sum();
    (peak > 0.0).then(|| 100.0 * 2.0 * model.params * model.tokens_per_s / peak)
}

/// Estimated MBU, percent of the summed peak memory bandwidths.
pub fn estimate_mbu_percent(model: &ModelLoad, peaks: &[&GpuPeak]) -> Option<f64> {
    let peak: f64 = peaks.iter().map(|p| p.mem_bw_bytes_per_s).sum();
    (peak > 0.0).then(|| 100.0 * model.params * model.bytes_per_param * model.decode_steps_per_s / peak)
}

/// Everything derived for a window: energy, mean power, J/token, tokens/J, MBU/MFU (when `model` is given and every
/// selected GPU is in the peak table).
pub fn summarize(
    samples: &[GpuSample],
    infos: &[GpuInfo],
    gpus: &[u32],
    (start_ms, end_ms): (u64, u64),
    output_tokens: u64,
    model: Option<&ModelLoad>,
) -> EnergySummary {
    let selected = selection(samples, gpus);
    let energy = window_energy_j(samples, &selected, start_ms, end_ms);
    let energy_j = energy.map(|e| e.0);
    let duration_s = end_ms.saturating_sub(start_ms) as f64 / 1_000.0;
    let per_token = energy_j.filter(|_| output_tokens > 0).map(|e| e / output_tokens as f64);
    let peaks: Option<Vec<&GpuPeak>> =
        selected.iter().map(|i| infos.iter().find(|g| g.index == *i).and_then(|g| peak_for(&g.name))).collect();
    let peaks = peaks.filter(|p| !p.is_empty());
    let reference = peaks.as_ref().map(|p| {
        let names: BTreeSet<&str> = p.iter().map(|x| x.name).collect();
        names.into_iter().collect::<Vec<_>>().join(" + ")
    });
    let est = |f: fn(&ModelLoad, &[&GpuPeak]) -> Option<f64>| model.zip(peaks.as_deref()).and_then(|(m, p)| f(m, p));
    EnergySummary {
        window_start_unix_ms: start_ms,
        window_end_unix_ms: end_ms,
        gpu_indices: selected.clone(),
        energy_j,
        energy_source: energy.map(|e| e.1),
        mean_power_w: energy_j.filter(|_| duration_s > 0.0).map(|e| e / duration_s),
        output_tokens,
        j_per_output_token: per_token,
        output_tokens_per_j: energy_j.filter(|e| *e > 0.0).map(|e| output_tokens as f64 / e),
        est_mbu_percent: est(estimate_mbu_percent),
        est_mfu_percent: est(estimate_mfu_percent),
        peak_reference: reference.filter(|_| model.is_some()),
        simulated: samples.iter().any(|s| s.simulated && selected.contains(&s.index)),
    }
}

#[cfg(test)]
#[path = "derived_tests.rs"]
mod tests;
