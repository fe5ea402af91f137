//! Ending the sockets a share link opened once the link is revoked. A request is checked when it is made, but a
//! WebSocket stays open: without this, a viewer's `/ws/runs/{id}` would go on streaming after the owner revoked the
//! link. The socket handler asks for a [`SocketGrant`] before the upgrade and hands its [`SocketGrant::ended`] to
//! the socket loop, which sends the close frame it resolves to and stops.

use std::{sync::Arc, time::Duration};

use axum::extract::ws::CloseFrame;
use tokio::sync::broadcast::{error::RecvError, Receiver};

use protocol::share::{SessionInfo, ShareView};

use crate::state::AppState;
use crate::store::{ShareCache, Store};

/// Close code sent when a share link is revoked: 4403, the application range's "forbidden".
pub const CLOSE_CODE: u16 = 4403;
/// Close reason sent with [`CLOSE_CODE`].
pub const CLOSE_REASON: &str = "share link revoked";
/// How often a viewer's socket re-reads its links from the archive: a revocation made by another server sharing a
/// PostgreSQL archive reaches it this late (one made on this server at once).
pub const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// What lets a socket stay open: nothing for the owner; for a share-link viewer, the links that covered it.
pub struct SocketGrant {
    watch: Option<Watch>,
}

struct Watch {
    ids: Vec<String>,
    revoked: Option<Receiver<String>>,
    cache: Arc<ShareCache>,
    store: Store,
}

impl SocketGrant {
    /// The grant of a socket opened by `viewer` (the request's viewer [`SessionInfo`]; `None` for the owner), kept
    /// open by those of its links that `covers` (for `/ws/runs/{id}`: the links that share the run). Subscribes to
    /// revocations at once, before the upgrade, so that none falls between the admission and the socket.
    pub fn new(state: &AppState, viewer: Option<&SessionInfo>, covers: impl Fn(&ShareView) -> bool) -> Self {
        let watch = viewer.map(|viewer| Watch {
            ids: viewer.shares.iter().filter(|s| covers(s)).map(|s| s.id.clone()).collect(),
            revoked: Some(state.shares.subscribe()),
            cache: state.shares.clone(),
            store: state.store.clone(),
        });
        SocketGrant { watch }
    }

    /// Resolves with the close frame to send when every link that covered the socket has been revoked (or is gone
    /// from the archive); never for the owner.
    pub async fn ended(self) -> CloseFrame {
        let Some(mut watch) = self.watch else { return std::future::pending().await };
        // The first tick is at once: a revocation between the admission's lookup and the subscription shows here.
        let mut recheck = tokio::time::interval(RECHECK_EVERY);
        loop {
            if watch.ids.is_empty() {
                return CloseFrame { code: CLOSE_CODE, reason: CLOSE_REASON.into() };
            }
            let revoked = async {
                match watch.revoked.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = revoked => match r {
                    Ok(id) => watch.ids.retain(|i| *i != id),
                    Err(RecvError::Lagged(_)) => watch.recheck().await,
                    Err(RecvError::Closed) => watch.revoked = None,
                },
                _ = recheck.tick() => watch.recheck().await,
            }
        }
    }
}

impl Watch {
    /// Keeps the links that still work; one the archive cannot be asked about now is kept.
    async fn recheck(&mut self) {
        let mut keep = Vec::with_capacity(self.ids.len());
        for id in self.ids.drain(..) {
            match self.cache.get(&self.store, &id).await {
                Ok(Some(row)) if row.revoked_unix_ms.is_none() => keep.push(id),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("could not re-read share link {id}: {e}");
                    keep.push(id);
                }
            }
        }
        self.ids = keep;
    }
}
