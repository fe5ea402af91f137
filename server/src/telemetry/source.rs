//! The `Source` seam: what the sampler asks a GPU for, one blocking method per field, in NVML's own units
//! (mW, mJ, KiB/s, MiB/s). The sampler converts units, schedules the tiers and remembers unsupported fields.
//!
//! Implementations: NVML ([`super::nvml`]), the demo source ([`super::simulated`]) and a fake for tests.

use protocol::gpu::GpuProcess;

/// Why one field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The GPU, driver or permissions do not offer this field: it stays absent and is not asked again.
    #[error("not supported")]
    Unsupported,
    /// This read failed; the field is absent from this sample and asked again next time.
    #[error("{0}")]
    Failed(String),
}

/// The result of reading one field.
pub type Reading<T> = Result<T, ReadError>;

/// Static facts of one device, in NVML units, read once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceFacts {
    /// NVML device index.
    pub index: u32,
    /// Product name.
    pub name: String,
    /// `GPU-…` UUID.
    pub uuid: String,
    /// Driver version.
    pub driver_version: String,
    /// Installed memory, bytes.
    pub memory_total_bytes: Option<u64>,
    /// Enforced power limit, milliwatts.
    pub power_limit_mw: Option<u32>,
    /// Highest SM clock, MHz.
    pub max_sm_clock_mhz: Option<u32>,
    /// Highest memory clock, MHz.
    pub max_mem_clock_mhz: Option<u32>,
    /// PCI bus id.
    pub pci_bus_id: Option<String>,
    /// Architecture name.
    pub architecture: Option<String>,
    /// GPM metrics are offered (Hopper and newer).
    pub gpm_supported: bool,
}

/// Utilization rates, percent of the driver's last sample period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtilReading {
    /// Any kernel running, percent.
    pub gpu_percent: f64,
    /// Device memory read or written, percent.
    pub mem_percent: f64,
}

/// Device memory, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemReading {
    /// Allocated, bytes.
    pub used_bytes: u64,
    /// Installed, bytes.
    pub total_bytes: u64,
}

/// GPM metrics between the previous and this slow tick; each one absent when the GPU refused it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GpmReading {
    /// Percent of SMs busy (`NVML_GPM_METRIC_SM_UTIL`).
    pub sm_activity_percent: Option<f64>,
    /// Active warps vs the theoretical maximum, percent (`NVML_GPM_METRIC_SM_OCCUPANCY`).
    pub sm_occupancy_percent: Option<f64>,
    /// Any tensor-core activity, percent (`NVML_GPM_METRIC_ANY_TENSOR_UTIL`).
    pub tensor_activity_percent: Option<f64>,
    /// DRAM bandwidth used vs the peak, percent (`NVML_GPM_METRIC_DRAM_BW_UTIL`).
    pub dram_bw_util_percent: Option<f64>,
    /// PCIe traffic out of the GPU, MiB/s (`NVML_GPM_METRIC_PCIE_TX_PER_SEC`).
    pub pcie_tx_mib_per_s: Option<f64>,
    /// PCIe traffic into the GPU, MiB/s (`NVML_GPM_METRIC_PCIE_RX_PER_SEC`).
    pub pcie_rx_mib_per_s: Option<f64>,
}

/// Legacy PCIe throughput (a 20 ms blocking window per direction), KiB/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcieReading {
    /// Out of the GPU, KiB/s.
    pub tx_kib_per_s: u32,
    /// Into the GPU, KiB/s.
    pub rx_kib_per_s: u32,
}

/// A GPU telemetry source. Every method may block (NVML calls are FFI); the sampler calls them on its own thread.
/// `dev` is the position in the list [`Source::devices`] returned.
pub trait Source {
    /// True for the demo source: every info and sample is labelled simulated.
    fn simulated(&self) -> bool;
    /// The devices and their static facts. Called once, before any other method.
    fn devices(&mut self) -> Vec<DeviceFacts>;
    /// Called at the start of every tick with the sampler's monotonic clock (ms); the demo source steps its model.
    fn begin_tick(&mut self, _mono_ms: u64) {}
    /// Fast tier: utilization rates.
    fn utilization(&mut self, dev: usize) -> Reading<UtilReading>;
    /// Fast tier: memory used/total.
    fn memory(&mut self, dev: usize) -> Reading<MemReading>;
    /// Fast tier: power draw, milliwatts.
    fn power_mw(&mut self, dev: usize) -> Reading<u32>;
    /// Fast tier: die temperature, °C.
    fn temperature_c(&mut self, dev: usize) -> Reading<u32>;
    /// Fast tier: SM clock, MHz.
    fn sm_clock_mhz(&mut self, dev: usize) -> Reading<u32>;
    /// Fast tier: memory clock, MHz.
    fn mem_clock_mhz(&mut self, dev: usize) -> Reading<u32>;
    /// Fast tier: current throttle reasons, snake_case names; empty when not throttled.
    fn throttle_reasons(&mut self, dev: usize) -> Reading<Vec<String>>;
    /// Slow tier: total-energy counter, millijoules since the driver loaded.
    fn energy_mj(&mut self, dev: usize) -> Reading<u64>;
    /// Slow tier: enforced power limit, milliwatts.
    fn power_limit_mw(&mut self, dev: usize) -> Reading<u32>;
    /// Slow tier: GPM metrics since the previous call; `Ok(None)` on the first call (one sample taken, none to
    /// compare with yet).
    fn gpm(&mut self, dev: usize) -> Reading<Option<GpmReading>>;
    /// Slow tier, only when GPM gave no PCIe figures: legacy PCIe throughput (blocks ~20 ms per direction).
    fn pcie(&mut self, dev: usize) -> Reading<PcieReading>;
    /// Process tier: compute processes.
    fn processes(&mut self, dev: usize) -> Reading<Vec<GpuProcess>>;
}
