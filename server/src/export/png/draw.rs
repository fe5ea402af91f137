//! Drawing the title block and the panels onto the bitmap.

use super::*;

pub(super) type Area<'a> = DrawingArea<TextBackend<'a>, plotters::coord::Shift>;

/// `12.3 ms`, `1.23 s`: latencies as people read them.
pub(super) fn ms(v: f64) -> String {
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
pub(super) fn key_results(r: &RunReport) -> Vec<(String, String, bool)> {
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

pub(super) fn header(root: &Area<'_>, view: &RunView, series: &RunSeries) -> anyhow::Result<()> {
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
    let status = &protocol::archive::Outcome::status_line(view);
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
        protocol::spec::redact_target(&view.spec.target),
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
    let warnings = caveats(r, view.verdict.as_deref());
    if let (false, Some(RunResult::Single(_))) = (warnings.is_empty(), &view.result) {
        let style = font(16, BAD);
        root.draw_text(&fit(root, &warnings.join(" · "), &style, inner), &style, (MARGIN, top + 94))
            .map_err(draw_err)?;
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

/// What a reader of the image must know before trusting its figures: the verdict, a client that set the pace,
/// token counts that are estimates.
fn caveats(r: &protocol::report::RunReport, verdict: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = verdict {
        out.push(format!("verdict: {v}"));
    }
    if r.client_bound {
        out.push("CLIENT-BOUND: the client set the pace (see the report)".to_owned());
    }
    if r.input_tokens_source == "estimate" {
        out.push("prompt lengths are ESTIMATES (no tokenizer)".to_owned());
    }
    if r.output_tokens_source == "chunks" {
        out.push("output tokens are CHUNK COUNTS (no usage, no tokenizer)".to_owned());
    }
    out
}

/// A rounded-ish tag: text in a thin frame.
pub(super) fn pill(
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
pub(super) fn axis_num(v: f64) -> String {
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

pub(super) fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The y range of `lines`: 0 to a rounded-up maximum with headroom, at least `floor`, at most `cap` when the data
/// fits under it.
pub(super) fn y_top(lines: &[&Line], floor: f64, cap: Option<f64>) -> f64 {
    let hi = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).filter(|v| v.is_finite()).fold(0.0, f64::max);
    match cap {
        Some(c) if hi <= c && c > 0.0 => c,
        _ if hi <= floor => floor.max(f64::MIN_POSITIVE),
        _ => fine_ceiling(hi * 1.05),
    }
}

/// Rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × a power of ten: a static image keeps more of its height for
/// the data than the live charts, whose axes must not twitch with every point.
pub(super) fn fine_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    let step = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0].into_iter().find(|s| v / mag <= *s + 1e-9);
    step.unwrap_or(10.0) * mag
}

pub(super) fn panel(area: &Area<'_>, p: &Panel) -> anyhow::Result<()> {
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
        // Wrapped, never cut: the reason (a missing driver, a path) is what the reader needs.
        let style = font(EMPTY_TEXT_PX, MUTED);
        for (i, line) in wrap(&p.empty, EMPTY_TEXT_PX, false, w - 32).iter().enumerate() {
            area.draw_text(line, &style, (16, CAPTION_H + 14 + i as i32 * EMPTY_LINE_H as i32)).map_err(draw_err)?;
        }
        return Ok(());
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
            let (pts, style) = (clip(piece, x, buckets), l.color.stroke_width(2));
            match l.dash {
                Some((d, g)) => chart.draw_secondary_series(DashedLineSeries::new(pts, d, g, style)).map(|_| ()),
                None => chart.draw_secondary_series(LineSeries::new(pts, style)).map(|_| ()),
            }
            .map_err(draw_err)?;
        }
    }
    Ok(())
}

pub(super) type Chart<'a, 'b> = ChartContext<'a, TextBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The mesh, the step markers and the left-axis lines of a panel.
pub(super) fn primary(
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
    // Each step's start: a dashed line (none on the y axis itself) and its load above the plot, in its top
    // margin, never over the data; a label that would run into the previous one is left out.
    let style = font(15, MUTED).pos(Pos::new(HPos::Left, VPos::Bottom));
    let px = chart.plotting_area().get_pixel_range().0;
    let (px0, px1) = (px.start, px.end);
    let mut free_from = i32::MIN;
    for (mx, label) in &p.marks {
        if *mx < x.0 || *mx >= x.1 {
            continue;
        }
        if *mx > x.0 {
            chart
                .draw_series(DashedLineSeries::new(vec![(*mx, 0.0), (*mx, top)], 6, 6, AXIS.stroke_width(2)))
                .map_err(draw_err)?;
        }
        let at = chart.backend_coord(&(*mx, top)).0 + 4;
        let lw = text::text_width(label, 15, false) as i32;
        if at >= free_from && at + lw <= px1.max(px0) + RIGHT_LABEL_W as i32 {
            chart
                .draw_series(std::iter::once(Text::new(label.clone(), (*mx, top), style.clone())))
                .map_err(draw_err)?;
            free_from = at + lw + 8;
        }
    }
    for l in lines {
        draw_line(chart, l, x, buckets)?;
    }
    Ok(())
}

/// Draws `l` piece by piece (never joined across a break), solid or in its dash pattern.
pub(super) fn draw_line(chart: &mut Chart<'_, '_>, l: &Line, x: (f64, f64), buckets: usize) -> anyhow::Result<()> {
    for piece in l.pieces() {
        let pts = clip(piece, x, buckets);
        let style = l.color.stroke_width(2);
        match l.dash {
            Some((d, g)) => chart.draw_series(DashedLineSeries::new(pts, d, g, style)).map(|_| ()),
            None => chart.draw_series(LineSeries::new(pts, style)).map(|_| ()),
        }
        .map_err(draw_err)?;
    }
    Ok(())
}

/// The points inside the x range, min/max-downsampled to about `2 × buckets`.
pub(super) fn clip(points: &[(f64, f64)], x: (f64, f64), buckets: usize) -> Vec<(f64, f64)> {
    let inside: Vec<(f64, f64)> =
        points.iter().copied().filter(|p| p.0 >= x.0 && p.0 <= x.1 && p.1.is_finite()).collect();
    minmax(&inside, buckets)
}

/// The panel's legend on its caption row, from `from` to `to` (pixels), right-aligned; each swatch drawn in its
/// line's dash pattern.
pub(super) fn legend(area: &Area<'_>, p: &Panel, from: i32, to: i32) -> anyhow::Result<()> {
    let style = font(17, MUTED);
    let items: Vec<(&Line, u32)> = p
        .lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| (l, area.estimate_text_size(&l.label, &style).map(|s| s.0).unwrap_or(0)))
        .collect();
    let total: i32 = items.iter().map(|(_, w)| *w as i32 + 26 + 22).sum();
    let mut x = (to - total).max(from);
    for (l, tw) in items {
        let y = 24;
        for (a, b) in swatch(l.dash, 20) {
            area.draw(&PathElement::new(vec![(x + a, y), (x + b, y)], l.color.stroke_width(3))).map_err(draw_err)?;
        }
        let label = fit(area, &l.label, &style, (to - x - 26).max(0) as u32);
        area.draw_text(&label, &style, (x + 26, 15)).map_err(draw_err)?;
        x += tw as i32 + 26 + 22;
    }
    Ok(())
}
