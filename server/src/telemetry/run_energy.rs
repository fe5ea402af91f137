//! GPU figures of a finished run: energy, J/token and (given the model size) MBU/MFU of each measured window, on
//! the GPUs selected — the ones given, else those holding processes during the run, else all.

use std::collections::BTreeSet;

use protocol::gpu::{EnergySummary, GpuSample};
use protocol::report::RunReport;

use super::{
    derived::{summarize, ModelLoad},
    Telemetry,
};

/// What the user told us about the served model, for MBU/MFU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSize {
    /// Parameters (e.g. 8e9).
    pub params: f64,
    /// Bytes per parameter as served (2 for BF16).
    pub bytes_per_param: f64,
}

/// The default GPU selection: GPUs that held processes during the window, else every GPU sampled.
pub fn default_gpus(samples: &[GpuSample]) -> Vec<u32> {
    let busy: BTreeSet<u32> =
        samples.iter().filter(|s| s.processes.as_ref().is_some_and(|p| !p.is_empty())).map(|s| s.index).collect();
    if busy.is_empty() {
        samples.iter().map(|s| s.index).collect::<BTreeSet<_>>().into_iter().collect()
    } else {
        busy.into_iter().collect()
    }
}

/// Energy summary of one report's measured window, which ends at `end_ms` and lasts `report.duration_s`.
pub fn report_energy(
    telemetry: &Telemetry,
    report: &RunReport,
    end_ms: u64,
    gpus: &[u32],
    model: Option<ModelSize>,
) -> Option<EnergySummary> {
    let status = telemetry.status();
    if !status.is_up() || report.duration_s <= 0.0 {
        return None;
    }
    let start_ms = end_ms.saturating_sub((report.duration_s * 1000.0) as u64).max(report.started_at_ms);
    // A little before the window, so the slow tier's last reading before the start is there.
    let samples = telemetry.history(start_ms.saturating_sub(2_000));
    let selected = if gpus.is_empty() { default_gpus(&samples) } else { gpus.to_vec() };
    let load = model.map(|m| ModelLoad {
        params: m.params,
        bytes_per_param: m.bytes_per_param,
        tokens_per_s: report.total_tokens_per_s,
        decode_steps_per_s: if report.tpot_ms.mean > 0.0 { 1000.0 / report.tpot_ms.mean } else { 0.0 },
    });
    Some(summarize(&samples, status.gpus(), &selected, (start_ms, end_ms), report.output_tokens, load.as_ref()))
}

/// Fills `gpu` of each report (a run, or the steps of a sweep: each step's window ends where the next starts).
pub fn attach(telemetry: &Telemetry, reports: &mut [RunReport], now_ms: u64, gpus: &[u32], model: Option<ModelSize>) {
    let ends: Vec<u64> =
        (0..reports.len()).map(|i| reports.get(i + 1).map(|n| n.started_at_ms).unwrap_or(now_ms)).collect();
    for (r, end) in reports.iter_mut().zip(ends) {
        r.gpu = report_energy(telemetry, r, end, gpus, model);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::gpu::GpuProcess;

    fn s(index: u32, procs: usize) -> GpuSample {
        let processes =
            Some((0..procs).map(|p| GpuProcess { pid: p as u32, name: None, used_memory_bytes: None }).collect());
        GpuSample { index, processes, ..Default::default() }
    }

    #[test]
    fn default_selection_prefers_gpus_with_processes() {
        assert_eq!(default_gpus(&[s(0, 0), s(1, 2), s(2, 0)]), vec![1]);
        assert_eq!(default_gpus(&[s(0, 0), s(1, 0)]), vec![0, 1]);
        assert!(default_gpus(&[]).is_empty());
    }
}
