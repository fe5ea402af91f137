//! Starting, stopping and finding the dashboard's runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast::error::RecvError, mpsc};

use app::protocol::event::RunEvent;
use app::protocol::live_run::{Progress, RunResult, RunStatus, RunView};
use app::protocol::spec::{FieldError, RunSpec};

use super::{ids::new_run_id, live_run::LiveRun, recorder::Recorder};
use crate::engine::{self, openai::OpenAiTarget, preflight, runner::RunOutcome};
use crate::routes::live::now_ms;
use crate::store::Store;
use crate::telemetry::{run_energy::attach, Telemetry};

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
}

impl RunManager {
    /// A manager archiving into `store`, loading the simulated GPUs (if any) of `telemetry`.
    pub fn new(store: Store, telemetry: Telemetry, demo_target: Option<String>) -> Self {
        RunManager { runs: Default::default(), order: Default::default(), store, telemetry, demo_target }
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

    /// The telemetry every run is charted against.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Validates `spec` and starts it in the background; returns the live run.
    pub fn start(&self, spec: RunSpec) -> Result<Arc<LiveRun>, StartError> {
        let errors = spec.validate();
        if !errors.is_empty() {
            return Err(StartError::Invalid(errors));
        }
        if let Some(busy) = self.runs().values().find(|r| r.view().status.is_live()) {
            return Err(StartError::Busy(busy.id()));
        }
        let id = new_run_id();
        let demo = self.demo_target.as_deref().is_some_and(|d| spec.target.trim_end_matches('/') == d);
        let steps = spec.sweep.len().max(1) as u32;
        let progress = Progress {
            steps,
            total: spec.requests.map(|r| (r + spec.warmup_requests) * u64::from(steps)),
            planned_s: spec.duration_s.map(|d| (d + spec.warmup_s) * f64::from(steps)),
            ..Progress::default()
        };
        let view = RunView {
            id: id.clone(),
            spec: spec.clone(),
            status: RunStatus::Preflight,
            started_unix_ms: now_ms(),
            progress,
            preflight_states: Vec::new(),
            verdict: None,
            error_samples: Vec::new(),
            result: None,
            demo,
            notes: String::new(),
            tags: Vec::new(),
            storage_error: None,
        };
        let run = LiveRun::new(view);
        self.runs().insert(id.clone(), run.clone());
        self.remember(id);
        tokio::spawn(drive(run.clone(), spec, self.store.clone(), self.telemetry.clone()));
        Ok(run)
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
async fn drive(run: Arc<LiveRun>, spec: RunSpec, store: Store, telemetry: Telemetry) {
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
    let (status, verdict, result) = execute(&run, spec, tx, &load_started, &telemetry).await;
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

async fn execute(
    run: &Arc<LiveRun>,
    mut spec: RunSpec,
    tx: mpsc::UnboundedSender<RunEvent>,
    load_started: &OnceLock<Instant>,
    telemetry: &Telemetry,
) -> (RunStatus, Option<String>, Option<RunResult>) {
    let pf = {
        let tx = tx.clone();
        let mut on_state = move |s: &str| {
            let _ = tx.send(RunEvent::Preflight { state: s.to_owned() });
        };
        tokio::select! {
            r = preflight::preflight(&spec, &mut on_state) => r,
            _ = run.cancel.cancelled() => return (RunStatus::Stopped, Some("stopped during preflight".into()), None),
        }
    };
    let pf = match pf {
        Ok(pf) => pf,
        Err(e) => return (RunStatus::Failed, Some(format!("preflight: {e}")), None),
    };
    let cfg = preflight::target_config(&spec, &pf);
    let (cfg_model, cfg_endpoint) = (cfg.model.clone(), cfg.endpoint);
    spec.model = Some(cfg.model.clone());
    spec.endpoint = cfg.endpoint;
    let target = match OpenAiTarget::new(cfg) {
        Ok(t) => Arc::new(t) as Arc<dyn crate::engine::target::Target>,
        Err(e) => return (RunStatus::Failed, Some(e.to_string()), None),
    };
    let _ = load_started.set(Instant::now());
    run.set_running(now_ms(), cfg_model, cfg_endpoint);
    let pf_json = serde_json::to_value(&pf).ok();
    match engine::runner::run(&spec, target, tx, run.cancel.clone()).await {
        Ok(RunOutcome::Single(mut r)) => {
            r.preflight = pf_json;
            attach(telemetry, std::slice::from_mut(&mut r), now_ms(), &[], None);
            let verdict =
                r.verdict.clone().or_else(|| (r.requests_completed == 0).then(|| "no request completed".into()));
            let result = RunResult::Single(Box::new(r));
            (result.status(), verdict, Some(result))
        }
        Ok(RunOutcome::Sweep(mut s)) => {
            s.preflight = pf_json;
            attach(telemetry, &mut s.steps, now_ms(), &[], None);
            let verdict = s.verdict.clone();
            let result = RunResult::Sweep(s);
            (result.status(), verdict, Some(result))
        }
        Err(e) => (RunStatus::Failed, Some(e.to_string()), None),
    }
}

/// Lets the simulated GPUs (demo) follow the load; real GPUs need no telling.
fn set_sim_load(telemetry: &Telemetry, in_flight: u64, tokens_per_s: f64) {
    if let Some(load) = telemetry.sim_load() {
        load.set_in_flight(in_flight);
        load.set_tokens_per_s(tokens_per_s);
    }
}
