//! `charts.png`: a run's charts as one image, drawn on the server with plotters' bitmap backend — the picture to
//! paste into a pull request. A title block (run, target, model, load, status, date and the key results), for a
//! sweep its table (a row per step, ★ on the best, SLO met/missed, the warnings), then panels on one time axis
//! (seconds since load start; a sweep's steps marked with their load and never joined): output tokens/s, TTFT,
//! ITL, load, and per GPU utilization, memory (to the card's size) and power; last, the latency distribution when
//! the run has request records.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (`server/assets/fonts`), so rendering needs no system
//! font libraries. The series, colours and labels follow the dashboard's charts (`app::components::run_charts`,
//! `gpu_view`); simulated GPU telemetry is labelled so in the legends, the panel titles and the title block.
//! Names, targets and models are drawn as text only: control and bidirectional characters as visible escapes, a
//! target URL without its credentials.

mod draw;
mod layout;
mod panels;
mod sweep_table;
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
use protocol::report::{RunReport, SweepReport};
use protocol::sweep::SloMark;
use protocol::{lines, sweep};

use draw::*;
use layout::*;
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
/// Text size and line height of an empty panel's explanation (wrapped, never cut).
const EMPTY_TEXT_PX: u32 = 19;
const EMPTY_LINE_H: u32 = 26;
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

/// Size of the image `render` draws for these inputs: [`WIDTH`] × (title block + a sweep's table + panels).
pub fn size(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> (u32, u32) {
    (WIDTH, height(view, &panels(view, series, latency)))
}

fn height(view: &RunView, panels: &[Panel]) -> u32 {
    HEADER_H + sweep_table::height(view) + panels.iter().map(|p| p.height() + GAP).sum::<u32>() + FOOTER_H
}

/// Renders the PNG of `view`'s charts from its stored `series` and latency distribution.
pub fn render(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> anyhow::Result<Vec<u8>> {
    if !text::fonts_ok() {
        return Err(anyhow!("the embedded DejaVu Sans fonts do not load"));
    }
    let panels = panels(view, series, latency);
    let (w, h) = (WIDTH, height(view, &panels));
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    {
        let root = TextBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&PAGE).map_err(draw_err)?;
        header(&root, view, series)?;
        sweep_table::draw(&root, view, HEADER_H as i32)?;
        let mut y = (HEADER_H + sweep_table::height(view)) as i32;
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
mod tests;
