//! The Compare page's throughput against latency: one point per step (a single run is one point), x = TTFT p99 on a
//! log axis, y = output tok/s (log when the values span more than 20×, else linear from 0), each point labelled with
//! its load (`c=4`, `8 rps`), a run's points joined in load order, the compared steps ringed.
//!
//! Both axes are drawn in transformed space (log10 where logarithmic) with ticks of our own at 1-2-5 values, since
//! plotters' log axis puts no tick at all on a range that holds no power of ten.

use leptos::{html::Canvas, prelude::*};

use super::chart::{nice_ceiling, PALETTE};
use super::compare_table::Compared;
use protocol::archive::reports;
use protocol::compare::summary::figure;
use protocol::compare::Level;

/// One step of a run on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPoint {
    /// TTFT p99, ms (> 0).
    pub ttft_p99_ms: f64,
    /// Output tok/s (> 0).
    pub tok_s: f64,
    /// The load: `c=4`, `8 rps`.
    pub label: String,
    /// True for the step the page compares.
    pub chosen: bool,
}

/// One run on the chart: its points in load order.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterRun {
    /// The run's name.
    pub name: String,
    /// Its colour.
    pub color: (u8, u8, u8),
    /// Its steps with latency samples and tokens, by load.
    pub points: Vec<ScatterPoint>,
}

/// The points of every run (`steps`: the compared step per run).
pub fn scatter_runs(runs: &[Compared], steps: &[usize]) -> Vec<ScatterRun> {
    runs.iter()
        .enumerate()
        .map(|(i, c)| {
            let mut pts: Vec<(f64, ScatterPoint)> = reports(c.view.result.as_ref())
                .into_iter()
                .enumerate()
                .filter(|(_, r)| r.ttft_ms.count > 0 && r.ttft_ms.p99 > 0.0 && r.output_tokens_per_s > 0.0)
                .map(|(s, r)| {
                    let level = Level::of(&r.load);
                    let point = ScatterPoint {
                        ttft_p99_ms: r.ttft_ms.p99,
                        tok_s: r.output_tokens_per_s,
                        label: level.short(),
                        chosen: steps.get(i) == Some(&s),
                    };
                    (level.value(), point)
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            ScatterRun {
                name: c.name(),
                color: PALETTE[i % PALETTE.len()],
                points: pts.into_iter().map(|p| p.1).collect(),
            }
        })
        .collect()
}

/// One axis: its ends in data units and whether it is logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// Lower end (data units).
    pub lo: f64,
    /// Upper end (data units).
    pub hi: f64,
    /// Logarithmic.
    pub log: bool,
}

impl Axis {
    /// A log axis over `min..max` (both > 0) with a margin of 15 % of its span (at least 1/100 of a decade) on
    /// each side: close values are spread out, not drawn as one vertical line.
    pub fn log(min: f64, max: f64) -> Self {
        let (min, max) = if min > 0.0 && max >= min { (min, max) } else { (1.0, 10.0) };
        let pad = 10f64.powf(((max / min).log10() * 0.15).max(0.01));
        Axis { lo: min / pad, hi: max * pad, log: true }
    }

    /// The throughput axis: log when the values span more than 20×, else linear from 0 to a round ceiling.
    pub fn throughput(min: f64, max: f64) -> Self {
        if min > 0.0 && max / min > 20.0 {
            Axis::log(min, max)
        } else {
            Axis { lo: 0.0, hi: nice_ceiling(max * 1.15), log: false }
        }
    }

    /// A value in drawing space (log10 on a log axis).
    pub fn map(self, v: f64) -> f64 {
        if self.log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        }
    }

    /// The ticks: 1-2-5 values on a log axis (on a narrow one, more round values, spaced out; where that still
    /// gives fewer than three, round steps as on a linear axis), round steps on a linear one.
    pub fn ticks(self) -> Vec<f64> {
        if !self.log {
            let step = nice_ceiling((self.hi - self.lo) / 8.0);
            let mut v = (self.lo / step).ceil() * step;
            let mut out = Vec::new();
            while v <= self.hi + step * 1e-9 && out.len() < 20 {
                out.push(v);
                v += step;
            }
            return out;
        }
        let decades = || (self.lo.log10().floor() as i32)..=(self.hi.log10().ceil() as i32);
        let within = |mults: &[f64]| -> Vec<f64> {
            decades()
                .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
                .filter(|v| *v >= self.lo && *v <= self.hi)
                .collect()
        };
        let mut ticks = within(&[1.0, 2.0, 5.0]);
        if ticks.len() < 3 {
            // A narrow range: more round values, none closer to another than a sixth of the axis.
            let gap = (self.hi / self.lo).log10() / 6.0;
            for v in within(&[1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]) {
                if ticks.iter().all(|t: &f64| (t.log10() - v.log10()).abs() >= gap) {
                    ticks.push(v);
                }
            }
            ticks.sort_by(f64::total_cmp);
        }
        if ticks.len() < 3 {
            // Narrower still: round steps, as on a linear axis (nearly evenly spaced over so short a span).
            return Axis { log: false, ..self }.ticks();
        }
        ticks
    }
}

/// The axes of `runs`: (x = TTFT p99 ms, y = output tok/s).
pub fn axes(runs: &[ScatterRun]) -> (Axis, Axis) {
    let pts = || runs.iter().flat_map(|r| r.points.iter());
    let (x0, x1) = pts().fold((f64::MAX, 0.0_f64), |(lo, hi), p| (lo.min(p.ttft_p99_ms), hi.max(p.ttft_p99_ms)));
    let (y0, y1) = pts().fold((f64::MAX, 0.0_f64), |(lo, hi), p| (lo.min(p.tok_s), hi.max(p.tok_s)));
    if x1 <= 0.0 {
        return (Axis::log(1.0, 10.0), Axis::throughput(1.0, 1.0));
    }
    (Axis::log(x0, x1), Axis::throughput(y0, y1))
}

/// The chart in words, for screen readers: `A: c=1 30 tok/s at 120 ms, c=4 110 tok/s at 300 ms (compared); B: …`.
pub fn describe(runs: &[ScatterRun]) -> String {
    let text: Vec<String> = runs
        .iter()
        .filter(|r| !r.points.is_empty())
        .map(|r| {
            let pts: Vec<String> = r
                .points
                .iter()
                .map(|p| {
                    let mark = if p.chosen { " (compared)" } else { "" };
                    format!("{} {} tok/s at {} ms{mark}", p.label, figure(p.tok_s), figure(p.ttft_p99_ms))
                })
                .collect();
            format!("{}: {}", r.name, pts.join(", "))
        })
        .collect();
    format!("Output tok/s against TTFT p99 per step. {}", text.join("; "))
}

/// The chart (shown when a run is a sweep).
#[component]
pub fn SweepScatter(
    /// The runs' points.
    #[prop(into)]
    runs: Signal<Vec<ScatterRun>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    {
        // Redrawn at the new width when the window changes size (a phone turned, a window resized).
        let resized = RwSignal::new(0u32);
        let handle = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n = n.wrapping_add(1)));
        on_cleanup(move || handle.remove());
        Effect::new(move |_| {
            crate::theme::track();
            resized.track();
            let data = runs.get();
            if let Some(el) = canvas.get() {
                draw::draw(&el, &data, crate::theme::chart_colors());
            }
        });
    }
    view! {
        <figure class="chart compare-scatter">
            <figcaption>"Throughput vs TTFT p99 — each step, labelled with its load; ringed: the steps compared"</figcaption>
            <canvas
                node_ref=canvas
                data-testid="compare-sweep"
                width="600"
                height="300"
                role="img"
                aria-label=move || runs.with(|r| describe(r))
            ></canvas>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
mod draw {
    use plotters::prelude::*;
    use web_sys::HtmlCanvasElement;

    use super::{axes, ScatterRun};
    use crate::components::chart::draw::{canvas, rgb, Paint};
    use crate::components::chart::tick_label;
    use crate::theme::ChartColors;

    /// Draws `runs` on `el` in the theme's colours.
    pub fn draw(el: &HtmlCanvasElement, runs: &[ScatterRun], colors: ChartColors) {
        let Some((root, Paint { grid, text, .. }, _)) = canvas(el, 240, colors) else { return };
        let (xa, ya) = axes(runs);
        let (x0, x1, y0, y1) = (xa.map(xa.lo), xa.map(xa.hi), ya.map(ya.lo), ya.map(ya.hi));
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
        else {
            return;
        };
        let small = ("sans-serif", 12).into_font().color(&text);
        // Axis lines and captions from plotters; grid lines and tick labels of our own (see the module's note).
        let _ = chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .axis_style(grid)
            .axis_desc_style(("sans-serif", 12).into_font().color(&text))
            .x_desc("TTFT p99 (ms, log scale)")
            .y_desc(if ya.log { "output tok/s (log)" } else { "output tok/s" })
            .draw();
        for v in xa.ticks() {
            let x = xa.map(v);
            let _ = chart.draw_series(std::iter::once(PathElement::new(vec![(x, y0), (x, y1)], grid)));
            let (px, py) = chart.backend_coord(&(x, y0));
            let _ = root.draw(&Text::new(tick_label(v), (px - 8, py + 6), small.clone()));
        }
        for v in ya.ticks() {
            let y = ya.map(v);
            let _ = chart.draw_series(std::iter::once(PathElement::new(vec![(x0, y), (x1, y)], grid)));
            let (px, py) = chart.backend_coord(&(x0, y));
            let label = tick_label(v);
            let _ = root.draw(&Text::new(label.clone(), (px - 8 - 7 * label.len() as i32, py - 7), small.clone()));
        }
        for (i, run) in runs.iter().enumerate() {
            let color = rgb(run.color);
            let pts: Vec<(f64, f64)> = run.points.iter().map(|p| (xa.map(p.ttft_p99_ms), ya.map(p.tok_s))).collect();
            let _ = chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)));
            for (p, xy) in run.points.iter().zip(pts) {
                let dot = Circle::new(xy, if p.chosen { 5 } else { 4 }, color.filled());
                let _ = chart.draw_series(std::iter::once(dot));
                if p.chosen {
                    let _ = chart.draw_series(std::iter::once(Circle::new(xy, 9, text.stroke_width(2))));
                }
                let font = ("sans-serif", if p.chosen { 13 } else { 12 }).into_font().color(&color);
                // Labels above the points of even runs and below those of odd ones, so close points keep theirs.
                let dy = if i % 2 == 0 { -20 } else { 6 };
                let label = EmptyElement::at(xy) + Text::new(p.label.clone(), (8, dy), font);
                let _ = chart.draw_series(std::iter::once(label));
            }
        }
        let _ = root.present();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_round_and_never_empty() {
        let a = Axis::log(120.0, 7800.0);
        assert_eq!(a.ticks(), vec![100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0]);
        // A narrow range gets more round values, spaced out.
        assert_eq!(Axis::log(80.0, 190.0).ticks(), vec![80.0, 100.0, 150.0, 200.0]);
        // Close values are spread over the axis, with round linear steps.
        let n = Axis::log(123.0, 127.0);
        assert!(n.lo > 120.0 && n.hi < 131.0, "{n:?}");
        assert_eq!(n.ticks(), vec![122.0, 124.0, 126.0, 128.0]);
        let one_and_a_half = Axis::log(124.0, 186.0);
        assert_eq!(one_and_a_half.ticks(), vec![120.0, 140.0, 160.0, 180.0]);
        assert!((a.map(1000.0) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn throughput_goes_log_only_over_a_wide_span() {
        let lin = Axis::throughput(30.0, 400.0);
        assert_eq!((lin.lo, lin.hi, lin.log), (0.0, 500.0, false));
        assert_eq!(lin.ticks(), vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0]);
        assert!(Axis::throughput(10.0, 5000.0).log);
    }

    #[test]
    fn the_description_names_every_point() {
        let runs = vec![ScatterRun {
            name: "A".into(),
            color: PALETTE[0],
            points: vec![
                ScatterPoint { ttft_p99_ms: 120.0, tok_s: 30.0, label: "c=1".into(), chosen: false },
                ScatterPoint { ttft_p99_ms: 300.0, tok_s: 110.4, label: "c=4".into(), chosen: true },
            ],
        }];
        assert_eq!(
            describe(&runs),
            "Output tok/s against TTFT p99 per step. A: c=1 30.0 tok/s at 120 ms, c=4 110 tok/s at 300 ms (compared)"
        );
        let (x, y) = axes(&runs);
        assert!(x.log && x.lo < 120.0 && x.hi > 300.0);
        assert!(!y.log && y.hi >= 110.4);
    }
}
