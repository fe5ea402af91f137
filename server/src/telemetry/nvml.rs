//! The NVML [`Source`] (nvml-wrapper 0.13). Everything here runs on the sampler thread: the `Nvml` handle is created
//! there and this source borrows it, as do the device handles and the GPM samples kept between slow ticks.
//!
//! Error mapping: `NotSupported`, `NoPermission`, a missing symbol (older driver) and the like mean "this field is not
//! offered" ([`ReadError::Unsupported`], never asked again); anything else is a failed read, retried next tick.

use nvml_wrapper::{
    bitmasks::device::ThrottleReasons,
    enum_wrappers::device::{Clock, PcieUtilCounter, TemperatureSensor},
    enums::{device::UsedGpuMemory, gpm::GpmMetricId},
    error::NvmlError,
    gpm::gpm_metrics_get,
    Device, GpmSample, Nvml,
};

use protocol::gpu::GpuProcess;

use super::source::{DeviceFacts, GpmReading, MemReading, PcieReading, ReadError, Reading, Source, UtilReading};

/// The GPM metrics read each slow tick, in the order [`GpmReading`] is filled.
const GPM_METRICS: [GpmMetricId; 6] = [
    GpmMetricId::SmUtil,
    GpmMetricId::SmOccupancy,
    GpmMetricId::AnyTensorUtil,
    GpmMetricId::DramBwUtil,
    GpmMetricId::PcieTxPerSec,
    GpmMetricId::PcieRxPerSec,
];

/// Longest process name asked of the driver.
const PROCESS_NAME_LEN: usize = 64;

/// Throttle-reason flags and their names on the wire.
const THROTTLE_NAMES: [(ThrottleReasons, &str); 9] = [
    (ThrottleReasons::GPU_IDLE, "gpu_idle"),
    (ThrottleReasons::APPLICATIONS_CLOCKS_SETTING, "applications_clocks_setting"),
    (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
    (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
    (ThrottleReasons::SYNC_BOOST, "sync_boost"),
    (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
    (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
    (ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN, "hw_power_brake_slowdown"),
    (ThrottleReasons::DISPLAY_CLOCK_SETTING, "display_clock_setting"),
];

/// Loads libnvidia-ml and initializes NVML; on failure, a one-line reason naming the library or the driver.
pub fn init() -> Result<Nvml, String> {
    Nvml::init().map_err(|e| unavailable_reason(&e))
}

/// Why NVML cannot start, in words a pod user can act on.
pub fn unavailable_reason(e: &NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(err) => format!(
            "the NVIDIA driver library libnvidia-ml.so.1 could not be loaded ({err}): no NVIDIA driver on this \
             machine, or it is not mounted into this container"
        ),
        NvmlError::DriverNotLoaded => {
            "libnvidia-ml (NVML) loaded, but the NVIDIA kernel driver is not running".to_string()
        }
        NvmlError::NoPermission => {
            "libnvidia-ml (NVML) loaded, but this user may not talk to the NVIDIA driver".to_string()
        }
        NvmlError::LibRmVersionMismatch => {
            "libnvidia-ml does not match the loaded NVIDIA kernel driver version (reload the driver or reboot)"
                .to_string()
        }
        other => format!("libnvidia-ml (NVML) failed to initialize: {other}"),
    }
}

/// Maps an NVML error to "not offered" or "failed this time".
pub fn classify(e: NvmlError) -> ReadError {
    match e {
        NvmlError::NotSupported
        | NvmlError::NoPermission
        | NvmlError::FunctionNotFound
        | NvmlError::FailedToLoadSymbol(_)
        | NvmlError::InvalidArg
        | NvmlError::NotFound => ReadError::Unsupported,
        other => ReadError::Failed(other.to_string()),
    }
}

/// Throttle-reason flags → snake_case names.
pub fn throttle_names(reasons: ThrottleReasons) -> Vec<String> {
    THROTTLE_NAMES.iter().filter(|(flag, _)| reasons.contains(*flag)).map(|(_, n)| (*n).to_string()).collect()
}

struct NvmlDevice<'n> {
    device: Device<'n>,
    /// The previous slow tick's GPM sample, compared with the next one.
    gpm_prev: Option<GpmSample<'n>>,
}

/// Reads NVIDIA GPUs through NVML.
pub struct NvmlSource<'n> {
    nvml: &'n Nvml,
    devices: Vec<NvmlDevice<'n>>,
}

impl<'n> NvmlSource<'n> {
    /// A source over an initialized NVML; devices are opened by [`Source::devices`].
    pub fn new(nvml: &'n Nvml) -> Self {
        NvmlSource { nvml, devices: Vec::new() }
    }

    fn dev(&self, pos: usize) -> Reading<&Device<'n>> {
        self.devices.get(pos).map(|d| &d.device).ok_or(ReadError::Unsupported)
    }
}

fn facts(device: &Device<'_>, index: u32, driver_version: &str) -> DeviceFacts {
    DeviceFacts {
        index,
        name: device.name().unwrap_or_else(|_| format!("NVIDIA GPU {index}")),
        uuid: device.uuid().unwrap_or_default(),
        driver_version: driver_version.to_string(),
        memory_total_bytes: device.memory_info().ok().map(|m| m.total),
        power_limit_mw: device.enforced_power_limit().ok(),
        max_sm_clock_mhz: device.max_clock_info(Clock::SM).ok(),
        max_mem_clock_mhz: device.max_clock_info(Clock::Memory).ok(),
        pci_bus_id: device.pci_info().ok().map(|p| p.bus_id),
        architecture: device.architecture().ok().map(|a| a.to_string()),
        gpm_supported: device.gpm_support().unwrap_or(false),
    }
}

impl Source for NvmlSource<'_> {
    fn simulated(&self) -> bool {
        false
    }

    fn devices(&mut self) -> Vec<DeviceFacts> {
        let count = match self.nvml.device_count() {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("NVML cannot count GPUs: {e}");
                0
            }
        };
        let driver = self.nvml.sys_driver_version().unwrap_or_default();
        let mut out = Vec::new();
        for index in 0..count {
            match self.nvml.device_by_index(index) {
                Ok(device) => {
                    out.push(facts(&device, index, &driver));
                    self.devices.push(NvmlDevice { device, gpm_prev: None });
                }
                Err(e) => tracing::warn!(gpu = index, "NVML cannot open this GPU, skipped: {e}"),
            }
        }
        out
    }

    fn utilization(&mut self, dev: usize) -> Reading<UtilReading> {
        let u = self.dev(dev)?.utilization_rates().map_err(classify)?;
        Ok(UtilReading { gpu_percent: f64::from(u.gpu), mem_percent: f64::from(u.memory) })
    }

    fn memory(&mut self, dev: usize) -> Reading<MemReading> {
        let m = self.dev(dev)?.memory_info().map_err(classify)?;
        Ok(MemReading { used_bytes: m.used, total_bytes: m.total })
    }

    fn power_mw(&mut self, dev: usize) -> Reading<u32> {
        self.dev(dev)?.power_usage().map_err(classify)
    }

    fn temperature_c(&mut self, dev: usize) -> Reading<u32> {
        self.dev(dev)?.temperature(TemperatureSensor::Gpu).map_err(classify)
    }

    fn sm_clock_mhz(&mut self, dev: usize) -> Reading<u32> {
        self.dev(dev)?.clock_info(Clock::SM).map_err(classify)
    }

    fn mem_clock_mhz(&mut self, dev: usize) -> Reading<u32> {
        self.dev(dev)?.clock_info(Clock::Memory).map_err(classify)
    }

    fn throttle_reasons(&mut self, dev: usize) -> Reading<Vec<String>> {
        Ok(throttle_names(self.dev(dev)?.current_throttle_reasons().map_err(classify)?))
    }

    fn energy_mj(&mut self, dev: usize) -> Reading<u64> {
        self.dev(dev)?.total_energy_consumption().map_err(classify)
    }

    fn power_limit_mw(&mut self, dev: usize) -> Reading<u32> {
        self.dev(dev)?.enforced_power_limit().map_err(classify)
    }

    fn gpm(&mut self, dev: usize) -> Reading<Option<GpmReading>> {
        let nvml = self.nvml;
        let d = self.devices.get_mut(dev).ok_or(ReadError::Unsupported)?;
        let now = d.device.gpm_sample().map_err(classify)?;
        let Some(prev) = d.gpm_prev.take() else {
            d.gpm_prev = Some(now);
            return Ok(None);
        };
        let results = gpm_metrics_get(nvml, &prev, &now, &GPM_METRICS);
        d.gpm_prev = Some(now);
        let results = results.map_err(classify)?;
        let value = |i: usize| results.get(i).and_then(|r| r.as_ref().ok()).map(|r| r.value);
        Ok(Some(GpmReading {
            sm_activity_percent: value(0),
            sm_occupancy_percent: value(1),
            tensor_activity_percent: value(2),
            dram_bw_util_percent: value(3),
            pcie_tx_mib_per_s: value(4),
            pcie_rx_mib_per_s: value(5),
        }))
    }

    fn pcie(&mut self, dev: usize) -> Reading<PcieReading> {
        let d = self.dev(dev)?;
        let tx_kib_per_s = d.pcie_throughput(PcieUtilCounter::Send).map_err(classify)?;
        let rx_kib_per_s = d.pcie_throughput(PcieUtilCounter::Receive).map_err(classify)?;
        Ok(PcieReading { tx_kib_per_s, rx_kib_per_s })
    }

    fn processes(&mut self, dev: usize) -> Reading<Vec<GpuProcess>> {
        let list = self.dev(dev)?.running_compute_processes().map_err(classify)?;
        Ok(list
            .into_iter()
            .map(|p| GpuProcess {
                pid: p.pid,
                name: self.nvml.sys_process_name(p.pid, PROCESS_NAME_LEN).ok().filter(|n| !n.is_empty()),
                used_memory_bytes: match p.used_gpu_memory {
                    UsedGpuMemory::Used(bytes) => Some(bytes),
                    UsedGpuMemory::Unavailable => None,
                },
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_libnvidia_ml() {
        match Nvml::init() {
            Ok(_) => {} // a GPU machine: nothing to check here
            Err(e) => {
                let reason = unavailable_reason(&e);
                assert!(reason.contains("libnvidia-ml"), "{reason}");
            }
        }
        assert!(unavailable_reason(&NvmlError::DriverNotLoaded).contains("driver is not running"));
    }

    #[test]
    fn not_offered_is_unsupported_and_the_rest_is_retried() {
        assert_eq!(classify(NvmlError::NotSupported), ReadError::Unsupported);
        assert_eq!(classify(NvmlError::NoPermission), ReadError::Unsupported);
        assert_eq!(classify(NvmlError::FailedToLoadSymbol("x".into())), ReadError::Unsupported);
        assert!(matches!(classify(NvmlError::GpuLost), ReadError::Failed(_)));
        assert!(matches!(classify(NvmlError::Timeout), ReadError::Failed(_)));
    }

    #[test]
    fn throttle_flags_become_names() {
        let r = ThrottleReasons::SW_POWER_CAP | ThrottleReasons::HW_THERMAL_SLOWDOWN;
        assert_eq!(throttle_names(r), vec!["sw_power_cap", "hw_thermal_slowdown"]);
        assert!(throttle_names(ThrottleReasons::NONE).is_empty());
    }
}
