//! Time-series charts drawn with plotters on a `<canvas>` (in the browser; the server renders the empty canvas).
//!
//! Every time chart of a page shares one x axis — seconds on the run's clock — so tokens/s, latency and GPU telemetry
//! line up. Series are downsampled min/max-preserving before drawing.

use leptos::{html::Canvas, prelude::*};

/// One line on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Line colour (RGB).
    pub color: (u8, u8, u8),
    /// (x seconds on the shared clock, y value), sorted by x.
    pub points: Vec<(f64, f64)>,
}

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

/// A titled chart: `series` against the shared x range `x_range` (seconds).
#[component]
pub fn TimeChart(
    /// Heading above the chart.
    title: &'static str,
    /// Y-axis unit, shown on the axis ("tok/s", "ms", "%", "W"…).
    y_unit: &'static str,
    /// The lines to draw.
    #[prop(into)]
    series: Signal<Vec<Series>>,
    /// Shared x range in seconds.
    #[prop(into)]
    x_range: Signal<(f64, f64)>,
    /// Smallest y maximum (e.g. 100 for percentages).
    #[prop(default = 1.0)]
    y_floor: f64,
    /// `data-testid` of the canvas.
    #[prop(default = "chart")]
    testid: &'static str,
    /// X-axis caption (a time axis in seconds unless told otherwise).
    #[prop(default = "time (s)")]
    x_desc: &'static str,
    /// Draw the legend on the canvas (pages that show one beside the chart turn it off).
    #[prop(default = true)]
    legend: bool,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let data = series.get();
        let xr = x_range.get();
        if let Some(el) = canvas.get() {
            draw::draw(&el, &data, xr, y_floor, (x_desc, y_unit), legend);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (series, x_range, y_floor, y_unit, x_desc, legend);
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <canvas node_ref=canvas data-testid=testid width="600" height="220"></canvas>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
mod draw {
    use plotters::prelude::*;
    use plotters_canvas::CanvasBackend;
    use web_sys::HtmlCanvasElement;

    use super::{tick_label, y_range, Series};
    use protocol::chart::minmax;

    const BG: RGBColor = RGBColor(23, 27, 33);
    const GRID: RGBColor = RGBColor(42, 49, 59);
    const TEXT: RGBColor = RGBColor(152, 162, 179);

    /// Draws `series` on `el`; `desc` is the (x, y) axis captions; `legend` draws the series' labels.
    pub fn draw(
        el: &HtmlCanvasElement,
        series: &[Series],
        x: (f64, f64),
        y_floor: f64,
        desc: (&str, &str),
        legend: bool,
    ) {
        // Match the drawing buffer to the laid-out size so text is not stretched.
        let w = el.client_width().max(200) as u32;
        if el.width() != w {
            el.set_width(w);
        }
        let Some(backend) = CanvasBackend::with_canvas_object(el.clone()) else { return };
        let root = backend.into_drawing_area();
        let _ = root.fill(&BG);
        let (y0, y1) = y_range(series, y_floor);
        let (x0, x1) = if x.1 > x.0 { x } else { (x.0, x.0 + 1.0) };
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
        else {
            return;
        };
        let _ = chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(BG)
            .axis_style(GRID)
            .label_style(("sans-serif", 12).into_font().color(&TEXT))
            .x_desc(desc.0)
            .y_desc(desc.1)
            // About one tick label per 80 px, so long labels ("12500") never run into each other.
            .x_labels((w as usize / 80).clamp(3, 8))
            .y_labels(5)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw();
        let buckets = (w as usize / 2).max(50);
        for s in series {
            let color = RGBColor(s.color.0, s.color.1, s.color.2);
            let pts = minmax(&s.points, buckets);
            if let Ok(ann) = chart.draw_series(LineSeries::new(pts, color.stroke_width(2))) {
                ann.label(s.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
            }
        }
        if legend && (series.len() > 1 || series.iter().any(|s| !s.label.is_empty())) {
            let _ = chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(BG.mix(0.8))
                .border_style(GRID)
                .label_font(("sans-serif", 12).into_font().color(&TEXT))
                .draw();
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
