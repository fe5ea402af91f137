//! The panels of the image: which series each chart shows, from the run's windows and GPU samples.

use super::*;

/// One line of a panel.
pub(super) struct Line {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) points: Vec<(f64, f64)>,
    /// Where a new piece starts (indices into `points`): a sweep's steps are not joined.
    pub(super) breaks: Vec<usize>,
    pub(super) dashed: bool,
    /// Drawn against the right-hand axis.
    pub(super) right: bool,
}

impl Line {
    pub(super) fn new(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Line { label: label.into(), color, points, breaks: Vec::new(), dashed: false, right: false }
    }

    /// The pieces to draw, each a run of joined points.
    pub(super) fn pieces(&self) -> Vec<&[(f64, f64)]> {
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
        self.lines.iter().all(|l| l.points.is_empty())
    }

    pub(super) fn height(&self) -> u32 {
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

/// Where each sweep step after the first starts (its first window's start), labelled.
pub(super) fn step_marks(windows: &[WindowStats], origin: u64) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for pair in windows.windows(2) {
        if pair[1].step != pair[0].step {
            out.push((secs(pair[1].unix_ms.saturating_sub(1000), origin), format!("step {}", pair[1].step + 1)));
        }
    }
    out
}

pub(super) const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub(super) fn panels(view: &RunView, series: &RunSeries, latency: &LatencyCdf) -> Vec<Panel> {
    let (w, o) = (&series.windows, view.started_unix_ms);
    let x = time_range(series, o);
    let marks = step_marks(w, o);
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
