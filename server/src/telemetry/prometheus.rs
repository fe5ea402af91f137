//! The Prometheus text exposition (format 0.0.4) of the latest sample per GPU: one family per field with `# HELP` and
//! `# TYPE`, labels `gpu`, `uuid`, `name`; plus `tokenscope_telemetry_up` and `tokenscope_gpu_simulated`.
//! A field a GPU does not report has no series for that GPU.

use std::fmt::Write;

use protocol::gpu::{GpuInfo, GpuSample, TelemetryStatus};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type Getter = fn(&GpuSample) -> Option<f64>;

/// (name, type, help, value) of every per-GPU family.
const FAMILIES: &[(&str, &str, &str, Getter)] = &[
    (
        "tokenscope_gpu_utilization_percent",
        "gauge",
        "Percent of time a kernel was running (NVML utilization.gpu; says busy, not how busy).",
        |s| s.util_gpu_percent,
    ),
    ("tokenscope_gpu_memory_utilization_percent", "gauge", "Percent of time device memory was read or written.", |s| {
        s.util_mem_percent
    }),
    (
        "tokenscope_gpu_sm_activity_percent",
        "gauge",
        "GPM: percent of SMs busy over the last second (Hopper and newer).",
        |s| s.gpm_sm_activity_percent,
    ),
    (
        "tokenscope_gpu_sm_occupancy_percent",
        "gauge",
        "GPM: active warps as a percent of the theoretical maximum.",
        |s| s.gpm_sm_occupancy_percent,
    ),
    ("tokenscope_gpu_tensor_activity_percent", "gauge", "GPM: percent of time tensor cores were busy.", |s| {
        s.gpm_tensor_activity_percent
    }),
    (
        "tokenscope_gpu_dram_bandwidth_utilization_percent",
        "gauge",
        "GPM: DRAM bandwidth used as a percent of the peak.",
        |s| s.gpm_dram_bw_util_percent,
    ),
    ("tokenscope_gpu_memory_used_bytes", "gauge", "Allocated device memory in bytes.", |s| {
        s.mem_used_bytes.map(|b| b as f64)
    }),
    ("tokenscope_gpu_memory_total_bytes", "gauge", "Installed device memory in bytes.", |s| {
        s.mem_total_bytes.map(|b| b as f64)
    }),
    ("tokenscope_gpu_power_watts", "gauge", "Board power draw in watts.", |s| s.power_w),
    ("tokenscope_gpu_power_limit_watts", "gauge", "Enforced power limit in watts.", |s| s.power_limit_w),
    (
        "tokenscope_gpu_energy_joules_total",
        "counter",
        "NVML total-energy counter in joules since the driver loaded.",
        |s| s.energy_j,
    ),
    ("tokenscope_gpu_temperature_celsius", "gauge", "GPU die temperature in degrees Celsius.", |s| {
        s.temperature_c.map(f64::from)
    }),
    ("tokenscope_gpu_sm_clock_mhz", "gauge", "SM clock in MHz.", |s| s.sm_clock_mhz.map(f64::from)),
    ("tokenscope_gpu_memory_clock_mhz", "gauge", "Memory clock in MHz.", |s| s.mem_clock_mhz.map(f64::from)),
    ("tokenscope_gpu_pcie_tx_bytes_per_second", "gauge", "PCIe traffic out of the GPU in bytes per second.", |s| {
        s.pcie_tx_bytes_per_s
    }),
    ("tokenscope_gpu_pcie_rx_bytes_per_second", "gauge", "PCIe traffic into the GPU in bytes per second.", |s| {
        s.pcie_rx_bytes_per_s
    }),
    ("tokenscope_gpu_throttled", "gauge", "1 when any clock throttle reason other than idle is active.", |s| {
        s.throttle_reasons.as_ref().map(|r| f64::from(u8::from(r.iter().any(|x| x != "gpu_idle"))))
    }),
];

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(index: u32, uuid: &str, info: Option<&GpuInfo>) -> String {
    let name = info.map_or("", |i| i.name.as_str());
    format!("gpu=\"{index}\",uuid=\"{}\",name=\"{}\"", escape_label(uuid), escape_label(name))
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Renders the exposition for `status` and the latest sample per GPU.
pub fn render(status: &TelemetryStatus, latest: &[GpuSample]) -> String {
    let mut out = String::new();
    family(&mut out, "tokenscope_telemetry_up", "gauge", "1 when GPU telemetry is sampling (measured or simulated).");
    let _ = writeln!(out, "tokenscope_telemetry_up {}", u8::from(status.is_up()));
    let gpus = status.gpus();
    if !gpus.is_empty() {
        family(
            &mut out,
            "tokenscope_gpu_simulated",
            "gauge",
            "1 when this GPU is simulated (demo mode), 0 when measured.",
        );
        for g in gpus {
            let _ = writeln!(
                out,
                "tokenscope_gpu_simulated{{{}}} {}",
                labels(g.index, &g.uuid, Some(g)),
                u8::from(g.simulated)
            );
        }
    }
    for (name, kind, help, get) in FAMILIES {
        let series: Vec<(&GpuSample, f64)> = latest.iter().filter_map(|s| Some((s, get(s)?))).collect();
        if series.is_empty() {
            continue;
        }
        family(&mut out, name, kind, help);
        for (s, v) in series {
            let info = gpus.iter().find(|g| g.index == s.index);
            let _ = writeln!(out, "{name}{{{}}} {v}", labels(s.index, &s.uuid, info));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(index: u32) -> GpuInfo {
        GpuInfo { driver_version: "580".into(), ..GpuInfo::named(index, "NVIDIA \"H200\"") }
    }

    #[test]
    fn renders_help_type_and_one_series_per_gpu_and_field() {
        let status = TelemetryStatus::Available { gpus: vec![info(0), info(1)] };
        let latest = vec![
            GpuSample {
                index: 0,
                uuid: "GPU-0".into(),
                power_w: Some(312.5),
                energy_j: Some(1e6),
                mem_used_bytes: Some(1 << 30),
                temperature_c: Some(61),
                throttle_reasons: Some(vec!["sw_power_cap".into()]),
                ..Default::default()
            },
            GpuSample { index: 1, uuid: "GPU-1".into(), power_w: Some(80.0), ..Default::default() },
        ];
        let text = render(&status, &latest);
        assert!(text.contains("# HELP tokenscope_gpu_power_watts "));
        assert!(text.contains("# TYPE tokenscope_gpu_power_watts gauge\n"));
        assert!(text.contains("# TYPE tokenscope_gpu_energy_joules_total counter\n"));
        assert!(text.contains(r#"tokenscope_gpu_power_watts{gpu="0",uuid="GPU-0",name="NVIDIA \"H200\""} 312.5"#));
        assert!(text.contains(r#"tokenscope_gpu_power_watts{gpu="1",uuid="GPU-1",name="NVIDIA \"H200\""} 80"#));
        assert!(
            text.contains(r#"tokenscope_gpu_energy_joules_total{gpu="0",uuid="GPU-0",name="NVIDIA \"H200\""} 1000000"#)
        );
        assert!(text
            .contains(r#"tokenscope_gpu_memory_used_bytes{gpu="0",uuid="GPU-0",name="NVIDIA \"H200\""} 1073741824"#));
        assert!(text.contains(r#"tokenscope_gpu_throttled{gpu="0""#));
        assert!(!text.contains(r#"tokenscope_gpu_energy_joules_total{gpu="1""#), "absent fields have no series");
        assert!(!text.contains("sm_activity"), "families without series are left out");
        assert!(text.contains("tokenscope_telemetry_up 1\n"));
        assert!(text.contains(r#"tokenscope_gpu_simulated{gpu="1",uuid="GPU-1",name="NVIDIA \"H200\""} 0"#));
        // Every line is a comment or `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with("# ")) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok() && line.starts_with("tokenscope_"), "{line}");
        }
    }

    #[test]
    fn unavailable_is_up_zero_and_nothing_else() {
        let text = render(&TelemetryStatus::Unavailable { reason: "no driver".into() }, &[]);
        assert!(text.contains("tokenscope_telemetry_up 0\n"));
        assert!(!text.contains("tokenscope_gpu_"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
