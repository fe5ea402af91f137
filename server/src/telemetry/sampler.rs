//! The sampler proper: which tier runs on which tick, unit conversion into [`GpuSample`], carrying slow and process
//! fields between their ticks, and remembering per device which fields are unsupported so they are not asked again.
//!
//! Pure and clock-free: [`Sampler::tick`] is given the time, so tests drive it with a fake clock. The thread that
//! calls it lives in [`super::handle`].

use protocol::gpu::{GpuInfo, GpuProcess, GpuSample};

use super::{
    config::TelemetryError,
    source::{DeviceFacts, GpmReading, ReadError, Reading, Source},
};

/// Slow tier (energy counter, GPM, PCIe, power limit): once a second. The energy counter costs ~3 ms a call and
/// moves every 100 ms; GPM compares two samples, so its window is this period.
pub const SLOW_EVERY_MS: u64 = 1_000;
/// Process tier: every two seconds.
pub const PROCESS_EVERY_MS: u64 = 2_000;

/// A field the sampler reads, for the unsupported/failed bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Utilization rates.
    Utilization,
    /// Memory used/total.
    Memory,
    /// Power draw.
    Power,
    /// Die temperature.
    Temperature,
    /// SM clock.
    SmClock,
    /// Memory clock.
    MemClock,
    /// Throttle reasons.
    Throttle,
    /// Total-energy counter.
    Energy,
    /// Enforced power limit.
    PowerLimit,
    /// GPM metrics.
    Gpm,
    /// Legacy PCIe throughput.
    Pcie,
    /// Process list.
    Processes,
}

/// A set of [`Field`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldSet(u16);

impl FieldSet {
    /// True when `f` is in the set.
    pub fn contains(self, f: Field) -> bool {
        self.0 & (1 << f as u16) != 0
    }
    /// Adds `f`.
    pub fn insert(&mut self, f: Field) {
        self.0 |= 1 << f as u16;
    }
}

/// Milliwatts → watts.
pub fn mw_to_w(mw: u32) -> f64 {
    f64::from(mw) / 1_000.0
}
/// Millijoules → joules.
pub fn mj_to_j(mj: u64) -> f64 {
    mj as f64 / 1_000.0
}
/// KiB/s (legacy NVML PCIe counter) → bytes/s.
pub fn kib_to_bytes(kib: u32) -> f64 {
    f64::from(kib) * 1_024.0
}
/// MiB/s (GPM PCIe metrics) → bytes/s.
pub fn mib_to_bytes(mib: f64) -> f64 {
    mib * 1_048_576.0
}

/// Slow-tier values carried into every sample until the next slow tick.
#[derive(Debug, Clone, Default)]
struct SlowCarry {
    at_unix_ms: Option<u64>,
    energy_j: Option<f64>,
    power_limit_w: Option<f64>,
    gpm: GpmReading,
    pcie_tx_bytes_per_s: Option<f64>,
    pcie_rx_bytes_per_s: Option<f64>,
}

/// Per-device state.
#[derive(Debug)]
struct DeviceState {
    pos: usize,
    info: GpuInfo,
    unsupported: FieldSet,
    warned: FieldSet,
    slow: SlowCarry,
    processes: Option<Vec<GpuProcess>>,
}

/// Reads fields from a [`Source`] on a schedule and assembles [`GpuSample`]s.
pub struct Sampler<S> {
    source: S,
    devices: Vec<DeviceState>,
    next_slow_ms: u64,
    next_process_ms: u64,
}

impl<S: Source> Sampler<S> {
    /// Asks the source for its devices (static info, once) and keeps those in `selection` (all when `None`).
    /// [`TelemetryError::NoSuchGpu`] when the selection names a missing index; an empty device list is returned
    /// as is (the caller reports "no GPU").
    pub fn new(mut source: S, selection: Option<&[u32]>) -> Result<Self, TelemetryError> {
        let facts = source.devices();
        if let Some(sel) = selection {
            if let Some(&index) = sel.iter().find(|i| !facts.iter().any(|f| f.index == **i)) {
                return Err(TelemetryError::NoSuchGpu { index, count: facts.len() });
            }
        }
        let simulated = source.simulated();
        let devices = facts
            .into_iter()
            .enumerate()
            .filter(|(_, f)| selection.is_none_or(|sel| sel.contains(&f.index)))
            .map(|(pos, f)| {
                let mut unsupported = FieldSet::default();
                if !f.gpm_supported {
                    unsupported.insert(Field::Gpm);
                }
                DeviceState {
                    pos,
                    info: to_info(f, simulated),
                    unsupported,
                    warned: FieldSet::default(),
                    slow: SlowCarry::default(),
                    processes: None,
                }
            })
            .collect();
        Ok(Sampler { source, devices, next_slow_ms: 0, next_process_ms: 0 })
    }

    /// Static info of the sampled devices.
    pub fn infos(&self) -> Vec<GpuInfo> {
        self.devices.iter().map(|d| d.info.clone()).collect()
    }

    /// True for the demo source.
    pub fn simulated(&self) -> bool {
        self.source.simulated()
    }

    /// The source (tests count its calls).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// One tick at monotonic time `mono_ms` and wall clock `unix_ms`: the fast tier always; the slow tier when its
    /// second is due; processes when their two seconds are due. Returns one sample per device.
    pub fn tick(&mut self, mono_ms: u64, unix_ms: u64) -> Vec<GpuSample> {
        self.source.begin_tick(mono_ms);
        let slow = due(&mut self.next_slow_ms, SLOW_EVERY_MS, mono_ms);
        let procs = due(&mut self.next_process_ms, PROCESS_EVERY_MS, mono_ms);
        let Sampler { source, devices, .. } = self;
        let mut out = Vec::with_capacity(devices.len());
        for d in devices.iter_mut() {
            let mut sample = read_fast(source, d, unix_ms);
            if slow {
                d.slow = read_slow(source, d, unix_ms);
            }
            if procs {
                let pos = d.pos;
                d.processes = read(d, Field::Processes, || source.processes(pos));
            }
            fill_carried(&mut sample, d);
            out.push(sample);
        }
        out
    }
}

/// True when `now` reached `*next`; then moves `*next` to the next multiple of `every` after `now`.
fn due(next: &mut u64, every: u64, now: u64) -> bool {
    if now < *next {
        return false;
    }
    while *next <= now {
        *next += every;
    }
    true
}

fn to_info(f: DeviceFacts, simulated: bool) -> GpuInfo {
    GpuInfo {
        index: f.index,
        name: f.name,
        uuid: f.uuid,
        driver_version: f.driver_version,
        memory_total_bytes: f.memory_total_bytes,
        power_limit_w: f.power_limit_mw.map(mw_to_w),
        max_sm_clock_mhz: f.max_sm_clock_mhz,
        max_mem_clock_mhz: f.max_mem_clock_mhz,
        pci_bus_id: f.pci_bus_id,
        architecture: f.architecture,
        gpm_supported: f.gpm_supported,
        simulated,
    }
}

/// Reads one field unless it is known unsupported; records `Unsupported` for good and logs a failure once.
fn read<T>(d: &mut DeviceState, field: Field, f: impl FnOnce() -> Reading<T>) -> Option<T> {
    if d.unsupported.contains(field) {
        return None;
    }
    match f() {
        Ok(v) => Some(v),
        Err(ReadError::Unsupported) => {
            d.unsupported.insert(field);
            tracing::debug!(gpu = d.info.index, ?field, "not supported by this GPU/driver; not asked again");
            None
        }
        Err(ReadError::Failed(msg)) => {
            if !d.warned.contains(field) {
                d.warned.insert(field);
                tracing::warn!(gpu = d.info.index, ?field, %msg, "GPU read failed; retrying each tick (logged once)");
            }
            None
        }
    }
}

fn read_fast<S: Source>(source: &mut S, d: &mut DeviceState, unix_ms: u64) -> GpuSample {
    let pos = d.pos;
    let util = read(d, Field::Utilization, || source.utilization(pos));
    let mem = read(d, Field::Memory, || source.memory(pos));
    GpuSample {
        index: d.info.index,
        uuid: d.info.uuid.clone(),
        unix_ms,
        simulated: d.info.simulated,
        util_gpu_percent: util.map(|u| u.gpu_percent),
        util_mem_percent: util.map(|u| u.mem_percent),
        mem_used_bytes: mem.map(|m| m.used_bytes),
        mem_total_bytes: mem.map(|m| m.total_bytes),
        power_w: read(d, Field::Power, || source.power_mw(pos)).map(mw_to_w),
        temperature_c: read(d, Field::Temperature, || source.temperature_c(pos)),
        sm_clock_mhz: read(d, Field::SmClock, || source.sm_clock_mhz(pos)),
        mem_clock_mhz: read(d, Field::MemClock, || source.mem_clock_mhz(pos)),
        throttle_reasons: read(d, Field::Throttle, || source.throttle_reasons(pos)),
        ..GpuSample::default()
    }
}

fn read_slow<S: Source>(source: &mut S, d: &mut DeviceState, unix_ms: u64) -> SlowCarry {
    let pos = d.pos;
    let energy_j = read(d, Field::Energy, || source.energy_mj(pos)).map(mj_to_j);
    let power_limit_w = read(d, Field::PowerLimit, || source.power_limit_mw(pos)).map(mw_to_w);
    let gpm_read = read(d, Field::Gpm, || source.gpm(pos));
    let gpm = gpm_read.flatten().unwrap_or_default();
    let mut tx = gpm.pcie_tx_mib_per_s.map(mib_to_bytes);
    let mut rx = gpm.pcie_rx_mib_per_s.map(mib_to_bytes);
    // GPM gives PCIe for free; the legacy counter blocks ~20 ms per direction, so only when GPM cannot (and not on
    // the tick where GPM is still priming its first sample).
    let gpm_priming = matches!(gpm_read, Some(None));
    if tx.is_none() && rx.is_none() && !gpm_priming {
        if let Some(p) = read(d, Field::Pcie, || source.pcie(pos)) {
            tx = Some(kib_to_bytes(p.tx_kib_per_s));
            rx = Some(kib_to_bytes(p.rx_kib_per_s));
        }
    }
    SlowCarry {
        at_unix_ms: Some(unix_ms),
        energy_j,
        power_limit_w,
        gpm,
        pcie_tx_bytes_per_s: tx,
        pcie_rx_bytes_per_s: rx,
    }
}

fn fill_carried(s: &mut GpuSample, d: &DeviceState) {
    s.slow_unix_ms = d.slow.at_unix_ms;
    s.energy_j = d.slow.energy_j;
    s.power_limit_w = d.slow.power_limit_w;
    s.gpm_sm_activity_percent = d.slow.gpm.sm_activity_percent;
    s.gpm_sm_occupancy_percent = d.slow.gpm.sm_occupancy_percent;
    s.gpm_tensor_activity_percent = d.slow.gpm.tensor_activity_percent;
    s.gpm_dram_bw_util_percent = d.slow.gpm.dram_bw_util_percent;
    s.pcie_tx_bytes_per_s = d.slow.pcie_tx_bytes_per_s;
    s.pcie_rx_bytes_per_s = d.slow.pcie_rx_bytes_per_s;
    s.processes = d.processes.clone();
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
