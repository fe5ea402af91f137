//! The demo source (`--simulate-gpu N`): GPUs named "Simulated H200 (tokenscope demo)" whose numbers follow the load
//! the engine reports through [`SimLoad`]. Utilization, SM activity, power, memory, clocks and temperature move
//! smoothly towards targets set by the load; the energy counter integrates the power. Every info and sample it
//! produces carries `simulated: true`.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use protocol::gpu::GpuProcess;

use super::source::{DeviceFacts, GpmReading, MemReading, PcieReading, ReadError, Reading, Source, UtilReading};

/// Name of every simulated GPU.
pub const SIM_GPU_NAME: &str = "Simulated H200 (tokenscope demo)";

const MIB: f64 = 1_048_576.0;
const MEM_TOTAL_BYTES: u64 = 143_771 * 1_048_576;
const POWER_LIMIT_W: f64 = 700.0;
const IDLE_POWER_W: f64 = 75.0;
const MAX_SM_MHZ: u32 = 1_980;
const IDLE_SM_MHZ: u32 = 345;
const MEM_MHZ: u32 = 3_201;
/// A loaded model and its runtime: what a serving GPU holds before any request.
const BASE_MEM_BYTES: f64 = 72.0 * 1_024.0 * MIB;
/// KV cache grown at full load.
const KV_MEM_BYTES: f64 = 50.0 * 1_024.0 * MIB;

/// Load knobs the engine or dashboard glue sets; the simulated GPUs follow them. Cheap to clone (shared atomics).
#[derive(Debug, Clone, Default)]
pub struct SimLoad {
    inner: Arc<SimLoadInner>,
}

#[derive(Debug, Default)]
struct SimLoadInner {
    in_flight: AtomicU64,
    tokens_per_s_bits: AtomicU64,
}

impl SimLoad {
    /// Requests in flight now.
    pub fn set_in_flight(&self, n: u64) {
        self.inner.in_flight.store(n, Ordering::Relaxed);
    }
    /// Requests in flight last set.
    pub fn in_flight(&self) -> u64 {
        self.inner.in_flight.load(Ordering::Relaxed)
    }
    /// Output tokens per second now (negative or NaN reads as 0).
    pub fn set_tokens_per_s(&self, tokens_per_s: f64) {
        let v = if tokens_per_s.is_finite() { tokens_per_s.max(0.0) } else { 0.0 };
        self.inner.tokens_per_s_bits.store(v.to_bits(), Ordering::Relaxed);
    }
    /// Output tokens per second last set.
    pub fn tokens_per_s(&self) -> f64 {
        f64::from_bits(self.inner.tokens_per_s_bits.load(Ordering::Relaxed))
    }
    /// Target activity 0..1: saturating in both requests in flight and tokens/s.
    pub fn activity(&self) -> f64 {
        let by_requests = 1.0 - (-(self.in_flight() as f64) / 6.0).exp();
        let by_tokens = 1.0 - (-self.tokens_per_s() / 1_500.0).exp();
        by_requests.max(by_tokens)
    }
}

/// One simulated GPU's state.
#[derive(Debug, Clone)]
struct SimGpu {
    activity: f64,
    power_w: f64,
    temperature_c: f64,
    mem_used_bytes: f64,
    energy_mj: f64,
    gpm_primed: bool,
}

/// The demo source.
#[derive(Debug)]
pub struct SimSource {
    load: SimLoad,
    gpus: Vec<SimGpu>,
    last_ms: Option<u64>,
    now_ms: u64,
}

/// Moves `value` towards `target` with time constant `tau_s` over `dt_s`.
fn approach(value: f64, target: f64, dt_s: f64, tau_s: f64) -> f64 {
    value + (target - value) * (1.0 - (-dt_s / tau_s).exp())
}

impl SimSource {
    /// `n` idle simulated GPUs following `load`.
    pub fn new(n: u32, load: SimLoad) -> Self {
        let idle = SimGpu {
            activity: 0.0,
            power_w: IDLE_POWER_W,
            temperature_c: 32.0,
            mem_used_bytes: BASE_MEM_BYTES,
            energy_mj: 0.0,
            gpm_primed: false,
        };
        SimSource { load, gpus: vec![idle; n as usize], last_ms: None, now_ms: 0 }
    }

    fn gpu(&self, dev: usize) -> Reading<&SimGpu> {
        self.gpus.get(dev).ok_or(ReadError::Unsupported)
    }

    /// A small deterministic wobble so idle charts are not flat lines.
    fn wobble(&self, dev: usize) -> f64 {
        (self.now_ms as f64 / 1_000.0 * (0.7 + 0.13 * dev as f64)).sin()
    }
}

impl Source for SimSource {
    fn simulated(&self) -> bool {
        true
    }

    fn devices(&mut self) -> Vec<DeviceFacts> {
        (0..self.gpus.len() as u32)
            .map(|i| DeviceFacts {
                index: i,
                name: SIM_GPU_NAME.into(),
                uuid: format!("GPU-5151ade0-0000-4000-8000-{i:012x}"),
                driver_version: "simulated".into(),
                memory_total_bytes: Some(MEM_TOTAL_BYTES),
                power_limit_mw: Some((POWER_LIMIT_W * 1_000.0) as u32),
                max_sm_clock_mhz: Some(MAX_SM_MHZ),
                max_mem_clock_mhz: Some(MEM_MHZ),
                pci_bus_id: Some(format!("00000000:{:02X}:00.0", 0x18 + i * 8)),
                architecture: Some("Hopper".into()),
                gpm_supported: true,
            })
            .collect()
    }

    fn begin_tick(&mut self, mono_ms: u64) {
        let dt_s = self.last_ms.map_or(0.0, |l| mono_ms.saturating_sub(l) as f64 / 1_000.0);
        self.last_ms = Some(mono_ms);
        self.now_ms = mono_ms;
        let target = self.load.activity();
        for (i, g) in self.gpus.iter_mut().enumerate() {
            // GPUs of one tensor-parallel group carry nearly the same load.
            let a_target = (target * (1.0 - 0.03 * i as f64)).clamp(0.0, 1.0);
            g.activity = approach(g.activity, a_target, dt_s, 1.5);
            let busy = 1.0 - (-10.0 * g.activity).exp();
            let p_target = IDLE_POWER_W + (POWER_LIMIT_W - IDLE_POWER_W) * (0.2 * busy + 0.75 * g.activity);
            // Energy integrates the power held over the step, then the power moves.
            g.energy_mj += g.power_w * dt_s * 1_000.0;
            g.power_w = approach(g.power_w, p_target.min(POWER_LIMIT_W), dt_s, 0.5);
            let heat = (g.power_w - IDLE_POWER_W) / (POWER_LIMIT_W - IDLE_POWER_W);
            g.temperature_c = approach(g.temperature_c, 32.0 + 45.0 * heat, dt_s, 20.0);
            g.mem_used_bytes = approach(g.mem_used_bytes, BASE_MEM_BYTES + KV_MEM_BYTES * g.activity, dt_s, 3.0);
        }
    }

    fn utilization(&mut self, dev: usize) -> Reading<UtilReading> {
        let a = self.gpu(dev)?.activity;
        let gpu_percent = (100.0 * (1.0 - (-10.0 * a).exp())).round();
        Ok(UtilReading { gpu_percent, mem_percent: (70.0 * a).round() })
    }

    fn memory(&mut self, dev: usize) -> Reading<MemReading> {
        let used = self.gpu(dev)?.mem_used_bytes as u64;
        Ok(MemReading { used_bytes: used, total_bytes: MEM_TOTAL_BYTES })
    }

    fn power_mw(&mut self, dev: usize) -> Reading<u32> {
        let p = self.gpu(dev)?.power_w + 0.8 * self.wobble(dev);
        Ok((p.max(0.0) * 1_000.0) as u32)
    }

    fn temperature_c(&mut self, dev: usize) -> Reading<u32> {
        Ok(self.gpu(dev)?.temperature_c.round() as u32)
    }

    fn sm_clock_mhz(&mut self, dev: usize) -> Reading<u32> {
        let g = self.gpu(dev)?;
        Ok(if g.activity < 0.02 {
            IDLE_SM_MHZ
        } else if g.power_w > 0.97 * POWER_LIMIT_W {
            MAX_SM_MHZ - 150
        } else {
            MAX_SM_MHZ
        })
    }

    fn mem_clock_mhz(&mut self, _dev: usize) -> Reading<u32> {
        Ok(MEM_MHZ)
    }

    fn throttle_reasons(&mut self, dev: usize) -> Reading<Vec<String>> {
        let g = self.gpu(dev)?;
        Ok(if g.activity < 0.02 {
            vec!["gpu_idle".into()]
        } else if g.power_w > 0.97 * POWER_LIMIT_W {
            vec!["sw_power_cap".into()]
        } else {
            vec![]
        })
    }

    fn energy_mj(&mut self, dev: usize) -> Reading<u64> {
        Ok(self.gpu(dev)?.energy_mj as u64)
    }

    fn power_limit_mw(&mut self, _dev: usize) -> Reading<u32> {
        Ok((POWER_LIMIT_W * 1_000.0) as u32)
    }

    fn gpm(&mut self, dev: usize) -> Reading<Option<GpmReading>> {
        let g = self.gpus.get_mut(dev).ok_or(ReadError::Unsupported)?;
        if !g.gpm_primed {
            g.gpm_primed = true;
            return Ok(None);
        }
        let a = g.activity;
        Ok(Some(GpmReading {
            sm_activity_percent: Some(90.0 * a),
            sm_occupancy_percent: Some(40.0 * a),
            tensor_activity_percent: Some(55.0 * a),
            dram_bw_util_percent: Some(85.0 * a),
            pcie_tx_mib_per_s: Some(0.1 + 20.0 * a),
            pcie_rx_mib_per_s: Some(0.2 + 60.0 * a),
        }))
    }

    fn pcie(&mut self, _dev: usize) -> Reading<PcieReading> {
        // GPM always answers here, so the sampler never needs the legacy counter.
        Err(ReadError::Unsupported)
    }

    fn processes(&mut self, dev: usize) -> Reading<Vec<GpuProcess>> {
        let used = self.gpu(dev)?.mem_used_bytes - 512.0 * MIB;
        Ok(vec![GpuProcess {
            pid: 4_242,
            name: Some("simulated-inference-server".into()),
            used_memory_bytes: Some(used.max(0.0) as u64),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::sampler::Sampler;
    use protocol::gpu::GpuSample;

    fn run(s: &mut Sampler<SimSource>, from_ms: u64, to_ms: u64) -> Vec<Vec<GpuSample>> {
        (from_ms / 250..=to_ms / 250).map(|k| s.tick(k * 250, k * 250)).collect()
    }

    #[test]
    fn numbers_follow_the_load_smoothly_and_energy_integrates_power() {
        let load = SimLoad::default();
        let mut s = Sampler::new(SimSource::new(2, load.clone()), None).unwrap();
        assert!(s.infos().iter().all(|g| g.simulated && g.name == SIM_GPU_NAME));
        let idle = run(&mut s, 0, 5_000).pop().unwrap();
        assert_eq!(idle[0].util_gpu_percent, Some(0.0));
        assert!(idle[0].power_w.unwrap() < 80.0);
        assert_eq!(idle[0].throttle_reasons.as_deref(), Some(&["gpu_idle".to_string()][..]));

        load.set_in_flight(32);
        load.set_tokens_per_s(4_000.0);
        let ticks = run(&mut s, 5_250, 15_000);
        let utils: Vec<f64> = ticks.iter().map(|t| t[0].util_gpu_percent.unwrap()).collect();
        assert!(utils.windows(2).all(|w| w[1] >= w[0]), "rises without jumping back: {utils:?}");
        let busy = ticks.last().unwrap();
        assert!(busy[0].util_gpu_percent.unwrap() >= 99.0);
        assert!(busy[0].power_w.unwrap() > 500.0, "{:?}", busy[0].power_w);
        assert!(busy[0].gpm_sm_activity_percent.unwrap() > 70.0);
        assert!(busy[0].mem_used_bytes.unwrap() > idle[0].mem_used_bytes.unwrap());
        assert!(busy[0].temperature_c.unwrap() > idle[0].temperature_c.unwrap());
        assert_eq!(busy[0].sm_clock_mhz, Some(MAX_SM_MHZ));
        assert!(busy[1].power_w.unwrap() < busy[0].power_w.unwrap(), "GPUs differ a little");

        // The energy counter (read once a second) matches ∫ power dt over the fast samples within 1 %.
        let e0 = ticks[3].iter().find(|x| x.index == 0).and_then(|x| x.energy_j).unwrap(); // t = 6 s
        let e1 = busy[0].energy_j.unwrap(); // t = 15 s
        let integral: f64 = ticks[3..].windows(2).map(|w| w[0][0].power_w.unwrap() * 0.25).sum();
        assert!(((e1 - e0) - integral).abs() / integral < 0.01, "{} vs {integral}", e1 - e0);

        load.set_in_flight(0);
        load.set_tokens_per_s(0.0);
        let calm = run(&mut s, 15_250, 30_000).pop().unwrap();
        assert!(calm[0].util_gpu_percent.unwrap() < 5.0);
        assert!(calm[0].power_w.unwrap() < 100.0);
    }

    #[test]
    fn load_knobs_are_shared_and_sanitized() {
        let a = SimLoad::default();
        let b = a.clone();
        b.set_in_flight(3);
        b.set_tokens_per_s(f64::NAN);
        assert_eq!(a.in_flight(), 3);
        assert_eq!(a.tokens_per_s(), 0.0);
        assert!(a.activity() > 0.3 && a.activity() < 0.5);
    }
}
