//! Archiving a live run's series: the run's forward task hands every engine event and GPU tick to a [`Recorder`],
//! which buffers windows, request records and GPU samples and writes them at most once a second, one transaction per
//! write — so a crash loses at most the last second. At the end it stores the run's latency distributions, built from
//! every request record as it passed (`store::histograms`).
//!
//! Writes happen on their own task: a database that is locked (another process holds a write lock, so each attempt
//! waits out SQLite's 5 s busy timeout) or full never stalls the run's progress frames, and the engine never waits
//! for the archive. A write that fails is kept and retried with the next one, up to [`MAX_PENDING_ROWS`] rows (the
//! oldest beyond that are dropped and counted); while writes fail, the run's `storage_error` says so to every
//! viewer and the log has one warning per failed attempt.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use protocol::event::RunEvent;
use protocol::gpu::{GpuSample, TelemetryStatus};

use super::live_run::LiveRun;
use crate::store::histograms::LatencyHistograms;
use crate::store::{SeriesBatch, Store, StoreError};

/// Longest time rows wait in memory before they are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Rows kept for a retry while the archive refuses writes (≈ 80 minutes at 100 requests/s with one GPU sampled at
/// 4 Hz; a request row is ~150 bytes in memory, so this bounds the backlog near 100 MB). Beyond it the oldest
/// unwritten rows are dropped, and the storage error counts them.
pub const MAX_PENDING_ROWS: usize = 500_000;

/// What a write task hands back: nothing, or the batch it could not write and why.
type WriteOutcome = Result<(), (SeriesBatch, StoreError)>;

/// The unwritten part of one run's series.
pub struct Recorder {
    run: Arc<LiveRun>,
    store: Store,
    pending: SeriesBatch,
    /// The write under way, if any.
    writing: Option<JoinHandle<WriteOutcome>>,
    /// The run's row is known to be in the archive (the first write makes sure).
    row_saved: bool,
    /// The write under way also saves the run's row.
    row_in_flight: bool,
    /// Rows dropped because the backlog outgrew [`MAX_PENDING_ROWS`].
    dropped: u64,
    /// Failed writes in a row.
    failures: u32,
    /// [`MAX_PENDING_ROWS`] (smaller in tests).
    max_pending: usize,
    /// The latency distributions of every request recorded, per step (stored by [`finish`](Self::finish)).
    latency: LatencyHistograms,
}

impl Recorder {
    /// A recorder for `run`; `telemetry` (the GPUs sampled) is written with the first batch. `row_saved`: the run's
    /// row is already in the archive (otherwise the first write inserts it).
    pub fn new(run: Arc<LiveRun>, store: Store, telemetry: TelemetryStatus, row_saved: bool) -> Self {
        Recorder {
            run,
            store,
            pending: SeriesBatch { telemetry: Some(telemetry), ..SeriesBatch::default() },
            writing: None,
            row_saved,
            row_in_flight: false,
            dropped: 0,
            failures: 0,
            max_pending: MAX_PENDING_ROWS,
            latency: LatencyHistograms::default(),
        }
    }

    /// The flush clock: first tick one period from now, later ticks skipped rather than bunched.
    pub fn interval() -> Interval {
        let mut every = interval_at(Instant::now() + FLUSH_EVERY, FLUSH_EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        every
    }

    /// Keeps what the archive stores of an engine event.
    pub fn record(&mut self, event: &RunEvent) {
        if let RunEvent::Request(r) = event {
            self.latency.add(r);
        }
        self.pending.record(event);
    }

    /// Keeps one telemetry tick.
    pub fn record_gpu(&mut self, samples: &[GpuSample]) {
        self.pending.gpu.extend_from_slice(samples);
    }

    /// Starts writing what is pending, in one transaction on its own task, unless a write is still under way (then
    /// the rows wait for the next tick). Never waits for the database.
    pub async fn flush(&mut self) {
        if self.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            self.bound();
            return;
        }
        if let Some(done) = self.writing.take() {
            let outcome = done.await;
            self.settle(outcome);
        }
        if self.pending.is_empty() && self.row_saved {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let (store, run_id) = (self.store.clone(), self.run.id());
        // The row first when the run's first save failed: the series belong to it.
        let row = (!self.row_saved).then(|| self.run.view());
        self.row_in_flight = row.is_some();
        self.row_saved = true;
        self.writing = Some(tokio::spawn(async move {
            if let Some(view) = row {
                if let Err(e) = store.save_run(&view).await {
                    return Err((batch, e));
                }
            }
            store.append_series(&run_id, &batch).await.map_err(|e| (batch, e))
        }));
    }

    /// At the end of the run: waits for the write under way, then writes the rest, retrying once a second for up
    /// to `patience`, then the run's latency distributions. True when everything is in the archive.
    pub async fn finish(&mut self, patience: Duration) -> bool {
        let rows = self.finish_rows(patience).await;
        if self.latency.is_empty() {
            return rows;
        }
        match self.store.save_latency(&self.run.id(), &self.latency).await {
            Ok(()) => rows,
            Err(e) => {
                // Not lost: the first read of the run builds them from its stored requests.
                tracing::warn!(run = %self.run.id(), "could not archive the run's latency distributions: {e}");
                false
            }
        }
    }

    async fn finish_rows(&mut self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(w) = self.writing.take() {
                let outcome = w.await;
                self.settle(outcome);
            }
            if self.pending.is_empty() && self.row_saved {
                return true;
            }
            if Instant::now() >= deadline {
                let rows = rows(&self.pending);
                tracing::error!(run = %self.run.id(), rows, "gave up archiving the run's last rows");
                self.run.set_storage_error(Some(format!(
                    "the archive refused writes until the end of the run: {rows} rows of its series could not be \
                     written (the live figures and the final report are complete)"
                )));
                return false;
            }
            if self.failures > 0 {
                tokio::time::sleep(FLUSH_EVERY).await;
            }
            self.flush().await;
        }
    }

    /// Takes in the outcome of a finished write: on failure its rows go back in front of the pending ones.
    fn settle(&mut self, outcome: Result<WriteOutcome, tokio::task::JoinError>) {
        match outcome {
            Ok(Ok(())) => {
                if self.failures > 0 {
                    tracing::info!(run = %self.run.id(), "the archive accepts writes again; the kept rows are written");
                    self.failures = 0;
                }
                self.run.set_storage_error((self.dropped > 0).then(|| {
                    format!(
                        "the archive refused writes for a while: {} of this run's oldest unwritten rows were dropped \
                         (more than {} were waiting); the live figures and the final report are complete",
                        self.dropped, self.max_pending
                    )
                }));
            }
            Ok(Err((mut failed, e))) => {
                if failed.telemetry.is_some() || self.pending.telemetry.is_none() {
                    failed.telemetry = failed.telemetry.or(self.pending.telemetry.take());
                }
                let newer = std::mem::take(&mut self.pending);
                failed.windows.extend(newer.windows);
                failed.requests.extend(newer.requests);
                failed.gpu.extend(newer.gpu);
                self.pending = failed;
                // Saving the row again with the next write is harmless.
                self.row_saved &= !self.row_in_flight;
                self.failures += 1;
                self.bound();
                let rows = rows(&self.pending);
                tracing::warn!(run = %self.run.id(), rows, attempt = self.failures,
                    "could not archive the run's series (kept in memory, retried every second): {e}");
                self.run.set_storage_error(Some(self.describe(&e.to_string())));
            }
            Err(e) => {
                // A panic inside the store: its batch is gone; say so rather than pretend.
                tracing::error!(run = %self.run.id(), "an archive write panicked: {e}");
                self.run
                    .set_storage_error(Some(format!("an archive write failed unexpectedly ({e}); some rows are lost")));
            }
        }
    }

    /// What viewers are told while writes fail.
    fn describe(&self, error: &str) -> String {
        let mut s = format!(
            "the archive refuses writes ({error}); the measurement goes on and {} rows are kept in memory and retried \
             every second",
            rows(&self.pending)
        );
        if self.dropped > 0 {
            s.push_str(&format!(
                "; {} older rows were dropped (more than {} were waiting)",
                self.dropped, self.max_pending
            ));
        }
        s
    }

    /// Drops the oldest unwritten rows beyond [`MAX_PENDING_ROWS`]: GPU samples first, then windows, then requests.
    fn bound(&mut self) {
        let mut over = rows(&self.pending).saturating_sub(self.max_pending);
        if over == 0 {
            return;
        }
        self.dropped += over as u64;
        let gpu = over.min(self.pending.gpu.len());
        self.pending.gpu.drain(..gpu);
        over -= gpu;
        let windows = over.min(self.pending.windows.len());
        self.pending.windows.drain(..windows);
        over -= windows;
        let requests = over.min(self.pending.requests.len());
        self.pending.requests.drain(..requests);
        tracing::warn!(run = %self.run.id(), dropped = self.dropped, "dropping the oldest unwritten series rows");
    }
}

fn rows(batch: &SeriesBatch) -> usize {
    batch.windows.len() + batch.requests.len() + batch.gpu.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::event::RequestRecord;
    use sqlx::Connection;

    fn view() -> protocol::live_run::RunView {
        crate::hub::fixtures::running_view("RecorderTest0123456789", 1)
    }

    fn request(index: u64) -> RunEvent {
        RunEvent::Request(RequestRecord {
            step: 0,
            index,
            t_send_ms: index as f64,
            scheduler_lag_ms: 0.0,
            ttft_ms: Some(1.0),
            e2e_ms: Some(2.0),
            tpot_ms: None,
            output_tokens: 1,
            input_tokens: 1,
            token_source: protocol::record::TokenSource::Usage,
            requested_tokens: 0,
            retried: false,
            warmup: false,
            error: None,
        })
    }

    async fn settled(rec: &Recorder) {
        while rec.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A full archive: writes fail and are reported, the backlog stays within its bound (oldest rows dropped and
    /// counted), and once space is back the kept rows are written.
    #[tokio::test]
    async fn a_refusing_archive_keeps_a_bounded_backlog_and_writes_it_once_it_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rec.db").display());
        let store = Store::connect(&url).await.unwrap();
        let run = LiveRun::new(view());
        store.save_run(&run.view()).await.unwrap();
        let mut side = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TRIGGER full BEFORE INSERT ON run_requests BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
            .execute(&mut side)
            .await
            .unwrap();

        let mut rec =
            Recorder::new(run.clone(), store.clone(), TelemetryStatus::Unavailable { reason: "none".into() }, true);
        rec.max_pending = 50;
        (0..40).for_each(|i| rec.record(&request(i)));
        rec.flush().await;
        settled(&rec).await;
        (40..80).for_each(|i| rec.record(&request(i)));
        rec.flush().await;
        let error = run.view().storage_error.expect("the failure is reported");
        assert!(error.contains("disk is full") && error.contains("30 older rows were dropped"), "{error}");

        sqlx::query("DROP TRIGGER full").execute(&mut side).await.unwrap();
        assert!(rec.finish(Duration::from_secs(10)).await, "written once the archive accepts writes");
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM run_requests").fetch_one(&mut side).await.unwrap();
        let (first,): (i64,) = sqlx::query_as("SELECT MIN(idx) FROM run_requests").fetch_one(&mut side).await.unwrap();
        assert_eq!((n, first), (50, 30), "the newest 50 rows are kept, the 30 oldest were dropped");
        let after = run.view().storage_error.expect("the drop stays reported");
        assert!(after.contains("30 of this run's oldest unwritten rows were dropped"), "{after}");
        let latency = store.load_latency(&run.id()).await.unwrap();
        assert_eq!(latency.steps(), [(0, 80)], "the distributions count every request, the dropped rows' too");
    }
}
