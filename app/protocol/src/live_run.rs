//! The live run channel `/ws/runs/{id}` and the run resource `GET /api/runs/{id}`.

use serde::{Deserialize, Serialize};

use super::event::WindowStats;
use super::gpu::{GpuSample, TelemetryStatus};
use super::report::{ErrorSample, RunReport, SweepReport};
use super::spec::RunSpec;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Preflight: waiting for the target, discovering model and endpoint.
    Preflight,
    /// Load is being applied.
    Running,
    /// Ended by its limits.
    Completed,
    /// Ended by a failure (preflight, early stop, nothing completed); see `verdict`.
    Failed,
    /// Ended by Stop / Ctrl-C; completed requests are kept.
    Stopped,
    /// Found "running" after a crash of tokenscope.
    Interrupted,
}

impl RunStatus {
    /// True while the run may still change.
    pub fn is_live(self) -> bool {
        matches!(self, RunStatus::Preflight | RunStatus::Running)
    }

    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Preflight => "preflight",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// The final result of a run: a single report, or one per sweep step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RunResult {
    /// A sweep (has `steps`).
    Sweep(SweepReport),
    /// One run.
    Single(Box<RunReport>),
}

// Untagged on the wire: an object with `steps` is a sweep (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for RunResult {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if v.get("steps").is_some() {
            SweepReport::deserialize(v).map(RunResult::Sweep).map_err(serde::de::Error::custom)
        } else {
            RunReport::deserialize(v).map(|r| RunResult::Single(Box::new(r))).map_err(serde::de::Error::custom)
        }
    }
}

impl RunResult {
    /// How a run with this result ended: stopped when cancelled, failed when nothing completed or a verdict
    /// explains an early end, completed otherwise (a missed SLO is still a completed run).
    pub fn status(&self) -> RunStatus {
        let (stopped, verdict, completed) = match self {
            RunResult::Single(r) => (r.stopped, r.verdict.is_some(), r.requests_completed),
            RunResult::Sweep(s) => (s.stopped, s.verdict.is_some(), s.steps.iter().map(|r| r.requests_completed).sum()),
        };
        if stopped {
            RunStatus::Stopped
        } else if completed == 0 || verdict {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        }
    }
}

/// How far a run has got.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Progress {
    /// Measured + warmup requests finished (ok or failed), all steps.
    pub done: u64,
    /// Of which failed.
    pub failed: u64,
    /// Requests the run will send in all, when bounded by a count.
    pub total: Option<u64>,
    /// Seconds since load started.
    pub elapsed_s: f64,
    /// Planned length in seconds, when bounded by a duration.
    pub planned_s: Option<f64>,
    /// Estimated seconds left; `None` while it cannot be known (nothing finished yet, or the target has stalled).
    pub eta_s: Option<f64>,
    /// Seconds since the last request finished while requests are in flight, once that exceeds
    /// [`STALL_AFTER_S`]: the target has gone quiet, and the run lasts until its requests time out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_s: Option<f64>,
    /// Requests in flight (from the latest 1 s window).
    pub in_flight: u64,
    /// Current sweep step (0-based).
    pub step: u32,
    /// Steps in all (1 without a sweep).
    pub steps: u32,
    /// Output tokens finished so far (successful requests).
    pub output_tokens: u64,
}

/// Seconds without a finished request (while requests are in flight) after which a run counts as stalled.
pub const STALL_AFTER_S: f64 = 10.0;

impl Progress {
    /// Fraction done in 0..=1, when it can be known.
    pub fn fraction(&self) -> Option<f64> {
        let by_count = self.total.filter(|&t| t > 0).map(|t| self.done as f64 / t as f64);
        let by_time = self.planned_s.filter(|&p| p > 0.0).map(|p| self.elapsed_s / p);
        match (by_count, by_time) {
            (Some(a), Some(b)) => Some(a.max(b).min(1.0)),
            (Some(a), None) | (None, Some(a)) => Some(a.min(1.0)),
            (None, None) => None,
        }
    }
}

/// A run as the API and the live page see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    /// Unguessable id.
    pub id: String,
    /// What it was asked to do (no API key).
    pub spec: RunSpec,
    /// Life stage.
    pub status: RunStatus,
    /// Load start on the wall clock, Unix ms (the x origin of its charts).
    pub started_unix_ms: u64,
    /// Progress so far.
    pub progress: Progress,
    /// Lines preflight reported, in order.
    pub preflight_states: Vec<String>,
    /// Why the run failed or stopped early, phrased as what to do.
    pub verdict: Option<String>,
    /// First failures of each class with their response bodies.
    pub error_samples: Vec<ErrorSample>,
    /// The final result once finished.
    pub result: Option<RunResult>,
    /// True when the target is the built-in demo mock.
    pub demo: bool,
    /// Free-text notes (`PATCH /api/runs/{id}`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Labels for finding the run (`PATCH /api/runs/{id}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Set while the archive refuses this run's writes (disk full, database locked…): what it said. The measurement
    /// goes on; the unwritten rows are kept in memory and retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_error: Option<String>,
}

impl RunView {
    /// A run about to start: in preflight, progress planned from the spec's limits (per step, times the steps).
    pub fn starting(id: String, spec: RunSpec, started_unix_ms: u64, demo: bool) -> Self {
        let steps = spec.sweep.len().max(1) as u32;
        let progress = Progress {
            steps,
            total: spec.requests.map(|r| (r + spec.warmup_requests) * u64::from(steps)),
            planned_s: spec.duration_s.map(|d| (d + spec.warmup_s) * f64::from(steps)),
            ..Progress::default()
        };
        RunView::with(
            id,
            spec,
            RunStatus::Preflight,
            started_unix_ms,
            progress,
            Vec::new(),
            None,
            Vec::new(),
            None,
            demo,
        )
    }

    /// A run that has ended with `result` (a CLI run, an imported report): status, progress and error samples
    /// taken from the result.
    pub fn ended(id: String, spec: RunSpec, result: RunResult, preflight_states: Vec<String>) -> Self {
        let (started, verdict, reports) = match &result {
            RunResult::Single(r) => (r.started_at_ms, r.verdict.clone(), vec![r.as_ref()]),
            RunResult::Sweep(s) => (s.started_at_ms, s.verdict.clone(), s.steps.iter().collect()),
        };
        let completed: u64 = reports.iter().map(|r| r.requests_completed).sum();
        let failed: u64 = reports.iter().map(|r| r.requests_failed).sum();
        let progress = Progress {
            done: completed + failed,
            failed,
            elapsed_s: reports.iter().map(|r| r.duration_s).sum(),
            steps: reports.len() as u32,
            output_tokens: reports.iter().map(|r| r.output_tokens).sum(),
            ..Progress::default()
        };
        let error_samples = reports.iter().flat_map(|r| r.error_samples.iter().cloned()).collect();
        let status = result.status();
        RunView::with(
            id,
            spec,
            status,
            started,
            progress,
            preflight_states,
            verdict,
            error_samples,
            Some(result),
            false,
        )
    }

    // One place that lists every field: the two constructors above differ only in these values.
    #[allow(clippy::too_many_arguments)] // reason: private, called twice, each argument a field of the view
    fn with(
        id: String,
        spec: RunSpec,
        status: RunStatus,
        started_unix_ms: u64,
        progress: Progress,
        preflight_states: Vec<String>,
        verdict: Option<String>,
        error_samples: Vec<ErrorSample>,
        result: Option<RunResult>,
        demo: bool,
    ) -> Self {
        RunView {
            id,
            spec,
            status,
            started_unix_ms,
            progress,
            preflight_states,
            verdict,
            error_samples,
            result,
            demo,
            notes: String::new(),
            tags: Vec::new(),
            storage_error: None,
        }
    }
}

/// Frames of `/ws/runs/{id}`, JSON text tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunWsFrame {
    /// First frame: the run so far, then live frames follow.
    Hello {
        /// The run.
        run: Box<RunView>,
        /// Its 1 s windows so far.
        windows: Vec<WindowStats>,
        /// GPU telemetry status.
        telemetry: TelemetryStatus,
        /// GPU samples since the run started (downsampled to at most 1200 per GPU).
        gpu: Vec<GpuSample>,
    },
    /// Progress, 4 times a second while live.
    Progress {
        /// Life stage.
        status: RunStatus,
        /// Progress.
        progress: Progress,
    },
    /// A preflight state line.
    Preflight {
        /// The line.
        state: String,
    },
    /// A finished 1 s window.
    Window(WindowStats),
    /// New GPU samples (batched).
    Gpu {
        /// Samples, any GPUs.
        samples: Vec<GpuSample>,
    },
    /// The first failure of a class, with its body.
    Error(ErrorSample),
    /// The archive started refusing this run's writes (`error`), or accepts them again (`None`).
    Storage {
        /// What the archive said; `None` once the retried rows are written.
        error: Option<String>,
    },
    /// The run ended.
    Finished {
        /// The run as it ended.
        run: Box<RunView>,
    },
}

impl<'de> Deserialize<'de> for RunWsFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use super::decode::{field, object, rest, tag, unknown};
        const VARIANTS: &[&str] = &["hello", "progress", "preflight", "window", "gpu", "error", "storage", "finished"];
        let mut o = object(serde_json::Value::deserialize(d)?, "a run frame")?;
        let t = tag(&mut o, "type")?;
        Ok(match t.as_str() {
            "hello" => RunWsFrame::Hello {
                run: field(&mut o, "run")?,
                windows: field(&mut o, "windows")?,
                telemetry: field(&mut o, "telemetry")?,
                gpu: field(&mut o, "gpu")?,
            },
            "progress" => {
                RunWsFrame::Progress { status: field(&mut o, "status")?, progress: field(&mut o, "progress")? }
            }
            "preflight" => RunWsFrame::Preflight { state: field(&mut o, "state")? },
            "window" => RunWsFrame::Window(rest(o)?),
            "gpu" => RunWsFrame::Gpu { samples: field(&mut o, "samples")? },
            "error" => RunWsFrame::Error(rest(o)?),
            "storage" => RunWsFrame::Storage { error: field(&mut o, "error")? },
            "finished" => RunWsFrame::Finished { run: field(&mut o, "run")? },
            other => return Err(unknown(other, VARIANTS)),
        })
    }
}
