//! `charts.png`: a run's charts as one image, drawn on the server with plotters' bitmap backend — the picture to
//! paste into a pull request. A title block (run, target, model, load, status, date and the key results), then
//! panels on one time axis (seconds since load start): output tokens/s, TTFT, ITL, load, and per GPU utilization,
//! memory and power; last, the latency distribution when the run has request records.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (`server/assets/fonts`), so rendering needs no system
//! font libraries. The series, colours and labels follow the dashboard's charts (`app::components::run_charts`,
//! `gpu_view`); simulated GPU telemetry is labelled so in the legends, the panel titles and the title block.
//! Names, targets and models are drawn as text only: control and bidirectional characters as visible escapes, a
//! target URL without its credentials.

mod draw;
mod panels;
mod text;

use std::collections::BTreeMap;

use anyhow::{anyhow, Context};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor};

use protocol::archive::{describe_load, display_name, format_utc, headline, CdfPoint, LatencyCdf, RunSeries};
use protocol::chart::{minmax, PALETTE};
use protocol::event::{RequestRecord, WindowStats};
use protocol::gpu::{GpuSample, TelemetryStatus};
use protocol::live_run::{RunResult, RunView};
use protocol::report::RunReport;

use draw::*;
use panels::*;
use text::TextBackend;

/// Image width, pixels (GitHub shows it scaled to the column; text sizes are chosen for that).
pub const WIDTH: u32 = 1600;
/// Points per CDF line.
pub const CDF_POINTS: usize = 400;

const MARGIN: i32 = 28;
const HEADER_H: u32 = 236;
const PANEL_H: u32 = 250;
const EMPTY_PANEL_H: u32 = 96;
const CDF_PANEL_H: u32 = 300;
const GAP: u32 = 14;
const FOOTER_H: u32 = 44;
const CAPTION_H: i32 = 40;
const Y_LABEL_W: u32 = 96;
const RIGHT_LABEL_W: u32 = 84;
const X_LABEL_H: u32 = 34;
const X_DESC_H: u32 = 58;

const PAGE: RGBColor = RGBColor(15, 18, 22);
const PANEL: RGBColor = RGBColor(23, 27, 33);
const GRID: RGBColor = RGBColor(42, 49, 59);
const AXIS: RGBColor = RGBColor(70, 80, 94);
const MUTED: RGBColor = RGBColor(152, 162, 179);
const TEXT: RGBColor = RGBColor(230, 233, 238);
const SIM: RGBColor = RGBColor(245, 165, 36);
const BAD: RGBColor = RGBColor(240, 82, 107);

fn font(size: u32, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&color)
}

fn bold(size: u32, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", size).into_font().style(FontStyle::Bold).color(&color)
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// The TTFT and end-to-end latency distributions of `records`' measured (not warmup), successful requests: what
/// the archive's `GET /api/runs/{id}/latency` reads, for a run that is not archived (the CLI).
pub fn latency_of(records: &[RequestRecord]) -> LatencyCdf {
    let ok = || records.iter().filter(|r| !r.warmup && r.error.is_none());
    let ttft: Vec<f64> = ok().filter_map(|r| r.ttft_ms).collect();
    let e2e: Vec<f64> = ok().filter_map(|r| r.e2e_ms).collect();
    latency_cdf(&ttft, &e2e)
}

/// The distributions of TTFT and end-to-end latencies (ms).
pub fn latency_cdf(ttft: &[f64], e2e: &[f64]) -> LatencyCdf {
    LatencyCdf {
        requests: ttft.len().max(e2e.len()) as u64,
        ttft: LatencyCdf::points(ttft, CDF_POINTS),
        e2e: LatencyCdf::points(e2e, CDF_POINTS),
    }
}

/// Size of the image `render` draws for these inputs: [`WIDTH`] × (title block + panels).
pub fn size(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> (u32, u32) {
    (WIDTH, height(&panels(view, series, latency)))
}

fn height(panels: &[Panel]) -> u32 {
    HEADER_H + panels.iter().map(|p| p.height() + GAP).sum::<u32>() + FOOTER_H
}

/// Renders the PNG of `view`'s charts from its stored `series` and latency distribution.
pub fn render(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> anyhow::Result<Vec<u8>> {
    if !text::fonts_ok() {
        return Err(anyhow!("the embedded DejaVu Sans fonts do not load"));
    }
    let panels = panels(view, series, latency);
    let (w, h) = (WIDTH, height(&panels));
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    {
        let root = TextBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&PAGE).map_err(draw_err)?;
        header(&root, view, series)?;
        let mut y = HEADER_H as i32;
        for p in &panels {
            let ph = p.height();
            let area = root.clone().shrink((MARGIN, y), (w - 2 * MARGIN as u32, ph));
            panel(&area, p)?;
            y += (ph + GAP) as i32;
        }
        let run = if view.id.is_empty() { String::new() } else { format!(" · run {}", view.id) };
        let foot = format!(
            "tokenscope{run} · x axis of the time panels: seconds since load start ({})",
            format_utc(view.started_unix_ms)
        );
        root.draw_text(&foot, &font(15, MUTED), (MARGIN, y + 8)).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    encode(&pixels, w, h)
}

fn draw_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing the charts failed: {e}")
}

fn encode(pixels: &[u8], w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(pixels.len() / 8);
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    // zlib level 6 with per-row filters: a third of the fast encoding's size for ~30 ms more on a long run.
    enc.set_compression(png::Compression::Default);
    enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = enc.write_header().context("writing the PNG header")?;
    writer.write_image_data(pixels).context("encoding the PNG")?;
    writer.finish().context("finishing the PNG")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
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
        let ihdr = (
            u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
            u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
        );
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
        assert_eq!(step_marks(&w, T0), vec![(4.0, "step 2".to_owned())]);
        let line = window_line("x", 0, &w, T0, |x| Some(x.output_tokens_per_s));
        assert_eq!(line.pieces().iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 4], "steps are not joined");
        assert_eq!(ms(12.345), "12.3 ms");
        assert_eq!(ms(1234.0), "1.23 s");
        assert_eq!(axis_num(2.50), "2.5");
        assert_eq!(axis_num(1500.0), "1500");
        assert_eq!((fine_ceiling(2100.0), fine_ceiling(87.0), fine_ceiling(0.0)), (2500.0, 100.0, 1.0));
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
}
