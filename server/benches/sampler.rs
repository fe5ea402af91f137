//! Sampler cost: runs the GPU sampler for a while and prints the CPU time it used as a percent of one core.
//!
//! `cargo bench -p server --bench sampler` (simulated source, 2 GPUs) or, on a GPU machine,
//! `cargo bench -p server --bench sampler -- --nvml`. Options: `--hz N` (default 10), `--seconds N` (default 20),
//! `--gpus N` simulated GPUs (default 2). CPU time comes from /proc (per-thread schedstat, else /proc/self/stat), so
//! this runs on Linux only; the main thread only sleeps meanwhile.

use std::time::{Duration, Instant};

use server::clock::unix_ms;
use server::telemetry::{Telemetry, TelemetryConfig};

/// CPU time of the process's live threads so far, seconds: the sum of `/proc/self/task/*/schedstat` (ns, first
/// field), else utime + stime from `/proc/self/stat` (10 ms ticks).
fn cpu_s() -> Option<f64> {
    schedstat_s().or_else(stat_s)
}

fn schedstat_s() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let text = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

fn stat_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (`state`); utime/stime are 14/15.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; unknown flags are ignored.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nvml = args.iter().any(|a| a == "--nvml");
    let hz: u64 = arg(&args, "--hz", 10);
    let seconds: u64 = arg(&args, "--seconds", 20);
    let sim_gpus: u32 = arg(&args, "--gpus", 2);
    let config = TelemetryConfig {
        interval: Duration::from_millis(1_000 / hz.clamp(1, 20)),
        gpus: None,
        simulate_gpus: (!nvml).then_some(sim_gpus),
    };
    let telemetry = match Telemetry::start(&config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sampler bench: {e}");
            std::process::exit(2);
        }
    };
    let status = telemetry.status();
    if !status.is_up() {
        eprintln!("sampler bench: no GPU telemetry ({status:?}); run without --nvml for the simulated source");
        std::process::exit(3);
    }
    let gpus = status.gpus().len().max(1);
    let names: Vec<&str> = status.gpus().iter().map(|g| g.name.as_str()).collect();
    println!("sampler bench: {} source, {gpus} GPU(s) {names:?}, {hz} Hz for {seconds} s", status.label());
    let since = unix_ms();
    let (cpu0, t0) = (cpu_s(), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, wall) = (cpu_s(), t0.elapsed().as_secs_f64());
    let ticks = telemetry.history(since).len() / gpus;
    telemetry.stop();
    println!("ticks:          {ticks} ({:.2} Hz achieved)", ticks as f64 / wall);
    match (cpu0, cpu1) {
        (Some(a), Some(b)) => {
            let used = b - a;
            println!("CPU time:       {used:.4} s over {wall:.1} s wall");
            println!("CPU load:       {:.4} % of one core", 100.0 * used / wall);
            if ticks > 0 {
                println!(
                    "CPU per tick:   {:.0} us ({:.0} us per GPU)",
                    1e6 * used / ticks as f64,
                    1e6 * used / (ticks * gpus) as f64
                );
            }
        }
        _ => println!("CPU time:       unavailable (/proc/self/stat unreadable: Linux only)"),
    }
}
