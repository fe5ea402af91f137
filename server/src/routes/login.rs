//! The access-token gate: a middleware in front of every route but `/api/health` and `/login`, the login form,
//! and the `?token=` login link. API and WebSocket requests without the token get 401 JSON; pages get the form.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Form, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use protocol::api::ApiErrorBody;

use super::cookies::{cookie_values, is_api, is_https};
use crate::state::AppState;

/// The cookie a browser carries the token in.
pub const COOKIE: &str = "tokenscope_token";

/// Lets a request through when no token is required, or when it carries the token (bearer header, cookie, or a
/// `?token=` login link, which sets the cookie and redirects to the same address without the token).
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let access = &state.access;
    // Redirects and the login form carry the base path (`--base-path`); `path` is the app path (prefix removed).
    let base = state.info.base_path.as_str();
    let path = req.uri().path();
    if !access.required() || path == "/api/health" || path == "/login" {
        return next.run(req).await;
    }
    let ip = client_ip(&req);
    if let Some(presented) = bearer(req.headers()) {
        if access.limiter().blocked(ip) {
            return too_many(true, base);
        }
        if access.accepts(presented) {
            return next.run(req).await;
        }
        access.limiter().fail(ip);
        return unauthorized(true, "the bearer token is wrong", base);
    }
    if cookie(req.headers()).is_some_and(|c| access.accepts(c)) {
        return next.run(req).await;
    }
    let api = is_api(path);
    if let Some((token, rest)) = query_token(&req) {
        if access.limiter().blocked(ip) {
            return too_many(api, base);
        }
        if access.accepts(&token) {
            let to = if rest.is_empty() { path.to_owned() } else { format!("{path}?{rest}") };
            return logged_in(req.headers(), &token, &to, base);
        }
        access.limiter().fail(ip);
        return unauthorized(api, "the token in the address is wrong", base);
    }
    // No token: share links may still open a run or a comparison, read-only (`routes::shares`).
    if let Some(resp) = super::shares::admit_viewer(&state, req, next).await {
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

/// `POST /login`: sets the cookie and redirects to `/` on the right token; the form again (401) on a wrong one;
/// 429 after too many failures from one IP.
pub async fn login(
    State(state): State<AppState>,
    req_ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let access = &state.access;
    let base = state.info.base_path.as_str();
    if !access.required() {
        return redirect(&app::paths::join(base, "/"));
    }
    if access.limiter().blocked(req_ip.0) {
        return too_many(false, base);
    }
    if access.accepts(&form.token) {
        return logged_in(&headers, &form.token, "/", base);
    }
    access.limiter().fail(req_ip.0);
    (StatusCode::UNAUTHORIZED, Html(page("That token is not right.", base))).into_response()
}

/// The client's IP address (unspecified when the server was not started with connection info).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(ip_of(parts.extensions.get::<ConnectInfo<SocketAddr>>())))
    }
}

fn client_ip(req: &Request) -> IpAddr {
    ip_of(req.extensions().get::<ConnectInfo<SocketAddr>>())
}

fn ip_of(info: Option<&ConnectInfo<SocketAddr>>) -> IpAddr {
    info.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
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
fn logged_in(headers: &HeaderMap, token: &str, to: &str, base: &str) -> Response {
    let secure = if is_https(headers) { "; Secure" } else { "" };
    let scope = if base.is_empty() { "/" } else { base };
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path={scope}{secure}");
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

fn too_many(api: bool, base: &str) -> Response {
    let error = "too many failed logins from this address; wait a minute and try again".to_owned();
    let mut resp = if api {
        (StatusCode::TOO_MANY_REQUESTS, Json(ApiErrorBody { error, fields: Vec::new() })).into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, Html(page(&error, base))).into_response()
    };
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    resp
}

/// The login page: plain HTML, no script; it posts to `{base}/login`. `note` is one of this module's fixed messages
/// (never user input); `base` is a checked `--base-path` (letters, digits, `/-._~` only).
fn page(note: &str, base: &str) -> String {
    let note = if note.is_empty() { String::new() } else { format!("<p class=\"note\" role=\"alert\">{note}</p>") };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>tokenscope — log in</title>\
         <style>body{{font-family:system-ui,sans-serif;background:#0f1115;color:#e6e6e6;display:grid;\
         place-items:center;min-height:100vh;margin:0}}form{{display:grid;gap:.75rem;width:20rem}}\
         input,button{{font:inherit;padding:.5rem;border-radius:.375rem;border:1px solid #444}}\
         button{{background:#3b82f6;color:#fff;border:0;cursor:pointer}}.note{{color:#f87171}}\
         p{{margin:0}}</style></head><body><form method=\"post\" action=\"{base}/login\" data-testid=\"login-form\">\
         <h1>tokenscope</h1><p>This dashboard needs its access token: the one given with <code>--token</code> \
         or <code>TOKENSCOPE_TOKEN</code>, or the one <code>serve</code> printed at start.</p>{note}\
         <label>Access token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" \
         required autofocus data-testid=\"login-token\"></label>\
         <button type=\"submit\" data-testid=\"login-submit\">Log in</button></form></body></html>"
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
        assert!(cookie.contains("HttpOnly; SameSite=Strict; Path=/pod") && !cookie.contains("Secure"), "{cookie}");
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
