//! A scripted [`Source`] for tests: fixed values in NVML units, per-method call counts, and fields that can be made
//! unsupported or failing.

use std::collections::{HashMap, HashSet};

use protocol::gpu::GpuProcess;

use super::source::{DeviceFacts, GpmReading, MemReading, PcieReading, ReadError, Reading, Source, UtilReading};

/// Test double; method names (`"power"`, `"energy"`, `"gpm"`…) key the call counts and the failure sets.
#[derive(Debug, Default)]
pub struct FakeSource {
    n: usize,
    calls: HashMap<&'static str, usize>,
    unsupported: HashSet<&'static str>,
    failing: HashSet<&'static str>,
    gpm_supported: bool,
    gpm_pcie: bool,
    gpm_primed: HashSet<usize>,
    energy_mj: u64,
}

impl FakeSource {
    /// `n` devices, GPM supported and giving PCIe figures.
    pub fn new(n: usize) -> Self {
        FakeSource { n, gpm_supported: true, gpm_pcie: true, energy_mj: 5_000_000, ..Default::default() }
    }
    /// These methods answer `Unsupported`.
    pub fn unsupported(mut self, names: &[&'static str]) -> Self {
        self.unsupported.extend(names);
        self
    }
    /// These methods answer `Failed`.
    pub fn failing(mut self, names: &[&'static str]) -> Self {
        self.failing.extend(names);
        self
    }
    /// A pre-Hopper GPU: no GPM.
    pub fn without_gpm(mut self) -> Self {
        self.gpm_supported = false;
        self
    }
    /// GPM works but gives no PCIe figures.
    pub fn gpm_without_pcie(mut self) -> Self {
        self.gpm_pcie = false;
        self
    }
    /// How often `name` was called.
    pub fn calls(&self, name: &str) -> usize {
        self.calls.get(name).copied().unwrap_or(0)
    }
    fn hit(&mut self, name: &'static str) -> Result<(), ReadError> {
        *self.calls.entry(name).or_default() += 1;
        if self.unsupported.contains(name) {
            return Err(ReadError::Unsupported);
        }
        if self.failing.contains(name) {
            return Err(ReadError::Failed(format!("{name} failed")));
        }
        Ok(())
    }
}

impl Source for FakeSource {
    fn simulated(&self) -> bool {
        false
    }
    fn devices(&mut self) -> Vec<DeviceFacts> {
        *self.calls.entry("devices").or_default() += 1;
        (0..self.n)
            .map(|i| DeviceFacts {
                index: i as u32,
                name: "NVIDIA H200".into(),
                uuid: format!("GPU-fake-{i}"),
                driver_version: "580.00".into(),
                memory_total_bytes: Some(80 << 30),
                power_limit_mw: Some(700_000),
                max_sm_clock_mhz: Some(1980),
                max_mem_clock_mhz: Some(2619),
                pci_bus_id: Some(format!("00000000:{i:02X}:00.0")),
                architecture: Some("Hopper".into()),
                gpm_supported: self.gpm_supported,
            })
            .collect()
    }
    fn utilization(&mut self, _dev: usize) -> Reading<UtilReading> {
        self.hit("utilization")?;
        Ok(UtilReading { gpu_percent: 50.0, mem_percent: 20.0 })
    }
    fn memory(&mut self, _dev: usize) -> Reading<MemReading> {
        self.hit("memory")?;
        Ok(MemReading { used_bytes: 1 << 30, total_bytes: 80 << 30 })
    }
    fn power_mw(&mut self, _dev: usize) -> Reading<u32> {
        self.hit("power")?;
        Ok(123_456)
    }
    fn temperature_c(&mut self, _dev: usize) -> Reading<u32> {
        self.hit("temperature")?;
        Ok(55)
    }
    fn sm_clock_mhz(&mut self, _dev: usize) -> Reading<u32> {
        self.hit("sm_clock")?;
        Ok(1980)
    }
    fn mem_clock_mhz(&mut self, _dev: usize) -> Reading<u32> {
        self.hit("mem_clock")?;
        Ok(2619)
    }
    fn throttle_reasons(&mut self, _dev: usize) -> Reading<Vec<String>> {
        self.hit("throttle")?;
        Ok(vec!["sw_power_cap".into()])
    }
    fn energy_mj(&mut self, _dev: usize) -> Reading<u64> {
        self.hit("energy")?;
        self.energy_mj += 700_000;
        Ok(self.energy_mj)
    }
    fn power_limit_mw(&mut self, _dev: usize) -> Reading<u32> {
        self.hit("power_limit")?;
        Ok(700_000)
    }
    fn gpm(&mut self, dev: usize) -> Reading<Option<GpmReading>> {
        self.hit("gpm")?;
        if self.gpm_primed.insert(dev) {
            return Ok(None);
        }
        let pcie = |v: f64| self.gpm_pcie.then_some(v);
        Ok(Some(GpmReading {
            sm_activity_percent: Some(40.0),
            sm_occupancy_percent: Some(20.0),
            tensor_activity_percent: Some(30.0),
            dram_bw_util_percent: Some(60.0),
            pcie_tx_mib_per_s: pcie(2.0),
            pcie_rx_mib_per_s: pcie(0.5),
        }))
    }
    fn pcie(&mut self, _dev: usize) -> Reading<PcieReading> {
        self.hit("pcie")?;
        Ok(PcieReading { tx_kib_per_s: 1_000, rx_kib_per_s: 2_000 })
    }
    fn processes(&mut self, _dev: usize) -> Reading<Vec<GpuProcess>> {
        self.hit("processes")?;
        Ok(vec![GpuProcess { pid: 42, name: Some("python".into()), used_memory_bytes: Some(1 << 30) }])
    }
}
