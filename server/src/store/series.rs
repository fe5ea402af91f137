//! A run's series in the archive: its 1 s windows, the GPU samples taken while it was live, and its per-request
//! records. Written in batches ([`SeriesBatch`], one transaction each); rewriting a row (same key) replaces it, so
//! a batch written twice does no harm. Rows go in as multi-row `INSERT … ON CONFLICT … DO UPDATE` statements of a
//! few fixed sizes (so the prepared statements are few and reused), on SQLite and PostgreSQL alike.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{de::DeserializeOwned, Serialize};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe};

use protocol::archive::RunSeries;
use protocol::event::{RequestRecord, RunEvent, WindowStats};
use protocol::gpu::{GpuSample, TelemetryStatus};
use protocol::record::RequestError;

use super::{Backend, Store, StoreError};

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
/// token_source, warmup (0 | 1), error_class, error_status, error_message, requested_tokens, retried (0 | 1).
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
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    i64,
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

/// Rows per statement, largest first: a batch is written as statements of these sizes (a batch of 37 rows is
/// 2 × 16 + 4 + 1), so each table has at most five statements to prepare.
const CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// The rows of `items` whose key comes last in it (a later row replaces an earlier one with the same key, as it
/// would in the table; one statement may not touch a row twice on PostgreSQL).
fn last_per_key<T, K: Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    items.iter().enumerate().filter(|(i, item)| last.get(&key(item)) == Some(i)).map(|(_, item)| item).collect()
}

/// `INSERT INTO {table} ({columns}) VALUES (…), (…) … ON CONFLICT ({key}) DO UPDATE SET c = excluded.c, …` for
/// `rows` rows. Placeholders: `$1, $2…` on PostgreSQL; plain `?` on SQLite, where a numbered one costs a scan of
/// the statement's parameter list at each bind (quadratic: 40 ms for a 256-row statement of 3 840 parameters).
pub(super) fn upsert_sql(backend: Backend, table: &str, columns: &[&str], key: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..columns.len() {
            n += 1;
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${n}")),
            }
        }
        sql.push(')');
    }
    let set: Vec<String> = columns.iter().filter(|c| !key.contains(c)).map(|c| format!("{c} = excluded.{c}")).collect();
    sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", key.join(", "), set.join(", ")));
    sql
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

/// Upserts `rows` into `table` in statements of [`CHUNKS`] rows; `bind` binds one row's columns in order.
/// `persistent`: whether the database may keep the prepared statements for the next batch.
async fn upsert<T>(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    (columns, key): (&[&str], &[&str]),
    rows: &[&T],
    persistent: bool,
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> Result<(), StoreError> {
    let mut rest = rows;
    while !rest.is_empty() {
        let size = CHUNKS.into_iter().find(|&c| c <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        let mut query =
            sqlx::query(AssertSqlSafe(upsert_sql(backend, table, columns, key, size))).persistent(persistent);
        for row in chunk {
            query = bind(query, row);
        }
        query.execute(&mut *conn).await?;
        rest = tail;
    }
    Ok(())
}

const WINDOW_COLUMNS: [&str; 5] = ["run_id", "step", "t_end_ms", "unix_ms", "window_json"];
const GPU_COLUMNS: [&str; 4] = ["run_id", "gpu_index", "unix_ms", "sample_json"];
const REQUEST_COLUMNS: [&str; 17] = [
    "run_id",
    "step",
    "idx",
    "t_send_ms",
    "scheduler_lag_ms",
    "ttft_ms",
    "e2e_ms",
    "tpot_ms",
    "output_tokens",
    "input_tokens",
    "token_source",
    "warmup",
    "error_class",
    "error_status",
    "error_message",
    "requested_tokens",
    "retried",
];

/// Writes `batch` for `run_id` on `conn` (inside the caller's transaction).
pub(super) async fn insert(
    conn: &mut AnyConnection,
    backend: Backend,
    run_id: &str,
    batch: &SeriesBatch,
) -> Result<(), StoreError> {
    if let Some(status) = &batch.telemetry {
        sqlx::query("UPDATE runs SET telemetry_json = $1 WHERE id = $2")
            .bind(serde_json::to_string(status).unwrap_or_default())
            .bind(run_id)
            .execute(&mut *conn)
            .await?;
    }
    let windows: Vec<(i64, i64, i64, String)> = batch
        .windows
        .iter()
        .map(|w| {
            let json = serde_json::to_string(w).unwrap_or_default();
            (i64::from(w.step), w.t_end_ms.round() as i64, w.unix_ms as i64, json)
        })
        .collect();
    let windows = last_per_key(&windows, |w| (w.0, w.1));
    upsert(conn, backend, "run_windows", (&WINDOW_COLUMNS, &WINDOW_COLUMNS[..3]), &windows, true, |q, w| {
        q.bind(run_id).bind(w.0).bind(w.1).bind(w.2).bind(w.3.as_str())
    })
    .await?;

    let gpu: Vec<(i64, i64, String)> = batch
        .gpu
        .iter()
        .map(|s| (i64::from(s.index), s.unix_ms as i64, serde_json::to_string(s).unwrap_or_default()))
        .collect();
    let gpu = last_per_key(&gpu, |s| (s.0, s.1));
    upsert(conn, backend, "run_gpu_samples", (&GPU_COLUMNS, &GPU_COLUMNS[..3]), &gpu, true, |q, s| {
        q.bind(run_id).bind(s.0).bind(s.1).bind(s.2.as_str())
    })
    .await?;

    let requests = last_per_key(&batch.requests, |r| (r.step, r.index));
    // sqlx 0.9's `Any` driver sends a NULL `f64` (a failed request's TTFT…) as a NULL `real` (f32; its
    // `AnyArguments::convert_into` swaps the two, transact-rs/sqlx#4284). A PostgreSQL statement prepared with such
    // a NULL keeps `real` for that parameter and rejects the 8-byte value of the next batch; so on PostgreSQL these
    // statements are prepared afresh each time (one per 256 rows, a small cost), which is right with or without
    // the fix. SQLite has no parameter types and keeps its prepared statements.
    let persistent = backend == Backend::Sqlite;
    upsert(conn, backend, "run_requests", (&REQUEST_COLUMNS, &REQUEST_COLUMNS[..3]), &requests, persistent, |q, r| {
        let err = r.error.as_ref();
        q.bind(run_id)
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
            .bind(i64::from(r.warmup))
            .bind(err.map(|e| name_of(&e.class)))
            .bind(err.and_then(|e| e.status).map(i64::from))
            .bind(err.map(|e| e.message.as_str()))
            .bind(i64::from(r.requested_tokens))
            .bind(i64::from(r.retried))
    })
    .await?;
    Ok(())
}

impl Store {
    /// Appends a batch of a run's series in one transaction.
    pub async fn append_series(&self, run_id: &str, batch: &SeriesBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        insert(&mut tx, self.backend, run_id, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A run's windows (in time order), GPU samples (by time, then GPU) and telemetry status.
    pub async fn load_series(&self, run_id: &str) -> Result<RunSeries, StoreError> {
        let status: Option<(Option<String>,)> = sqlx::query_as("SELECT telemetry_json FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        let windows: Vec<(String,)> =
            sqlx::query_as("SELECT window_json FROM run_windows WHERE run_id = $1 ORDER BY unix_ms, step, t_end_ms")
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
        let gpu: Vec<(String,)> =
            sqlx::query_as("SELECT sample_json FROM run_gpu_samples WHERE run_id = $1 ORDER BY unix_ms, gpu_index")
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
             token_source, warmup, error_class, error_status, error_message, requested_tokens, retried \
             FROM run_requests WHERE run_id = $1 ORDER BY step, idx",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(request_of).collect())
    }

    /// TTFT and end-to-end latencies (ms) of the measured (not warmup), successful requests of a run.
    pub async fn load_latencies(&self, run_id: &str) -> Result<(Vec<f64>, Vec<f64>), StoreError> {
        let rows: Vec<(Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT ttft_ms, e2e_ms FROM run_requests WHERE run_id = $1 AND warmup = 0 AND error_class IS NULL",
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
    let (
        step,
        idx,
        t_send_ms,
        scheduler_lag_ms,
        ttft_ms,
        e2e_ms,
        tpot_ms,
        out,
        inp,
        source,
        warmup,
        class,
        st,
        msg,
        asked,
        retried,
    ) = row;
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
        warmup: warmup != 0,
        requested_tokens: u32::try_from(asked).unwrap_or(0),
        retried: retried != 0,
        error,
    })
}
