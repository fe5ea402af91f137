//! A run's latency distributions in the archive (`run_latency_histograms`): written when the run ends (the recorder
//! of a dashboard run; the CLI's single write), read by the Run, Compare and share pages and the charts PNG without
//! touching the request rows. A run archived before the table existed, or found interrupted, has none: its first
//! read builds them from the stored requests and stores them (once; later reads are as cheap as any).

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use super::histograms::{HistogramRow, LatencyHistogram, LatencyHistograms, Metric, StepHistograms, WHOLE_RUN};
use super::{Store, StoreError};

/// What to do when a row of the same run, step and metric is stored already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    /// Replace it: the run's end has the final word.
    Replace,
    /// Keep it: a lazy backfill never overwrites what the end of the run wrote meanwhile.
    Keep,
}

async fn insert(
    conn: &mut AnyConnection,
    run_id: &str,
    rows: &[HistogramRow],
    on_conflict: OnConflict,
) -> Result<(), StoreError> {
    let sql = match on_conflict {
        OnConflict::Replace => {
            "INSERT INTO run_latency_histograms (run_id, step, metric, samples, histogram) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (run_id, step, metric) DO UPDATE SET samples = excluded.samples, histogram = excluded.histogram"
        }
        OnConflict::Keep => {
            "INSERT INTO run_latency_histograms (run_id, step, metric, samples, histogram) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (run_id, step, metric) DO NOTHING"
        }
    };
    for (step, metric, samples, bytes) in rows {
        sqlx::query(sql)
            .bind(run_id)
            .bind(*step)
            .bind(metric.name())
            .bind(i64::try_from(*samples).unwrap_or(i64::MAX))
            .bind(bytes.as_slice())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Writes `hists` of `run_id` on `conn` (inside the caller's transaction), replacing what is stored.
pub(super) async fn save(conn: &mut AnyConnection, run_id: &str, hists: &LatencyHistograms) -> Result<(), StoreError> {
    insert(conn, run_id, &hists.rows(), OnConflict::Replace).await
}

/// A run's stored latency distributions, as encoded: decoded only for the scope asked for.
#[derive(Debug, Clone, Default)]
pub struct StoredLatency {
    /// (step or [`WHOLE_RUN`], metric) → (values recorded, V2 encoding).
    rows: BTreeMap<(i64, Metric), (u64, Vec<u8>)>,
}

impl StoredLatency {
    fn of(rows: Vec<HistogramRow>) -> Self {
        StoredLatency { rows: rows.into_iter().map(|(step, m, n, bytes)| ((step, m), (n, bytes))).collect() }
    }

    /// True when nothing is stored (no request was recorded).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every step with a distribution and its measured, successful requests, in order.
    pub fn steps(&self) -> Vec<(u32, u64)> {
        let mut steps: BTreeMap<u32, u64> = BTreeMap::new();
        for ((step, metric), (n, _)) in &self.rows {
            if let (Ok(step), Metric::Ttft | Metric::E2e) = (u32::try_from(*step), metric) {
                let requests = steps.entry(step).or_default();
                *requests = (*requests).max(*n);
            }
        }
        steps.into_iter().collect()
    }

    /// The distributions of step `step`, or of the whole run (`None`); empty ones where nothing is stored.
    pub fn histograms(&self, step: Option<u32>) -> Result<StepHistograms, StoreError> {
        let key = step.map_or(WHOLE_RUN, i64::from);
        let decode = |m: Metric| match self.rows.get(&(key, m)) {
            Some((_, bytes)) => LatencyHistogram::decode(bytes).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(LatencyHistogram::new()),
        };
        Ok(StepHistograms { ttft: decode(Metric::Ttft)?, tpot: decode(Metric::Tpot)?, e2e: decode(Metric::E2e)? })
    }
}

/// `step, ttft_ms, tpot_ms, e2e_ms, measured_ok (0 | 1)` of a request row.
type LatencyRow = (i64, Option<f64>, Option<f64>, Option<f64>, i64);

impl Store {
    /// Stores a run's latency distributions (each step's and the whole run's), replacing any stored ones: the end
    /// of a dashboard run.
    pub async fn save_latency(&self, run_id: &str, hists: &LatencyHistograms) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        save(&mut tx, run_id, hists).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A run's stored latency distributions as they are (empty when none are stored). Reads the few histogram
    /// rows of the run, never its requests.
    pub async fn load_latency(&self, run_id: &str) -> Result<StoredLatency, StoreError> {
        let rows: Vec<(i64, String, i64, Vec<u8>)> =
            sqlx::query_as("SELECT step, metric, samples, histogram FROM run_latency_histograms WHERE run_id = $1")
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(StoredLatency::of(
            rows.into_iter()
                .filter_map(|(step, m, n, bytes)| Some((step, Metric::from_name(&m)?, u64::try_from(n).ok()?, bytes)))
                .collect(),
        ))
    }

    /// A run's latency distributions built from its stored request rows (a live run's so far; nothing is stored).
    /// Reads every request: time grows with their number.
    pub async fn latency_from_requests(&self, run_id: &str) -> Result<LatencyHistograms, StoreError> {
        let rows: Vec<LatencyRow> = sqlx::query_as(
            "SELECT step, ttft_ms, tpot_ms, e2e_ms, \
             CAST(CASE WHEN warmup = 0 AND error_class IS NULL THEN 1 ELSE 0 END AS BIGINT) \
             FROM run_requests WHERE run_id = $1",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut hists = LatencyHistograms::default();
        for (step, ttft, tpot, e2e, ok) in rows {
            if let Ok(step) = u32::try_from(step) {
                hists.add_values(step, ok != 0, [ttft, tpot, e2e]);
            }
        }
        Ok(hists)
    }

    /// An ended run's latency distributions: the stored ones; for a run that has none yet (archived before they
    /// existed, or found interrupted) they are built from its request rows and stored, so only the first read
    /// pays for the requests. A run without request rows (an imported report) stores nothing and reads empty.
    pub async fn latency(&self, run_id: &str) -> Result<StoredLatency, StoreError> {
        let stored = self.load_latency(run_id).await?;
        if !stored.is_empty() {
            return Ok(stored);
        }
        let rows = self.latency_from_requests(run_id).await?.rows();
        if !rows.is_empty() {
            let mut tx = self.pool.begin().await?;
            insert(&mut tx, run_id, &rows, OnConflict::Keep).await?;
            tx.commit().await?;
            tracing::info!(run = run_id, "latency histograms built from the stored requests (first read)");
        }
        Ok(StoredLatency::of(rows))
    }

    /// A live run's latency distributions so far, from its request rows (nothing is stored).
    pub async fn latency_unsaved(&self, run_id: &str) -> Result<StoredLatency, StoreError> {
        Ok(StoredLatency::of(self.latency_from_requests(run_id).await?.rows()))
    }
}
