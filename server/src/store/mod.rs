//! The run archive (sqlx). Queries live here and nowhere else; migrations in `server/migrations/` run at start.
//! Runs are rows of `runs` (their view as JSON); their series (windows, GPU samples, requests) are in
//! [`series`], written in batches.

use std::str::FromStr;

mod series;

use app::protocol::archive::RunPatch;
use app::protocol::live_run::{RunStatus, RunView};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use series::SeriesBatch;

/// Why the archive could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The `--db` URL is not one tokenscope understands.
    #[error("--db {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The database refused an operation.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A handle to the archive; cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating when missing) the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = parse_url(url)?;
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Inserts or updates a run (its spec, status and — once finished — its whole view with the result). The
    /// name, notes and tags of an existing row are kept: they belong to the user (`update_meta`).
    pub async fn save_run(&self, run: &RunView) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        upsert_run(&mut conn, run).await
    }

    /// Saves a finished run and all of its series in one transaction (the CLI's single write at the end).
    pub async fn save_run_with_series(&self, run: &RunView, series: &SeriesBatch) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        upsert_run(&mut tx, run).await?;
        series::insert(&mut tx, &run.id, series).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Saves an ended run with its notes and tags in one transaction (an imported report: no series).
    pub async fn save_run_with_meta(&self, run: &RunView) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        upsert_run(&mut tx, run).await?;
        sqlx::query("UPDATE runs SET notes = ?, tags_json = ? WHERE id = ?")
            .bind(&run.notes)
            .bind(serde_json::to_string(&run.tags).unwrap_or_else(|_| "[]".into()))
            .bind(&run.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A run's last saved view, with the user's name, notes and tags and the stored status applied.
    pub async fn load_run(&self, id: &str) -> Result<Option<RunView>, StoreError> {
        let row: Option<RunRow> = sqlx::query_as(
            "SELECT report_json, name, notes, tags_json, status FROM runs WHERE id = ? AND report_json IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(view_of))
    }

    /// The newest `limit` runs, newest first.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunView>, StoreError> {
        let rows: Vec<RunRow> = sqlx::query_as(
            "SELECT report_json, name, notes, tags_json, status FROM runs WHERE report_json IS NOT NULL \
             ORDER BY created_at_ms DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(view_of).collect())
    }

    /// Number of archived runs.
    pub async fn count_runs(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM runs").fetch_one(&self.pool).await?;
        Ok(n)
    }

    /// Changes a run's name, notes or tags (the fields given); false when no run has the id.
    pub async fn update_meta(&self, id: &str, patch: &RunPatch) -> Result<bool, StoreError> {
        let tags = patch.tags.as_ref().map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
        let done = sqlx::query(
            "UPDATE runs SET name = COALESCE(?, name), notes = COALESCE(?, notes), tags_json = COALESCE(?, tags_json) \
             WHERE id = ?",
        )
        .bind(patch.name.as_deref().map(str::trim))
        .bind(patch.notes.as_deref())
        .bind(tags)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a run and its series in one transaction; false when no run has the id.
    pub async fn delete_run(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM run_windows WHERE run_id = ?",
            "DELETE FROM run_gpu_samples WHERE run_id = ?",
            "DELETE FROM run_requests WHERE run_id = ?",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM runs WHERE id = ?").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks the runs a previous process left in preflight or running as interrupted, keeping their data; their
    /// progress is recounted from the stored requests. Called once at server start. Returns how many.
    pub async fn mark_interrupted(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET status = 'interrupted', ended_at_ms = COALESCE(ended_at_ms, ?), \
             report_json = json_set(report_json, \
                '$.status', 'interrupted', \
                '$.verdict', ?, \
                '$.progress.in_flight', 0, \
                '$.progress.done', (SELECT COUNT(*) FROM run_requests r WHERE r.run_id = runs.id), \
                '$.progress.failed', \
                    (SELECT COUNT(*) FROM run_requests r WHERE r.run_id = runs.id AND r.error_class IS NOT NULL), \
                '$.progress.output_tokens', (SELECT COALESCE(SUM(output_tokens), 0) FROM run_requests r \
                    WHERE r.run_id = runs.id AND r.error_class IS NULL)) \
             WHERE status IN ('preflight', 'running')",
        )
        .bind(now_ms() as i64)
        .bind(INTERRUPTED_VERDICT)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// What an interrupted run says about itself.
pub const INTERRUPTED_VERDICT: &str =
    "tokenscope stopped while this run was live (crash, kill or restart); the data recorded up to then is kept";

/// `report_json, name, notes, tags_json, status` of a `runs` row.
type RunRow = (String, String, String, String, String);

fn view_of((json, name, notes, tags, status): RunRow) -> Option<RunView> {
    let mut view: RunView = serde_json::from_str(&json).ok()?;
    view.spec.name = name;
    view.notes = notes;
    view.tags = serde_json::from_str(&tags).unwrap_or_default();
    if let Ok(s) = serde_json::from_value::<RunStatus>(serde_json::Value::String(status)) {
        view.status = s;
    }
    Some(view)
}

async fn upsert_run(conn: &mut SqliteConnection, run: &RunView) -> Result<(), StoreError> {
    let spec = serde_json::to_string(&run.spec).unwrap_or_default();
    let view = serde_json::to_string(run).unwrap_or_default();
    let ended = (!run.status.is_live()).then(now_ms);
    sqlx::query(
        "INSERT INTO runs (id, name, status, created_at_ms, ended_at_ms, spec_json, report_json) \
         VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, ended_at_ms = excluded.ended_at_ms, \
         report_json = excluded.report_json",
    )
    .bind(&run.id)
    .bind(&run.spec.name)
    .bind(run.status.as_str())
    .bind(run.started_unix_ms as i64)
    .bind(ended.map(|t| t as i64))
    .bind(spec)
    .bind(view)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Checks the scheme and turns `sqlite://FILE` into connection options (WAL, created when missing).
pub fn parse_url(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let bad = |reason: &str| StoreError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(bad(
            "PostgreSQL is not supported by this build yet; use sqlite://FILE (e.g. sqlite://tokenscope.db)",
        ));
    }
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Err(bad("expected sqlite://FILE, e.g. --db sqlite://tokenscope.db"));
    };
    if path.is_empty() {
        return Err(bad("the file name is missing: use sqlite://FILE, e.g. sqlite://tokenscope.db"));
    }
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}")).map_err(|e| bad(&e.to_string()))?;
    Ok(options.create_if_missing(true).journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal))
}

#[cfg(test)]
mod tests;
