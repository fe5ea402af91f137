//! The [`Telemetry`] handle: starts the sampler on its own OS thread (NVML calls are blocking FFI and never run on
//! tokio workers), fans each tick out through a `tokio::sync::broadcast` channel and keeps the recent history.
//!
//! No NVIDIA driver is not an error: the handle then reports [`TelemetryStatus::Unavailable`] with the reason, runs
//! no thread and never retries.

use std::{
    sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use protocol::gpu::{GpuSample, TelemetryStatus};
use tokio::sync::broadcast;

use super::{
    config::{TelemetryConfig, TelemetryError},
    nvml,
    ring::Ring,
    sampler::Sampler,
    simulated::{SimLoad, SimSource},
    source::Source,
};

/// One tick: one sample per sampled GPU. Shared, so a tick is built once whatever the number of subscribers.
pub type Batch = Arc<Vec<GpuSample>>;

/// Ticks a slow subscriber may fall behind before it skips ahead (16 s at the default 4 Hz).
const CHANNEL_TICKS: usize = 64;

use crate::clock::unix_ms;

/// What the sampler thread and the handles share.
#[derive(Debug)]
struct Shared {
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Batch>,
}

impl Shared {
    fn new() -> Arc<Self> {
        Arc::new(Shared { ring: Mutex::new(Ring::default()), tx: broadcast::channel(CHANNEL_TICKS).0 })
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves the ring consistent (push is the only writer): keep serving it.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, batch: Vec<GpuSample>) {
        self.ring().extend(batch.iter().cloned());
        // No subscriber is not an error: the ring still has the history.
        let _ = self.tx.send(Arc::new(batch));
    }
}

#[derive(Debug)]
struct Inner {
    status: TelemetryStatus,
    interval: Duration,
    shared: Arc<Shared>,
    sim_load: Option<SimLoad>,
    stop_tx: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn stop(&self) {
        // Dropping the sender wakes the thread's wait with `Disconnected`.
        drop(self.stop_tx.lock().unwrap_or_else(PoisonError::into_inner).take());
        let handle = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(h) = handle {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

/// Handle to the GPU telemetry; cheap to clone. The sampler stops when [`Telemetry::stop`] is called or the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl Telemetry {
    /// Starts the simulated source when `config.simulate_gpus` is set, NVML otherwise. Blocks until the source has
    /// answered (NVML init and static info: up to a second or two on a cold driver), so call it from
    /// `spawn_blocking` in async code. A machine without NVIDIA driver gives `Ok` with an unavailable status; a bad
    /// config or `--gpus` naming a missing GPU gives `Err`.
    pub fn start(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
        config.validate()?;
        match config.simulate_gpus {
            Some(n) => {
                let load = SimLoad::default();
                let source = SimSource::new(n, load.clone());
                Self::start_source(config, source, Some(load))
            }
            None => Self::start_nvml(config),
        }
    }

    /// Starts the sampler over NVML. The [`nvml_wrapper::Nvml`] handle lives on the sampler thread for its whole life.
    pub fn start_nvml(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
        let selection = config.gpus.clone();
        Self::spawn(config, None, move |ready, stop, shared, interval| {
            let lib = match nvml::init() {
                Ok(lib) => lib,
                Err(reason) => {
                    let _ = ready.send(Ready::Unavailable(reason));
                    return;
                }
            };
            let source = nvml::NvmlSource::new(&lib);
            run(source, selection.as_deref(), ready, stop, &shared, interval);
        })
    }

    /// Starts the sampler over any `Source` that can move to the sampler thread (the demo source, test fakes).
    pub fn start_source<S: Source + Send + 'static>(
        config: &TelemetryConfig,
        source: S,
        sim_load: Option<SimLoad>,
    ) -> Result<Telemetry, TelemetryError> {
        config.validate()?;
        let selection = config.gpus.clone();
        Self::spawn(config, sim_load, move |ready, stop, shared, interval| {
            run(source, selection.as_deref(), ready, stop, &shared, interval);
        })
    }

    /// A handle that reports "unavailable: `reason`" and never samples.
    pub fn unavailable(reason: impl Into<String>) -> Telemetry {
        Telemetry::from_parts(TelemetryStatus::Unavailable { reason: reason.into() }, Duration::ZERO, Shared::new())
    }

    /// A handle fed by hand instead of by a sampler thread (tests, replays): the returned [`ManualFeed`] publishes
    /// batches to subscribers and the history exactly as the sampler would.
    pub fn manual(status: TelemetryStatus, interval: Duration) -> (Telemetry, ManualFeed) {
        let shared = Shared::new();
        (Telemetry::from_parts(status, interval, shared.clone()), ManualFeed { shared })
    }

    fn from_parts(status: TelemetryStatus, interval: Duration, shared: Arc<Shared>) -> Telemetry {
        let inner =
            Inner { status, interval, shared, sim_load: None, stop_tx: Mutex::new(None), thread: Mutex::new(None) };
        Telemetry { inner: Arc::new(inner) }
    }

    fn spawn<F>(config: &TelemetryConfig, sim_load: Option<SimLoad>, body: F) -> Result<Telemetry, TelemetryError>
    where
        F: FnOnce(mpsc::Sender<Ready>, mpsc::Receiver<()>, Arc<Shared>, Duration) + Send + 'static,
    {
        let shared = Shared::new();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel();
        let interval = config.interval;
        let thread_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("gpu-telemetry".into())
            .spawn(move || body(ready_tx, stop_rx, thread_shared, interval));
        let thread = match spawned {
            Ok(t) => t,
            Err(e) => return Ok(Telemetry::unavailable(format!("cannot start the GPU sampler thread: {e}"))),
        };
        let status = match ready_rx.recv() {
            Ok(Ready::Up(status)) => status,
            Ok(Ready::Unavailable(reason)) => TelemetryStatus::Unavailable { reason },
            Ok(Ready::Invalid(err)) => return Err(err),
            Err(_) => TelemetryStatus::Unavailable { reason: "the GPU sampler thread stopped while starting".into() },
        };
        let running = status.is_up();
        let inner = Inner {
            status,
            interval,
            shared,
            sim_load,
            stop_tx: Mutex::new(running.then_some(stop_tx)),
            thread: Mutex::new(running.then_some(thread)),
        };
        Ok(Telemetry { inner: Arc::new(inner) })
    }

    /// Whether telemetry runs, on which GPUs, or why not.
    pub fn status(&self) -> TelemetryStatus {
        self.inner.status.clone()
    }

    /// Fast-tier interval (zero when unavailable).
    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// The demo source's load knobs, when the source is simulated.
    pub fn sim_load(&self) -> Option<SimLoad> {
        self.inner.sim_load.clone()
    }

    /// Every later tick. A receiver that falls behind gets `Lagged` and should skip ahead.
    pub fn subscribe(&self) -> broadcast::Receiver<Batch> {
        self.inner.shared.tx.subscribe()
    }

    /// Samples of every GPU at or after `since_unix_ms` (up to 15 minutes back), by time then GPU index.
    pub fn history(&self, since_unix_ms: u64) -> Vec<GpuSample> {
        self.inner.shared.ring().since(since_unix_ms)
    }

    /// History with at most `max_per_gpu` points per GPU (for charts), by time then GPU index.
    pub fn history_downsampled(&self, max_per_gpu: usize) -> Vec<GpuSample> {
        self.inner.shared.ring().downsampled(max_per_gpu)
    }

    /// The newest sample of each GPU.
    pub fn latest(&self) -> Vec<GpuSample> {
        self.inner.shared.ring().latest()
    }

    /// Stops the sampler and waits for its thread (at most one in-flight NVML call). Subscribers then see `Closed`
    /// once every handle is gone. Idempotent.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

/// Publishes batches into a [`Telemetry::manual`] handle.
#[derive(Debug, Clone)]
pub struct ManualFeed {
    shared: Arc<Shared>,
}

impl ManualFeed {
    /// Stores `batch` in the history and sends it to subscribers.
    pub fn publish(&self, batch: Vec<GpuSample>) {
        self.shared.publish(batch);
    }
}

/// What the thread tells `start` once its source has answered.
enum Ready {
    Up(TelemetryStatus),
    Unavailable(String),
    Invalid(TelemetryError),
}

/// The sampler thread: static info, then a tick per interval until stopped. Missed ticks are skipped, not bunched.
fn run<S: Source>(
    source: S,
    selection: Option<&[u32]>,
    ready: mpsc::Sender<Ready>,
    stop: mpsc::Receiver<()>,
    shared: &Shared,
    interval: Duration,
) {
    let mut sampler = match Sampler::new(source, selection) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Ready::Invalid(e));
            return;
        }
    };
    let gpus = sampler.infos();
    if gpus.is_empty() {
        let reason = "libnvidia-ml (NVML) loaded, but the NVIDIA driver reports no GPU".to_string();
        let _ = ready.send(Ready::Unavailable(reason));
        return;
    }
    let status =
        if sampler.simulated() { TelemetryStatus::Simulated { gpus } } else { TelemetryStatus::Available { gpus } };
    if ready.send(Ready::Up(status)).is_err() {
        return;
    }
    let start = Instant::now();
    let mut next = start;
    loop {
        let mono_ms = start.elapsed().as_millis() as u64;
        shared.publish(sampler.tick(mono_ms, unix_ms()));
        next += interval;
        let now = Instant::now();
        if next <= now {
            // The tick overran (a slow NVML call): skip the missed slots instead of bursting to catch up.
            let behind = now.duration_since(next).as_nanos() / interval.as_nanos().max(1) + 1;
            next += interval * u32::try_from(behind).unwrap_or(u32::MAX);
        }
        match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::fake::FakeSource;

    fn config(ms: u64) -> TelemetryConfig {
        TelemetryConfig { interval: Duration::from_millis(ms), ..Default::default() }
    }

    #[tokio::test]
    async fn samples_fan_out_to_every_subscriber_and_land_in_history() {
        let t = Telemetry::start_source(&config(50), FakeSource::new(2), None).unwrap();
        assert_eq!(t.status().label(), "available");
        assert_eq!(t.status().gpus().len(), 2);
        let (mut a, mut b) = (t.subscribe(), t.subscribe());
        let one = a.recv().await.unwrap();
        let two = b.recv().await.unwrap();
        assert_eq!(one.len(), 2);
        assert_eq!(two.len(), 2);
        assert!(!t.history(0).is_empty());
        assert_eq!(t.latest().len(), 2);
        t.stop();
        t.stop();
    }

    #[test]
    fn a_missing_gpu_in_the_selection_is_a_config_error() {
        let cfg = TelemetryConfig { gpus: Some(vec![7]), ..config(250) };
        let err = Telemetry::start_source(&cfg, FakeSource::new(2), None).unwrap_err();
        assert_eq!(err, TelemetryError::NoSuchGpu { index: 7, count: 2 });
    }

    #[test]
    fn no_devices_is_unavailable_not_an_error() {
        let t = Telemetry::start_source(&config(250), FakeSource::new(0), None).unwrap();
        let TelemetryStatus::Unavailable { reason } = t.status() else { panic!("expected unavailable") };
        assert!(reason.contains("libnvidia-ml"), "{reason}");
        assert!(t.latest().is_empty());
    }

    #[test]
    fn without_a_driver_nvml_start_reports_unavailable_once() {
        // On a machine with a GPU this starts NVML for real; either way it must not fail or panic.
        let t = Telemetry::start(&config(250)).unwrap();
        if let TelemetryStatus::Unavailable { reason } = t.status() {
            assert!(reason.contains("libnvidia-ml"), "{reason}");
        }
        t.stop();
    }

    #[test]
    fn simulated_start_labels_everything_and_exposes_the_load_knobs() {
        let cfg = TelemetryConfig { simulate_gpus: Some(2), ..config(50) };
        let t = Telemetry::start(&cfg).unwrap();
        assert_eq!(t.status().label(), "simulated");
        assert!(t.status().gpus().iter().all(|g| g.simulated && g.name.contains("Simulated")));
        assert!(t.sim_load().is_some());
        let mut rx = t.subscribe();
        let batch = rx.blocking_recv().unwrap();
        assert!(batch.iter().all(|s| s.simulated));
    }
}
