//! Share links: read-only, revocable access to one run or one comparison for people who hold only the link.
//!
//! - `POST /api/shares`, `GET /api/shares?run=ID`, `DELETE /api/shares/{id}`: the owner makes, lists and revokes
//!   links (owner only: the access-token gate never lets a share-link viewer reach them).
//! - `GET /s/{id}`: opening a link puts its id in the `tokenscope_share` cookie and redirects to the run or the
//!   comparison; a revoked link answers 410, an unknown one 404 — or 429 once the client has asked for too many
//!   unknown ids ([`limit`]; a link that exists always opens).
//! - [`admit_viewer`]: called by the gate (`routes::login::require_token`) for a request without the token. It
//!   re-reads the links of the cookie (through a cache of at most [`CACHE_TTL`], which a revocation on this server
//!   clears at once) and lets through only what [`decide`] allows: reads of the shared runs' pages, the API
//!   calls those pages make, the run's socket, and static files.
//! - `GET /api/session`: `owner` or `viewer` (with the viewer's links), for the UI.
//! - [`SocketGrant`]: a viewer's open sockets (`/ws/runs/{id}`, `/ws/live`) are closed (4403 *share link revoked*)
//!   when the links that let them open are revoked.

use std::time::Duration;

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
    Extension, Json,
};
use serde::Deserialize;

use protocol::api::ApiErrorBody;
use protocol::share::{CreateShare, Role, SessionInfo, ShareView};

use super::client::ClientIp;
use super::cookies::{cookie_values, is_api, is_https};
use super::error::find_run;
use super::error::{ApiError, ApiJson};
use crate::auth::ClientKey;
use crate::hub::{looks_like_id, new_run_id};
use crate::state::AppState;
use crate::store::ShareRow;

mod limit;
mod revocation;
mod scope;
pub use revocation::{SocketGrant, CLOSE_CODE, CLOSE_REASON};
use scope::revoked_covers;
pub use scope::{decide, Decision};

/// The cookie that holds the ids of the share links a browser has opened, newest first, separated by `.`.
pub const COOKIE: &str = "tokenscope_share";
/// Share links one browser keeps in the cookie; opening more drops the oldest.
pub const MAX_HELD: usize = 8;
/// Lifetime of the cookie: 30 days after the last link opened.
pub const COOKIE_MAX_AGE_S: u64 = 30 * 24 * 3600;
/// How long a looked-up link is trusted before the archive is asked again. A revocation on this server clears
/// its entry at once; this only bounds how stale a revocation made by another server on a shared database is.
pub const CACHE_TTL: Duration = crate::store::SHARE_CACHE_TTL;

// ---------- the owner's API ----------

fn unknown_share(id: &str) -> ApiError {
    ApiError::NotFound(format!("no share link has the id {id:?}"))
}

/// The API's view of a stored link.
pub fn view_of(row: ShareRow) -> ShareView {
    ShareView {
        path: ShareView::path_of(&row.id),
        id: row.id,
        kind: row.kind,
        runs: row.run_ids,
        label: row.label,
        created_unix_ms: row.created_unix_ms,
        revoked_unix_ms: row.revoked_unix_ms,
    }
}

/// `POST /api/shares`: a new link to one run or a comparison; `201` with it. `422` names the field at fault, `404`
/// the run that is not in the archive.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateShare>,
) -> Result<(StatusCode, Json<ShareView>), ApiError> {
    let body = body.normalized();
    let errors = body.validate();
    if !errors.is_empty() {
        return Err(ApiError::invalid("share link", errors));
    }
    for id in &body.runs {
        find_run(&state.runs, id).await?;
    }
    let row = ShareRow {
        id: new_run_id(),
        kind: body.kind,
        run_ids: body.runs,
        label: body.label.unwrap_or_default(),
        created_unix_ms: crate::clock::unix_ms(),
        revoked_unix_ms: None,
    };
    state.store.insert_share(&row).await.map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(view_of(row))))
}

/// Query of `GET /api/shares`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only the links that open this run.
    pub run: Option<String>,
}

/// `GET /api/shares?run=ID`: the links (working and revoked), newest first; all of them without `run`.
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<ShareView>>, ApiError> {
    let rows =
        state.store.list_shares(query.run.as_deref().filter(|r| !r.is_empty())).await.map_err(ApiError::internal)?;
    Ok(Json(rows.into_iter().map(view_of).collect()))
}

/// `DELETE /api/shares/{id}`: revokes the link at once (for every browser that holds it, and the sockets its
/// viewers hold open on this server); `200` with the link. Revoking again changes nothing and answers the same.
pub async fn revoke(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ShareView>, ApiError> {
    if !looks_like_id(&id) {
        return Err(unknown_share(&id));
    }
    let found = state.store.revoke_share(&id).await.map_err(ApiError::internal)?;
    state.shares.revoked(&id);
    if !found {
        return Err(unknown_share(&id));
    }
    let row = state.store.get_share(&id).await.map_err(ApiError::internal)?.ok_or_else(|| unknown_share(&id))?;
    Ok(Json(view_of(row)))
}

/// `GET /api/session`: `owner` for a request the token (or an open server) let in; `viewer` with the working
/// links for one let in by share links alone.
pub async fn session(viewer: Option<Extension<SessionInfo>>) -> Json<SessionInfo> {
    Json(viewer.map_or(SessionInfo { role: Role::Owner, shares: Vec::new() }, |Extension(s)| s))
}

// ---------- opening a link ----------

/// `GET /s/{id}`: a working link adds its id to the share cookie and redirects (303) to what it opens; a revoked
/// one is a 410 page, an unknown one a 404 page (429 once this client has asked for too many unknown ids: [`limit`]).
pub async fn open(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientIp,
    headers: HeaderMap,
) -> Response {
    let key = ClientKey::of(client.0);
    let row = if looks_like_id(&id) { state.store.get_share(&id).await } else { Ok(None) };
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => {
            if let Some(left) = limit::count_unknown(&state, key, &[id.as_str()]) {
                return limit::too_many(false, left);
            }
            return notice(
                StatusCode::NOT_FOUND,
                "This share link does not exist",
                "Check that the whole link was copied.",
            );
        }
        Err(e) => {
            tracing::error!("could not read share link {id}: {e}");
            return notice(StatusCode::INTERNAL_SERVER_ERROR, "Could not read this share link", "Try again shortly.");
        }
    };
    if row.revoked_unix_ms.is_some() {
        return revoked_page();
    }
    // Keep the other links this browser holds while they still work, newest first. Unknown ones count against the
    // client like unknown links (the new cookie would tell a guesser which of its ids exist).
    let mut held = vec![row.id.clone()];
    let mut unknown = Vec::new();
    for other in held_ids(&headers) {
        if held.len() >= MAX_HELD {
            break;
        }
        if other == row.id {
            continue;
        }
        match lookup(&state, &other).await {
            Ok(Some(r)) if r.revoked_unix_ms.is_none() => held.push(other),
            Ok(None) => unknown.push(other),
            _ => {}
        }
    }
    let _ = limit::count_unknown(&state, key, &unknown.iter().map(String::as_str).collect::<Vec<_>>());
    let view = view_of(row);
    let to = app::paths::join(&state.info.base_path, &view.target());
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&to) {
        resp.headers_mut().insert(header::LOCATION, value);
    }
    let cookie = share_cookie(&held, is_https(&headers), &state.info.base_path);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, value);
    }
    resp
}

/// The `Set-Cookie` value that holds `ids`, for the dashboard's base path (`/` without one).
///
/// `SameSite=Lax`, unlike the token cookie's `Strict`: share links are opened from chat apps, mail and other
/// sites. That first request is a cross-site top-level navigation, and so is the redirect that follows it; a
/// `Strict` cookie would not be sent with it, so the viewer would land on the login form the first time. `Lax`
/// is sent on top-level GET navigations only (never on cross-site POSTs, fetches or frames), and the cookie grants
/// nothing but GET reads of the shared runs, so it opens no cross-site write. `HttpOnly` keeps scripts from
/// reading the ids; `Secure` when the request came over HTTPS.
pub fn share_cookie(ids: &[String], secure: bool, base_path: &str) -> String {
    let secure = if secure { "; Secure" } else { "" };
    let path = if base_path.is_empty() { "/" } else { base_path };
    format!("{COOKIE}={}; HttpOnly; SameSite=Lax; Path={path}; Max-Age={COOKIE_MAX_AGE_S}{secure}", ids.join("."))
}

/// The share ids the request's cookie holds (well-formed ones, no repeats, at most [`MAX_HELD`]).
pub fn held_ids(headers: &HeaderMap) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in cookie_values(headers, COOKIE).flat_map(|v| v.split('.')) {
        if looks_like_id(id) && !ids.iter().any(|i| i == id) && ids.len() < MAX_HELD {
            ids.push(id.to_owned());
        }
    }
    ids
}

// ---------- the gate for share-link viewers ----------

/// For a request that carries no valid token: serves it when the share cookie's working links cover it (the
/// handler then sees a viewer [`SessionInfo`] in the request's extensions); 403 for a write by a link holder;
/// 410 when only revoked links would have covered it. `None`: the caller answers as to anyone without the token.
///
/// The cookie's ids that name no link count against the client ([`limit`]); once it is blocked, a request that no
/// working link covers gets 429 rather than the login form.
pub async fn admit_viewer(state: &AppState, key: ClientKey, mut req: Request, next: Next) -> Option<Response> {
    let (mut active, mut revoked, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for id in held_ids(req.headers()) {
        match lookup(state, &id).await {
            Ok(Some(row)) if row.revoked_unix_ms.is_some() => revoked.push(view_of(row)),
            Ok(Some(row)) => active.push(view_of(row)),
            Ok(None) => unknown.push(id),
            Err(e) => tracing::warn!("could not read share link {id}: {e}"),
        }
    }
    let blocked = limit::count_unknown(state, key, &unknown.iter().map(String::as_str).collect::<Vec<_>>());
    let api = is_api(req.uri().path());
    match decide(req.method(), req.uri(), &active) {
        Decision::Allow => {
            if !active.is_empty() {
                req.extensions_mut().insert(SessionInfo { role: Role::Viewer, shares: active });
            }
            Some(next.run(req).await)
        }
        Decision::ReadOnly => Some(read_only()),
        Decision::Deny if revoked_covers(req.method(), req.uri(), &revoked) => {
            Some(if api { gone_json() } else { revoked_page() })
        }
        Decision::Deny => blocked.map(|left| limit::too_many(api, left)),
    }
}

async fn lookup(state: &AppState, id: &str) -> Result<Option<ShareRow>, crate::store::StoreError> {
    state.shares.get(&state.store, id).await
}

fn read_only() -> Response {
    let error = "share links are read-only: log in with the access token to change anything".to_owned();
    (StatusCode::FORBIDDEN, Json(ApiErrorBody { error, fields: Vec::new() })).into_response()
}

fn gone_json() -> Response {
    let error = "this share link was revoked by its owner".to_owned();
    (StatusCode::GONE, Json(ApiErrorBody { error, fields: Vec::new() })).into_response()
}

fn revoked_page() -> Response {
    notice(
        StatusCode::GONE,
        "This share link was revoked by its owner",
        "Ask whoever sent it for a new link if you still need to see it.",
    )
}

/// A small page with a heading and a line, in the login form's look and theme ([`super::page_style::PAGE_THEME_CSS`]).
/// Both texts are this module's own (fixed strings and numbers, never request input).
fn notice(status: StatusCode, title: &str, line: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>tokenscope — {title}</title>\
         <script>{script}</script><style>{theme}main{{max-width:28rem;padding:1rem}}h1{{font-size:1.25rem}}\
         p{{color:var(--muted)}}</style></head><body><main data-testid=\"share-notice\">\
         <p>tokenscope</p><h1>{title}</h1><p>{line}</p></main></body></html>",
        script = app::theme::HEAD_SCRIPT,
        theme = super::page_style::PAGE_THEME_CSS,
    );
    (status, Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn the_cookie_keeps_well_formed_ids_and_is_lax() {
        let mut h = HeaderMap::new();
        let ids: Vec<String> = (0..10).map(|i| format!("{i}{}", &A[1..])).collect();
        let value = format!("tokenscope_token=x; {COOKIE}={}.bad..{}; other=1", ids[0], ids[1..].join("."));
        h.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        let held = held_ids(&h);
        assert_eq!(held.len(), MAX_HELD);
        assert_eq!(held[0], ids[0]);
        assert_eq!(held[1], ids[1]);
        let cookie = share_cookie(&held[..2], true, "");
        assert!(cookie.starts_with(&format!("{COOKIE}={}.{};", ids[0], ids[1])), "{cookie}");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000", "Secure"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!share_cookie(&held[..1], false, "").contains("Secure"));
        assert!(share_cookie(&held[..1], false, "/pod").contains("Path=/pod;"));
    }
}
