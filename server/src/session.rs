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
use protocol::spec::{FieldError, LoadSpec, RunSpec};

use crate::clock::unix_ms;
use crate::engine::dataset::DatasetAccess;
use crate::engine::error::EngineError;
use crate::engine::openai::tokenize_client;
use crate::engine::openai::OpenAiTarget;
use crate::engine::preflight::{
    preflight_with, target_config, PreflightError, PreflightObserver, Surface, WaitProgress,
};
use crate::engine::runner::{run_workload, RunOutcome};
use crate::engine::target::Target;
use crate::engine::tokenize::{load_tokenizer, PromptSynth, ServerTokenizer};
use crate::engine::workload::{Counter, Tokens, Workload};
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
    /// Where the wait for the server stands (every poll, at least once a second, until it is ready).
    fn preflight_waiting(&mut self, _progress: &WaitProgress) {}
    /// Whose words preflight's notes and hints use: flags for the CLI, the form's fields for the dashboard.
    fn surface(&self) -> Surface {
        Surface::Cli
    }
    /// Preflight passed: the load starts now with `spec` as resolved (model, endpoint, backend, seed); `notes` are
    /// what preflight noticed.
    fn load_starting(&mut self, started_unix_ms: u64, spec: &RunSpec, notes: &[String]);
    /// Something the user should know about the machine (e.g. the open-file limit is too low).
    fn note(&mut self, note: &str);
}

/// How a session ended.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // reason: one per run, moved once; boxing would only add noise at every use
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
    /// Preflight failed: the server never got ready, or nothing answered. Its message says what to do, in the
    /// words of the caller's surface ([`PreflightError::render`]; `Display` is the CLI's).
    PreflightFailed(PreflightError),
    /// The spec cannot run (per-field problems).
    Invalid(Vec<FieldError>),
    /// The target's settings cannot make a client (a bad API key header, say).
    BadTarget(String),
    /// The engine failed before a report could be made.
    Failed(String),
}

/// Runs `spec` from preflight to report: `spec.model`, `spec.endpoint` and `spec.seed` are set to what the run
/// used. The engine's events go to `events`.
///
/// Token counting is settled before the load: the spec's `tokenizer` (loaded first, so a wrong path fails before
/// the server is waited for), else the target's own tokenize endpoint (calibrated once), else an estimate that
/// the report labels as such.
pub async fn run(
    spec: &mut RunSpec,
    telemetry: &Telemetry,
    energy: &EnergyScope,
    datasets: &DatasetAccess,
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
    let local = match spec.tokenizer.clone() {
        Some(t) => {
            observer.preflight_state(&format!("tokenizer: loading {t}"));
            let loaded = tokio::select! {
                r = load_tokenizer(&t) => r,
                () = cancel.cancelled() => return Outcome::StoppedInPreflight,
            };
            match loaded {
                Ok(t) => Some(t),
                Err(e) => {
                    let message = e.to_string();
                    let message = message.strip_prefix("tokenizer: ").unwrap_or(&message).to_owned();
                    return Outcome::Invalid(vec![FieldError { field: "tokenizer".into(), message }]);
                }
            }
        }
        None => None,
    };
    let pf = {
        let mut hears = Hears(&mut *observer);
        tokio::select! {
            r = preflight_with(spec, &mut hears) => r,
            () = cancel.cancelled() => return Outcome::StoppedInPreflight,
        }
    };
    let pf = match pf {
        Ok(pf) => pf,
        Err(e) => return Outcome::PreflightFailed(e),
    };
    let cfg = target_config(spec, &pf);
    spec.model = Some(cfg.model.clone());
    spec.endpoint = cfg.endpoint;
    spec.backend = cfg.backend;
    let model = cfg.model.clone();
    let target = match OpenAiTarget::new(cfg) {
        Ok(t) => t,
        Err(e) => return Outcome::BadTarget(e.to_string()),
    };
    let tokens = match local {
        Some(t) => Tokens::tokenizer(t),
        None => {
            let found = tokio::select! {
                t = server_tokens(spec, &model, observer) => t,
                () = cancel.cancelled() => return Outcome::StoppedInPreflight,
            };
            found
        }
    };
    observer.preflight_state(&format!("prompt lengths: {}", tokens.synth.label()));
    if matches!(tokens.counter, Counter::Estimate) {
        observer.note(
            "no tokenizer: prompt lengths are estimates (one common word per token) and the report says so; give \
             --tokenizer (the model's tokenizer.json, its folder or its Hugging Face id) for exact lengths",
        );
    }
    let workload = tokio::select! {
        w = Workload::build(spec, &tokens, datasets) => match w {
            Ok(w) => Arc::new(w),
            Err(e) => return Outcome::Failed(e.to_string()),
        },
        () = cancel.cancelled() => return Outcome::StoppedInPreflight,
    };
    // Without `usage`, the streamed text is counted with the tokenizer rather than counting chunks.
    let target: Arc<dyn Target> = match (&tokens.counter, pf.usage_reported) {
        (Counter::Tokenizer(t), false) => Arc::new(target.count_text_with(t.clone())),
        _ => Arc::new(target),
    };
    observer.load_starting(unix_ms(), spec, &pf.notes);
    let outcome = run_workload(spec, workload, target, events, cancel, observer.surface()).await;
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

/// The session's observer, as preflight's.
struct Hears<'a>(&'a mut dyn Observer);

impl PreflightObserver for Hears<'_> {
    fn state(&mut self, line: &str) {
        self.0.preflight_state(line);
    }
    fn waiting(&mut self, progress: &WaitProgress) {
        self.0.preflight_waiting(progress);
    }
    fn surface(&self) -> Surface {
        self.0.surface()
    }
}

/// The target's tokenize endpoint as the run's counter (calibrated once), or the estimate when it has none or the
/// calibration fails.
async fn server_tokens(spec: &RunSpec, model: &str, observer: &mut dyn Observer) -> Tokens {
    let Ok(client) = tokenize_client(spec.api_key.as_deref()) else { return Tokens::estimate() };
    let base = server_root(&spec.target);
    let Some(server) = ServerTokenizer::detect(&client, &base, model).await else {
        return Tokens::estimate();
    };
    let shown = protocol::spec::redact_target(server.url());
    observer.preflight_state(&format!("tokenizer: calibrating prompt lengths with the server's {shown}"));
    match PromptSynth::from_server(&server).await {
        Ok(synth) => Tokens { synth, counter: Counter::Server(server) },
        Err(e) => {
            observer
                .note(&format!("the server's tokenize endpoint could not be used ({e}); estimating prompt lengths"));
            Tokens::estimate()
        }
    }
}

/// The server's root URL (`http://host:port`), from a target given with or without `/v1` and a trailing `/`.
fn server_root(target: &str) -> String {
    let t = target.trim().trim_end_matches('/');
    t.strip_suffix("/v1").unwrap_or(t).to_owned()
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
