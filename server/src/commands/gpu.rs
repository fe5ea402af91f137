//! `tokenscope gpu`: live GPU telemetry in the terminal, one row per GPU per tick like `nvidia-smi dmon` but with GPM
//! activity and the energy counter; `--json` for JSON lines; `--once` for one snapshot.

use std::{
    io::Write,
    process::ExitCode,
    time::{Duration, Instant},
};

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use tokio::sync::broadcast::error::RecvError;

use protocol::gpu::{GpuInfo, GpuSample, GpuSnapshot, TelemetryStatus};

use super::args::TelemetryArgs;
use crate::clock::unix_ms;
use crate::telemetry::{parse_interval, Telemetry};

/// Exit status when this machine has no GPU telemetry (no NVIDIA driver / libnvidia-ml, or no GPU).
pub const EXIT_NO_GPU: u8 = 3;
/// How long `--once` waits for the first complete slow-tier reading (energy, GPM) before printing what it has.
const ONCE_WAIT: Duration = Duration::from_millis(1_500);
/// Rows between repeated headers in the live table.
const HEADER_EVERY_TICKS: u64 = 20;

/// Options of `tokenscope gpu`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  tokenscope gpu                       live table, 4 rows a second per GPU
  tokenscope gpu --once --json         one JSON snapshot (status + one sample per GPU), then exit
  tokenscope gpu --json --gpus 0,1     JSON lines, GPUs 0 and 1 only
  tokenscope gpu --simulate-gpu 2      demo without a GPU (labelled simulated)

Columns:
  util      NVML utilization: a kernel was running (busy, not how busy)
  sm act    GPM SM activity; tensor, dram bw likewise (Hopper+, 1 Hz)
  energy    NVML total-energy counter, joules since the driver loaded

Exit status:
  0  ok
  2  bad option, or another error
  3  no GPU telemetry on this machine (no NVIDIA driver / libnvidia-ml,
     or no GPU); with --json, stdout still gets {\"status\":\"unavailable\",...}")]
pub struct GpuArgs {
    /// Fast-tier interval (utilization, memory, power, temperature, clocks): 50ms to 1s, i.e. 1-20 samples a
    /// second. Energy, GPM and PCIe are read once a second, processes every 2 s, whatever this is.
    #[arg(long, default_value = "250ms", value_parser = parse_interval)]
    pub interval: Duration,
    /// Print one snapshot and exit (waits ~1 s for the first energy and GPM readings).
    #[arg(long)]
    pub once: bool,
    /// JSON instead of a table: one object per tick per line (`status`, `gpus`, `samples`); one object with --once.
    #[arg(long)]
    pub json: bool,
    /// Which GPUs (`--gpus`, `--simulate-gpu`).
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// Runs `tokenscope gpu`.
pub async fn main(args: GpuArgs) -> anyhow::Result<ExitCode> {
    let config = args.telemetry.config(args.interval);
    let telemetry = tokio::task::spawn_blocking(move || Telemetry::start(&config)).await??;
    let status = telemetry.status();
    if let TelemetryStatus::Unavailable { reason } = &status {
        if args.json {
            let _ = print_line(&snapshot_json(&status, vec![]));
        }
        eprintln!("tokenscope gpu: no GPU telemetry: {reason}");
        return Ok(ExitCode::from(EXIT_NO_GPU));
    }
    let code =
        if args.once { once(&telemetry, &status, args.json).await } else { live(&telemetry, &status, args.json).await };
    telemetry.stop();
    Ok(code)
}

fn snapshot_json(status: &TelemetryStatus, samples: Vec<GpuSample>) -> String {
    let snap = GpuSnapshot { status: status.clone(), server_time_ms: unix_ms(), samples };
    serde_json::to_string(&snap).unwrap_or_default()
}

/// Writes one line to stdout; `Err` when stdout is gone (a closed pipe ends the command quietly).
fn print_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// True when every GPU's slow tier has been read and GPM, where offered, has its first comparison.
fn complete(batch: &[GpuSample], gpus: &[GpuInfo]) -> bool {
    batch.iter().all(|s| {
        let gpm = gpus.iter().find(|g| g.index == s.index).is_some_and(|g| g.gpm_supported);
        s.slow_unix_ms.is_some() && (!gpm || s.gpm_sm_activity_percent.is_some())
    })
}

async fn once(telemetry: &Telemetry, status: &TelemetryStatus, json: bool) -> ExitCode {
    let mut rx = telemetry.subscribe();
    let deadline = tokio::time::sleep(ONCE_WAIT);
    tokio::pin!(deadline);
    let mut last: Option<Vec<GpuSample>> = None;
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            got = rx.recv() => match got {
                Ok(batch) => {
                    let done = complete(&batch, status.gpus());
                    last = Some(batch.to_vec());
                    if done {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
        }
    }
    let samples = last.unwrap_or_else(|| telemetry.latest());
    let text = if json { snapshot_json(status, samples) } else { table(status, &samples) };
    let _ = print_line(&text);
    ExitCode::SUCCESS
}

async fn live(telemetry: &Telemetry, status: &TelemetryStatus, json: bool) -> ExitCode {
    let mut rx = telemetry.subscribe();
    if !json && matches!(status, TelemetryStatus::Simulated { .. }) && print_line(SIMULATED_NOTE).is_err() {
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let mut ticks = 0u64;
    loop {
        let batch = tokio::select! {
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
            got = rx.recv() => match got {
                Ok(batch) => batch,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return ExitCode::SUCCESS,
            },
        };
        let mut lines = Vec::with_capacity(batch.len() + 2);
        if json {
            lines.push(snapshot_json(status, batch.to_vec()));
        } else {
            if ticks.is_multiple_of(HEADER_EVERY_TICKS) {
                lines.extend(HEADER.iter().map(|h| h.to_string()));
            }
            let t_s = started.elapsed().as_secs_f64();
            lines.extend(batch.iter().map(|s| row(s, t_s)));
        }
        ticks += 1;
        if print_line(&lines.join("\n")).is_err() {
            return ExitCode::SUCCESS;
        }
    }
}

const SIMULATED_NOTE: &str = "# SIMULATED GPUs (--simulate-gpu, demo mode): these numbers are not measured";

const HEADER: [&str; 2] = [
    "#     t  gpu  util  sm act  tensor  dram bw     mem used/total    power/limit     energy  temp  sm clk  throttle",
    "#     s   id     %       %       %        %                GiB              W          J     C     MHz",
];

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.decimals$}"))
}

fn gib(b: Option<u64>) -> Option<f64> {
    b.map(|b| b as f64 / 1_073_741_824.0)
}

fn pair(a: Option<f64>, b: Option<f64>, decimals: usize) -> String {
    format!("{}/{}", num(a, decimals), num(b, decimals))
}

fn throttle(s: &GpuSample) -> String {
    match &s.throttle_reasons {
        None => "-".into(),
        Some(r) if r.is_empty() => "none".into(),
        Some(r) => r.join(","),
    }
}

/// One dmon-style row.
fn row(s: &GpuSample, t_s: f64) -> String {
    format!(
        "{t_s:>7.1} {:>4} {:>5} {:>7} {:>7} {:>8} {:>18} {:>14} {:>10} {:>5} {:>7}  {}",
        s.index,
        num(s.util_gpu_percent, 0),
        num(s.gpm_sm_activity_percent, 1),
        num(s.gpm_tensor_activity_percent, 1),
        num(s.gpm_dram_bw_util_percent, 1),
        pair(gib(s.mem_used_bytes), gib(s.mem_total_bytes), 1),
        pair(s.power_w, s.power_limit_w, 0),
        num(s.energy_j, 0),
        num(s.temperature_c.map(f64::from), 0),
        num(s.sm_clock_mhz.map(f64::from), 0),
        throttle(s),
    )
}

/// The `--once` table.
fn table(status: &TelemetryStatus, samples: &[GpuSample]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "GPU",
        "Name",
        "Util %",
        "SM act %",
        "Tensor %",
        "DRAM bw %",
        "Mem used/total GiB",
        "Power/limit W",
        "Energy J",
        "Temp C",
        "SM MHz",
        "Throttle",
    ]);
    for s in samples {
        let name = status.gpus().iter().find(|g| g.index == s.index).map_or("", |g| g.name.as_str());
        t.add_row(vec![
            s.index.to_string(),
            name.to_string(),
            num(s.util_gpu_percent, 0),
            num(s.gpm_sm_activity_percent, 1),
            num(s.gpm_tensor_activity_percent, 1),
            num(s.gpm_dram_bw_util_percent, 1),
            pair(gib(s.mem_used_bytes), gib(s.mem_total_bytes), 1),
            pair(s.power_w, s.power_limit_w, 0),
            num(s.energy_j, 0),
            num(s.temperature_c.map(f64::from), 0),
            num(s.sm_clock_mhz.map(f64::from), 0),
            throttle(s),
        ]);
    }
    let mut out = t.to_string();
    if matches!(status, TelemetryStatus::Simulated { .. }) {
        out = format!("{SIMULATED_NOTE}\n{out}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GpuSample {
        GpuSample {
            index: 1,
            power_w: Some(312.4),
            power_limit_w: Some(700.0),
            mem_used_bytes: Some(3 << 30),
            mem_total_bytes: Some(141 << 30),
            throttle_reasons: Some(vec![]),
            slow_unix_ms: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn rows_show_absent_fields_as_dashes() {
        let r = row(&sample(), 1.25);
        assert!(r.contains("3.0/141.0") && r.contains("312/700") && r.ends_with("none"), "{r}");
        assert!(r.contains(" - "), "absent util/GPM print as -: {r}");
        let status = TelemetryStatus::Simulated { gpus: vec![] };
        let t = table(&status, &[sample()]);
        assert!(t.starts_with(SIMULATED_NOTE) && t.contains("312/700"), "{t}");
    }

    #[test]
    fn once_waits_for_gpm_only_where_offered() {
        let mut info = GpuInfo { uuid: String::new(), ..GpuInfo::named(1, "x") };
        assert!(complete(&[sample()], std::slice::from_ref(&info)));
        info.gpm_supported = true;
        assert!(!complete(&[sample()], std::slice::from_ref(&info)));
        let with_gpm = GpuSample { gpm_sm_activity_percent: Some(1.0), ..sample() };
        assert!(complete(&[with_gpm], &[info]));
    }
}
