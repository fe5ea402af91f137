//! GPU telemetry on the wire: static facts per GPU, samples, the telemetry status, the WebSocket frames of
//! `/ws/gpu`, the `/api/gpu` snapshot and the energy summary of a run window. Plain serde, WASM-safe.
//!
//! Units are in the field names (`power_w`, `mem_used_bytes`, `sm_clock_mhz`, `energy_j`). A measured field the
//! GPU cannot report is absent from the JSON (`None`), never zero.

use serde::{Deserialize, Serialize};

/// Path of the GPU telemetry WebSocket.
pub const GPU_WS_PATH: &str = "/ws/gpu";
/// Path of the GPU telemetry snapshot (`GET`, JSON [`GpuSnapshot`]).
pub const GPU_API_PATH: &str = "/api/gpu";
/// Path of the Prometheus text exposition.
pub const METRICS_PATH: &str = "/metrics";

/// Facts about one GPU that do not change while tokenscope runs; read once at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// NVML device index (the order of `nvidia-smi`, not of `CUDA_VISIBLE_DEVICES`).
    pub index: u32,
    /// Product name as NVML reports it, e.g. `NVIDIA H200`.
    pub name: String,
    /// Stable identifier, `GPU-…`.
    pub uuid: String,
    /// NVIDIA driver version, e.g. `580.65.06` (`simulated` for the demo source).
    pub driver_version: String,
    /// Installed memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
    /// Power limit the driver enforces at start, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_limit_w: Option<f64>,
    /// Highest SM clock, MHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sm_clock_mhz: Option<u32>,
    /// Highest memory clock, MHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mem_clock_mhz: Option<u32>,
    /// PCI bus id, e.g. `00000000:18:00.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
    /// Architecture name (`Hopper`, `Ampere`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// True when the GPU offers GPM metrics (SM activity, tensor activity…: Hopper and newer).
    #[serde(default)]
    pub gpm_supported: bool,
    /// True for the demo source (`--simulate-gpu`): these numbers are not measured.
    pub simulated: bool,
}

impl GpuInfo {
    /// A GPU known only by index and name (uuid `GPU-{index}`, nothing else reported): the base of fixtures and
    /// of sources that learn the rest later.
    pub fn named(index: u32, name: impl Into<String>) -> Self {
        GpuInfo {
            index,
            name: name.into(),
            uuid: format!("GPU-{index}"),
            driver_version: String::new(),
            memory_total_bytes: None,
            power_limit_w: None,
            max_sm_clock_mhz: None,
            max_mem_clock_mhz: None,
            pci_bus_id: None,
            architecture: None,
            gpm_supported: false,
            simulated: false,
        }
    }
}

/// A process holding a context on a GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuProcess {
    /// Process id (in the host's PID namespace; inside a container it may not be visible).
    pub pid: u32,
    /// Process name, when the driver can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// GPU memory the process holds, bytes, when the driver can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_memory_bytes: Option<u64>,
}

/// One reading of one GPU. Fast fields are read at every tick; slow fields (energy, GPM, PCIe, power limit) once a
/// second and processes every two seconds; both are carried into the samples in between.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GpuSample {
    /// NVML device index.
    pub index: u32,
    /// The GPU's UUID.
    pub uuid: String,
    /// Wall clock of the fast reading, milliseconds since the Unix epoch: the clock the engine's windows share.
    pub unix_ms: u64,
    /// True for the demo source: these numbers are not measured.
    pub simulated: bool,
    /// Percent of the last sample period in which any kernel ran. Says "busy", not "how busy": a one-thread
    /// kernel reads 100 %; see `gpm_sm_activity_percent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub util_gpu_percent: Option<f64>,
    /// Percent of the last sample period in which device memory was read or written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub util_mem_percent: Option<f64>,
    /// Allocated device memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_used_bytes: Option<u64>,
    /// Installed device memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total_bytes: Option<u64>,
    /// Board power draw, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// Enforced power limit, watts (slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_limit_w: Option<f64>,
    /// GPU die temperature, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<u32>,
    /// SM clock, MHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz: Option<u32>,
    /// Memory clock, MHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_clock_mhz: Option<u32>,
    /// Why clocks are held down now (`sw_power_cap`, `hw_thermal_slowdown`, `gpu_idle`…); empty = not throttled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_reasons: Option<Vec<String>>,
    /// When the slow fields below were read, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_unix_ms: Option<u64>,
    /// Total-energy counter, joules since the driver loaded (slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    /// GPM: percent of SMs busy over the last second (Hopper+; slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpm_sm_activity_percent: Option<f64>,
    /// GPM: active warps as a percent of the theoretical maximum (Hopper+; slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpm_sm_occupancy_percent: Option<f64>,
    /// GPM: percent of time the tensor cores were busy (Hopper+; slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpm_tensor_activity_percent: Option<f64>,
    /// GPM: DRAM bandwidth used as a percent of the peak (Hopper+; slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpm_dram_bw_util_percent: Option<f64>,
    /// PCIe traffic out of the GPU, bytes per second (slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_tx_bytes_per_s: Option<f64>,
    /// PCIe traffic into the GPU, bytes per second (slow tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_rx_bytes_per_s: Option<f64>,
    /// Compute processes on the GPU (process tier, every 2 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<Vec<GpuProcess>>,
}

/// Whether GPU telemetry runs, and on what. JSON: `{"status": "available" | "simulated" | "unavailable", …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TelemetryStatus {
    /// NVML answers; these GPUs are sampled.
    Available {
        /// The sampled GPUs.
        gpus: Vec<GpuInfo>,
    },
    /// The demo source (`--simulate-gpu N`): numbers are made up and labelled so.
    Simulated {
        /// The simulated GPUs.
        gpus: Vec<GpuInfo>,
    },
    /// No GPU telemetry on this machine.
    Unavailable {
        /// Why, naming the library or driver that is missing.
        reason: String,
    },
}

impl TelemetryStatus {
    /// Reads the status from `o` (its `status` tag and `gpus` or `reason`), leaving any other fields.
    fn take<E: serde::de::Error>(o: &mut serde_json::Map<String, serde_json::Value>) -> Result<Self, E> {
        use crate::decode::{field, tag, unknown};
        Ok(match tag(o, "status")?.as_str() {
            "available" => TelemetryStatus::Available { gpus: field(o, "gpus")? },
            "simulated" => TelemetryStatus::Simulated { gpus: field(o, "gpus")? },
            "unavailable" => TelemetryStatus::Unavailable { reason: field(o, "reason")? },
            other => return Err(unknown(other, &["available", "simulated", "unavailable"])),
        })
    }

    /// The GPUs sampled (none when unavailable).
    pub fn gpus(&self) -> &[GpuInfo] {
        match self {
            TelemetryStatus::Available { gpus } | TelemetryStatus::Simulated { gpus } => gpus,
            TelemetryStatus::Unavailable { .. } => &[],
        }
    }

    /// True while samples flow (measured or simulated).
    pub fn is_up(&self) -> bool {
        !matches!(self, TelemetryStatus::Unavailable { .. })
    }

    /// `available`, `simulated` or `unavailable`.
    pub fn label(&self) -> &'static str {
        match self {
            TelemetryStatus::Available { .. } => "available",
            TelemetryStatus::Simulated { .. } => "simulated",
            TelemetryStatus::Unavailable { .. } => "unavailable",
        }
    }
}

// Tagged by `status` on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for TelemetryStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut o = crate::decode::object(serde_json::Value::deserialize(d)?, "a telemetry status")?;
        Self::take(&mut o)
    }
}

/// `GET /api/gpu`, and each line of `tokenscope gpu --json`: the status and the latest sample per GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuSnapshot {
    /// Telemetry status, flattened: `status` plus `gpus` or `reason`.
    #[serde(flatten)]
    pub status: TelemetryStatus,
    /// Server wall clock when the snapshot was taken, milliseconds since the Unix epoch.
    pub server_time_ms: u64,
    /// Latest sample per GPU (empty when unavailable).
    pub samples: Vec<GpuSample>,
}

// `status` flattened on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for GpuSnapshot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::decode::{field, object};
        let mut o = object(serde_json::Value::deserialize(d)?, "a GPU snapshot")?;
        Ok(GpuSnapshot {
            server_time_ms: field(&mut o, "server_time_ms")?,
            samples: field(&mut o, "samples")?,
            status: TelemetryStatus::take(&mut o)?,
        })
    }
}

/// A frame on [`GPU_WS_PATH`], JSON text, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GpuWsFrame {
    /// First frame: the status, the sampling interval and the recent history (≤ 600 points per GPU).
    Hello {
        /// Telemetry status with the GPU list.
        status: TelemetryStatus,
        /// Server wall clock, milliseconds since the Unix epoch.
        server_time_ms: u64,
        /// Fast-tier sampling interval, milliseconds.
        interval_ms: u64,
        /// Recent samples of every GPU, oldest first, downsampled.
        history: Vec<GpuSample>,
    },
    /// The samples of one tick, one per GPU.
    Samples {
        /// One sample per GPU.
        samples: Vec<GpuSample>,
    },
}

// Tagged by `type` on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for GpuWsFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::decode::{field, object, tag, unknown};
        let mut o = object(serde_json::Value::deserialize(d)?, "a GPU frame")?;
        Ok(match tag(&mut o, "type")?.as_str() {
            "hello" => GpuWsFrame::Hello {
                status: field(&mut o, "status")?,
                server_time_ms: field(&mut o, "server_time_ms")?,
                interval_ms: field(&mut o, "interval_ms")?,
                history: field(&mut o, "history")?,
            },
            "samples" => GpuWsFrame::Samples { samples: field(&mut o, "samples")? },
            other => return Err(unknown(other, &["hello", "samples"])),
        })
    }
}

/// How a window's energy was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergySource {
    /// Δ of NVML's total-energy counter (edges of the window filled by the power integral).
    Counter,
    /// ∫ power dt over the fast samples (no energy counter).
    PowerIntegral,
    /// Counter on some GPUs, power integral on others.
    Mixed,
}

/// Energy and efficiency of a run window over a set of GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergySummary {
    /// Window start, milliseconds since the Unix epoch.
    pub window_start_unix_ms: u64,
    /// Window end, milliseconds since the Unix epoch.
    pub window_end_unix_ms: u64,
    /// The GPUs counted.
    pub gpu_indices: Vec<u32>,
    /// Energy used by those GPUs in the window, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    /// How `energy_j` was obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_source: Option<EnergySource>,
    /// `energy_j` / window length, watts (sum over the GPUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_power_w: Option<f64>,
    /// Output tokens produced in the window.
    pub output_tokens: u64,
    /// Joules per output token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_output_token: Option<f64>,
    /// Output tokens per joule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_j: Option<f64>,
    /// Estimated model bandwidth utilization, percent of the peak memory bandwidth of the GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub est_mbu_percent: Option<f64>,
    /// Estimated model FLOP/s utilization, percent of the dense BF16 peak of the GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub est_mfu_percent: Option<f64>,
    /// The peak-table entry used for MBU/MFU (e.g. `NVIDIA H200 (SXM)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_reference: Option<String>,
    /// True when any sample counted came from the demo source.
    pub simulated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_stay_out_of_the_json() {
        let s = GpuSample { index: 1, uuid: "GPU-x".into(), unix_ms: 5, power_w: Some(1.5), ..Default::default() };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"index":1,"uuid":"GPU-x","unix_ms":5,"simulated":false,"power_w":1.5}"#);
        assert_eq!(serde_json::from_str::<GpuSample>(&json).unwrap(), s);
    }

    #[test]
    fn snapshot_flattens_the_status() {
        let snap = GpuSnapshot {
            status: TelemetryStatus::Unavailable { reason: "libnvidia-ml.so.1 not found".into() },
            server_time_ms: 7,
            samples: vec![],
        };
        let json = serde_json::to_string(&snap).unwrap();
        assert_eq!(
            json,
            r#"{"status":"unavailable","reason":"libnvidia-ml.so.1 not found","server_time_ms":7,"samples":[]}"#
        );
        assert_eq!(serde_json::from_str::<GpuSnapshot>(&json).unwrap(), snap);
    }

    #[test]
    fn ws_frames_are_tagged() {
        let f = GpuWsFrame::Samples { samples: vec![] };
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"type":"samples","samples":[]}"#);
    }
}
