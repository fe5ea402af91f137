//! Time-series charts drawn with plotters on a `<canvas>` (in the browser; the server renders the empty canvas).
//!
//! Every time chart of a page shares one x axis — seconds on the run's clock — so tokens/s, latency and GPU telemetry
//! line up. Series are downsampled min/max-preserving before drawing; a line is never joined across a break (a sweep
//! step, a gap in the data). Legends are HTML chips under the title; canvas colours come from the theme.

use leptos::{html::Canvas, prelude::*};

/// One line on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Line colour (RGB).
    pub color: (u8, u8, u8),
    /// (x seconds on the shared clock, y value), sorted by x. A point whose y is not finite
    /// ([`protocol::lines::BREAK`]) breaks the line: the points on either side are not joined.
    pub points: Vec<(f64, f64)>,
}

/// A vertical marker on a time chart: (x seconds, label) — a sweep step's start and its load.
pub type Marker = (f64, String);

pub use protocol::chart::PALETTE;

/// The y range to draw: from 0 (or the data's minimum when negative) to `floor` when the data stays under it
/// (percentages stop at 100), else to a rounded-up maximum with some headroom.
pub fn y_range(series: &[Series], floor: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0_f64, f64::MIN);
    for p in series.iter().flat_map(|s| s.points.iter()) {
        if p.1.is_finite() {
            lo = lo.min(p.1);
            hi = hi.max(p.1);
        }
    }
    let top = if hi <= floor { floor.max(f64::MIN_POSITIVE) } else { nice_ceiling(hi * 1.1) };
    (lo, top)
}

/// Rounds up to 1, 2 or 5 × a power of ten, so axis ranges don't twitch with every new point.
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    let n = v / mag;
    let step = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

/// The y range of `series` as [`y_range`], ending at `cap` when the data stays under it (a GPU's memory axis ends at
/// the card's size rather than at a rounded-up value past it).
pub fn y_bounds(series: &[Series], floor: f64, cap: Option<f64>) -> (f64, f64) {
    let (lo, top) = y_range(series, floor);
    let hi = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|v| v.is_finite()).fold(lo, f64::max);
    match cap {
        Some(c) if c > lo && hi <= c => (lo, c),
        _ => (lo, top),
    }
}

/// The legend swatch of the `index`-th series as an inline CSS background: solid, or its dash pattern
/// ([`protocol::lines::dash`]) scaled to the swatch.
pub fn swatch_style(color: (u8, u8, u8), index: usize) -> String {
    let c = format!("rgb({},{},{})", color.0, color.1, color.2);
    let shape = "display:inline-block;width:22px;height:3px;margin-right:6px;vertical-align:middle";
    match protocol::lines::dash(index) {
        None => format!("{shape};background:{c}"),
        Some((d, g)) => {
            let (d, g) = (d.clamp(2, 7), g.clamp(2, 5));
            format!("{shape};background:repeating-linear-gradient(90deg,{c} 0 {d}px,transparent {d}px {}px)", d + g)
        }
    }
}

/// A titled chart: `series` against the shared x range `x_range` (seconds), the legend under the title as HTML
/// chips (never over the data), and `markers` (a sweep's step starts) as dashed vertical lines with their labels.
/// Colours follow the theme: the chart redraws when it changes.
#[component]
pub fn TimeChart(
    /// Heading above the chart.
    title: &'static str,
    /// Y-axis unit, shown on the axis ("tok/s", "ms", "%", "W"…).
    y_unit: &'static str,
    /// The lines to draw. The second and later are dashed, each in its own pattern, so a line lying exactly on
    /// another one still shows.
    #[prop(into)]
    series: Signal<Vec<Series>>,
    /// Shared x range in seconds.
    #[prop(into)]
    x_range: Signal<(f64, f64)>,
    /// Smallest y maximum (e.g. 100 for percentages).
    #[prop(default = 1.0)]
    y_floor: f64,
    /// A fixed y maximum when the data stays under it (a GPU's installed memory).
    #[prop(into, optional)]
    y_cap: Signal<Option<f64>>,
    /// Vertical markers: (x seconds, label), e.g. each sweep step's start and load. Their count is the canvas'
    /// `data-markers`.
    #[prop(into, optional)]
    markers: Signal<Vec<Marker>>,
    /// `data-testid` of the canvas (its legend's is this + `-legend`).
    #[prop(default = "chart")]
    testid: &'static str,
    /// X-axis caption (a time axis in seconds unless told otherwise).
    #[prop(default = "time (s)")]
    x_desc: &'static str,
    /// Show the legend under the title (pages that show one beside the chart turn it off).
    #[prop(default = true)]
    legend: bool,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        crate::theme::track();
        let data = series.get();
        let xr = x_range.get();
        let marks = markers.get();
        let cap = y_cap.get();
        if let Some(el) = canvas.get() {
            let axes = draw::Axes { x: xr, y_floor, y_cap: cap, desc: (x_desc, y_unit) };
            draw::draw(&el, &data, &axes, &marks, crate::theme::chart_colors());
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (x_range, y_floor, y_cap, y_unit, x_desc);
    let chips = move || {
        let list = series.get();
        let show = legend && (list.len() > 1 || list.iter().any(|s| !s.label.is_empty()));
        show.then(|| {
            list.into_iter()
                .enumerate()
                .map(|(i, s)| {
                    view! {
                        <li class="legend-chip">
                            <span class="legend-swatch" style=swatch_style(s.color, i)></span>
                            {s.label}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            {legend
                .then(|| {
                    view! {
                        <ul class="legend chart-legend" data-testid=format!("{testid}-legend")>
                            {chips}
                        </ul>
                    }
                })}
            <canvas
                node_ref=canvas
                data-testid=testid
                data-markers=move || markers.with(Vec::len)
                width="600"
                height="220"
            ></canvas>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
pub(crate) mod draw {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    use plotters_canvas::CanvasBackend;
    use web_sys::HtmlCanvasElement;

    use super::{tick_label, y_bounds, Marker, Series};
    use crate::theme::ChartColors;
    use protocol::chart::minmax;
    use protocol::lines;

    /// What the axes show.
    pub struct Axes<'a> {
        /// X range, seconds.
        pub x: (f64, f64),
        /// Smallest y maximum.
        pub y_floor: f64,
        /// Fixed y maximum when the data stays under it.
        pub y_cap: Option<f64>,
        /// (x, y) axis captions.
        pub desc: (&'a str, &'a str),
    }

    /// A palette colour for plotters.
    pub fn rgb(c: (u8, u8, u8)) -> RGBColor {
        RGBColor(c.0, c.1, c.2)
    }

    /// The theme's background, grid and text colours for plotters.
    pub struct Paint {
        /// Plot background.
        pub bg: RGBColor,
        /// Grid and axis lines.
        pub grid: RGBColor,
        /// Labels and captions.
        pub text: RGBColor,
    }

    /// `el`'s drawing buffer matched to its laid-out width (at least `min_width`, so text is not stretched), filled
    /// with the theme's background: the drawing area, the theme's paint and the width in pixels.
    pub fn canvas(
        el: &HtmlCanvasElement,
        min_width: i32,
        colors: ChartColors,
    ) -> Option<(DrawingArea<CanvasBackend, plotters::coord::Shift>, Paint, u32)> {
        let w = el.client_width().max(min_width) as u32;
        if el.width() != w {
            el.set_width(w);
        }
        let root = CanvasBackend::with_canvas_object(el.clone())?.into_drawing_area();
        let paint = Paint { bg: rgb(colors.bg), grid: rgb(colors.grid), text: rgb(colors.text) };
        let _ = root.fill(&paint.bg);
        Some((root, paint, w))
    }

    /// Draws `series` and `markers` on `el` in the theme's `colors`.
    pub fn draw(el: &HtmlCanvasElement, series: &[Series], axes: &Axes<'_>, markers: &[Marker], colors: ChartColors) {
        let Some((root, Paint { bg, grid, text }, w)) = canvas(el, 200, colors) else { return };
        let (y0, y1) = y_bounds(series, axes.y_floor, axes.y_cap);
        let (x0, x1) = if axes.x.1 > axes.x.0 { axes.x } else { (axes.x.0, axes.x.0 + 1.0) };
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(8)
            // Room above the plot for the markers' labels, never over the data.
            .margin_top(if markers.is_empty() { 8 } else { 20 })
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
        else {
            return;
        };
        let _ = chart
            .configure_mesh()
            .bold_line_style(grid)
            .light_line_style(bg)
            .axis_style(grid)
            .label_style(("sans-serif", 12).into_font().color(&text))
            .x_desc(axes.desc.0)
            .y_desc(axes.desc.1)
            // About one tick label per 80 px, so long labels ("12500") never run into each other.
            .x_labels((w as usize / 80).clamp(3, 8))
            .y_labels(5)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw();
        // Step starts: a dashed line (none on the y axis itself) and the load just above the plot, left-aligned;
        // a label that would run into the previous one is left out (the line stays).
        let style = ("sans-serif", 11).into_font().color(&text).pos(Pos::new(HPos::Left, VPos::Bottom));
        let mut free_from = i32::MIN;
        for (mx, label) in markers.iter().filter(|(mx, _)| *mx >= x0 && *mx < x1) {
            if *mx > x0 {
                let line = DashedLineSeries::new(vec![(*mx, y0), (*mx, y1)], 5, 4, text.mix(0.6).stroke_width(1));
                let _ = chart.draw_series(line);
            }
            let at = chart.backend_coord(&(*mx, y1)).0 + 3;
            if at >= free_from {
                let _ = chart.draw_series(std::iter::once(
                    EmptyElement::at((*mx, y1)) + Text::new(label.clone(), (3, -2), style.clone()),
                ));
                // An estimate of the label's width at 11 px (no text metrics without a font stack here).
                free_from = at + (label.chars().count() as i32 * 7) + 8;
            }
        }
        let span = (x1 - x0).max(f64::MIN_POSITIVE);
        let buckets = (w as usize / 2).max(50);
        for (i, s) in series.iter().enumerate() {
            let style = rgb(s.color).stroke_width(2);
            for piece in lines::pieces(&s.points) {
                // Each piece gets its share of the buckets, so a broken line is as detailed as a whole one.
                let piece_span = piece.last().map_or(0.0, |l| l.0) - piece[0].0;
                let pts = minmax(piece, ((buckets as f64 * piece_span / span) as usize).max(8));
                let _ = match lines::dash(i) {
                    Some((d, g)) => chart.draw_series(DashedLineSeries::new(pts, d, g, style)).map(|_| ()),
                    None => chart.draw_series(LineSeries::new(pts, style)).map(|_| ()),
                };
            }
        }
        let _ = root.present();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(87.0), 100.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(6000.0), 10_000.0);
    }

    #[test]
    fn y_range_covers_data_and_floor() {
        let s = vec![Series { label: "a".into(), color: PALETTE[0], points: vec![(0.0, 40.0), (1.0, 55.0)] }];
        assert_eq!(y_range(&s, 100.0), (0.0, 100.0));
        assert_eq!(y_range(&s, 1.0), (0.0, 100.0));
        assert_eq!(y_range(&[], 1.0), (0.0, 1.0));
        let full = vec![Series { label: "u".into(), color: PALETTE[0], points: vec![(0.0, 100.0)] }];
        assert_eq!(y_range(&full, 100.0), (0.0, 100.0), "100 % stays on a 0–100 axis");
    }

    #[test]
    fn a_cap_ends_the_axis_at_the_cards_memory() {
        let used = vec![Series { label: "used".into(), color: PALETTE[4], points: vec![(0.0, 120.0), (1.0, 130.0)] }];
        assert_eq!(y_bounds(&used, 1.0, None), (0.0, 200.0), "rounded up past a 141 GiB card");
        assert_eq!(y_bounds(&used, 1.0, Some(141.0)), (0.0, 141.0));
        assert_eq!(y_bounds(&used, 1.0, Some(80.0)), (0.0, 200.0), "data over the cap is never cut off");
        let broken =
            vec![Series { points: vec![(0.0, 5.0), (1.0, protocol::lines::BREAK), (1.0, 7.0)], ..used[0].clone() }];
        assert_eq!(y_bounds(&broken, 1.0, Some(141.0)), (0.0, 141.0), "a break is not a value");
    }

    #[test]
    fn legend_swatches_show_each_line_pattern() {
        assert!(swatch_style((1, 2, 3), 0).ends_with("background:rgb(1,2,3)"));
        let dashed = swatch_style((1, 2, 3), 1);
        assert!(dashed.contains("repeating-linear-gradient(90deg,rgb(1,2,3) 0 7px,transparent 7px 12px)"), "{dashed}");
        assert_ne!(swatch_style((1, 2, 3), 2), dashed);
    }
}

/// An axis tick: whole numbers without a fractional part ("20", "12500"), others with at most two decimals.
pub fn tick_label(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tick_tests {
    use super::tick_label;

    #[test]
    fn ticks_drop_needless_decimals() {
        assert_eq!(tick_label(20.0), "20");
        assert_eq!(tick_label(12500.0), "12500");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(0.375), "0.38");
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(-0.0), "0");
        assert_eq!(tick_label(-5.0), "-5");
    }
}
