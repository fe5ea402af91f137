//! `charts.png`: a run's charts as one image, drawn on the server with plotters' bitmap backend — the picture to
//! paste into a pull request. A title block (run, target, model, load, status, date and the key results), then
//! panels on one time axis (seconds since load start): output tokens/s, TTFT, ITL, load, and per GPU utilization,
//! memory and power; last, the latency distribution when the run has request records.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (`server/assets/fonts`), so rendering needs no system
//! font libraries. The series, colours and labels follow the dashboard's charts (`app::components::run_charts`,
//! `gpu_view`); simulated GPU telemetry is labelled so in the legends, the panel titles and the title block.

mod text;

use std::collections::BTreeMap;

use anyhow::{anyhow, Context};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor};

use app::components::chart::PALETTE;
use app::components::downsample::minmax;
use app::protocol::archive::{describe_load, display_name, format_utc, headline, CdfPoint, LatencyCdf, RunSeries};
use app::protocol::event::{RequestRecord, WindowStats};
use app::protocol::gpu::{GpuSample, TelemetryStatus};
use app::protocol::live_run::{RunResult, RunView};
use app::protocol::report::RunReport;

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

/// One line of a panel.
struct Line {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    /// Where a new piece starts (indices into `points`): a sweep's steps are not joined.
    breaks: Vec<usize>,
    dashed: bool,
    /// Drawn against the right-hand axis.
    right: bool,
}

impl Line {
    fn new(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Line { label: label.into(), color, points, breaks: Vec::new(), dashed: false, right: false }
    }

    /// The pieces to draw, each a run of joined points.
    fn pieces(&self) -> Vec<&[(f64, f64)]> {
        let mut out = Vec::new();
        let mut start = 0;
        for &b in &self.breaks {
            out.push(&self.points[start..b.min(self.points.len())]);
            start = b.min(self.points.len());
        }
        out.push(&self.points[start..]);
        out
    }
}

/// One chart of the image.
struct Panel {
    title: String,
    /// Appended to the title in the warning colour (simulated telemetry).
    flag: Option<&'static str>,
    y_desc: &'static str,
    right_desc: Option<&'static str>,
    lines: Vec<Line>,
    /// Smallest y maximum (100 for percentages).
    y_floor: f64,
    /// A fixed y maximum (installed memory), when the data stays under it.
    y_cap: Option<f64>,
    x: (f64, f64),
    x_desc: Option<&'static str>,
    /// Vertical markers: (x, label) — sweep step starts.
    marks: Vec<(f64, String)>,
    /// What to say when there is nothing to draw.
    empty: String,
    cdf: bool,
}

impl Panel {
    fn time(title: impl Into<String>, y_desc: &'static str, x: (f64, f64), lines: Vec<Line>) -> Self {
        Panel {
            title: title.into(),
            flag: None,
            y_desc,
            right_desc: None,
            lines,
            y_floor: 1.0,
            y_cap: None,
            x,
            x_desc: None,
            marks: Vec::new(),
            empty: "no data".into(),
            cdf: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.is_empty())
    }

    fn height(&self) -> u32 {
        if self.is_empty() {
            EMPTY_PANEL_H
        } else if self.cdf {
            CDF_PANEL_H
        } else {
            PANEL_H + if self.x_desc.is_some() { X_DESC_H - X_LABEL_H } else { 0 }
        }
    }
}

/// Seconds since `origin_ms` of a Unix ms time.
fn secs(unix_ms: u64, origin_ms: u64) -> f64 {
    (unix_ms as f64 - origin_ms as f64) / 1000.0
}

fn window_line(
    label: &str,
    color: usize,
    windows: &[WindowStats],
    origin: u64,
    f: impl Fn(&WindowStats) -> Option<f64>,
) -> Line {
    let mut line = Line::new(label, rgb(PALETTE[color % PALETTE.len()]), Vec::new());
    let mut step = None;
    for w in windows {
        let Some(v) = f(w) else { continue };
        if step.is_some_and(|s| s != w.step) {
            line.breaks.push(line.points.len());
        }
        step = Some(w.step);
        line.points.push((secs(w.unix_ms, origin), v));
    }
    line
}

/// Per GPU index: (legend label, its samples in time order).
type GpuLines<'a> = BTreeMap<u32, (String, Vec<&'a GpuSample>)>;

/// The run's GPUs: index → (legend label, samples in time order), and their models in words (`2 × NVIDIA H200`)
/// when they are all the same model — then the legends say `GPU 0`, `GPU 1`; otherwise each names its model.
fn gpus(series: &RunSeries) -> (GpuLines<'_>, Option<String>) {
    let names: BTreeMap<u32, &str> = series
        .telemetry
        .as_ref()
        .map(|t| t.gpus().iter().map(|g| (g.index, g.name.as_str())).collect())
        .unwrap_or_default();
    let mut samples: BTreeMap<u32, Vec<&GpuSample>> = BTreeMap::new();
    for s in &series.gpu {
        samples.entry(s.index).or_default().push(s);
    }
    let models: Vec<Option<&str>> = samples.keys().map(|i| names.get(i).copied()).collect();
    let shared = match models.first() {
        Some(Some(first)) if models.iter().all(|m| *m == Some(*first)) => Some(format!("{} × {first}", models.len())),
        _ => None,
    };
    let out = samples
        .into_iter()
        .map(|(index, mut v)| {
            v.sort_by_key(|s| s.unix_ms);
            let mut label = format!("GPU {index}");
            if let (None, Some(name)) = (&shared, names.get(&index)) {
                label.push_str(&format!(" · {name}"));
            }
            if v.iter().any(|s| s.simulated) && !label.to_lowercase().contains("simulated") {
                label.push_str(" (simulated)");
            }
            (index, (label, v))
        })
        .collect();
    (out, shared)
}

fn simulated(series: &RunSeries) -> bool {
    matches!(series.telemetry, Some(TelemetryStatus::Simulated { .. })) || series.gpu.iter().any(|s| s.simulated)
}

/// Why a GPU panel is empty.
fn no_gpu(series: &RunSeries) -> String {
    match &series.telemetry {
        Some(TelemetryStatus::Unavailable { reason }) => format!("no GPU telemetry: {reason}"),
        _ if series.gpu.is_empty() => "no GPU telemetry was recorded with this run".into(),
        _ => "no GPU reported this field".into(),
    }
}

/// The x range of the time panels: load start to the last window or sample (at least 1 s; unlike the live page,
/// which leaves room for what is coming, a finished run fills the width).
fn time_range(series: &RunSeries, origin: u64) -> (f64, f64) {
    let last_w = series.windows.iter().map(|w| secs(w.unix_ms, origin)).fold(0.0, f64::max);
    let last_g = series.gpu.iter().map(|s| secs(s.unix_ms, origin)).fold(0.0, f64::max);
    (0.0, last_w.max(last_g).max(1.0))
}

/// Where each sweep step after the first starts (its first window's start), labelled.
fn step_marks(windows: &[WindowStats], origin: u64) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for pair in windows.windows(2) {
        if pair[1].step != pair[0].step {
            out.push((secs(pair[1].unix_ms.saturating_sub(1000), origin), format!("step {}", pair[1].step + 1)));
        }
    }
    out
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn panels(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> Vec<Panel> {
    let (w, o) = (&series.windows, view.started_unix_ms);
    let x = time_range(series, o);
    let marks = step_marks(w, o);
    let mut out = vec![
        Panel::time(
            "Output tokens/s",
            "tok/s",
            x,
            vec![window_line("output tok/s", 0, w, o, |x| Some(x.output_tokens_per_s))],
        ),
        Panel::time(
            "Time to first token",
            "ms",
            x,
            vec![
                window_line("TTFT p50", 0, w, o, |x| x.ttft_p50_ms),
                window_line("TTFT p99", 3, w, o, |x| x.ttft_p99_ms),
            ],
        ),
        Panel::time(
            "Inter-token latency",
            "ms",
            x,
            vec![window_line("ITL p50", 1, w, o, |x| x.itl_p50_ms), window_line("ITL p99", 2, w, o, |x| x.itl_p99_ms)],
        ),
        Panel {
            right_desc: Some("per second"),
            ..Panel::time(
                "Load: requests in flight, completed and failed per second",
                "in flight",
                x,
                vec![
                    window_line("in flight (left axis)", 4, w, o, |x| Some(x.in_flight as f64)),
                    Line { right: true, ..window_line("requests/s (right)", 1, w, o, |x| Some(x.requests_per_s)) },
                    Line {
                        right: true,
                        ..window_line("errors/s (right)", 3, w, o, |x| Some(x.errors.values().sum::<u64>() as f64))
                    },
                ],
            )
        },
    ];
    let no_windows = if view.status.is_live() {
        "no 1 s window has closed yet".to_owned()
    } else {
        "no 1 s windows were recorded: the run ended before its load started".to_owned()
    };
    for p in &mut out {
        p.empty = no_windows.clone();
    }

    let (gpus, models) = gpus(series);
    let per_gpu = |f: &dyn Fn(&GpuSample) -> Option<f64>| -> Vec<Line> {
        gpus.iter()
            .map(|(index, (label, samples))| {
                let points = samples.iter().filter_map(|s| f(s).map(|v| (secs(s.unix_ms, o), v))).collect();
                Line::new(label.clone(), rgb(PALETTE[*index as usize % PALETTE.len()]), points)
            })
            .filter(|l| !l.points.is_empty())
            .collect()
    };
    let flag = simulated(series).then_some("simulated telemetry (demo), not measured");
    let mem_total = series.gpu.iter().filter_map(|s| s.mem_total_bytes).max().map(|b| b as f64 / GIB);
    let mut power = per_gpu(&|s| s.power_w);
    let mut limits: Vec<f64> = series.gpu.iter().filter_map(|s| s.power_limit_w).collect();
    limits.sort_by(f64::total_cmp);
    limits.dedup();
    if !power.is_empty() && limits.len() == 1 {
        power.push(Line {
            dashed: true,
            ..Line::new(
                format!("power limit {:.0} W", limits[0]),
                rgb(PALETTE[5]),
                vec![(x.0, limits[0]), (x.1, limits[0])],
            )
        });
    }
    let gpu_panels = [
        Panel {
            y_floor: 100.0,
            ..Panel::time(
                match &models {
                    Some(m) => format!("GPU utilization (NVML) · {m}"),
                    None => "GPU utilization (NVML)".into(),
                },
                "%",
                x,
                per_gpu(&|s| s.util_gpu_percent),
            )
        },
        Panel {
            y_cap: mem_total,
            ..Panel::time(
                match mem_total {
                    Some(t) => format!("GPU memory used (of {t:.0} GiB)"),
                    None => "GPU memory used".into(),
                },
                "GiB",
                x,
                per_gpu(&|s| s.mem_used_bytes.map(|b| b as f64 / GIB)),
            )
        },
        Panel { y_floor: 100.0, ..Panel::time("GPU power", "W", x, power) },
    ];
    for mut p in gpu_panels {
        p.flag = flag;
        p.empty = no_gpu(series);
        out.push(p);
    }
    for p in &mut out {
        p.marks.clone_from(&marks);
    }
    // The bottom time panel says what the shared axis is.
    if let Some(p) = out.iter_mut().rev().find(|p| !p.is_empty()) {
        p.x_desc = Some("seconds since load start");
    }

    if latency.requests > 0 {
        let max = latency.e2e.last().or(latency.ttft.last()).map(|p| p.ms).unwrap_or(1.0).max(1.0);
        let cdf = |label: &str, color: usize, pts: &[CdfPoint]| {
            Line::new(label, rgb(PALETTE[color]), pts.iter().map(|p| (p.ms, p.fraction * 100.0)).collect())
        };
        out.push(Panel {
            y_floor: 100.0,
            y_cap: Some(100.0),
            x_desc: Some("latency (ms)"),
            cdf: true,
            ..Panel::time(
                format!("Latency distribution, cumulative ({} measured, successful requests)", latency.requests),
                "% of requests",
                (0.0, max * 1.02),
                vec![cdf("TTFT", 0, &latency.ttft), cdf("E2E", 3, &latency.e2e)],
            )
        });
    }
    out
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

type Area<'a> = DrawingArea<TextBackend<'a>, plotters::coord::Shift>;

/// `text`, cut with an ellipsis to fit `max_w` pixels in `style`.
fn fit(area: &Area<'_>, text: &str, style: &TextStyle<'_>, max_w: u32) -> String {
    let width = |t: &str| area.estimate_text_size(t, style).map(|s| s.0).unwrap_or(0);
    if width(text) <= max_w {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let t: String = chars[..mid].iter().collect::<String>() + "…";
        if width(&t) <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().collect::<String>() + "…"
}

/// `12.3 ms`, `1.23 s`: latencies as people read them.
fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} s", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

/// The key results of a report, as (label, value, is bad).
fn key_results(r: &RunReport) -> Vec<(String, String, bool)> {
    let lat = |count: u64, v: f64| if count > 0 { ms(v) } else { "—".into() };
    let total = r.requests_completed + r.requests_failed;
    let errors = if r.requests_failed == 0 {
        format!("0 of {total}")
    } else {
        format!("{} of {total} ({:.1} %)", r.requests_failed, 100.0 * r.requests_failed as f64 / total.max(1) as f64)
    };
    let mut out = vec![
        ("output tok/s".to_owned(), format!("{:.1}", r.output_tokens_per_s), false),
        (
            "TTFT p50 / p99".to_owned(),
            format!("{} / {}", lat(r.ttft_ms.count, r.ttft_ms.p50), lat(r.ttft_ms.count, r.ttft_ms.p99)),
            false,
        ),
        ("ITL p50".to_owned(), lat(r.itl_ms.count, r.itl_ms.p50), false),
        ("E2E p99".to_owned(), lat(r.e2e_ms.count, r.e2e_ms.p99), false),
        ("errors".to_owned(), errors, r.requests_failed > 0),
    ];
    if let Some(g) = &r.gpu {
        if let Some(j) = g.j_per_output_token {
            let label = if g.simulated { "energy / token (simulated)" } else { "energy / output token" };
            out.push((label.to_owned(), format!("{j:.3} J"), false));
        }
    }
    out
}

fn header(root: &Area<'_>, view: &RunView, series: &RunSeries) -> anyhow::Result<()> {
    let inner = WIDTH - 2 * MARGIN as u32;
    // Title, with the demo / simulated tags after it.
    let mut tags: Vec<&str> = Vec::new();
    if view.demo {
        tags.push("demo target");
    }
    if simulated(series) {
        tags.push("simulated GPU telemetry");
    }
    let tag_style = bold(17, SIM);
    let tag_w: u32 = tags.iter().map(|t| root.estimate_text_size(t, &tag_style).map(|s| s.0 + 40).unwrap_or(0)).sum();
    let title_style = bold(34, TEXT);
    let name = match (view.spec.name.trim().is_empty(), view.id.is_empty()) {
        (true, true) => "tokenscope run".to_owned(),
        _ => display_name(&view.spec.name, &view.id),
    };
    let title = fit(root, &name, &title_style, inner.saturating_sub(tag_w + 220));
    root.draw_text(&title, &title_style, (MARGIN, 24)).map_err(draw_err)?;
    let mut x = MARGIN + root.estimate_text_size(&title, &title_style).map_err(draw_err)?.0 as i32 + 20;
    let status_style = bold(19, if view.status.is_live() { SIM } else { MUTED });
    let status = view.status.as_str();
    let sw = root.estimate_text_size(status, &status_style).map_err(draw_err)?.0 as i32;
    pill(root, x, 30, sw, status, &status_style, AXIS)?;
    x += sw + 36;
    for t in tags {
        let tw = root.estimate_text_size(t, &tag_style).map_err(draw_err)?.0 as i32;
        pill(root, x, 31, tw, t, &tag_style, SIM)?;
        x += tw + 40;
    }

    // What ran, where, when.
    let backend = serde_json::to_value(view.spec.backend).ok().and_then(|v| v.as_str().map(str::to_owned));
    let meta = format!(
        "{} · backend {} · model {} · {} · started {}",
        view.spec.target,
        backend.unwrap_or_else(|| "generic".into()),
        view.spec.model.as_deref().unwrap_or("auto"),
        describe_load(&view.spec),
        format_utc(view.started_unix_ms),
    );
    let meta_style = font(20, MUTED);
    root.draw_text(&fit(root, &meta, &meta_style, inner), &meta_style, (MARGIN, 78)).map_err(draw_err)?;

    // Key results: the run's report, or the best step of a sweep.
    let top = 118;
    let report = headline(view.result.as_ref());
    let Some(r) = report else {
        let why = view.verdict.clone().unwrap_or_else(|| format!("the run is {}", view.status.as_str()));
        let style = font(22, BAD);
        return root
            .draw_text(&fit(root, &format!("no report: {why}"), &style, inner), &style, (MARGIN, top + 24))
            .map_err(draw_err);
    };
    let results = key_results(r);
    let n = results.len() as i32;
    let box_w = (inner as i32 - (n - 1) * 12) / n;
    for (i, (label, value, bad)) in results.iter().enumerate() {
        let x0 = MARGIN + i as i32 * (box_w + 12);
        root.draw(&Rectangle::new([(x0, top), (x0 + box_w, top + 84)], PANEL.filled())).map_err(draw_err)?;
        let ls = font(17, MUTED);
        root.draw_text(&fit(root, label, &ls, box_w as u32 - 24), &ls, (x0 + 14, top + 14)).map_err(draw_err)?;
        let vs = bold(28, if *bad { BAD } else { TEXT });
        root.draw_text(&fit(root, value, &vs, box_w as u32 - 24), &vs, (x0 + 14, top + 44)).map_err(draw_err)?;
    }
    if let Some(RunResult::Sweep(s)) = &view.result {
        let note = match s.best_step {
            Some(i) => format!("sweep of {} steps: these figures are those of the best step, {}", s.steps.len(), i + 1),
            None => format!(
                "sweep of {} steps: these figures are those of the last step (none met the SLOs)",
                s.steps.len()
            ),
        };
        root.draw_text(&note, &font(16, MUTED), (MARGIN, top + 94)).map_err(draw_err)?;
    }
    Ok(())
}

/// A rounded-ish tag: text in a thin frame.
fn pill(
    root: &Area<'_>,
    x: i32,
    y: i32,
    text_w: i32,
    text: &str,
    style: &TextStyle<'_>,
    frame: RGBColor,
) -> anyhow::Result<()> {
    root.draw(&Rectangle::new([(x, y - 4), (x + text_w + 20, y + 26)], frame.stroke_width(2))).map_err(draw_err)?;
    root.draw_text(text, style, (x + 10, y + 2)).map_err(draw_err)
}

/// `1500`, `2.5`, `0.25`: axis numbers without trailing noise.
fn axis_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        trim(format!("{v:.1}"))
    } else if a >= 1.0 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The y range of `lines`: 0 to a rounded-up maximum with headroom, at least `floor`, at most `cap` when the data
/// fits under it.
fn y_top(lines: &[&Line], floor: f64, cap: Option<f64>) -> f64 {
    let hi = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).filter(|v| v.is_finite()).fold(0.0, f64::max);
    match cap {
        Some(c) if hi <= c && c > 0.0 => c,
        _ if hi <= floor => floor.max(f64::MIN_POSITIVE),
        _ => fine_ceiling(hi * 1.05),
    }
}

/// Rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × a power of ten: a static image keeps more of its height for
/// the data than the live charts, whose axes must not twitch with every point.
fn fine_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    let step = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0].into_iter().find(|s| v / mag <= *s + 1e-9);
    step.unwrap_or(10.0) * mag
}

fn panel(area: &Area<'_>, p: &Panel) -> anyhow::Result<()> {
    area.fill(&PANEL).map_err(draw_err)?;
    let (w, h) = area.dim_in_pixel();
    // Caption, then the legend to its right on the same row: never over the data.
    let title_style = bold(21, TEXT);
    area.draw_text(&p.title, &title_style, (16, 12)).map_err(draw_err)?;
    let mut x = 16 + area.estimate_text_size(&p.title, &title_style).map_err(draw_err)?.0 as i32 + 14;
    if let Some(flag) = p.flag {
        let fs = font(17, SIM);
        area.draw_text(&format!("· {flag}"), &fs, (x, 15)).map_err(draw_err)?;
        x += area.estimate_text_size(&format!("· {flag}"), &fs).map_err(draw_err)?.0 as i32 + 14;
    }
    if p.is_empty() {
        let style = font(19, MUTED);
        let text = fit(area, &p.empty, &style, w - 60);
        return area.draw_text(&text, &style, (16, CAPTION_H + 14)).map_err(draw_err);
    }
    legend(area, p, x.max(w as i32 / 2 - 120), w as i32 - 16)?;

    let chart_area = area.clone().shrink((0, CAPTION_H), (w, h - CAPTION_H as u32));
    let x_label_h = if p.x_desc.is_some() { X_DESC_H } else { X_LABEL_H };
    let left: Vec<&Line> = p.lines.iter().filter(|l| !l.right).collect();
    let right: Vec<&Line> = p.lines.iter().filter(|l| l.right).collect();
    let top = y_top(&left, p.y_floor, p.y_cap);
    let x = if p.x.1 > p.x.0 { p.x } else { (p.x.0, p.x.0 + 1.0) };
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .margin_top(if p.marks.is_empty() { 8 } else { 22 })
        .margin_left(6)
        .x_label_area_size(x_label_h)
        .y_label_area_size(Y_LABEL_W);
    // Every panel keeps the same plot width (one time axis): the right axis' room is a margin where none is drawn.
    let dual = !right.is_empty() && p.right_desc.is_some();
    if dual {
        builder.right_y_label_area_size(RIGHT_LABEL_W);
    } else {
        builder.margin_right(RIGHT_LABEL_W);
    }
    let chart = builder.build_cartesian_2d(x.0..x.1, 0.0..top).map_err(draw_err)?;
    let buckets = (w as usize / 2).max(50);
    if !dual {
        let mut chart = chart;
        return primary(&mut chart, p, &left, x, top, buckets);
    }
    let rtop = y_top(&right, 1.0, None);
    let mut chart = chart.set_secondary_coord(x.0..x.1, 0.0..rtop);
    primary(&mut chart, p, &left, x, top, buckets)?;
    let y_fmt = |v: &f64| axis_num(*v);
    chart
        .configure_secondary_axes()
        .axis_style(AXIS)
        .label_style(font(16, MUTED))
        .axis_desc_style(font(17, MUTED))
        .y_labels(5)
        .y_label_formatter(&y_fmt)
        .y_desc(p.right_desc.unwrap_or_default())
        .draw()
        .map_err(draw_err)?;
    for l in &right {
        for piece in l.pieces() {
            let pts = clip(piece, x, buckets);
            chart.draw_secondary_series(LineSeries::new(pts, l.color.stroke_width(2))).map_err(draw_err)?;
        }
    }
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, TextBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The mesh, the step markers and the left-axis lines of a panel.
fn primary(
    chart: &mut Chart<'_, '_>,
    p: &Panel,
    lines: &[&Line],
    x: (f64, f64),
    top: f64,
    buckets: usize,
) -> anyhow::Result<()> {
    let x_fmt = |v: &f64| axis_num(*v);
    let y_fmt = |v: &f64| axis_num(*v);
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(GRID)
        .light_line_style(PANEL)
        .axis_style(AXIS)
        .label_style(font(16, MUTED))
        .axis_desc_style(font(17, MUTED))
        .x_labels(16)
        .y_labels(5)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_desc(p.y_desc);
    if let Some(d) = p.x_desc {
        mesh.x_desc(d);
    }
    mesh.draw().map_err(draw_err)?;
    for (mx, label) in &p.marks {
        if *mx > x.0 && *mx < x.1 {
            chart
                .draw_series(DashedLineSeries::new(vec![(*mx, 0.0), (*mx, top)], 6, 6, AXIS.stroke_width(2)))
                .map_err(draw_err)?;
            // Above the plot (in its top margin), never over the data.
            let style = font(15, MUTED).pos(Pos::new(HPos::Center, VPos::Bottom));
            chart.draw_series(std::iter::once(Text::new(label.clone(), (*mx, top), style))).map_err(draw_err)?;
        }
    }
    for l in lines {
        for piece in l.pieces() {
            let pts = clip(piece, x, buckets);
            if l.dashed {
                chart.draw_series(DashedLineSeries::new(pts, 10, 8, l.color.stroke_width(2))).map_err(draw_err)?;
            } else {
                chart.draw_series(LineSeries::new(pts, l.color.stroke_width(2))).map_err(draw_err)?;
            }
        }
    }
    Ok(())
}

/// The points inside the x range, min/max-downsampled to about `2 × buckets`.
fn clip(points: &[(f64, f64)], x: (f64, f64), buckets: usize) -> Vec<(f64, f64)> {
    let inside: Vec<(f64, f64)> =
        points.iter().copied().filter(|p| p.0 >= x.0 && p.0 <= x.1 && p.1.is_finite()).collect();
    minmax(&inside, buckets)
}

/// The panel's legend on its caption row, from `from` to `to` (pixels), right-aligned.
fn legend(area: &Area<'_>, p: &Panel, from: i32, to: i32) -> anyhow::Result<()> {
    let style = font(17, MUTED);
    let items: Vec<(&Line, u32)> = p
        .lines
        .iter()
        .filter(|l| !l.points.is_empty())
        .map(|l| (l, area.estimate_text_size(&l.label, &style).map(|s| s.0).unwrap_or(0)))
        .collect();
    let total: i32 = items.iter().map(|(_, w)| *w as i32 + 26 + 22).sum();
    let mut x = (to - total).max(from);
    for (l, tw) in items {
        let y = 24;
        let swatch = if l.dashed {
            PathElement::new(vec![(x, y), (x + 7, y)], l.color.stroke_width(3))
        } else {
            PathElement::new(vec![(x, y), (x + 20, y)], l.color.stroke_width(3))
        };
        area.draw(&swatch).map_err(draw_err)?;
        if l.dashed {
            area.draw(&PathElement::new(vec![(x + 13, y), (x + 20, y)], l.color.stroke_width(3))).map_err(draw_err)?;
        }
        let label = fit(area, &l.label, &style, (to - x - 26).max(0) as u32);
        area.draw_text(&label, &style, (x + 26, 15)).map_err(draw_err)?;
        x += tw as i32 + 26 + 22;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use app::protocol::gpu::GpuInfo;
    use app::protocol::live_run::{Progress, RunStatus};

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
            index,
            name: "NVIDIA H200".into(),
            uuid: format!("GPU-{index}"),
            driver_version: "580.65.06".into(),
            memory_total_bytes: Some(141 << 30),
            power_limit_w: Some(700.0),
            max_sm_clock_mhz: None,
            max_mem_clock_mhz: None,
            pci_bus_id: None,
            architecture: None,
            gpm_supported: false,
            simulated: false,
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
