//! The run archive (sqlx). Queries live here and nowhere else; migrations in `server/migrations/{sqlite,postgres}/`
//! run at start. Runs are rows of `runs` (their view as JSON); their series (windows, GPU samples, requests) are in
//! [`series`], written in batches; share links are in [`shares`]; latency distributions (HDR histograms per sweep
//! step, [`histograms`]) are in [`latency`].
//!
//! One set of queries serves SQLite (`sqlite://FILE`, the default) and PostgreSQL (`postgres://…`, for teams):
//! the pool is sqlx's `Any` driver, the SQL is portable (`$N` placeholders, `INSERT … ON CONFLICT … DO UPDATE`,
//! no JSON functions) and binds only the types both drivers share (`i64`, `f64`, `String`, their `Option`s). The
//! schemas differ only in column types, so each database has its own migrations.

use std::str::FromStr;

pub mod histograms;
mod latency;
mod series;
mod shares;

use protocol::archive::RunPatch;
use protocol::live_run::{RunStatus, RunView};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection};

pub use latency::StoredLatency;
pub use series::SeriesBatch;
pub use shares::{ShareCache, ShareRow, SHARE_CACHE_TTL};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database behind a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A file, `sqlite://FILE`.
    Sqlite,
    /// A server, `postgres://USER:PASS@HOST:PORT/DB`.
    Postgres,
}

/// A checked `--db` URL: which database, and how to connect to it.
#[derive(Clone, Debug)]
pub struct DbUrl {
    /// SQLite or PostgreSQL.
    pub backend: Backend,
    /// The options the pool connects with (for SQLite: created when missing).
    pub options: AnyConnectOptions,
}

/// Why the archive could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The `--db` URL is not one tokenscope understands.
    #[error("--db {url:?}: {reason}")]
    BadUrl {
        /// The URL as given, its password hidden.
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
    /// A stored value could not be read back.
    #[error("archive: {0}")]
    Corrupt(String),
    /// The database could not be reached or opened at start.
    #[error("--db {url}: cannot open the database: {error}{hint}")]
    Connect {
        /// The URL as given, its password hidden.
        url: String,
        /// What the driver said (in the message, so not a `source`: printed once).
        error: sqlx::Error,
        /// What to check.
        hint: &'static str,
    },
}

/// A handle to the archive; cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the database at `url` (an SQLite file is created when missing) and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let DbUrl { backend, options } = parse_url(url)?;
        let connect_error = |error: sqlx::Error| StoreError::Connect {
            url: redact_url(url),
            error,
            hint: match backend {
                Backend::Sqlite => "; check that the folder exists and is writable",
                Backend::Postgres => {
                    "; check that the PostgreSQL server is running and reachable, and the user, password and \
                     database in the URL (the database must exist: `createdb NAME`)"
                }
            },
        };
        // One connection first, so that a wrong URL or a server that is down fails at once with the driver's
        // reason instead of after the pool's retries.
        let probe = options.connect().await.map_err(connect_error)?;
        probe.close().await.map_err(connect_error)?;
        let mut pool = AnyPoolOptions::new().max_connections(8);
        if backend == Backend::Sqlite {
            // What `SqliteConnectOptions` would set; the `Any` options carry only the URL. WAL: readers do not wait
            // for the writer; NORMAL: a crash loses at most the last transactions, never the file.
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await.map_err(connect_error)?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Store { pool, backend })
    }

    /// Which database this archive is in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Inserts or updates a run (its spec, status and — once finished — its whole view with the result). The
    /// name, notes and tags of an existing row are kept: they belong to the user (`update_meta`).
    pub async fn save_run(&self, run: &RunView) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        upsert_run(&mut conn, run).await
    }

    /// Saves a finished run and all of its series in one transaction (the CLI's single write at the end), with
    /// the latency distributions of its requests.
    pub async fn save_run_with_series(&self, run: &RunView, series: &SeriesBatch) -> Result<(), StoreError> {
        let mut hists = histograms::LatencyHistograms::default();
        series.requests.iter().for_each(|r| hists.add(r));
        let mut tx = self.pool.begin().await?;
        upsert_run(&mut tx, run).await?;
        series::insert(&mut tx, self.backend, &run.id, series).await?;
        latency::save(&mut tx, &run.id, &hists).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Saves an ended run with its notes and tags in one transaction (an imported report: no series).
    pub async fn save_run_with_meta(&self, run: &RunView) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        upsert_run(&mut tx, run).await?;
        sqlx::query("UPDATE runs SET notes = $1, tags_json = $2 WHERE id = $3")
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
            "SELECT report_json, name, notes, tags_json, status FROM runs WHERE id = $1 AND report_json IS NOT NULL",
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
             ORDER BY created_at_ms DESC, id LIMIT $1",
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
            "UPDATE runs SET name = COALESCE($1, name), notes = COALESCE($2, notes), tags_json = COALESCE($3, tags_json) \
             WHERE id = $4",
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
            "DELETE FROM run_windows WHERE run_id = $1",
            "DELETE FROM run_gpu_samples WHERE run_id = $1",
            "DELETE FROM run_requests WHERE run_id = $1",
            "DELETE FROM run_latency_histograms WHERE run_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM runs WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks the runs a previous process left in preflight or running as interrupted, keeping their data; their
    /// progress is recounted from the stored requests. Called once at server start. Returns how many.
    pub async fn mark_interrupted(&self) -> Result<u64, StoreError> {
        // Read, recount and rewrite in Rust (no JSON functions: they differ between the databases), one
        // transaction per run so that a live writer elsewhere never sees half of it.
        let live: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM runs WHERE status IN ('preflight', 'running') ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut marked = 0;
        for (id,) in live {
            let mut tx = self.pool.begin().await?;
            let report: Option<(Option<String>,)> =
                sqlx::query_as("SELECT report_json FROM runs WHERE id = $1 AND status IN ('preflight', 'running')")
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((report,)) = report else { continue };
            let (done, failed, output_tokens): (i64, i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), \
                 CAST(COALESCE(SUM(CASE WHEN error_class IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN error_class IS NULL THEN output_tokens ELSE 0 END), 0) AS BIGINT) \
                 FROM run_requests WHERE run_id = $1",
            )
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
            let report = report.map(|json| interrupted_report(&json, done, failed, output_tokens));
            sqlx::query(
                "UPDATE runs SET status = 'interrupted', ended_at_ms = COALESCE(ended_at_ms, $1), \
                 report_json = COALESCE($2, report_json) WHERE id = $3",
            )
            .bind(crate::clock::unix_ms() as i64)
            .bind(report)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            marked += 1;
        }
        Ok(marked)
    }
}

/// A live run's stored view, marked interrupted with its progress recounted from the stored requests (other
/// fields kept as they are, known to this build or not).
fn interrupted_report(json: &str, done: i64, failed: i64, output_tokens: i64) -> String {
    let Ok(serde_json::Value::Object(mut view)) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_owned();
    };
    view.insert("status".into(), "interrupted".into());
    view.insert("verdict".into(), INTERRUPTED_VERDICT.into());
    let progress = view.entry("progress").or_insert_with(|| serde_json::json!({}));
    if let Some(progress) = progress.as_object_mut() {
        progress.insert("in_flight".into(), 0.into());
        progress.insert("done".into(), done.into());
        progress.insert("failed".into(), failed.into());
        progress.insert("output_tokens".into(), output_tokens.into());
    }
    serde_json::Value::Object(view).to_string()
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

async fn upsert_run(conn: &mut AnyConnection, run: &RunView) -> Result<(), StoreError> {
    let spec = serde_json::to_string(&run.spec).unwrap_or_default();
    let view = serde_json::to_string(run).unwrap_or_default();
    let ended = (!run.status.is_live()).then(crate::clock::unix_ms);
    sqlx::query(
        "INSERT INTO runs (id, name, status, created_at_ms, ended_at_ms, spec_json, report_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at_ms = excluded.ended_at_ms, \
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

/// Checks a `--db` URL: `sqlite://FILE` (WAL, created when missing) or `postgres://USER:PASS@HOST:PORT/DB`.
pub fn parse_url(url: &str) -> Result<DbUrl, StoreError> {
    const FORMS: &str = "use sqlite://FILE (e.g. --db sqlite://tokenscope.db) or postgres://USER:PASS@HOST:PORT/DB \
                         (e.g. --db postgres://tokenscope:secret@127.0.0.1:5432/tokenscope)";
    let bad = |reason: String| StoreError::BadUrl { url: redact_url(url), reason };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Checked by the PostgreSQL driver itself (host, port, parameters), then handed to `Any` as it is.
        sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| bad(format!("{e}; {FORMS}")))?;
        let mut options = AnyConnectOptions::from_str(url).map_err(|e| bad(format!("{e}; {FORMS}")))?;
        if !url.contains("client_min_messages") {
            // The migrations' `CREATE … IF NOT EXISTS` would log a NOTICE at every start ("already exists").
            options.database_url.query_pairs_mut().append_pair("options", "-c client_min_messages=warning");
        }
        return Ok(DbUrl { backend: Backend::Postgres, options });
    }
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Err(bad(format!("unknown kind of database; {FORMS}")));
    };
    if path.is_empty() || path.starts_with('?') {
        return Err(bad("the file name is missing: use sqlite://FILE, e.g. --db sqlite://tokenscope.db".into()));
    }
    let sqlite =
        SqliteConnectOptions::from_str(&format!("sqlite://{path}")).map_err(|e| bad(format!("{e}; {FORMS}")))?;
    // `Any` keeps only the URL (the file, `mode=rwc`…): WAL and `synchronous` are set on each connection by
    // `Store::connect`; SQLite's 5 s busy timeout is the driver's default.
    let sqlite = sqlite.create_if_missing(true);
    let options = AnyConnectOptions::from_url(&sqlite.to_url_lossy()).map_err(|e| bad(format!("{e}; {FORMS}")))?;
    Ok(DbUrl { backend: Backend::Sqlite, options })
}

/// `url` with the password, if any (`USER:PASS@` or a `password=` parameter), replaced by `***` (for messages and
/// logs).
pub fn redact_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let mut out = match base.find("://").map(|i| i + 3) {
        Some(scheme_end) => {
            let rest = &base[scheme_end..];
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
                Some((colon, at)) => format!("{}{}:***{}", &base[..scheme_end], &rest[..colon], &rest[at..]),
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests;
