//! Tests of the window maths: counter Δ vs power integral, GPU selection, per-token figures, MBU/MFU.

use super::*;

/// Samples of one GPU every 250 ms over 0..=10 s at `power_w(t)`; with `counter`, an energy counter read once a
/// second that integrates that power exactly (starting at 1 kJ).
fn gpu(index: u32, power_w: impl Fn(u64) -> f64, counter: bool) -> Vec<GpuSample> {
    let mut out = vec![];
    let mut energy = 1_000.0;
    let mut last_slow = (0, energy);
    for k in 0..=40u64 {
        let t = k * 250;
        if k > 0 {
            let t0 = t - 250;
            energy += (power_w(t0) + power_w(t)) / 2.0 * 0.25;
        }
        if t % 1_000 == 0 {
            last_slow = (t, energy);
        }
        out.push(GpuSample {
            index,
            unix_ms: t,
            power_w: Some(power_w(t)),
            slow_unix_ms: counter.then_some(last_slow.0),
            energy_j: counter.then_some(last_slow.1),
            ..Default::default()
        });
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn power_integral_is_exact_for_piecewise_linear_power() {
    let pts = [(0, 0.0), (10_000, 100.0)];
    assert!(close(integrate_power(&pts, 0, 10_000).unwrap(), 500.0));
    assert!(close(integrate_power(&pts, 5_000, 10_000).unwrap(), 375.0));
    // Held flat beyond the last point.
    assert!(close(integrate_power(&pts, 10_000, 12_000).unwrap(), 200.0));
    assert_eq!(integrate_power(&[], 0, 1_000), None);
    assert_eq!(integrate_power(&pts, 5, 5), Some(0.0));
}

#[test]
fn counter_delta_plus_edges_equals_the_true_energy() {
    let samples = gpu(0, |_| 100.0, true);
    let (e, src) = window_energy_j(&samples, &[], 500, 9_500).unwrap();
    assert_eq!(src, EnergySource::Counter);
    assert!(close(e, 900.0), "{e}");
    // A ramp, where edges matter.
    let ramp = gpu(0, |t| t as f64 / 100.0, true);
    let (e, _) = window_energy_j(&ramp, &[0], 1_500, 8_250).unwrap();
    let truth = (8_250f64.powi(2) - 1_500f64.powi(2)) / 2.0 / 100.0 / 1_000.0;
    assert!(close(e, truth), "{e} vs {truth}");
}

#[test]
fn without_a_counter_power_is_integrated() {
    let samples = gpu(0, |t| t as f64 / 100.0, false);
    let (e, src) = window_energy_j(&samples, &[], 0, 10_000).unwrap();
    assert_eq!(src, EnergySource::PowerIntegral);
    assert!(close(e, 500.0), "{e}");
}

#[test]
fn a_counter_that_goes_backwards_falls_back_to_power() {
    let mut samples = gpu(0, |_| 100.0, true);
    for s in samples.iter_mut().filter(|s| s.unix_ms >= 5_000) {
        s.energy_j = s.energy_j.map(|e| e - 2_000.0);
    }
    let (e, src) = window_energy_j(&samples, &[], 0, 10_000).unwrap();
    assert_eq!(src, EnergySource::PowerIntegral);
    assert!(close(e, 1_000.0));
}

#[test]
fn only_selected_gpus_count() {
    let mut samples = gpu(0, |_| 100.0, true);
    samples.extend(gpu(1, |_| 200.0, false));
    let one = window_energy_j(&samples, &[1], 0, 10_000).unwrap();
    assert!(close(one.0, 2_000.0));
    assert_eq!(one.1, EnergySource::PowerIntegral);
    let both = window_energy_j(&samples, &[], 0, 10_000).unwrap();
    assert!(close(both.0, 3_000.0));
    assert_eq!(both.1, EnergySource::Mixed);
    assert_eq!(window_energy_j(&samples, &[0, 7], 0, 10_000), None, "GPU 7 has no data: no partial sum");
}

fn info(index: u32, name: &str) -> GpuInfo {
    GpuInfo { driver_version: "580".into(), gpm_supported: true, ..GpuInfo::named(index, name) }
}

#[test]
fn per_token_figures_and_mean_power() {
    let samples = gpu(0, |_| 100.0, true);
    let s = summarize(&samples, &[info(0, "NVIDIA H200")], &[], (500, 9_500), 300, None);
    assert!(close(s.energy_j.unwrap(), 900.0));
    assert!(close(s.mean_power_w.unwrap(), 100.0));
    assert!(close(s.j_per_output_token.unwrap(), 3.0));
    assert!(close(s.output_tokens_per_j.unwrap(), 1.0 / 3.0));
    assert_eq!(s.gpu_indices, vec![0]);
    assert_eq!((s.est_mbu_percent, s.est_mfu_percent, s.peak_reference), (None, None, None));
    let none = summarize(&samples, &[], &[], (500, 9_500), 0, None);
    assert_eq!(none.j_per_output_token, None);
    assert_eq!(none.output_tokens_per_j, Some(0.0));
}

#[test]
fn mbu_and_mfu_against_the_peak_table() {
    // 8 B parameters in BF16, 50 decode steps/s, 5,000 tokens/s on one H200 (4.8 TB/s, 989 TFLOP/s dense).
    let model = ModelLoad { params: 8e9, bytes_per_param: 2.0, tokens_per_s: 5_000.0, decode_steps_per_s: 50.0 };
    let mut samples = gpu(0, |_| 500.0, true);
    let one = summarize(&samples, &[info(0, "NVIDIA H200")], &[0], (0, 10_000), 50_000, Some(&model));
    assert!(close(one.est_mbu_percent.unwrap(), 100.0 * 8e11 / 4.8e12));
    assert!(close(one.est_mfu_percent.unwrap(), 100.0 * 8e13 / 989e12));
    assert_eq!(one.peak_reference.as_deref(), Some("NVIDIA H200 (SXM)"));
    // Two GPUs (tensor parallel): twice the peak, half the utilization.
    samples.extend(gpu(1, |_| 500.0, true));
    let infos = [info(0, "NVIDIA H200"), info(1, "NVIDIA H200")];
    let two = summarize(&samples, &infos, &[], (0, 10_000), 50_000, Some(&model));
    assert!(close(two.est_mbu_percent.unwrap(), one.est_mbu_percent.unwrap() / 2.0));
    // A GPU the table does not know: no estimate rather than a wrong one.
    let unknown = summarize(&samples, &[info(0, "Tesla T4")], &[0], (0, 10_000), 1, Some(&model));
    assert_eq!(unknown.est_mfu_percent, None);
}
