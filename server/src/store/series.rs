//! A run's series in the archive: its 1 s windows, the GPU samples taken while it was live, and its per-request
//! records. Written in batches ([`SeriesBatch`], one transaction each); rewriting a row (same key) replaces it, so
//! a batch written twice does no harm.

use serde::{de::DeserializeOwned, Serialize};
use sqlx::sqlite::SqliteConnection;

use app::protocol::archive::RunSeries;
use app::protocol::event::{RequestRecord, RunEvent, WindowStats};
use app::protocol::gpu::{GpuSample, TelemetryStatus};
use app::protocol::record::RequestError;

use super::{Store, StoreError};

/// Rows not yet written for one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesBatch {
    /// GPU telemetry status of the run (written once; `None` leaves the stored one).
    pub telemetry: Option<TelemetryStatus>,
    /// Closed 1 s windows.
    pub windows: Vec<WindowStats>,
    /// Finished requests.
    pub requests: Vec<RequestRecord>,
    /// GPU samples, any GPUs.
    pub gpu: Vec<GpuSample>,
}

impl SeriesBatch {
    /// Keeps what the archive stores of an engine event (windows and request records).
    pub fn record(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Window(w) => self.windows.push(w.clone()),
            RunEvent::Request(r) => self.requests.push(r.clone()),
            _ => {}
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.telemetry.is_none() && self.windows.is_empty() && self.requests.is_empty() && self.gpu.is_empty()
    }
}

/// `requests` row: step, idx, t_send_ms, scheduler_lag_ms, ttft_ms, e2e_ms, tpot_ms, output_tokens, input_tokens,
/// token_source, warmup, error_class, error_status, error_message.
type RequestRow = (
    i64,
    i64,
    f64,
    f64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    i64,
    i64,
    String,
    bool,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// A unit enum's serde name (`usage`, `http_status`…).
fn name_of<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn from_name<T: DeserializeOwned>(s: String) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s)).ok()
}

/// Writes `batch` for `run_id` on `conn` (inside the caller's transaction).
pub(super) async fn insert(conn: &mut SqliteConnection, run_id: &str, batch: &SeriesBatch) -> Result<(), StoreError> {
    if let Some(status) = &batch.telemetry {
        sqlx::query("UPDATE runs SET telemetry_json = ? WHERE id = ?")
            .bind(serde_json::to_string(status).unwrap_or_default())
            .bind(run_id)
            .execute(&mut *conn)
            .await?;
    }
    for w in &batch.windows {
        sqlx::query(
            "INSERT OR REPLACE INTO run_windows (run_id, step, t_end_ms, unix_ms, window_json) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(i64::from(w.step))
        .bind(w.t_end_ms.round() as i64)
        .bind(w.unix_ms as i64)
        .bind(serde_json::to_string(w).unwrap_or_default())
        .execute(&mut *conn)
        .await?;
    }
    for s in &batch.gpu {
        sqlx::query(
            "INSERT OR REPLACE INTO run_gpu_samples (run_id, gpu_index, unix_ms, sample_json) VALUES (?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(i64::from(s.index))
        .bind(s.unix_ms as i64)
        .bind(serde_json::to_string(s).unwrap_or_default())
        .execute(&mut *conn)
        .await?;
    }
    for r in &batch.requests {
        let err = r.error.as_ref();
        sqlx::query(
            "INSERT OR REPLACE INTO run_requests (run_id, step, idx, t_send_ms, scheduler_lag_ms, ttft_ms, e2e_ms, \
             tpot_ms, output_tokens, input_tokens, token_source, warmup, error_class, error_status, error_message) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(i64::from(r.step))
        .bind(r.index as i64)
        .bind(r.t_send_ms)
        .bind(r.scheduler_lag_ms)
        .bind(r.ttft_ms)
        .bind(r.e2e_ms)
        .bind(r.tpot_ms)
        .bind(i64::from(r.output_tokens))
        .bind(i64::from(r.input_tokens))
        .bind(name_of(&r.token_source))
        .bind(r.warmup)
        .bind(err.map(|e| name_of(&e.class)))
        .bind(err.and_then(|e| e.status).map(i64::from))
        .bind(err.map(|e| e.message.as_str()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Appends a batch of a run's series in one transaction.
    pub async fn append_series(&self, run_id: &str, batch: &SeriesBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        insert(&mut tx, run_id, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A run's windows (in time order), GPU samples (by time, then GPU) and telemetry status.
    pub async fn load_series(&self, run_id: &str) -> Result<RunSeries, StoreError> {
        let status: Option<(Option<String>,)> = sqlx::query_as("SELECT telemetry_json FROM runs WHERE id = ?")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        let windows: Vec<(String,)> =
            sqlx::query_as("SELECT window_json FROM run_windows WHERE run_id = ? ORDER BY unix_ms, step, t_end_ms")
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
        let gpu: Vec<(String,)> =
            sqlx::query_as("SELECT sample_json FROM run_gpu_samples WHERE run_id = ? ORDER BY unix_ms, gpu_index")
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(RunSeries {
            telemetry: status.and_then(|(s,)| s).and_then(|s| serde_json::from_str(&s).ok()),
            windows: windows.into_iter().filter_map(|(j,)| serde_json::from_str(&j).ok()).collect(),
            gpu: gpu.into_iter().filter_map(|(j,)| serde_json::from_str(&j).ok()).collect(),
        })
    }

    /// A run's request records, by step then index.
    pub async fn load_requests(&self, run_id: &str) -> Result<Vec<RequestRecord>, StoreError> {
        let rows: Vec<RequestRow> = sqlx::query_as(
            "SELECT step, idx, t_send_ms, scheduler_lag_ms, ttft_ms, e2e_ms, tpot_ms, output_tokens, input_tokens, \
             token_source, warmup, error_class, error_status, error_message \
             FROM run_requests WHERE run_id = ? ORDER BY step, idx",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(request_of).collect())
    }

    /// TTFT and end-to-end latencies (ms) of the measured (not warmup), successful requests of a run.
    pub async fn load_latencies(&self, run_id: &str) -> Result<(Vec<f64>, Vec<f64>), StoreError> {
        let rows: Vec<(Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT ttft_ms, e2e_ms FROM run_requests WHERE run_id = ? AND warmup = 0 AND error_class IS NULL",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let ttft = rows.iter().filter_map(|r| r.0).collect();
        let e2e = rows.iter().filter_map(|r| r.1).collect();
        Ok((ttft, e2e))
    }
}

fn request_of(row: RequestRow) -> Option<RequestRecord> {
    let (step, idx, t_send_ms, scheduler_lag_ms, ttft_ms, e2e_ms, tpot_ms, out, inp, source, warmup, class, st, msg) =
        row;
    let error = match class {
        Some(c) => Some(RequestError {
            class: from_name(c)?,
            status: st.and_then(|s| u16::try_from(s).ok()),
            message: msg.unwrap_or_default(),
        }),
        None => None,
    };
    Some(RequestRecord {
        step: u32::try_from(step).ok()?,
        index: u64::try_from(idx).ok()?,
        t_send_ms,
        scheduler_lag_ms,
        ttft_ms,
        e2e_ms,
        tpot_ms,
        output_tokens: u32::try_from(out).ok()?,
        input_tokens: u32::try_from(inp).ok()?,
        token_source: from_name(source)?,
        warmup,
        error,
    })
}
