//! The run archive (sqlx). Queries live here and nowhere else; migrations in `server/migrations/` run at start.

use std::str::FromStr;

use app::protocol::live_run::RunView;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

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

    /// Inserts or updates a run (its spec, status and — once finished — its whole view with the result).
    pub async fn save_run(&self, run: &RunView) -> Result<(), StoreError> {
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A run's last saved view.
    pub async fn load_run(&self, id: &str) -> Result<Option<RunView>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT report_json FROM runs WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.and_then(|(json,)| serde_json::from_str(&json).ok()))
    }

    /// The newest `limit` runs, newest first.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunView>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT report_json FROM runs WHERE report_json IS NOT NULL ORDER BY created_at_ms DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(|(json,)| serde_json::from_str(&json).ok()).collect())
    }

    /// Number of archived runs.
    pub async fn count_runs(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM runs").fetch_one(&self.pool).await?;
        Ok(n)
    }
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
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_schemes_with_the_fix() {
        let err = parse_url("mysql://x").unwrap_err().to_string();
        assert!(err.contains("--db") && err.contains("sqlite://"), "{err}");
        assert!(parse_url("sqlite://").is_err());
        assert!(parse_url("sqlite://runs.db").is_ok());
    }

    #[tokio::test]
    async fn creates_and_migrates_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.count_runs().await.unwrap(), 0);
        // A second open of the same file finds the schema in place.
        assert_eq!(Store::connect(&url).await.unwrap().count_runs().await.unwrap(), 0);
    }
}
