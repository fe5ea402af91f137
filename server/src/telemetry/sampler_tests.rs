//! Tests of the sampler over the fake source, driven by a fake clock: call counts per tier, not timings.

use super::*;
use crate::telemetry::fake::FakeSource;

const T0: u64 = 1_700_000_000_000;

/// Ticks every `step_ms` from 0 to `until_ms` inclusive; returns the last batch.
fn run(s: &mut Sampler<FakeSource>, step_ms: u64, until_ms: u64) -> Vec<GpuSample> {
    let mut last = vec![];
    let mut t = 0;
    while t <= until_ms {
        last = s.tick(t, T0 + t);
        t += step_ms;
    }
    last
}

#[test]
fn tiers_run_at_their_own_rates() {
    let mut s = Sampler::new(FakeSource::new(2), None).unwrap();
    run(&mut s, 250, 10_000); // 41 fast ticks, slow at 0,1s..10s = 11, processes at 0,2s..10s = 6
    let src = s.source();
    assert_eq!(src.calls("devices"), 1, "static info is read once");
    for fast in ["utilization", "memory", "power", "temperature", "sm_clock", "mem_clock", "throttle"] {
        assert_eq!(src.calls(fast), 41 * 2, "{fast}");
    }
    for slow in ["energy", "power_limit", "gpm"] {
        assert_eq!(src.calls(slow), 11 * 2, "{slow}");
    }
    assert_eq!(src.calls("processes"), 6 * 2);
    assert_eq!(src.calls("pcie"), 0, "GPM gives PCIe; the blocking legacy counter is never asked");
}

#[test]
fn slow_tiers_keep_their_rate_at_20_hz() {
    let mut s = Sampler::new(FakeSource::new(1), None).unwrap();
    run(&mut s, 50, 10_000);
    assert_eq!(s.source().calls("power"), 201);
    assert_eq!(s.source().calls("energy"), 11);
    assert_eq!(s.source().calls("processes"), 6);
}

#[test]
fn a_late_tick_runs_a_due_tier_once_and_realigns() {
    let mut s = Sampler::new(FakeSource::new(1), None).unwrap();
    s.tick(0, T0);
    s.tick(3_700, T0 + 3_700); // the sampler thread stalled: one slow read, not three
    s.tick(3_950, T0 + 3_950);
    assert_eq!(s.source().calls("energy"), 2);
    s.tick(4_000, T0 + 4_000);
    assert_eq!(s.source().calls("energy"), 3);
}

#[test]
fn units_are_converted() {
    let mut s = Sampler::new(FakeSource::new(1), None).unwrap();
    let first = s.tick(0, T0).remove(0);
    assert_eq!(first.power_w, Some(123.456), "mW → W");
    assert_eq!(first.energy_j, Some(5_700.0), "mJ → J");
    assert_eq!(first.power_limit_w, Some(700.0));
    assert_eq!(first.mem_used_bytes, Some(1 << 30));
    assert_eq!(first.util_gpu_percent, Some(50.0));
    assert_eq!(first.throttle_reasons.as_deref(), Some(&["sw_power_cap".to_string()][..]));
    assert_eq!(first.gpm_sm_activity_percent, None, "GPM needs two samples");
    let second = s.tick(1_000, T0 + 1_000).remove(0);
    assert_eq!(second.gpm_sm_activity_percent, Some(40.0));
    assert_eq!(second.gpm_dram_bw_util_percent, Some(60.0));
    assert_eq!(second.pcie_tx_bytes_per_s, Some(2.0 * 1_048_576.0), "GPM MiB/s → B/s");
    assert_eq!(second.pcie_rx_bytes_per_s, Some(524_288.0));
}

#[test]
fn legacy_pcie_is_used_without_gpm_and_converted_from_kib() {
    let mut s = Sampler::new(FakeSource::new(1).without_gpm(), None).unwrap();
    let first = s.tick(0, T0).remove(0);
    assert_eq!(s.source().calls("gpm"), 0, "no GPM on this GPU: never asked");
    assert_eq!(first.pcie_tx_bytes_per_s, Some(1_024_000.0));
    assert_eq!(first.pcie_rx_bytes_per_s, Some(2_048_000.0));
    assert_eq!(first.gpm_sm_activity_percent, None);
    assert!(!s.infos()[0].gpm_supported);
}

#[test]
fn legacy_pcie_waits_for_gpm_to_prime_then_fills_in() {
    let mut s = Sampler::new(FakeSource::new(1).gpm_without_pcie(), None).unwrap();
    s.tick(0, T0);
    assert_eq!(s.source().calls("pcie"), 0);
    let second = s.tick(1_000, T0 + 1_000).remove(0);
    assert_eq!(s.source().calls("pcie"), 1);
    assert_eq!(second.pcie_tx_bytes_per_s, Some(1_024_000.0));
    assert_eq!(second.gpm_sm_activity_percent, Some(40.0));
}

#[test]
fn unsupported_fields_stay_absent_and_are_not_asked_again() {
    let mut s = Sampler::new(FakeSource::new(2).unsupported(&["power", "energy", "processes"]), None).unwrap();
    let last = run(&mut s, 250, 5_000);
    for sample in &last {
        assert_eq!(sample.power_w, None);
        assert_eq!(sample.energy_j, None);
        assert_eq!(sample.processes, None);
        assert!(sample.util_gpu_percent.is_some() && sample.temperature_c.is_some(), "sampling goes on");
        assert!(sample.slow_unix_ms.is_some());
    }
    assert_eq!(s.source().calls("power"), 2, "once per device");
    assert_eq!(s.source().calls("energy"), 2);
    assert_eq!(s.source().calls("processes"), 2);
    assert_eq!(s.source().calls("utilization"), 21 * 2);
    let json = serde_json::to_string(&last[0]).unwrap();
    assert!(!json.contains("power_w") && !json.contains("energy_j"), "{json}");
}

#[test]
fn failed_reads_are_absent_but_retried() {
    let mut s = Sampler::new(FakeSource::new(1).failing(&["energy", "temperature"]), None).unwrap();
    let last = run(&mut s, 250, 3_000);
    assert_eq!(last[0].energy_j, None);
    assert_eq!(last[0].temperature_c, None);
    assert_eq!(s.source().calls("energy"), 4);
    assert_eq!(s.source().calls("temperature"), 13);
}

#[test]
fn slow_and_process_fields_are_carried_between_their_ticks() {
    let mut s = Sampler::new(FakeSource::new(1), None).unwrap();
    let at0 = s.tick(0, T0).remove(0);
    let at250 = s.tick(250, T0 + 250).remove(0);
    assert_eq!(at250.unix_ms, T0 + 250);
    assert_eq!(at250.slow_unix_ms, Some(T0), "the slow fields say when they were read");
    assert_eq!(at250.energy_j, at0.energy_j);
    assert_eq!(at250.processes.as_ref().map(Vec::len), Some(1));
    let at1000 = s.tick(1_000, T0 + 1_000).remove(0);
    assert_eq!(at1000.slow_unix_ms, Some(T0 + 1_000));
    assert_eq!(at1000.energy_j, Some(6_400.0));
}

#[test]
fn selection_keeps_only_the_listed_gpus() {
    let mut s = Sampler::new(FakeSource::new(4), Some(&[1, 3])).unwrap();
    let batch = s.tick(0, T0);
    assert_eq!(batch.iter().map(|x| x.index).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(batch[1].uuid, "GPU-fake-3");
    assert_eq!(s.infos().len(), 2);
    let err = Sampler::new(FakeSource::new(2), Some(&[0, 5])).err().unwrap();
    assert_eq!(err, TelemetryError::NoSuchGpu { index: 5, count: 2 });
}
