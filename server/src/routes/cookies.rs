//! Reading requests the way the access gate and share links both need: which paths are API, whether the request
//! came over HTTPS through a proxy, and the values of a cookie.

use axum::http::{header, HeaderMap};

/// True for the paths that answer JSON (API, WebSockets, metrics) rather than pages.
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ws/") || path == "/metrics"
}

/// True when the request came over HTTPS through a proxy (`X-Forwarded-Proto: https`): cookies get `Secure`.
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The values of the cookie `name` in the request's `Cookie` headers.
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}
