//! One run's live state, updated from the engine's events and read by viewers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use protocol::event::{RunEvent, WindowStats};
use protocol::live_run::{Progress, RunResult, RunStatus, RunView, RunWsFrame, STALL_AFTER_S};
use protocol::report::ErrorSample;

/// First failures kept per error class, with their bodies, for the error panel.
const SAMPLES_PER_CLASS: usize = 3;

/// A run the hub is running (or has just finished).
pub struct LiveRun {
    state: Mutex<State>,
    started: Instant,
    /// Frames to every viewer.
    pub frames: broadcast::Sender<Arc<RunWsFrame>>,
    /// Cancels the run (Stop).
    pub cancel: CancellationToken,
    /// Fires once the run has ended and its final state went to the archive (or the archive gave up).
    pub archived: CancellationToken,
}

struct State {
    view: RunView,
    windows: Vec<WindowStats>,
    /// When the last request finished.
    last_finish: Option<Instant>,
}

impl LiveRun {
    /// A new run in preflight.
    pub fn new(view: RunView) -> Arc<Self> {
        let (frames, _) = broadcast::channel(256);
        Arc::new(LiveRun {
            state: Mutex::new(State { view, windows: Vec::new(), last_finish: None }),
            started: Instant::now(),
            frames,
            cancel: CancellationToken::new(),
            archived: CancellationToken::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, frame: RunWsFrame) {
        // No viewers is fine: the run goes on.
        let _ = self.frames.send(Arc::new(frame));
    }

    /// The run as it is now.
    pub fn view(&self) -> RunView {
        self.lock().view.clone()
    }

    /// The run and its windows so far (what a late viewer gets first).
    pub fn snapshot(&self) -> (RunView, Vec<WindowStats>) {
        let s = self.lock();
        (s.view.clone(), s.windows.clone())
    }

    /// Id of the run.
    pub fn id(&self) -> String {
        self.lock().view.id.clone()
    }

    /// Applies one engine event and forwards what viewers need.
    pub fn apply(&self, event: RunEvent) {
        let mut s = self.lock();
        match event {
            RunEvent::Preflight { state } => {
                s.view.preflight_states.push(state.clone());
                drop(s);
                self.send(RunWsFrame::Preflight { state });
            }
            RunEvent::StepStarted { step, .. } => {
                s.view.progress.step = step;
            }
            RunEvent::Request(r) => {
                s.view.progress.done += 1;
                s.last_finish = Some(Instant::now());
                if let Some(err) = &r.error {
                    s.view.progress.failed += 1;
                    let seen = s.view.error_samples.iter().filter(|e| e.class == err.class).count();
                    if seen < SAMPLES_PER_CLASS {
                        let sample = ErrorSample { class: err.class, status: err.status, message: err.message.clone() };
                        s.view.error_samples.push(sample.clone());
                        drop(s);
                        self.send(RunWsFrame::Error(sample));
                    }
                } else {
                    s.view.progress.output_tokens += u64::from(r.output_tokens);
                }
            }
            RunEvent::Window(w) => {
                s.view.progress.in_flight = w.in_flight;
                s.windows.push(w.clone());
                drop(s);
                self.send(RunWsFrame::Window(w));
            }
            RunEvent::StepFinished { .. } | RunEvent::Finished { .. } => {}
        }
    }

    /// Marks load as started now (after preflight), with the model and endpoint preflight resolved.
    pub fn set_running(&self, started_unix_ms: u64, spec: protocol::spec::RunSpec) {
        let mut s = self.lock();
        s.view.spec = spec;
        s.view.status = RunStatus::Running;
        s.view.started_unix_ms = started_unix_ms;
    }

    /// The archive's trouble (`Some`: writes fail and are being retried) or its recovery (`None`); viewers hear of
    /// every change.
    pub fn set_storage_error(&self, error: Option<String>) {
        let mut s = self.lock();
        if s.view.storage_error == error {
            return;
        }
        s.view.storage_error = error.clone();
        drop(s);
        self.send(RunWsFrame::Storage { error });
    }

    /// Seconds since the run object was created.
    pub fn age_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Refreshes elapsed/ETA and sends a progress frame; returns the progress.
    pub fn tick(&self, load_started: Option<Instant>) -> Progress {
        let mut s = self.lock();
        let quiet_s = s.last_finish.or(load_started).map(|t| t.elapsed().as_secs_f64());
        let p = &mut s.view.progress;
        if let Some(t0) = load_started {
            p.elapsed_s = t0.elapsed().as_secs_f64();
        }
        // A quiet target: the run lasts until its requests time out, whatever its plan says.
        p.stalled_s = quiet_s.filter(|q| p.in_flight > 0 && *q > STALL_AFTER_S);
        p.eta_s = match p.stalled_s {
            Some(_) => None,
            None => p.fraction().filter(|f| *f > 0.01).map(|f| (p.elapsed_s / f - p.elapsed_s).max(0.0)),
        };
        let (status, progress) = (s.view.status, s.view.progress);
        drop(s);
        self.send(RunWsFrame::Progress { status, progress });
        progress
    }

    /// Ends the run with its status, verdict and result, and tells every viewer.
    pub fn finish(&self, status: RunStatus, verdict: Option<String>, result: Option<RunResult>) -> RunView {
        let mut s = self.lock();
        s.view.status = status;
        s.view.verdict = verdict;
        s.view.result = result;
        s.view.progress.in_flight = 0;
        s.view.progress.eta_s = Some(0.0);
        s.view.progress.stalled_s = None;
        let view = s.view.clone();
        drop(s);
        self.send(RunWsFrame::Finished { run: Box::new(view.clone()) });
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> RunView {
        crate::hub::fixtures::running_view("LiveRunTest0123456789A", 100)
    }

    #[test]
    fn storage_errors_reach_the_view_and_viewers_once_per_change() {
        let run = LiveRun::new(view());
        let mut frames = run.frames.subscribe();
        run.set_storage_error(Some("database is locked".into()));
        run.set_storage_error(Some("database is locked".into()));
        run.set_storage_error(None);
        assert_eq!(run.view().storage_error, None);
        let mut seen = Vec::new();
        while let Ok(f) = frames.try_recv() {
            seen.push((*f).clone());
        }
        assert_eq!(
            seen,
            vec![RunWsFrame::Storage { error: Some("database is locked".into()) }, RunWsFrame::Storage { error: None }]
        );
    }

    #[test]
    fn a_quiet_target_has_no_eta_but_a_stall() {
        let run = LiveRun::new(view());
        let started = Instant::now() - std::time::Duration::from_secs(30);
        {
            let mut s = run.lock();
            (s.view.progress.in_flight, s.view.progress.done, s.view.progress.total) = (3, 50, Some(100));
        }
        // Half done in 30 s, but nothing has finished for 15 s: no ETA, a stall of 15 s.
        run.lock().last_finish = Some(Instant::now() - std::time::Duration::from_secs(15));
        let p = run.tick(Some(started));
        assert_eq!(p.eta_s, None);
        assert!(p.stalled_s.is_some_and(|q| (15.0..16.0).contains(&q)), "{p:?}");
        // A request finishes: the ETA is back (50 more at the same pace: about 30 s).
        run.lock().last_finish = Some(Instant::now());
        let p = run.tick(Some(started));
        assert_eq!(p.stalled_s, None);
        assert!(p.eta_s.is_some_and(|e| (29.0..31.0).contains(&e)), "{p:?}");
        // Nothing in flight: waiting between requests is not a stall.
        run.lock().view.progress.in_flight = 0;
        run.lock().last_finish = Some(Instant::now() - std::time::Duration::from_secs(15));
        assert_eq!(run.tick(Some(started)).stalled_s, None);
    }
}
