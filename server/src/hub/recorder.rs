//! Archiving a live run's series: the run's forward task hands every engine event and GPU tick to a [`Recorder`],
//! which buffers windows, request records and GPU samples and writes them at most once a second, one transaction per
//! write — so a crash loses at most the last second.

use std::time::Duration;

use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use app::protocol::event::RunEvent;
use app::protocol::gpu::{GpuSample, TelemetryStatus};

use crate::store::{SeriesBatch, Store};

/// Longest time rows wait in memory before they are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Rows kept for a retry while the archive refuses writes; beyond this the oldest unwritten rows are dropped.
const MAX_PENDING_ROWS: usize = 500_000;

/// The unwritten part of one run's series.
pub struct Recorder {
    run_id: String,
    store: Store,
    pending: SeriesBatch,
}

impl Recorder {
    /// A recorder for `run_id`; `telemetry` (the GPUs sampled) is written with the first batch.
    pub fn new(run_id: String, store: Store, telemetry: TelemetryStatus) -> Self {
        Recorder { run_id, store, pending: SeriesBatch { telemetry: Some(telemetry), ..SeriesBatch::default() } }
    }

    /// The flush clock: first tick one period from now, later ticks skipped rather than bunched.
    pub fn interval() -> Interval {
        let mut every = interval_at(Instant::now() + FLUSH_EVERY, FLUSH_EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        every
    }

    /// Keeps what the archive stores of an engine event.
    pub fn record(&mut self, event: &RunEvent) {
        self.pending.record(event);
    }

    /// Keeps one telemetry tick.
    pub fn record_gpu(&mut self, samples: &[GpuSample]) {
        self.pending.gpu.extend_from_slice(samples);
    }

    /// Writes what is pending in one transaction. On failure the rows are kept for the next flush (rewriting a row
    /// is harmless), up to a bound.
    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.store.append_series(&self.run_id, &self.pending).await {
            Ok(()) => self.pending = SeriesBatch::default(),
            Err(e) => {
                let rows = self.pending.windows.len() + self.pending.requests.len() + self.pending.gpu.len();
                tracing::warn!(run = %self.run_id, rows, "could not archive the run's series (will retry): {e}");
                if rows > MAX_PENDING_ROWS {
                    tracing::warn!(run = %self.run_id, rows, "dropping unwritten series rows");
                    self.pending = SeriesBatch::default();
                }
            }
        }
    }
}
