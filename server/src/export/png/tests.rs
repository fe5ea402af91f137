//! Tests of the charts PNG: sizes, panels, a sweep's table and markers, the memory axis, wrapped texts.

use std::collections::BTreeMap;

use protocol::gpu::GpuInfo;
use protocol::live_run::{Progress, RunStatus};

use super::*;

const T0: u64 = 1_795_964_580_000;

fn view(status: RunStatus) -> RunView {
    serde_json::from_value(serde_json::json!({
        "id": "AbCdEfGhIjKlMnOpQrStUv",
        "spec": {
            "name": "vLLM c=8 on 2×H200", "target": "http://127.0.0.1:8000", "model": "meta-llama/Llama-3.1-8B",
            "backend": "vllm", "load": {"kind": "concurrency", "concurrency": 8},
            "workload": {"kind": "synthetic", "input_tokens": {"min": 8, "max": 8}, "output_tokens": {"min": 4, "max": 4}}
        },
        "status": status,
        "started_unix_ms": T0,
        "progress": Progress::default(),
        "preflight_states": [],
        "verdict": null,
        "error_samples": [],
        "result": null,
        "demo": true
    }))
    .unwrap()
}

fn window(step: u32, t: u64) -> WindowStats {
    WindowStats {
        step,
        t_end_ms: t as f64 * 1000.0,
        unix_ms: T0 + t * 1000,
        length_ms: 1000.0,
        output_tokens: 900.0 + (t % 7) as f64 * 20.0,
        output_tokens_per_s: 900.0 + (t % 7) as f64 * 20.0,
        requests_per_s: 7.0,
        ttft_p50_ms: Some(40.0 + (t % 5) as f64),
        ttft_p99_ms: Some(120.0),
        itl_p50_ms: Some(9.0),
        itl_p99_ms: Some(25.0),
        e2e_p50_ms: Some(900.0),
        e2e_p99_ms: Some(1300.0),
        in_flight: 8,
        completed_total: t * 7,
        failed_total: 0,
        errors: BTreeMap::new(),
    }
}

fn windows(seconds: u64) -> Vec<WindowStats> {
    (1..=seconds).map(|t| window(0, t)).collect()
}

/// `gpus` GPUs sampled at `hz` for `seconds`.
fn samples(gpus: u32, seconds: u64, hz: u64, simulated: bool) -> Vec<GpuSample> {
    let mut out = Vec::new();
    for i in 0..seconds * hz {
        let unix_ms = T0 + i * 1000 / hz;
        for index in 0..gpus {
            let phase = (i as f64 / hz as f64 / 10.0 + f64::from(index)).sin();
            out.push(GpuSample {
                index,
                uuid: format!("GPU-{index}"),
                unix_ms,
                simulated,
                util_gpu_percent: Some(80.0 + 15.0 * phase),
                mem_used_bytes: Some(100 << 30),
                mem_total_bytes: Some(141 << 30),
                power_w: Some(500.0 + 100.0 * phase),
                power_limit_w: Some(700.0),
                ..GpuSample::default()
            });
        }
    }
    out
}

fn info(index: u32) -> GpuInfo {
    GpuInfo {
        driver_version: "580.65.06".into(),
        memory_total_bytes: Some(141 << 30),
        power_limit_w: Some(700.0),
        ..GpuInfo::named(index, "NVIDIA H200")
    }
}

fn latency() -> LatencyCdf {
    let ttft: Vec<f64> = (0..500).map(|i| 30.0 + f64::from(i) * 0.2).collect();
    let e2e: Vec<f64> = (0..500).map(|i| 800.0 + f64::from(i)).collect();
    latency_cdf(&ttft, &e2e)
}

/// Checks the PNG signature and IHDR, decodes it, and returns (width, height).
fn decoded(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let ihdr =
        (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()));
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!((frame.width, frame.height), ihdr);
    // Something was drawn: more than the page colour.
    let mut colours = std::collections::HashSet::new();
    for px in buf[..frame.buffer_size()].chunks(3).step_by(97) {
        colours.insert((px[0], px[1], px[2]));
    }
    assert!(colours.len() > 10, "{} colours", colours.len());
    ihdr
}

fn rendered(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> (u32, u32) {
    let png = render(view, series, latency).unwrap();
    if let Ok(dir) = std::env::var("TOKENSCOPE_PNG_OUT") {
        let name = format!("{dir}/{}-{}.png", series.windows.len(), series.gpu.len());
        std::fs::write(name, &png).unwrap();
    }
    let dims = decoded(&png);
    assert_eq!(dims, size(view, series, latency));
    dims
}

#[test]
fn a_run_with_windows_and_two_gpus() {
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Available { gpus: vec![info(0), info(1)] }),
        windows: windows(60),
        gpu: samples(2, 60, 10, false),
    };
    let v = view(RunStatus::Completed);
    let p = panels(&v, &series, &latency());
    let util = p.iter().find(|p| p.title.starts_with("GPU utilization")).unwrap();
    assert_eq!(util.title, "GPU utilization (NVML) · 2 × NVIDIA H200");
    assert_eq!(util.lines.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), ["GPU 0", "GPU 1"]);
    assert!(util.flag.is_none(), "measured telemetry is not flagged");
    let (w, h) = rendered(&v, &series, &latency());
    assert_eq!(w, WIDTH);
    assert_eq!(h, HEADER_H + 7 * (PANEL_H + GAP) + (X_DESC_H - X_LABEL_H) + CDF_PANEL_H + GAP + FOOTER_H);
}

#[test]
fn a_run_without_gpu_telemetry_says_so() {
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Unavailable { reason: "libnvidia-ml.so not found".into() }),
        windows: windows(20),
        gpu: Vec::new(),
    };
    let v = view(RunStatus::Completed);
    let p = panels(&v, &series, &LatencyCdf::default());
    let gpu: Vec<&Panel> = p.iter().filter(|p| p.title.starts_with("GPU")).collect();
    assert_eq!(gpu.len(), 3, "the GPU panels stay, empty");
    assert!(gpu.iter().all(|p| p.is_empty() && p.empty == "no GPU telemetry: libnvidia-ml.so not found"));
    assert!(p.iter().all(|p| !p.cdf), "no latency panel without latencies");
    let (w, h) = rendered(&v, &series, &LatencyCdf::default());
    assert_eq!(w, WIDTH);
    assert_eq!(h, HEADER_H + 4 * (PANEL_H + GAP) + (X_DESC_H - X_LABEL_H) + 3 * (EMPTY_PANEL_H + GAP) + FOOTER_H);
}

#[test]
fn an_empty_run_still_renders() {
    let mut v = view(RunStatus::Failed);
    v.verdict = Some("preflight: the server did not answer at http://127.0.0.1:8000".into());
    let (w, h) = rendered(&v, &RunSeries::default(), &LatencyCdf::default());
    assert_eq!((w, h), (WIDTH, HEADER_H + 7 * (EMPTY_PANEL_H + GAP) + FOOTER_H));
}

#[test]
fn simulated_gpus_are_labelled() {
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Simulated { gpus: vec![] }),
        windows: windows(5),
        gpu: samples(1, 5, 2, true),
    };
    let p = panels(&view(RunStatus::Completed), &series, &LatencyCdf::default());
    let util = p.iter().find(|p| p.title.starts_with("GPU utilization")).unwrap();
    assert!(util.flag.is_some_and(|f| f.contains("simulated")));
    assert_eq!(util.lines[0].label, "GPU 0 (simulated)");
}

#[test]
fn a_few_ms_long_last_window_does_not_spike_the_throughput_panel() {
    // A 2 132 tok/s run whose last window is 9 ms long and reads 210 762 tok/s.
    let mut w = windows(5);
    let last = WindowStats {
        unix_ms: T0 + 5_009,
        length_ms: 9.0,
        output_tokens: 1897.0,
        output_tokens_per_s: 210_762.0,
        ..window(0, 6)
    };
    w.push(last);
    let series = RunSeries { telemetry: None, windows: w, gpu: Vec::new() };
    let p = panels(&view(RunStatus::Completed), &series, &LatencyCdf::default());
    let tokens = p.iter().find(|p| p.title.contains("tok")).unwrap();
    let top = tokens.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    assert!(top < 2_000.0, "the 9 ms window is left out of the rate line: max {top}");
}

#[test]
fn sweep_steps_are_marked_and_labels_fit() {
    let w: Vec<WindowStats> = (1..=4).map(|t| window(0, t)).chain((5..=8).map(|t| window(1, t))).collect();
    let mut v = view(RunStatus::Completed);
    v.spec.sweep = vec![1.0, 4.0];
    let series = RunSeries { telemetry: None, windows: w.clone(), gpu: Vec::new() };
    let p = panels(&v, &series, &LatencyCdf::default());
    assert!(p.iter().all(|p| p.marks == [(0.0, "c=1".to_owned()), (4.0, "c=4".to_owned())]), "every time panel");
    let line = window_line("x", 0, &w, T0, |x| Some(x.output_tokens_per_s));
    assert_eq!(line.pieces().iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 4], "steps are not joined");
    // A hole of several windows in one step is not bridged either.
    let holed: Vec<WindowStats> = (1..=4).chain(12..=14).map(|t| window(0, t)).collect();
    let line = window_line("x", 0, &holed, T0, |x| Some(x.output_tokens_per_s));
    assert_eq!(line.pieces().iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 3]);
    assert_eq!(ms(12.345), "12.3 ms");
    assert_eq!(ms(1234.0), "1.23 s");
    assert_eq!(axis_num(2.50), "2.5");
    assert_eq!(axis_num(1500.0), "1500");
    assert_eq!((fine_ceiling(2100.0), fine_ceiling(87.0), fine_ceiling(0.0)), (2500.0, 100.0, 1.0));
}

fn sweep_view(steps: &[(u32, u64, f64, Option<bool>)]) -> RunView {
    let mut v = view(RunStatus::Completed);
    v.spec.sweep = steps.iter().map(|s| f64::from(s.0)).collect();
    let reports: Vec<RunReport> = steps
        .iter()
        .map(|&(c, completed, duration_s, slo_met)| RunReport {
            load: protocol::spec::LoadSpec::Concurrency { concurrency: c },
            requests_completed: completed,
            duration_s,
            steady_duration_s: Some(duration_s * 0.9),
            requests_per_s: completed as f64 / duration_s,
            output_tokens_per_s: 100.0 * f64::from(c),
            slo_met,
            ..RunReport::default()
        })
        .collect();
    v.result = Some(RunResult::Sweep(SweepReport {
        started_at_ms: T0,
        best_step: SweepReport::pick_best(&reports),
        steps: reports,
        stopped: false,
        verdict: None,
        preflight: None,
    }));
    v
}

#[test]
fn a_sweep_has_its_table_under_the_title_block() {
    let v = sweep_view(&[(1, 300, 30.0, Some(true)), (4, 400, 30.0, Some(true)), (16, 9, 2.5, Some(false))]);
    let w: Vec<WindowStats> = (1..=30)
        .map(|t| window(0, t))
        .chain((31..=60).map(|t| window(1, t)))
        .chain((61..=63).map(|t| window(2, t)))
        .collect();
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Simulated { gpus: vec![info(0), info(1)] }),
        windows: w,
        gpu: samples(2, 63, 2, true),
    };
    // Three rows and a header, the best line, one warning (the 2.5 s step) of one or two lines.
    let table = sweep_table::height(&v);
    let rows_h = 10 + 4 * 30 + 10 + GAP;
    assert!((rows_h + 2 * 25..=rows_h + 3 * 25).contains(&table), "{table}");
    assert_eq!(sweep_table::height(&view(RunStatus::Completed)), 0, "no table for a single run");
    let (_, h) = rendered(&v, &series, &latency());
    assert_eq!(h, HEADER_H + table + 7 * (PANEL_H + GAP) + (X_DESC_H - X_LABEL_H) + CDF_PANEL_H + GAP + FOOTER_H);
    let p = panels(&v, &series, &latency());
    assert!(p.iter().filter(|p| !p.cdf).all(|p| p.marks.len() == 3 && p.marks[2].1 == "c=16"));
}

#[test]
fn the_memory_axis_ends_at_the_cards_size_and_identical_lines_stay_visible() {
    let mut gpu = samples(2, 10, 2, false);
    for s in &mut gpu {
        s.mem_total_bytes = None; // a source that reports only the static size
        s.mem_used_bytes = Some(130 << 30);
    }
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Available { gpus: vec![info(0), info(1)] }),
        windows: windows(10),
        gpu,
    };
    let p = panels(&view(RunStatus::Completed), &series, &LatencyCdf::default());
    let mem = p.iter().find(|p| p.title.starts_with("GPU memory")).unwrap();
    assert_eq!(mem.title, "GPU memory used (of 141 GiB)");
    let lines: Vec<&Line> = mem.lines.iter().collect();
    assert_eq!(y_top(&lines, mem.y_floor, mem.y_cap), 141.0, "not a rounded-up 200 GiB");
    // Both GPUs hold 130 GiB: the second line is dashed, so the first shows through it; both are in the legend.
    assert_eq!((mem.lines[0].dash, mem.lines[1].dash.is_some()), (None, true));
    assert_eq!(mem.lines.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), ["GPU 0", "GPU 1"]);
    assert_eq!(swatch(None, 20), [(0, 20)]);
    assert!(swatch(mem.lines[1].dash, 20).len() >= 2);
}

#[test]
fn a_long_no_telemetry_reason_is_wrapped_not_cut() {
    let reason = "NVML could not be loaded (libnvidia-ml.so.1: cannot open shared object file: No such file or \
                  directory): install the NVIDIA driver on this machine, or run tokenscope inside a container \
                  started with --gpus all so that the driver's libraries are mounted into it";
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Unavailable { reason: reason.into() }),
        windows: windows(5),
        gpu: Vec::new(),
    };
    let v = view(RunStatus::Completed);
    let p = panels(&v, &series, &LatencyCdf::default());
    let gpu = p.iter().find(|p| p.title.starts_with("GPU utilization")).unwrap();
    let lines = wrap(&gpu.empty, EMPTY_TEXT_PX, false, WIDTH - 2 * MARGIN as u32 - 32);
    assert!(lines.len() >= 2, "{lines:?}");
    assert_eq!(lines.join(" "), format!("no GPU telemetry: {reason}"), "every word kept, none cut");
    assert!(lines.iter().all(|l| !l.contains('…')));
    assert_eq!(gpu.height(), EMPTY_PANEL_H + (lines.len() as u32 - 1) * EMPTY_LINE_H);
    rendered(&v, &series, &LatencyCdf::default());
    // A word longer than a line is cut into pieces, not dropped.
    let long = "x".repeat(400);
    assert_eq!(wrap(&long, 19, false, 300).concat(), long);
}

/// Render cost of a long run: `cargo test -p server --release --lib png::tests::render_time -- --ignored
/// --nocapture` (10 minutes, 4 GPUs at 10 Hz).
#[test]
#[ignore = "timing, run by hand in a release build"]
fn render_time() {
    let series = RunSeries {
        telemetry: Some(TelemetryStatus::Available { gpus: (0..4).map(info).collect() }),
        windows: windows(600),
        gpu: samples(4, 600, 10, false),
    };
    let (v, lat) = (view(RunStatus::Completed), latency());
    render(&v, &series, &lat).unwrap();
    let runs = 5;
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..runs {
        bytes = render(&v, &series, &lat).unwrap().len();
    }
    let each = start.elapsed() / runs;
    println!("10 min, 4 GPUs at 10 Hz ({} samples): {each:?} per PNG, {bytes} bytes", series.gpu.len());
}
