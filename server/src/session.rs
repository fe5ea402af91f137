//! One run session, for the dashboard and the CLI alike: preflight → target → engine → energy → report.
//!
//! The callers only adapt it: the run hub records and fans out the events to viewers; `tokenscope run` draws a
//! progress bar, prints the table and picks an exit status. Both get the same preflight, the same open-file limit,
//! the same GPU selection for energy per token and the same verdicts.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use protocol::event::RunEvent;
use protocol::live_run::RunResult;
use protocol::preflight::PreflightReport;
use protocol::spec::{Endpoint, FieldError, LoadSpec, RunSpec};

use crate::clock::unix_ms;
use crate::engine::error::EngineError;
use crate::engine::openai::OpenAiTarget;
use crate::engine::preflight::{preflight, target_config};
use crate::engine::runner::{load_workload, run_workload, RunOutcome};
use crate::engine::target::Target;
use crate::engine::workload::Workload;
use crate::telemetry::run_energy::{attach, ModelSize};
use crate::telemetry::Telemetry;

/// Sockets kept free beside the load's own when checking the open-file limit.
const SPARE_FILES: u64 = 64;

/// Which GPUs count towards energy per token, and the model size for MBU/MFU.
#[derive(Debug, Clone, Default)]
pub struct EnergyScope {
    /// GPUs by NVML index; empty: those holding processes during the run, else all.
    pub gpus: Vec<u32>,
    /// The served model's size, when known.
    pub model: Option<ModelSize>,
}

/// What the session tells its caller as it goes, besides the engine's events.
pub trait Observer: Send {
    /// A preflight step ("waiting for the server: connection refused", "model: x").
    fn preflight_state(&mut self, state: &str);
    /// Preflight passed: the load starts now with this model and endpoint; `notes` are what preflight noticed.
    fn load_starting(&mut self, started_unix_ms: u64, model: &str, endpoint: Endpoint, notes: &[String]);
    /// Something the user should know about the machine (e.g. the open-file limit is too low).
    fn note(&mut self, note: &str);
}

/// How a session ended.
#[derive(Debug)]
pub enum Outcome {
    /// The load ran (to its limits, an early stop, or a cancel): the result, with preflight's findings in it.
    Finished {
        /// The report of the run or of the sweep, with energy attached.
        result: RunResult,
        /// What preflight found.
        preflight: PreflightReport,
    },
    /// Cancelled before any load was sent.
    StoppedInPreflight,
    /// Preflight failed: the server never got ready, or nothing answered (the message says what to do).
    PreflightFailed(String),
    /// The spec cannot run (per-field problems).
    Invalid(Vec<FieldError>),
    /// The target's settings cannot make a client (a bad API key header, say).
    BadTarget(String),
    /// The engine failed before a report could be made.
    Failed(String),
}

/// Runs `spec` from preflight to report: `spec.model` and `spec.endpoint` are set to what preflight chose. The
/// engine's events go to `events`; `workload` is the prompt set when the caller built it already (the CLI checks a
/// dataset before anything else), else it is built here.
pub async fn run(
    spec: &mut RunSpec,
    workload: Option<Arc<Workload>>,
    telemetry: &Telemetry,
    energy: &EnergyScope,
    observer: &mut dyn Observer,
    events: UnboundedSender<RunEvent>,
    cancel: CancellationToken,
) -> Outcome {
    let errs = spec.validate();
    if !errs.is_empty() {
        return Outcome::Invalid(errs);
    }
    resolve_seed(spec);
    if let Some(note) = raise_open_file_limit(spec) {
        observer.note(&note);
    }
    let pf = {
        let mut on_state = |s: &str| observer.preflight_state(s);
        tokio::select! {
            r = preflight(spec, &mut on_state) => r,
            () = cancel.cancelled() => return Outcome::StoppedInPreflight,
        }
    };
    let pf = match pf {
        Ok(pf) => pf,
        Err(e) => return Outcome::PreflightFailed(e.to_string()),
    };
    let cfg = target_config(spec, &pf);
    spec.model = Some(cfg.model.clone());
    spec.endpoint = cfg.endpoint;
    let (model, endpoint) = (cfg.model.clone(), cfg.endpoint);
    let target: Arc<dyn Target> = match OpenAiTarget::new(cfg) {
        Ok(t) => Arc::new(t),
        Err(e) => return Outcome::BadTarget(e.to_string()),
    };
    let workload = match workload {
        Some(w) => w,
        None => match load_workload(spec).await {
            Ok(w) => w,
            Err(e) => return Outcome::Failed(e.to_string()),
        },
    };
    observer.load_starting(unix_ms(), &model, endpoint, &pf.notes);
    let outcome = run_workload(spec, workload, target, events, cancel).await;
    let pf_json = serde_json::to_value(&pf).ok();
    let result = match outcome {
        Ok(RunOutcome::Single(mut r)) => {
            r.preflight = pf_json;
            attach(telemetry, std::slice::from_mut(&mut r), unix_ms(), &energy.gpus, energy.model);
            RunResult::Single(Box::new(r))
        }
        Ok(RunOutcome::Sweep(mut s)) => {
            s.preflight = pf_json;
            attach(telemetry, &mut s.steps, unix_ms(), &energy.gpus, energy.model);
            RunResult::Sweep(s)
        }
        Err(EngineError::InvalidSpec(errs)) => return Outcome::Invalid(errs),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    Outcome::Finished { result, preflight: pf }
}

/// Draws the run's seed when the spec leaves it to the run (a fresh one per run), so the spec records it.
pub fn resolve_seed(spec: &mut RunSpec) {
    if spec.seed.is_none() {
        spec.seed = Some(rand::random());
    }
}

/// Raises the soft open-file limit to the hard one (each request in flight holds a socket); says so when even
/// that is below what a closed loop of this concurrency needs.
fn raise_open_file_limit(spec: &RunSpec) -> Option<String> {
    let concurrency = match spec.load {
        LoadSpec::Concurrency { concurrency } => {
            spec.sweep.iter().fold(f64::from(concurrency), |a, &b| a.max(b)) as u64
        }
        LoadSpec::Rate { .. } => 0,
    };
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < concurrency + SPARE_FILES => Some(format!(
            "the open-file limit is {limit}, below the {} sockets this load needs; raise the hard limit \
             (ulimit -Hn) or lower the concurrency",
            concurrency + SPARE_FILES
        )),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!("could not raise the open-file limit: {e}");
            None
        }
    }
}
