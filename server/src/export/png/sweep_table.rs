//! A sweep's table under the title block: one compact row per step (the shared rows of `protocol::sweep`), ★ on
//! the best, SLO met / missed in colour, then the best step in words and a warning per step too short or too small
//! to trust — wrapped, never cut.

use super::*;

const ROW_H: u32 = 30;
const TEXT_PX: u32 = 17;
const NOTE_PX: u32 = 17;
const NOTE_H: u32 = 25;
const PAD: u32 = 10;

/// (heading, width in pixels, right-aligned) of each column.
const COLUMNS: [(&str, i32, bool); 11] = [
    ("step", 80, false),
    ("load", 200, false),
    ("out tok/s", 130, true),
    ("req/s", 100, true),
    ("TTFT p50", 130, true),
    ("TTFT p99", 130, true),
    ("TPOT p50", 130, true),
    ("ITL p50", 120, true),
    ("E2E p99", 130, true),
    ("ok / failed", 150, true),
    ("SLO", 120, true),
];

fn inner() -> u32 {
    WIDTH - 2 * MARGIN as u32
}

/// The notes under the table: the best step, then the warnings, each as its wrapped lines with its colour.
fn notes(s: &SweepReport) -> Vec<(Vec<String>, RGBColor)> {
    let mut out = vec![(wrap(&sweep::best_line(s), NOTE_PX, true, inner()), TEXT)];
    for w in sweep::rows(s).into_iter().filter_map(|r| r.warning) {
        out.push((wrap(&format!("⚠ {w}"), NOTE_PX, false, inner()), SIM));
    }
    out
}

/// Height of the table block of `view` (0 when it is not a sweep), its bottom gap included.
pub(super) fn height(view: &RunView) -> u32 {
    let Some(RunResult::Sweep(s)) = &view.result else { return 0 };
    let note_lines: u32 = notes(s).iter().map(|(l, _)| l.len() as u32).sum();
    PAD + ROW_H * (1 + s.steps.len() as u32) + PAD + note_lines * NOTE_H + GAP
}

/// Draws the table block of `view` from `top` (pixels), when it is a sweep.
pub(super) fn draw(root: &Area<'_>, view: &RunView, top: i32) -> anyhow::Result<()> {
    let Some(RunResult::Sweep(s)) = &view.result else { return Ok(()) };
    let rows = sweep::rows(s);
    let table_h = ROW_H * (1 + rows.len() as u32) + PAD;
    let x0 = MARGIN;
    root.draw(&Rectangle::new([(x0, top), (x0 + inner() as i32, top + (PAD + table_h) as i32)], PANEL.filled()))
        .map_err(draw_err)?;
    let cell = |text: &str, col: usize, y: i32, style: &TextStyle<'_>| -> anyhow::Result<()> {
        let left: i32 = x0 + 14 + COLUMNS[..col].iter().map(|c| c.1).sum::<i32>();
        let (_, w, right) = COLUMNS[col];
        let text = fit(root, text, style, w as u32 - 12);
        let tw = root.estimate_text_size(&text, style).map_err(draw_err)?.0 as i32;
        let x = if right { left + w - 12 - tw } else { left };
        root.draw_text(&text, style, (x, y)).map_err(draw_err)
    };
    let mut y = top + PAD as i32 + 6;
    let head = font(15, MUTED);
    for (i, (name, _, _)) in COLUMNS.iter().enumerate() {
        cell(name, i, y + 2, &head)?;
    }
    let lat = |v: Option<f64>| v.map(ms).unwrap_or_else(|| "—".into());
    for r in &rows {
        y += ROW_H as i32;
        root.draw(&PathElement::new(vec![(x0 + 8, y - 6), (x0 + inner() as i32 - 8, y - 6)], GRID.stroke_width(1)))
            .map_err(draw_err)?;
        let body = if r.best { bold(TEXT_PX, TEXT) } else { font(TEXT_PX, TEXT) };
        let step = if r.best { format!("★ {}", r.step) } else { format!("{}", r.step) };
        let failed = format!("{} / {}", r.completed, r.failed);
        let values = [
            step,
            r.load.clone(),
            format!("{:.1}", r.output_tokens_per_s),
            format!("{:.2}", r.requests_per_s),
            lat(r.ttft_p50_ms),
            lat(r.ttft_p99_ms),
            lat(r.tpot_p50_ms),
            lat(r.itl_p50_ms),
            lat(r.e2e_p99_ms),
            failed,
        ];
        for (i, v) in values.iter().enumerate() {
            let style = if i == 9 && r.failed > 0 { font(TEXT_PX, BAD) } else { body.clone() };
            cell(v, i, y, &style)?;
        }
        let slo = match r.slo {
            SloMark::Met => font(TEXT_PX, rgb(PALETTE[1])),
            SloMark::Missed => bold(TEXT_PX, BAD),
            SloMark::NotSet => font(TEXT_PX, MUTED),
        };
        cell(r.slo.as_str(), 10, y, &slo)?;
    }
    let mut y = top + (PAD + table_h + PAD) as i32;
    for (i, (lines, color)) in notes(s).into_iter().enumerate() {
        let style = if i == 0 { bold(NOTE_PX, color) } else { font(NOTE_PX, color) };
        for l in lines {
            root.draw_text(&l, &style, (x0, y)).map_err(draw_err)?;
            y += NOTE_H as i32;
        }
    }
    Ok(())
}
