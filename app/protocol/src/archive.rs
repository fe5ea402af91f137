//! The archive on the wire: a run's row on the Runs page, its stored series, its latency distribution, and the
//! body that renames or annotates it.

use serde::{Deserialize, Serialize};

use super::event::WindowStats;
use super::gpu::{GpuSample, TelemetryStatus};
use super::live_run::{RunResult, RunStatus, RunView};
use super::report::RunReport;
use super::spec::{redact_target, Arrival, Backend, FieldError, LoadSpec, RunSpec};
use super::validation::{refused_char, refused_char_message};

/// Fewest runs one comparison takes.
pub const MIN_COMPARE: usize = 2;
/// Most runs one comparison takes.
pub const MAX_COMPARE: usize = 6;
pub use super::spec::MAX_NAME_CHARS;
/// Longest notes accepted, characters.
pub const MAX_NOTES_CHARS: usize = 10_000;
/// Most tags on one run.
pub const MAX_TAGS: usize = 20;
/// Longest tag accepted, characters.
pub const MAX_TAG_CHARS: usize = 40;

/// One row of the Runs page (`GET /api/runs/summaries`): who, what, how fast. Figures are those of the run, or of
/// the best step of a sweep; `None` until the run has a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Unguessable id.
    pub id: String,
    /// Name given by the user; empty when none.
    pub name: String,
    /// Life stage.
    pub status: RunStatus,
    /// How it turned out (SLO met / missed, errors, client-bound…), for the Runs list's badge.
    #[serde(default = "completed")]
    pub outcome: Outcome,
    /// Base URL of the inference server.
    pub target: String,
    /// Model the run drove (`None` while preflight has not found it).
    pub model: Option<String>,
    /// The load, in words (`concurrency 16`, `rate 10/s poisson`, `concurrency 1, 8, 32` for a sweep).
    pub load: String,
    /// Output tokens per second (measured window).
    pub output_tokens_per_s: Option<f64>,
    /// Median time to first token, ms.
    pub ttft_p50_ms: Option<f64>,
    /// 99th percentile time to first token, ms.
    pub ttft_p99_ms: Option<f64>,
    /// GPU energy per output token, joules, when telemetry ran.
    pub j_per_output_token: Option<f64>,
    /// Requests that completed (all steps; progress while live).
    pub requests_ok: u64,
    /// Requests that failed (all steps; progress while live).
    pub requests_failed: u64,
    /// Load start, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Labels.
    pub tags: Vec<String>,
    /// True when the target was the built-in demo mock.
    pub demo: bool,
    /// The backend preset the run asked for (`auto`: let preflight find it).
    #[serde(default)]
    pub backend: Backend,
    /// The preset its requests used, as preflight resolved it (the one asked for, or the one detected for `auto`);
    /// `None` until preflight has reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_used: Option<Backend>,
}

impl RunSummary {
    /// The row of `run`.
    pub fn of(run: &RunView) -> Self {
        let reports = reports(run.result.as_ref());
        let best = headline(run.result.as_ref());
        let (ok, failed) = if reports.is_empty() {
            (run.progress.done.saturating_sub(run.progress.failed), run.progress.failed)
        } else {
            (reports.iter().map(|r| r.requests_completed).sum(), reports.iter().map(|r| r.requests_failed).sum())
        };
        RunSummary {
            id: run.id.clone(),
            name: run.spec.name.clone(),
            status: run.status,
            outcome: Outcome::of(run),
            // Without `user:password@`: the row is shown to everyone who may list runs.
            target: redact_target(&run.spec.target).into_owned(),
            model: run.spec.model.clone(),
            load: describe_load(&run.spec),
            output_tokens_per_s: best.map(|r| r.output_tokens_per_s),
            ttft_p50_ms: best.filter(|r| r.ttft_ms.count > 0).map(|r| r.ttft_ms.p50),
            ttft_p99_ms: best.filter(|r| r.ttft_ms.count > 0).map(|r| r.ttft_ms.p99),
            j_per_output_token: best.and_then(|r| r.gpu.as_ref()).and_then(|g| g.j_per_output_token),
            requests_ok: ok,
            requests_failed: failed,
            started_unix_ms: run.started_unix_ms,
            tags: run.tags.clone(),
            demo: run.demo,
            backend: run.spec.backend,
            backend_used: backend_used(run.result.as_ref()),
        }
    }

    /// True when `query` (lower case, trimmed) appears in the name, target, model, status, load or a tag.
    pub fn matches(&self, query: &str) -> bool {
        if query.is_empty() {
            return true;
        }
        let hay = [
            self.name.as_str(),
            self.target.as_str(),
            self.model.as_deref().unwrap_or(""),
            self.status.as_str(),
            self.load.as_str(),
            self.id.as_str(),
            self.backend_shown().0,
        ];
        hay.iter().any(|h| h.to_lowercase().contains(query))
            || self.tags.iter().any(|t| t.to_lowercase().contains(query))
    }

    /// The name to show: the given name, else `run <first 8 characters of the id>`.
    pub fn title(&self) -> String {
        display_name(&self.name, &self.id)
    }

    /// The backend as the Runs list shows it, and whether preflight detected it: the preset asked for, or for
    /// `auto` the one preflight detected (`auto` until it has).
    pub fn backend_shown(&self) -> (&'static str, bool) {
        match (self.backend, self.backend_used) {
            (Backend::Auto, Some(used)) => (backend_short_label(used), true),
            (asked, _) => (backend_short_label(asked), false),
        }
    }
}

/// A backend's short name for lists (the Runs table): `vLLM`, `llama.cpp`, `auto`… (the form's longer labels are
/// `preflight::backend_label`).
pub fn backend_short_label(b: Backend) -> &'static str {
    match b {
        Backend::Auto => "auto",
        Backend::Generic => "generic",
        Backend::Vllm => "vLLM",
        Backend::Sglang => "SGLang",
        Backend::Lmdeploy => "LMDeploy",
        Backend::Trtllm => "TensorRT-LLM",
        Backend::Tgi => "TGI",
        Backend::LlamaCpp => "llama.cpp",
        Backend::Ollama => "Ollama",
        Backend::Mock => "mock",
    }
}

/// The backend preset preflight resolved for a result (its `preflight.backend`; a sweep's own, else its first
/// step's). `None` without a result or a preflight report, and for `auto` (reports written before detection existed).
fn backend_used(result: Option<&RunResult>) -> Option<Backend> {
    let preflight = match result? {
        RunResult::Single(r) => r.preflight.as_ref(),
        RunResult::Sweep(s) => s.preflight.as_ref().or_else(|| s.steps.first().and_then(|r| r.preflight.as_ref())),
    }?;
    let backend = serde_json::from_value::<Backend>(preflight.get("backend")?.clone()).ok()?;
    (backend != Backend::Auto).then_some(backend)
}

/// The name to show for a run: `name`, else `run <first 8 characters of the id>`.
pub fn display_name(name: &str, id: &str) -> String {
    if name.trim().is_empty() {
        format!("run {}", id.chars().take(8).collect::<String>())
    } else {
        name.to_owned()
    }
}

/// Every report of a result: the run's, or each step's.
pub fn reports(result: Option<&RunResult>) -> Vec<&RunReport> {
    match result {
        Some(RunResult::Single(r)) => vec![r.as_ref()],
        Some(RunResult::Sweep(s)) => s.steps.iter().collect(),
        None => Vec::new(),
    }
}

/// The report whose figures stand for the run: the run's own, or the best step of a sweep (else its last).
pub fn headline(result: Option<&RunResult>) -> Option<&RunReport> {
    match result {
        Some(RunResult::Single(r)) => Some(r.as_ref()),
        Some(RunResult::Sweep(s)) => s.best_step.and_then(|i| s.steps.get(i)).or_else(|| s.steps.last()),
        None => None,
    }
}

fn completed() -> Outcome {
    Outcome::Completed
}

/// How an ended run turned out, in one word for its badge: never a plain "completed" over a run whose SLOs were
/// missed or whose client could not keep up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still in preflight or under load.
    Live,
    /// Stopped by the user; its completed requests are kept.
    Stopped,
    /// Found unfinished after a crash of tokenscope.
    Interrupted,
    /// Failed: a verdict says why (errors, nothing completed, preflight).
    Errors,
    /// The client could not keep the schedule: the figures describe tokenscope, not the server.
    ClientBound,
    /// SLOs were set and missed (a sweep: no step met them).
    SloMissed,
    /// SLOs were set and met (a sweep: at its best step).
    SloMet,
    /// Ended by its limits, without SLOs to judge it by.
    Completed,
}

impl Outcome {
    /// The outcome of `run` (its status, verdict, SLO results and client-bound flags).
    pub fn of(run: &RunView) -> Self {
        match run.status {
            RunStatus::Preflight | RunStatus::Running => return Outcome::Live,
            RunStatus::Stopped => return Outcome::Stopped,
            RunStatus::Interrupted => return Outcome::Interrupted,
            RunStatus::Failed => return Outcome::Errors,
            RunStatus::Completed => {}
        }
        let reports = reports(run.result.as_ref());
        if reports.iter().any(|r| r.client_bound) {
            return Outcome::ClientBound;
        }
        let judged: Vec<bool> = reports.iter().filter_map(|r| r.slo_met).collect();
        match (judged.is_empty(), judged.iter().any(|m| *m)) {
            (true, _) => Outcome::Completed,
            (false, true) => Outcome::SloMet,
            (false, false) => Outcome::SloMissed,
        }
    }

    /// The badge's words.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Live => "live",
            Outcome::Stopped => "stopped",
            Outcome::Interrupted => "interrupted",
            Outcome::Errors => "errors",
            Outcome::ClientBound => "client-bound",
            Outcome::SloMissed => "SLO missed",
            Outcome::SloMet => "SLO met",
            Outcome::Completed => "completed",
        }
    }

    /// The status and, when it says more, the outcome: `completed · SLO missed`, `completed · client-bound`,
    /// `failed`, `stopped` (the Markdown summary and the PNG's title block).
    pub fn status_line(run: &RunView) -> String {
        let outcome = Outcome::of(run);
        match outcome {
            Outcome::SloMet | Outcome::SloMissed | Outcome::ClientBound => {
                format!("{} · {}", run.status.as_str(), outcome.label())
            }
            _ => run.status.as_str().to_owned(),
        }
    }

    /// `ok`, `warn`, `bad` or `live`: the badge's colour.
    pub fn tone(self) -> &'static str {
        match self {
            Outcome::SloMet | Outcome::Completed => "ok",
            Outcome::Stopped | Outcome::ClientBound => "warn",
            Outcome::Errors | Outcome::Interrupted | Outcome::SloMissed => "bad",
            Outcome::Live => "live",
        }
    }
}

/// The load of a spec in words: `concurrency 16`, `rate 10/s poisson`, or the sweep's values.
pub fn describe_load(spec: &RunSpec) -> String {
    let values = |v: &[f64]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", ");
    match &spec.load {
        LoadSpec::Concurrency { concurrency } if spec.sweep.is_empty() => format!("concurrency {concurrency}"),
        LoadSpec::Concurrency { .. } => format!("concurrency {}", values(&spec.sweep)),
        LoadSpec::Rate { rate_rps, arrival } => {
            let arrival = match arrival {
                Arrival::Poisson => "poisson".to_owned(),
                Arrival::Constant => "constant".to_owned(),
                Arrival::Gamma { burstiness } => format!("gamma {burstiness}"),
            };
            if spec.sweep.is_empty() {
                format!("rate {rate_rps}/s {arrival}")
            } else {
                format!("rate {}/s {arrival}", values(&spec.sweep))
            }
        }
    }
}

/// Body of `PATCH /api/runs/{id}`: the fields to change; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunPatch {
    /// New name (empty clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// New tags (replace the old ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl RunPatch {
    /// The patch with the name trimmed and the tags trimmed, without empty or repeated ones.
    pub fn normalized(mut self) -> Self {
        self.name = self.name.map(|n| n.trim().to_owned());
        self.tags = self.tags.map(|tags| {
            let mut out: Vec<String> = Vec::new();
            for t in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
                if !out.iter().any(|o| o == t) {
                    out.push(t.to_owned());
                }
            }
            out
        });
        self
    }

    /// What is wrong with the patch, per field (empty when it can be applied).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| errors.push(FieldError { field: field.into(), message });
        if self.name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
            fail("name", format!("at most {MAX_NAME_CHARS} characters"));
        } else if let Some(c) = self.name.as_deref().and_then(|n| refused_char(n, false)) {
            fail("name", refused_char_message(c));
        }
        if self.notes.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
            fail("notes", format!("at most {MAX_NOTES_CHARS} characters"));
        } else if let Some(c) = self.notes.as_deref().and_then(|n| refused_char(n, true)) {
            // Notes are several lines: line breaks and tabs are fine, other controls and bidi marks are not.
            fail("notes", refused_char_message(c));
        }
        if let Some(tags) = &self.tags {
            if tags.len() > MAX_TAGS {
                fail("tags", format!("at most {MAX_TAGS} tags"));
            }
            if tags.iter().any(|t| t.chars().count() > MAX_TAG_CHARS) {
                fail("tags", format!("each tag has at most {MAX_TAG_CHARS} characters"));
            } else if let Some(c) = tags.iter().find_map(|t| refused_char(t, false)) {
                fail("tags", refused_char_message(c));
            }
        }
        if self.name.is_none() && self.notes.is_none() && self.tags.is_none() {
            fail("name", "give at least one of name, notes or tags".into());
        }
        errors
    }
}

/// A run's stored time series (`GET /api/runs/{id}/series`): its 1 s windows and the GPU samples of its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunSeries {
    /// GPU telemetry as it was during the run (`None` when the run recorded none).
    pub telemetry: Option<TelemetryStatus>,
    /// The 1 s windows, in time order.
    pub windows: Vec<WindowStats>,
    /// GPU samples of every GPU, by time then GPU index.
    pub gpu: Vec<GpuSample>,
}

/// One point of a cumulative distribution: `fraction` of the requests took at most `ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CdfPoint {
    /// Latency, ms.
    pub ms: f64,
    /// Fraction of the requests at or below `ms`, 0..=1.
    pub fraction: f64,
}

/// `GET /api/runs/{id}/latency`: TTFT and end-to-end latency distributions of the measured, successful requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LatencyCdf {
    /// Requests counted (measured and successful).
    pub requests: u64,
    /// Time to first token, ascending.
    pub ttft: Vec<CdfPoint>,
    /// End-to-end latency, ascending.
    pub e2e: Vec<CdfPoint>,
}

impl LatencyCdf {
    /// The CDF of `samples` (ms, any order, non-finite values skipped) in at most `max_points` points; the
    /// minimum and the maximum are always kept.
    pub fn points(samples: &[f64], max_points: usize) -> Vec<CdfPoint> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 || max_points == 0 {
            return Vec::new();
        }
        let step = n.div_ceil(max_points.max(2) - 1).max(1);
        let mut out: Vec<CdfPoint> =
            (0..n).step_by(step).map(|i| CdfPoint { ms: v[i], fraction: (i + 1) as f64 / n as f64 }).collect();
        if out.last().is_some_and(|p| p.fraction < 1.0) {
            out.push(CdfPoint { ms: v[n - 1], fraction: 1.0 });
        }
        out
    }
}

/// One sweep step of a run's latency distributions (`GET /api/runs/{id}/latency?step=N` picks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdfStep {
    /// Step index, from 0 (the `N` of `?step=N`).
    pub index: u32,
    /// The step's load in words: `concurrency 8`, `rate 2.5/s`.
    pub load: String,
    /// Measured, successful requests of the step.
    pub requests: u64,
}

/// `GET /api/runs/{id}/latency[?step=N]`: the latency distributions of a whole run or of one sweep step (the
/// [`LatencyCdf`] fields, unchanged), which step they are of, and the steps one may ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LatencyDistribution {
    /// The distributions.
    #[serde(flatten)]
    pub cdf: LatencyCdf,
    /// The step they are of; `None` for the whole run (every step merged).
    #[serde(default)]
    pub step: Option<u32>,
    /// Every step of the run, in order (one for a run without a sweep; none when nothing was recorded).
    #[serde(default)]
    pub steps: Vec<CdfStep>,
}

// `cdf` flattened on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for LatencyDistribution {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::decode::{field, object, rest};
        let mut o = object(serde_json::Value::deserialize(d)?, "latency distributions")?;
        Ok(LatencyDistribution {
            step: field(&mut o, "step")?,
            steps: field::<Option<Vec<CdfStep>>, _>(&mut o, "steps")?.unwrap_or_default(),
            cdf: rest(o)?,
        })
    }
}

impl LatencyDistribution {
    /// The step `index`, if the run has it.
    pub fn step_of(&self, index: u32) -> Option<&CdfStep> {
        self.steps.iter().find(|s| s.index == index)
    }

    /// `step 2 · concurrency 8` for a step of a sweep (its index shown from 1).
    pub fn step_label(step: &CdfStep) -> String {
        format!("step {} · {}", step.index + 1, step.load)
    }
}

/// `2026-11-29 14:03 UTC` for a Unix time in ms: the same text on the server and in the browser.
pub fn format_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_795_964_580_000), "2026-11-29 15:03 UTC");
    }

    #[test]
    fn cdf_keeps_ends_and_caps_points() {
        let samples: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        let cdf = LatencyCdf::points(&samples, 50);
        assert!(cdf.len() <= 51, "{}", cdf.len());
        assert_eq!(cdf.first().unwrap().ms, 1.0);
        assert_eq!(*cdf.last().unwrap(), CdfPoint { ms: 1000.0, fraction: 1.0 });
        assert!(cdf.windows(2).all(|w| w[0].ms <= w[1].ms && w[0].fraction < w[1].fraction));
        assert!(LatencyCdf::points(&[f64::NAN], 10).is_empty());
        assert_eq!(LatencyCdf::points(&[5.0], 10), vec![CdfPoint { ms: 5.0, fraction: 1.0 }]);
    }

    #[test]
    fn latency_distributions_keep_the_cdf_shape_and_list_steps() {
        let d = LatencyDistribution {
            cdf: LatencyCdf { requests: 3, ttft: vec![CdfPoint { ms: 1.0, fraction: 1.0 }], e2e: Vec::new() },
            step: Some(1),
            steps: vec![
                CdfStep { index: 0, load: "concurrency 1".into(), requests: 1 },
                CdfStep { index: 1, load: "concurrency 8".into(), requests: 3 },
            ],
        };
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["requests"], 3, "the CDF's fields stay at the top level: {json}");
        let old: LatencyCdf = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(old, d.cdf, "a reader of the old shape still reads it");
        assert_eq!(serde_json::from_value::<LatencyDistribution>(json).unwrap(), d);
        let bare: LatencyDistribution = serde_json::from_str(r#"{"requests":0,"ttft":[],"e2e":[]}"#).unwrap();
        assert_eq!((bare.step, bare.steps.len()), (None, 0));
        assert_eq!(LatencyDistribution::step_label(d.step_of(1).unwrap()), "step 2 · concurrency 8");
        assert!(d.step_of(2).is_none());
    }

    #[test]
    fn patches_are_normalized_and_checked() {
        let p =
            RunPatch { name: Some("  a ".into()), notes: None, tags: Some(vec![" x".into(), "".into(), "x ".into()]) };
        let p = p.normalized();
        assert_eq!((p.name.as_deref(), p.tags.clone()), (Some("a"), Some(vec!["x".to_string()])));
        assert!(p.validate().is_empty());
        assert_eq!(RunPatch::default().validate().len(), 1);
        let long = RunPatch { name: Some("n".repeat(MAX_NAME_CHARS + 1)), ..Default::default() };
        assert_eq!(long.validate()[0].field, "name");
    }

    #[test]
    fn patches_refuse_control_and_bidi_characters() {
        let fields = |p: RunPatch| p.validate().into_iter().map(|e| (e.field, e.message)).collect::<Vec<_>>();
        let bad = RunPatch {
            name: Some("evil\u{202E}gnp.exe".into()),
            notes: Some("line\0".into()),
            tags: Some(vec!["ok".into(), "t\u{2066}".into()]),
        };
        let errs = fields(bad);
        assert_eq!(errs.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["name", "notes", "tags"]);
        assert!(errs[0].1.contains("U+202E"), "{}", errs[0].1);
        assert!(errs[1].1.contains("U+0000"), "{}", errs[1].1);
        assert!(errs[2].1.contains("U+2066"), "{}", errs[2].1);
        let notes = RunPatch { notes: Some("first line\r\n\tsecond".into()), ..Default::default() };
        assert!(notes.validate().is_empty(), "notes keep their line breaks and tabs");
        let name = RunPatch { name: Some("two\nlines".into()), ..Default::default() };
        assert_eq!(fields(name)[0].0, "name");
    }

    #[test]
    fn loads_in_words() {
        let mut spec: RunSpec = serde_json::from_value(serde_json::json!({
            "target": "http://x", "load": {"kind": "concurrency", "concurrency": 4},
            "workload": {"kind": "synthetic", "input_tokens": {"min": 1, "max": 1}, "output_tokens": {"min": 1, "max": 1}}
        }))
        .unwrap();
        assert_eq!(describe_load(&spec), "concurrency 4");
        spec.sweep = vec![1.0, 8.0];
        assert_eq!(describe_load(&spec), "concurrency 1, 8");
        spec.load = LoadSpec::Rate { rate_rps: 2.5, arrival: Arrival::Poisson };
        spec.sweep.clear();
        assert_eq!(describe_load(&spec), "rate 2.5/s poisson");
    }

    fn ended(change: impl FnOnce(&mut RunReport)) -> RunView {
        let spec: RunSpec = serde_json::from_value(serde_json::json!({
            "target": "http://127.0.0.1:8000",
            "load": { "kind": "concurrency", "concurrency": 1 },
            "requests": 3,
            "workload": { "kind": "synthetic", "input_tokens": { "min": 1, "max": 1 },
                          "output_tokens": { "min": 1, "max": 1 } }
        }))
        .unwrap();
        let mut report = RunReport { started_at_ms: 1, requests_completed: 3, ..RunReport::default() };
        change(&mut report);
        RunView::ended("OutcomeTest0123456789A".into(), spec, RunResult::Single(Box::new(report)), Vec::new())
    }

    #[test]
    fn outcomes_say_more_than_completed() {
        type Change = fn(&mut RunReport);
        let cases: [(Change, Outcome, &str); 6] = [
            (|_| {}, Outcome::Completed, "completed"),
            (|r| r.slo_met = Some(true), Outcome::SloMet, "completed · SLO met"),
            (|r| r.slo_met = Some(false), Outcome::SloMissed, "completed · SLO missed"),
            (|r| (r.slo_met, r.client_bound) = (Some(true), true), Outcome::ClientBound, "completed · client-bound"),
            (|r| r.verdict = Some("13 of 20 requests failed".into()), Outcome::Errors, "failed"),
            (|r| r.stopped = true, Outcome::Stopped, "stopped"),
        ];
        for (change, outcome, line) in cases {
            let run = ended(change);
            assert_eq!(Outcome::of(&run), outcome, "{line}");
            assert_eq!(Outcome::status_line(&run), line);
            assert_eq!(RunSummary::of(&run).outcome, outcome);
        }
        assert_eq!(Outcome::SloMissed.tone(), "bad");
        assert_eq!(Outcome::SloMet.tone(), "ok");
    }

    #[test]
    fn summaries_show_the_backend_asked_for_or_detected() {
        let auto = RunSummary::of(&ended(|_| {}));
        assert_eq!((auto.backend, auto.backend_used, auto.backend_shown()), (Backend::Auto, None, ("auto", false)));
        let detected = RunSummary::of(&ended(|r| r.preflight = Some(serde_json::json!({ "backend": "llama_cpp" }))));
        assert_eq!(detected.backend_shown(), ("llama.cpp", true));
        assert!(detected.matches("llama.cpp"));
        let mut asked = ended(|r| r.preflight = Some(serde_json::json!({ "backend": "vllm" })));
        asked.spec.backend = Backend::Vllm;
        assert_eq!(RunSummary::of(&asked).backend_shown(), ("vLLM", false));
        let old = ended(|r| r.preflight = Some(serde_json::json!({ "backend": "auto", "model": "m" })));
        assert_eq!(RunSummary::of(&old).backend_used, None, "a report from before detection");
        // Rows written before these fields existed still read.
        let mut json = serde_json::to_value(&auto).unwrap();
        json.as_object_mut().unwrap().remove("backend");
        assert_eq!(serde_json::from_value::<RunSummary>(json).unwrap().backend, Backend::Auto);
    }
}

/// Who a run is in a one-line summary: its name, else its backend and model, else `run <id>`.
fn summary_subject(run: &RunView) -> String {
    if !run.spec.name.trim().is_empty() {
        return run.spec.name.trim().to_owned();
    }
    let (backend, _) = RunSummary::of(run).backend_shown();
    let backend = Some(backend).filter(|b| !matches!(*b, "auto" | "generic"));
    let parts: Vec<&str> = backend.into_iter().chain(run.spec.model.as_deref().filter(|m| !m.is_empty())).collect();
    if parts.is_empty() {
        display_name("", &run.id)
    } else {
        parts.join(" ")
    }
}

/// A run in one line for a chat: `TurboMind c=16: 1004 tok/s, TTFT p99 157 ms, TPOT p50 12.3 ms, SLO met` — its name
/// (else its backend and model), the load of its headline step (a sweep's best, and which best), output tok/s,
/// TTFT p99 and TPOT p50 when measured, failed requests when any, and its outcome.
pub fn one_line_summary(run: &RunView) -> String {
    use super::compare::{summary::figure, Level};
    let who = summary_subject(run);
    let outcome = Outcome::of(run).label();
    let Some(r) = headline(run.result.as_ref()) else {
        return format!("{who} ({}): {outcome}, no result yet", describe_load(&run.spec));
    };
    let mut load = Level::of(&r.load).short();
    if let Some(RunResult::Sweep(s)) = &run.result {
        let n = s.steps.len();
        let which = match s.best_step {
            Some(_) if s.steps.iter().any(|r| r.slo_met.is_some()) => "best under SLO",
            Some(_) => "most tok/s",
            None => "last",
        };
        load.push_str(&format!(" ({which} of {n} steps)"));
    }
    let mut parts = vec![format!("{} tok/s", figure(r.output_tokens_per_s))];
    if r.ttft_ms.count > 0 {
        parts.push(format!("TTFT p99 {} ms", figure(r.ttft_ms.p99)));
    }
    if r.tpot_ms.count > 0 {
        parts.push(format!("TPOT p50 {} ms", figure(r.tpot_ms.p50)));
    }
    if r.requests_failed > 0 {
        parts.push(format!("{} failed", r.requests_failed));
    }
    parts.push(outcome.to_owned());
    let demo = if run.demo { " (demo target)" } else { "" };
    format!("{who} {load}: {}{demo}", parts.join(", "))
}

#[cfg(test)]
mod one_line_tests {
    use super::*;
    use crate::report::{LatencyStats, SweepReport};

    fn run(name: &str, result: RunResult) -> RunView {
        let spec: RunSpec = serde_json::from_value(serde_json::json!({
            "name": name, "target": "http://127.0.0.1:8000", "load": { "kind": "concurrency", "concurrency": 16 },
            "workload": { "kind": "synthetic", "input_tokens": { "min": 1, "max": 1 },
                          "output_tokens": { "min": 1, "max": 1 } }
        }))
        .unwrap();
        RunView::ended("OneLine0123456789abcdef".into(), spec, result, Vec::new())
    }

    fn report(concurrency: u32, tok_s: f64, slo_met: Option<bool>) -> RunReport {
        let stats = |v: f64| LatencyStats { count: 9, p50: v, p99: v, ..LatencyStats::default() };
        RunReport {
            load: LoadSpec::Concurrency { concurrency },
            requests_completed: 9,
            output_tokens_per_s: tok_s,
            ttft_ms: stats(157.2),
            tpot_ms: stats(12.34),
            slo_met,
            ..RunReport::default()
        }
    }

    #[test]
    fn a_run_in_one_line() {
        let r = run("TurboMind", RunResult::Single(Box::new(report(16, 1004.4, Some(true)))));
        assert_eq!(one_line_summary(&r), "TurboMind c=16: 1004 tok/s, TTFT p99 157 ms, TPOT p50 12.3 ms, SLO met");

        // No name: the backend preflight resolved, and the model; failures and the demo target are said.
        let mut bad = report(16, 55.55, None);
        bad.requests_failed = 2;
        bad.tpot_ms.count = 0;
        bad.preflight = Some(serde_json::json!({ "backend": "vllm" }));
        let mut r = run("", RunResult::Single(Box::new(bad)));
        r.spec.model = Some("llama-3-8b".into());
        r.demo = true;
        assert_eq!(
            one_line_summary(&r),
            "vLLM llama-3-8b c=16: 55.5 tok/s, TTFT p99 157 ms, 2 failed, completed (demo target)"
        );
        r.spec.model = None;
        r.result = None;
        r.status = RunStatus::Running;
        assert_eq!(one_line_summary(&r), "run OneLine0 (concurrency 16): live, no result yet");
    }

    #[test]
    fn a_sweep_in_one_line_names_its_step() {
        let steps = vec![report(4, 300.0, Some(true)), report(16, 900.0, Some(false))];
        let sweep = |steps: Vec<RunReport>| {
            let best_step = SweepReport::pick_best(&steps);
            RunResult::Sweep(SweepReport {
                started_at_ms: 0,
                steps,
                best_step,
                stopped: false,
                verdict: None,
                preflight: None,
            })
        };
        let line = one_line_summary(&run("S", sweep(steps)));
        assert!(line.starts_with("S c=4 (best under SLO of 2 steps): 300 tok/s"), "{line}");
        let line = one_line_summary(&run("S", sweep(vec![report(4, 300.0, None), report(16, 900.0, None)])));
        assert!(line.starts_with("S c=16 (most tok/s of 2 steps): 900 tok/s"), "{line}");
    }
}
