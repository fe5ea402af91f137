//! The panels of the image: which series each chart shows, from the run's windows and GPU samples.

use super::*;

/// One line of a panel.
pub(super) struct Line {
    pub(super) label: String,
    pub(super) color: RGBColor,
    /// (x, y) in x order; a [`lines::BREAK`] y ends a piece: a sweep's steps and gaps in the data are not joined.
    pub(super) points: Vec<(f64, f64)>,
    /// (dash, gap) in pixels; `None` draws it solid.
    pub(super) dash: Option<(u32, u32)>,
    /// Drawn against the right-hand axis.
    pub(super) right: bool,
}

impl Line {
    pub(super) fn new(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Line { label: label.into(), color, points, dash: None, right: false }
    }

    /// The pieces to draw, each a run of joined points.
    pub(super) fn pieces(&self) -> Vec<&[(f64, f64)]> {
        lines::pieces(&self.points)
    }

    /// True when the line has no point to draw.
    pub(super) fn is_empty(&self) -> bool {
        self.points.iter().all(|p| !p.1.is_finite())
    }
}

/// Gaps wider than this many times a line's usual spacing break it (a few windows or samples missing).
pub(super) const GAP_FACTOR: f64 = 4.0;

/// One chart of the image.
pub(super) struct Panel {
    pub(super) title: String,
    /// Appended to the title in the warning colour (simulated telemetry).
    pub(super) flag: Option<&'static str>,
    pub(super) y_desc: &'static str,
    pub(super) right_desc: Option<&'static str>,
    pub(super) lines: Vec<Line>,
    /// Smallest y maximum (100 for percentages).
    pub(super) y_floor: f64,
    /// A fixed y maximum (installed memory), when the data stays under it.
    pub(super) y_cap: Option<f64>,
    pub(super) x: (f64, f64),
    pub(super) x_desc: Option<&'static str>,
    /// Vertical markers: (x, label) — sweep step starts.
    pub(super) marks: Vec<(f64, String)>,
    /// What to say when there is nothing to draw.
    pub(super) empty: String,
    pub(super) cdf: bool,
}

impl Panel {
    pub(super) fn time(title: impl Into<String>, y_desc: &'static str, x: (f64, f64), lines: Vec<Line>) -> Self {
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

    pub(super) fn is_empty(&self) -> bool {
        self.lines.iter().all(Line::is_empty)
    }

    pub(super) fn height(&self) -> u32 {
        if self.is_empty() {
            let lines = wrap(&self.empty, EMPTY_TEXT_PX, false, WIDTH - 2 * MARGIN as u32 - 32).len() as u32;
            EMPTY_PANEL_H + lines.saturating_sub(1) * EMPTY_LINE_H
        } else if self.cdf {
            CDF_PANEL_H
        } else {
            PANEL_H + if self.x_desc.is_some() { X_DESC_H - X_LABEL_H } else { 0 }
        }
    }
}

/// Seconds since `origin_ms` of a Unix ms time.
pub(super) fn secs(unix_ms: u64, origin_ms: u64) -> f64 {
    (unix_ms as f64 - origin_ms as f64) / 1000.0
}

pub(super) fn window_line(
    label: &str,
    color: usize,
    windows: &[WindowStats],
    origin: u64,
    f: impl Fn(&WindowStats) -> Option<f64>,
) -> Line {
    let mut points = Vec::with_capacity(windows.len() + 4);
    let mut step = None;
    for w in windows {
        let Some(v) = f(w) else { continue };
        if step.is_some_and(|s| s != w.step) {
            points.push((secs(w.unix_ms, origin), lines::BREAK));
        }
        step = Some(w.step);
        points.push((secs(w.unix_ms, origin), v));
    }
    Line::new(label, rgb(PALETTE[color % PALETTE.len()]), lines::break_gaps(points, GAP_FACTOR))
}

/// Per GPU index: (legend label, its samples in time order).
pub(super) type GpuLines<'a> = BTreeMap<u32, (String, Vec<&'a GpuSample>)>;

/// The run's GPUs: index → (legend label, samples in time order), and their models in words (`2 × NVIDIA H200`)
/// when they are all the same model — then the legends say `GPU 0`, `GPU 1`; otherwise each names its model.
pub(super) fn gpus(series: &RunSeries) -> (GpuLines<'_>, Option<String>) {
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

pub(super) fn simulated(series: &RunSeries) -> bool {
    matches!(series.telemetry, Some(TelemetryStatus::Simulated { .. })) || series.gpu.iter().any(|s| s.simulated)
}

/// Why a GPU panel is empty.
pub(super) fn no_gpu(series: &RunSeries) -> String {
    match &series.telemetry {
        Some(TelemetryStatus::Unavailable { reason }) => format!("no GPU telemetry: {reason}"),
        _ if series.gpu.is_empty() => "no GPU telemetry was recorded with this run".into(),
        _ => "no GPU reported this field".into(),
    }
}

/// The x range of the time panels: load start to the last window or sample (at least 1 s; unlike the live page,
/// which leaves room for what is coming, a finished run fills the width).
pub(super) fn time_range(series: &RunSeries, origin: u64) -> (f64, f64) {
    let last_w = series.windows.iter().map(|w| secs(w.unix_ms, origin)).fold(0.0, f64::max);
    let last_g = series.gpu.iter().map(|s| secs(s.unix_ms, origin)).fold(0.0, f64::max);
    (0.0, last_w.max(last_g).max(1.0))
}

pub(super) const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub(super) fn panels(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> Vec<Panel> {
    let (w, o) = (&series.windows, view.started_unix_ms);
    let x = time_range(series, o);
    let marks = sweep::step_markers(w, o, &sweep::step_loads(&view.spec));
    let mut out = vec![
        Panel::time(
            "Output tokens/s",
            "tok/s",
            x,
            vec![window_line("output tok/s", 0, w, o, |x| x.chartable_rate(x.output_tokens_per_s))],
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
                    Line {
                        right: true,
                        ..window_line("completed req/s (right)", 1, w, o, |x| x.chartable_rate(x.requests_per_s))
                    },
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
                Line::new(
                    label.clone(),
                    rgb(PALETTE[*index as usize % PALETTE.len()]),
                    lines::break_gaps(points, GAP_FACTOR),
                )
            })
            .filter(|l| !l.is_empty())
            .collect()
    };
    let flag = simulated(series).then_some("simulated telemetry (demo), not measured");
    let mem_total = mem_total_gib(series);
    let mut power = per_gpu(&|s| s.power_w);
    let mut limits: Vec<f64> = series.gpu.iter().filter_map(|s| s.power_limit_w).collect();
    limits.sort_by(f64::total_cmp);
    limits.dedup();
    if !power.is_empty() && limits.len() == 1 {
        power.push(Line {
            dash: Some((10, 8)),
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
        dash_by_index(&mut p.lines);
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
        if let Some(p) = out.last_mut() {
            dash_by_index(&mut p.lines);
        }
    }
    out
}

/// The installed memory of the run's GPUs, GiB: from the samples, else from the GPUs' static facts; the memory
/// panel's y axis ends there, so a 141 GiB card reads against 141 GiB (not a rounded-up 200).
pub(super) fn mem_total_gib(series: &RunSeries) -> Option<f64> {
    let sampled = series.gpu.iter().filter_map(|s| s.mem_total_bytes).max();
    let known = || series.telemetry.as_ref().and_then(|t| t.gpus().iter().filter_map(|g| g.memory_total_bytes).max());
    sampled.or_else(known).map(|b| b as f64 / GIB)
}

/// Gives the second and later lines of a panel a dash pattern of their own ([`lines::dash`]), so a line lying on
/// another (the same memory on every GPU of a tensor-parallel server) still shows; lines already dashed keep theirs.
pub(super) fn dash_by_index(panel_lines: &mut [Line]) {
    for (i, l) in panel_lines.iter_mut().enumerate() {
        if l.dash.is_none() {
            l.dash = lines::dash(i);
        }
    }
}
