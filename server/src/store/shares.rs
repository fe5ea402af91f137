//! Share links: an unguessable id that opens one run (`run`) or a comparison of runs (`compare`) until it is
//! revoked. The id is made by the caller; the archive only keeps the rows.

use super::{Store, StoreError};

/// A `shares` row.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRow {
    /// The unguessable id in the link.
    pub id: String,
    /// `run` or `compare`.
    pub kind: String,
    /// The runs the link opens, in order.
    pub run_ids: Vec<String>,
    /// A label for the owner's list of links.
    pub label: String,
    /// When it was made, Unix epoch ms.
    pub created_unix_ms: u64,
    /// When it was revoked (the first time), Unix epoch ms; `None` while the link works.
    pub revoked_unix_ms: Option<u64>,
}

/// `id, kind, run_ids_json, label, created_at_ms, revoked_at_ms` of a `shares` row.
type Row = (String, String, String, String, i64, Option<i64>);

/// The columns of [`Row`], for `concat!` (sqlx takes only `&'static str` SQL).
macro_rules! columns {
    () => {
        "SELECT id, kind, run_ids_json, label, created_at_ms, revoked_at_ms FROM shares"
    };
}

fn share_of((id, kind, run_ids, label, created, revoked): Row) -> ShareRow {
    ShareRow {
        id,
        kind,
        run_ids: serde_json::from_str(&run_ids).unwrap_or_default(),
        label,
        created_unix_ms: u64::try_from(created).unwrap_or(0),
        revoked_unix_ms: revoked.map(|t| u64::try_from(t).unwrap_or(0)),
    }
}

impl Store {
    /// Stores a new share (the caller generates the unguessable id).
    pub async fn insert_share(&self, share: &ShareRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO shares (id, kind, run_ids_json, label, created_at_ms, revoked_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&share.id)
        .bind(&share.kind)
        .bind(serde_json::to_string(&share.run_ids).unwrap_or_else(|_| "[]".into()))
        .bind(&share.label)
        .bind(i64::try_from(share.created_unix_ms).unwrap_or(i64::MAX))
        .bind(share.revoked_unix_ms.map(|t| i64::try_from(t).unwrap_or(i64::MAX)))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The share with this id, revoked or not.
    pub async fn get_share(&self, id: &str) -> Result<Option<ShareRow>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(concat!(columns!(), " WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(share_of))
    }

    /// Newest first; with Some(run_id), only shares whose run_ids contain it.
    pub async fn list_shares(&self, run_id: Option<&str>) -> Result<Vec<ShareRow>, StoreError> {
        // Few rows: the run filter is applied here rather than with dialect-specific JSON SQL.
        let rows: Vec<Row> =
            sqlx::query_as(concat!(columns!(), " ORDER BY created_at_ms DESC, id")).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(share_of)
            .filter(|s| run_id.is_none_or(|r| s.run_ids.iter().any(|id| id == r)))
            .collect())
    }

    /// Sets revoked_at (keeps the first revocation time); false when no share has the id.
    pub async fn revoke_share(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE shares SET revoked_at_ms = COALESCE(revoked_at_ms, $1) WHERE id = $2")
            .bind(crate::clock::unix_ms() as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// How long a looked-up share link is trusted before the archive is asked again.
pub const SHARE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// Entries kept before stale ones are swept out.
const CACHE_SWEEP_AT: usize = 1024;

/// Revocations a live socket may miss before it re-reads its links from the archive instead.
const REVOKED_BACKLOG: usize = 64;

/// Share links looked up in the last [`SHARE_CACHE_TTL`]: a viewer's page load makes a dozen requests, each would
/// otherwise read every link of its cookie from the archive. One per server (in `AppState`); a revocation on this
/// server clears its entry at once and is announced to the sockets share viewers hold ([`ShareCache::subscribe`]).
#[derive(Debug)]
pub struct ShareCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Option<ShareRow>)>>,
    revoked: tokio::sync::broadcast::Sender<String>,
}

impl Default for ShareCache {
    fn default() -> Self {
        ShareCache { entries: Default::default(), revoked: tokio::sync::broadcast::channel(REVOKED_BACKLOG).0 }
    }
}

impl ShareCache {
    /// The ids of links revoked on this server from now on. A receiver that lags (more than 64 revocations unread)
    /// gets `Lagged` and should re-read its links.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.revoked.subscribe()
    }

    /// Forgets the revoked link `id` and tells the subscribers.
    pub fn revoked(&self, id: &str) {
        self.forget(id);
        // No subscriber (no viewer socket open) is not an error.
        let _ = self.revoked.send(id.to_owned());
    }

    /// The link `id` (or `None` when the archive has none), from the cache when looked up recently.
    pub async fn get(&self, store: &Store, id: &str) -> Result<Option<ShareRow>, StoreError> {
        if let Ok(cache) = self.entries.lock() {
            if let Some((_, row)) = cache.get(id).filter(|(at, _)| at.elapsed() < SHARE_CACHE_TTL) {
                return Ok(row.clone());
            }
        }
        let row = store.get_share(id).await?;
        if let Ok(mut cache) = self.entries.lock() {
            if cache.len() >= CACHE_SWEEP_AT {
                cache.retain(|_, (at, _)| at.elapsed() < SHARE_CACHE_TTL);
            }
            cache.insert(id.to_owned(), (std::time::Instant::now(), row.clone()));
        }
        Ok(row)
    }

    /// Forgets the link `id`, so that a change to it holds from the next lookup on.
    pub fn forget(&self, id: &str) {
        if let Ok(mut cache) = self.entries.lock() {
            cache.remove(id);
        }
    }
}
