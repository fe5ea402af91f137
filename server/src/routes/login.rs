//! The access-token gate: a middleware in front of every route but `/api/health` and `/login`, the login form,
//! and the `?token=` login link. API and WebSocket requests without the token get 401 JSON; pages get the form.
//! Wrong tokens, however presented, count against the client's limit ([`crate::auth::FailureLimiter`]); the right
//! token is always let in. The Host and Origin checks in front of the gate are in [`super::origin`].

use std::time::Duration;

use axum::{
    extract::{Form, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use protocol::api::ApiErrorBody;

use super::client::{client_key, ClientIp};
use super::cookies::{cookie_values, is_api, is_https};
use crate::auth::ClientKey;
use crate::state::AppState;

/// The cookie a browser carries the token in.
pub const COOKIE: &str = "tokenscope_token";

/// Lets a request through when no token is required, or when it carries the token (bearer header, cookie, or a
/// `?token=` login link, which sets the cookie and redirects to the same address without the token).
///
/// The right token is checked first and always passes, even from a client that is blocked: a blocked address (a
/// NAT, a proxy without `--trust-proxy`) must not lock its legitimate users out, and with tokens of at least
/// [`crate::auth::MIN_TOKEN_LEN`] characters getting in is no oracle worth having. Every wrong token (bearer,
/// cookie, `?token=`) counts once per distinct value; a blocked client's wrong tokens get 429. A wrong cookie alone
/// (a stale one, after the server restarted with a new generated token) gets the login form, or the share-link
/// view when the browser also holds links.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let access = &state.access;
    // Redirects and the login form carry the base path (`--base-path`); `path` is the app path (prefix removed).
    let base = state.info.base_path.as_str();
    let path = req.uri().path();
    if !access.required() || path == "/api/health" || path == "/login" {
        return next.run(req).await;
    }
    let api = is_api(path);
    let bearer = bearer(req.headers()).map(str::to_owned);
    let cookie = cookie(req.headers()).filter(|c| !c.is_empty()).map(str::to_owned);
    let query = query_token(&req);
    if bearer.as_deref().is_some_and(|t| access.accepts(t)) || cookie.as_deref().is_some_and(|t| access.accepts(t)) {
        return next.run(req).await;
    }
    if let Some((token, rest)) = query.as_ref().filter(|(t, _)| access.accepts(t)) {
        let to = if rest.is_empty() { path.to_owned() } else { format!("{path}?{rest}") };
        return logged_in(req.headers(), token, &to, base);
    }
    let wrong: Vec<&str> =
        [bearer.as_deref(), cookie.as_deref(), query.as_ref().map(|(t, _)| t.as_str())].into_iter().flatten().collect();
    if !wrong.is_empty() {
        let key = client_key(access, &req);
        if let Some(left) = access.limiter().blocked(key) {
            return too_many(api, base, left);
        }
        for token in wrong {
            access.limiter().fail(key, token);
        }
    }
    if bearer.is_some() {
        return unauthorized(true, "the bearer token is wrong", base);
    }
    if query.is_some() {
        return unauthorized(api, "the token in the address is wrong", base);
    }
    // No token, or a stale cookie: share links may still open a run or a comparison, read-only (`routes::shares`).
    let key = client_key(access, &req);
    if let Some(resp) = super::shares::admit_viewer(&state, key, req, next).await {
        return resp;
    }
    unauthorized(api, "", base)
}

/// What the login form posts.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The access token as typed.
    pub token: String,
}

/// `GET /login`: the form (or straight to `/` when no token is required).
pub async fn login_page(State(state): State<AppState>) -> Response {
    let base = state.info.base_path.as_str();
    if !state.access.required() {
        return redirect(&app::paths::join(base, "/"));
    }
    (StatusCode::OK, Html(page("", base))).into_response()
}

/// `POST /login`: sets the cookie and redirects to `/` on the right token (always, as in [`require_token`]); the form
/// again (401) on a wrong one; 429 for a wrong one from a client that has tried too many.
pub async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let access = &state.access;
    let base = state.info.base_path.as_str();
    if !access.required() {
        return redirect(&app::paths::join(base, "/"));
    }
    if access.accepts(&form.token) {
        return logged_in(&headers, &form.token, "/", base);
    }
    let key = ClientKey::of(client.0);
    if let Some(left) = access.limiter().blocked(key) {
        return too_many(false, base, left);
    }
    access.limiter().fail(key, &form.token);
    (StatusCode::UNAUTHORIZED, Html(page("That token is not right.", base))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    cookie_values(headers, COOKIE).next()
}

/// The `token` query parameter (decoded) and the rest of the query as it came.
fn query_token(req: &Request) -> Option<(String, String)> {
    let raw = req.uri().query()?;
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(req.uri()).ok()?;
    let token = pairs.into_iter().find(|(k, _)| k == "token")?.1;
    let rest: Vec<&str> = raw.split('&').filter(|p| *p != "token" && !p.starts_with("token=")).collect();
    Some((token, rest.join("&")))
}

/// 303 to the app path `to` under `base` with the cookie set (scoped to `base`); `Secure` when the request came
/// over HTTPS (directly or through a proxy).
///
/// `SameSite=Lax`: the browser sends the cookie on top-level GET navigations from other sites too, so the owner who
/// opens one of their share links (or a run's address) from a chat app, mail or an issue tracker arrives logged in
/// rather than as a read-only viewer or at the login form. Lax withholds it from every other cross-site request
/// (POST forms, fetches, frames, images), and the writes it would have carried are refused anyway by the
/// `Sec-Fetch-Site`/`Origin` check in front of this gate (`routes::origin`), as are cross-site WebSocket upgrades;
/// GET routes change nothing (docs/reliability.md, "Who may do what").
fn logged_in(headers: &HeaderMap, token: &str, to: &str, base: &str) -> Response {
    let secure = if is_https(headers) { "; Secure" } else { "" };
    let scope = if base.is_empty() { "/" } else { base };
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Lax; Path={scope}{secure}");
    let mut resp = redirect(&app::paths::join(base, to));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, value);
    }
    resp
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let to = if to.starts_with('/') && !to.starts_with("//") { to } else { "/" };
    if let Ok(value) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, value);
    }
    resp
}

fn unauthorized(api: bool, why: &str, base: &str) -> Response {
    if api {
        let error = format!(
            "{}this server needs its access token: send `Authorization: Bearer TOKEN`, or log in at {base}/login \
             (the token was given with --token/TOKENSCOPE_TOKEN, or printed by `serve` at start)",
            if why.is_empty() { String::new() } else { format!("{why}; ") }
        );
        let mut resp = (StatusCode::UNAUTHORIZED, Json(ApiErrorBody { error, fields: Vec::new() })).into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        resp
    } else {
        let note = if why.is_empty() { String::new() } else { "That token is not right.".into() };
        (StatusCode::UNAUTHORIZED, Html(page(&note, base))).into_response()
    }
}

/// 429 for a wrong token from a blocked client, with `Retry-After` (whole seconds, rounded up) until its window ends.
fn too_many(api: bool, base: &str, left: Duration) -> Response {
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let error =
        format!("too many wrong tokens from this address; try again in {secs} s (the right token is always let in)");
    let mut resp = if api {
        (StatusCode::TOO_MANY_REQUESTS, Json(ApiErrorBody { error, fields: Vec::new() })).into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, Html(page(&error, base))).into_response()
    };
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

/// The login page: plain HTML (its one script picks the theme); it posts to `{base}/login`. `note` is one of this
/// module's fixed messages (never user input); `base` is a checked `--base-path` (letters, digits, `/-._~` only).
fn page(note: &str, base: &str) -> String {
    let note = if note.is_empty() { String::new() } else { format!("<p class=\"note\" role=\"alert\">{note}</p>") };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>tokenscope — log in</title>\
         <script>{script}</script><style>{theme}form{{display:grid;gap:.75rem;width:20rem;\
         max-width:calc(100vw - 2rem)}}input,button{{font:inherit;padding:.5rem;border-radius:.375rem;\
         border:1px solid var(--line)}}input{{background:var(--field);color:var(--fg)}}\
         button{{background:var(--accent);color:var(--on-accent);border:0;cursor:pointer;font-weight:600}}\
         .note{{color:var(--bad)}}p{{margin:0}}</style></head>\
         <body><form method=\"post\" action=\"{base}/login\" data-testid=\"login-form\">\
         <h1>tokenscope</h1><p>This dashboard needs its access token: the one given with <code>--token</code> \
         or <code>TOKENSCOPE_TOKEN</code>, or the one <code>serve</code> printed at start.</p>{note}\
         <label>Access token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" \
         required autofocus data-testid=\"login-token\"></label>\
         <button type=\"submit\" data-testid=\"login-submit\">Log in</button></form></body></html>",
        script = app::theme::HEAD_SCRIPT,
        theme = super::page_style::PAGE_THEME_CSS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_header_cookie_and_query() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; tokenscope_token=xyz; b=2"));
        assert_eq!(bearer(&h), Some("abc"));
        assert_eq!(cookie(&h), Some("xyz"));
        let req = Request::builder().uri("/runs?x=1&token=a%2Bb&y=2").body(axum::body::Body::empty()).unwrap();
        assert_eq!(query_token(&req), Some(("a+b".into(), "x=1&y=2".into())));
    }

    #[test]
    fn the_login_form_and_redirects_carry_the_base_path() {
        assert!(page("", "/pod").contains("action=\"/pod/login\""));
        assert!(page("", "").contains("action=\"/login\""));
        let resp = logged_in(&HeaderMap::new(), "t0k", "/runs?x=1", "/pod");
        assert_eq!(resp.headers()[header::LOCATION], "/pod/runs?x=1");
        let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.contains("HttpOnly; SameSite=Lax; Path=/pod") && !cookie.contains("Secure"), "{cookie}");
        let resp = logged_in(&HeaderMap::new(), "t0k", "/", "");
        assert_eq!(resp.headers()[header::LOCATION], "/");
        assert!(resp.headers()[header::SET_COOKIE].to_str().unwrap().contains("Path=/"));
    }

    #[test]
    fn redirects_stay_on_this_site() {
        let loc = |to| redirect(to).headers()[header::LOCATION].to_str().unwrap().to_owned();
        assert_eq!(loc("/runs?x=1"), "/runs?x=1");
        assert_eq!(loc("//evil.example/"), "/");
    }
}
