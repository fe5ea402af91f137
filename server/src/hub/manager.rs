//! Starting, stopping and finding the dashboard's runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast::error::RecvError, mpsc};

use protocol::event::RunEvent;
use protocol::live_run::{RunResult, RunStatus, RunView};
use protocol::spec::{FieldError, RunSpec, WorkloadSpec};

use super::{ids::new_run_id, live_run::LiveRun, load_runtime, recorder::Recorder};
use crate::clock::unix_ms;
use crate::engine::dataset::DatasetAccess;
use crate::policy::Policy;
use crate::session::{self, EnergyScope, Outcome};
use crate::store::Store;
use crate::telemetry::Telemetry;

/// Finished runs kept in memory for their pages (older ones are read from the archive).
const KEEP_FINISHED: usize = 32;
/// Progress frames per second while a run is live.
const PROGRESS_HZ: u64 = 4;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The spec has problems; one per field.
    #[error("the run spec is invalid")]
    Invalid(Vec<FieldError>),
    /// Another run is live: two runs at once would measure each other.
    #[error(
        "run {0} is still in progress: stop it or wait for it, since two runs at once would skew each other's figures"
    )]
    Busy(String),
}

/// Every run the dashboard started in this process.
#[derive(Clone)]
pub struct RunManager {
    runs: Arc<Mutex<HashMap<String, Arc<LiveRun>>>>,
    order: Arc<Mutex<Vec<String>>>,
    store: Store,
    telemetry: Telemetry,
    demo_target: Option<String>,
    energy: EnergyScope,
    policy: Option<Arc<Policy>>,
}

impl RunManager {
    /// A manager archiving into `store`, loading the simulated GPUs (if any) of `telemetry`.
    pub fn new(store: Store, telemetry: Telemetry, demo_target: Option<String>) -> Self {
        let energy = EnergyScope::default();
        RunManager {
            runs: Default::default(),
            order: Default::default(),
            store,
            telemetry,
            demo_target,
            energy,
            policy: None,
        }
    }

    /// Confines datasets and targets as `policy` says (`serve --dataset-dir`, `--allow-target`). Without one
    /// (tests), datasets are read as the CLI reads them and any target is reached.
    pub fn with_policy(mut self, policy: Arc<Policy>) -> Self {
        self.policy = Some(policy);
        self
    }

    fn datasets(&self) -> DatasetAccess {
        self.policy.as_ref().map_or_else(DatasetAccess::local, |p| p.datasets().clone())
    }

    /// Counts the energy of these GPUs towards J/token (`serve --gpus`; empty: those holding processes, else all).
    pub fn with_energy_scope(mut self, energy: EnergyScope) -> Self {
        self.energy = energy;
        self
    }

    fn runs(&self) -> MutexGuard<'_, HashMap<String, Arc<LiveRun>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The URL of the built-in demo target, when the server runs one.
    pub fn demo_target(&self) -> Option<&str> {
        self.demo_target.as_deref()
    }

    /// A run of this process by id.
    pub fn get(&self, id: &str) -> Option<Arc<LiveRun>> {
        self.runs().get(id).cloned()
    }

    /// A run from memory (live or recent) or the archive; `None` when there is no such run.
    pub async fn find(&self, id: &str) -> Result<Option<RunView>, crate::store::StoreError> {
        if let Some(run) = self.get(id) {
            return Ok(Some(run.view()));
        }
        if !super::looks_like_id(id) {
            return Ok(None);
        }
        self.store.load_run(id).await
    }

    /// The telemetry every run is charted against.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Validates `spec` and starts it in the background; returns the live run.
    pub fn start(&self, mut spec: RunSpec) -> Result<Arc<LiveRun>, StartError> {
        session::resolve_seed(&mut spec);
        let mut errors = spec.validate();
        if let Some(Err(e)) = spec.tokenizer.as_deref().map(crate::engine::tokenize::precheck) {
            let message = e.to_string();
            let message = message.strip_prefix("tokenizer: ").unwrap_or(&message).to_owned();
            errors.push(FieldError { field: "tokenizer".into(), message });
        }
        errors.extend(self.policy_errors(&spec));
        if !errors.is_empty() {
            return Err(StartError::Invalid(errors));
        }
        if let Some(busy) = self.runs().values().find(|r| r.view().status.is_live()) {
            return Err(StartError::Busy(busy.id()));
        }
        let id = new_run_id();
        let demo = self.demo_target.as_deref().is_some_and(|d| spec.target.trim_end_matches('/') == d);
        let view = RunView::starting(id.clone(), spec.clone(), unix_ms(), demo);
        let run = LiveRun::new(view);
        self.runs().insert(id.clone(), run.clone());
        self.remember(id);
        let scope = Scope { energy: self.energy.clone(), datasets: self.datasets() };
        tokio::spawn(drive(run.clone(), spec, self.store.clone(), self.telemetry.clone(), scope));
        Ok(run)
    }

    /// What the policy refuses in `spec`: a target it may not reach (by the host as written; `routes::runs` also
    /// checks what a name resolves to), a dataset outside the folder or not a regular file.
    fn policy_errors(&self, spec: &RunSpec) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let field = |field: &str, message: String| FieldError { field: field.to_owned(), message };
        if let Some(policy) = &self.policy {
            if let Err(e) = policy.check_target(&spec.target) {
                errors.push(field("target", e));
            }
        }
        if let WorkloadSpec::Jsonl { path, .. } | WorkloadSpec::ShareGpt { path, .. } = &spec.workload {
            if let Err(e) = self.datasets().resolve(path) {
                errors.push(field("workload.path", e));
            }
        }
        errors
    }

    /// Asks a run to stop; completed requests are kept. False when no such run is live.
    pub fn stop(&self, id: &str) -> bool {
        match self.get(id) {
            Some(run) if run.view().status.is_live() => {
                run.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Stops every live run and waits, at most `patience`, until each has ended and its final state is archived:
    /// what a graceful shutdown (SIGINT/SIGTERM) does before the process exits. Returns how many runs it waited for.
    pub async fn shutdown(&self, patience: Duration) -> usize {
        let open: Vec<Arc<LiveRun>> = self.runs().values().filter(|r| !r.archived.is_cancelled()).cloned().collect();
        for run in &open {
            run.cancel.cancel();
        }
        let all = futures::future::join_all(open.iter().map(|r| r.archived.cancelled()));
        if tokio::time::timeout(patience, all).await.is_err() {
            tracing::error!("runs still not archived after {patience:?}; exiting anyway (they come back interrupted)");
        }
        open.len()
    }

    /// Drops a finished run from memory (after its deletion from the archive). False when it is live.
    pub fn forget(&self, id: &str) -> bool {
        let mut runs = self.runs();
        if runs.get(id).is_some_and(|r| r.view().status.is_live()) {
            return false;
        }
        runs.remove(id);
        drop(runs);
        self.order.lock().unwrap_or_else(|e| e.into_inner()).retain(|o| o != id);
        true
    }

    fn remember(&self, id: String) {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        order.push(id);
        while order.len() > KEEP_FINISHED {
            let oldest = order.remove(0);
            let live = self.get(&oldest).is_some_and(|r| r.view().status.is_live());
            if live {
                order.insert(0, oldest);
                break;
            }
            self.runs().remove(&oldest);
        }
    }
}

/// How long the end of a run keeps retrying to archive its last rows and its final state while the archive refuses
/// writes (the in-memory run keeps being served meanwhile, and after).
const FINAL_ARCHIVE_PATIENCE: Duration = Duration::from_secs(60);

/// Preflight, load, result: one run from start to end, with its events forwarded to viewers.
/// What a run's session is given besides its spec.
struct Scope {
    energy: EnergyScope,
    datasets: DatasetAccess,
}

async fn drive(run: Arc<LiveRun>, spec: RunSpec, store: Store, telemetry: Telemetry, scope: Scope) {
    let (tx, mut rx) = mpsc::unbounded_channel::<RunEvent>();
    let load_started = Arc::new(OnceLock::<Instant>::new());
    // The row first: the recorder's batches belong to it (the recorder retries it when this fails).
    let row_saved = match store.save_run(&run.view()).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(run = %run.id(), "could not archive the new run (retried with its first series): {e}");
            false
        }
    };
    let forward = {
        let (run, load_started, telemetry) = (run.clone(), load_started.clone(), telemetry.clone());
        let mut recorder = Recorder::new(run.clone(), store.clone(), telemetry.status(), row_saved);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / PROGRESS_HZ));
            let (mut gpu, mut gpu_open, mut flush) = (telemetry.subscribe(), true, Recorder::interval());
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Some(ev) => {
                            recorder.record(&ev);
                            if let RunEvent::Window(w) = &ev {
                                set_sim_load(&telemetry, w.in_flight, w.output_tokens_per_s);
                            }
                            run.apply(ev);
                        }
                        None => break,
                    },
                    g = gpu.recv(), if gpu_open => match g {
                        Ok(samples) => recorder.record_gpu(&samples),
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => gpu_open = false,
                    },
                    _ = flush.tick() => recorder.flush().await,
                    _ = tick.tick() => { run.tick(load_started.get().copied()); }
                }
            }
            set_sim_load(&telemetry, 0, 0.0);
            recorder
        })
    };
    // A target that goes away mid-run ends it in the engine (`engine::step::TARGET_LOST_AFTER`), with a verdict.
    let (status, verdict, result) = execute(&run, spec, tx, &load_started, &telemetry, scope).await;
    let recorder = forward.await;
    run.tick(load_started.get().copied());
    let view = run.finish(status, verdict, result);
    match recorder {
        Ok(mut recorder) => {
            recorder.finish(FINAL_ARCHIVE_PATIENCE).await;
        }
        Err(e) => tracing::error!(run = %view.id, "the run's recorder failed; its series may be incomplete: {e}"),
    }
    archive_final(&run, &store).await;
    run.archived.cancel();
}

/// Saves the ended run's final state (with its result), retrying once a second while the archive refuses it.
async fn archive_final(run: &LiveRun, store: &Store) {
    let deadline = Instant::now() + FINAL_ARCHIVE_PATIENCE;
    loop {
        // The latest view: it carries the storage error, if the series could not all be written.
        let view = run.view();
        match store.save_run(&view).await {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline => {
                tracing::warn!(run = %view.id, "could not archive the ended run (retrying): {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::error!(run = %view.id, "gave up archiving the ended run; it is lost at the next restart: {e}");
                run.set_storage_error(Some(format!(
                    "the archive refused this run ({e}); it is shown from memory and will be lost at the next restart"
                )));
                return;
            }
        }
    }
}

/// Passes what the session says on to the live run: preflight states as events, the load's start, notes in the log.
struct HubObserver {
    run: Arc<LiveRun>,
    tx: mpsc::UnboundedSender<RunEvent>,
    load_started: Arc<OnceLock<Instant>>,
}

impl session::Observer for HubObserver {
    fn preflight_state(&mut self, state: &str) {
        let _ = self.tx.send(RunEvent::Preflight { state: state.to_owned() });
    }

    fn surface(&self) -> protocol::preflight::Surface {
        protocol::preflight::Surface::Form
    }

    fn load_starting(&mut self, started_unix_ms: u64, spec: &RunSpec, _notes: &[String]) {
        let _ = self.load_started.set(Instant::now());
        self.run.set_running(started_unix_ms, spec.clone());
    }

    fn note(&mut self, note: &str) {
        tracing::warn!(run = %self.run.id(), "{note}");
    }
}

/// Runs the session on the load generator's own threads ([`load_runtime`]) and says how the run ended.
async fn execute(
    run: &Arc<LiveRun>,
    mut spec: RunSpec,
    tx: mpsc::UnboundedSender<RunEvent>,
    load_started: &Arc<OnceLock<Instant>>,
    telemetry: &Telemetry,
    scope: Scope,
) -> (RunStatus, Option<String>, Option<RunResult>) {
    let mut observer = HubObserver { run: run.clone(), tx: tx.clone(), load_started: load_started.clone() };
    let (cancel, telemetry) = (run.cancel.clone(), telemetry.clone());
    let session = load_runtime::handle().spawn(async move {
        session::run(&mut spec, &telemetry, &scope.energy, &scope.datasets, &mut observer, tx, cancel).await
    });
    let outcome = session.await.unwrap_or_else(|e| Outcome::Failed(format!("the run's session ended abnormally: {e}")));
    match outcome {
        Outcome::Finished { result, .. } => {
            let verdict = match &result {
                RunResult::Single(r) => {
                    r.verdict.clone().or_else(|| (r.requests_completed == 0).then(|| "no request completed".into()))
                }
                RunResult::Sweep(s) => s.verdict.clone(),
            };
            (result.status(), verdict, Some(result))
        }
        Outcome::StoppedInPreflight => (RunStatus::Stopped, Some("stopped during preflight".into()), None),
        Outcome::PreflightFailed(e) => {
            (RunStatus::Failed, Some(format!("preflight: {}", e.render(protocol::preflight::Surface::Form))), None)
        }
        Outcome::Invalid(errs) => {
            let text = errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            (RunStatus::Failed, Some(format!("invalid run spec: {text}")), None)
        }
        Outcome::BadTarget(e) | Outcome::Failed(e) => (RunStatus::Failed, Some(e), None),
    }
}

/// Lets the simulated GPUs (demo) follow the load; real GPUs need no telling.
fn set_sim_load(telemetry: &Telemetry, in_flight: u64, tokens_per_s: f64) {
    if let Some(load) = telemetry.sim_load() {
        load.set_in_flight(in_flight);
        load.set_tokens_per_s(tokens_per_s);
    }
}
