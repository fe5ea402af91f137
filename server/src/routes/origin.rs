//! Where a request may come from, checked in front of the token gate:
//!
//! - **DNS rebinding.** An open server (loopback, no token) answers only requests whose `Host` is `localhost`, a
//!   loopback address (any port) or a name given with `--allow-host`. A page on `evil.example` whose name was
//!   rebound to 127.0.0.1 sends `Host: evil.example` and gets 403 (`/api/health` stays open). A server with a token
//!   answers any `Host`: the token is what protects it.
//! - **Cross-site writes.** On every server, a request that changes something (POST, PUT, PATCH, DELETE) and every
//!   WebSocket upgrade must come from the page's own origin: the browser's `Sec-Fetch-Site` says `same-origin` (or
//!   `none`), or — without that header — any `Origin` present has the request's `Host` (or a `X-Forwarded-Host` a
//!   proxy set, which a browser page cannot) as host and port. Else 403 *cross-origin request refused*. Scripts
//!   (curl, the CLI) send neither header and pass.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
    Json,
};

use protocol::api::ApiErrorBody;

use crate::routes::cookies::is_api;
use crate::state::AppState;

/// The Host and Origin checks (this module's doc), as a middleware.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = is_api(path);
    let host = request_host(&req);
    if !state.access.required() && path != "/api/health" {
        if let Some(host) = host.as_deref().filter(|h| !host_allowed(h, state.access.allow_hosts())) {
            tracing::debug!(host, "refused a request for another host name on an open server");
            let open = format!("http://{}{}/", state.leptos_options.site_addr, state.info.base_path);
            return wrong_host(api, &open);
        }
    }
    if changes_or_upgrades(req.method(), req.headers()) && !from_this_origin(req.headers(), host.as_deref()) {
        return cross_origin(api);
    }
    next.run(req).await
}

/// The request's `Host` header, or the URI's authority (HTTP/2).
fn request_host(req: &Request) -> Option<String> {
    match req.headers().get(header::HOST) {
        Some(v) => Some(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        None => req.uri().authority().map(|a| a.as_str().to_owned()),
    }
}

/// `host:port` split: `[::1]:3000` → (`::1`, Some(3000)); `localhost` → (`localhost`, None). The name is lower
/// case, without a trailing dot. `None` for a port that is not a number.
fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim();
    let (name, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        match after {
            "" => (inner, None),
            _ => (inner, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') => (name, Some(port)),
            // More than one `:` without brackets: a bare IPv6 address.
            Some(_) => (authority, None),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((name.trim_end_matches('.').to_ascii_lowercase(), port))
}

/// Whether an open server answers to `host` (a `Host` header): `localhost`, a loopback address (127.0.0.0/8,
/// `[::1]`) with any port, or a name of `allow` (lower case; with or without the port).
pub fn host_allowed(host: &str, allow: &[String]) -> bool {
    let Some((name, _)) = split_authority(host) else { return false };
    name == "localhost"
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || allow.iter().any(|a| *a == name || a.eq_ignore_ascii_case(host.trim()))
}

/// Requests the Origin check applies to: methods that change something, and WebSocket upgrades (HTTP/1.1
/// `Upgrade: websocket`, or HTTP/2's extended CONNECT).
fn changes_or_upgrades(method: &Method, headers: &HeaderMap) -> bool {
    let writes = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::CONNECT];
    writes.contains(method)
        || headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

/// Whether a request that changes something may go on. A browser's own word comes first: `Sec-Fetch-Site` (which
/// no page can set) `same-origin` or `none` passes, any other value (`cross-site`, `same-site` — another port of the
/// same host is same-site) is refused. Without it (older browsers, scripts): no `Origin`, or one whose host and port
/// are the request's `host` or one of the `X-Forwarded-Host` values. (A same-origin form post carries
/// `Origin: null` under this server's `Referrer-Policy: no-referrer`, hence `Sec-Fetch-Site` first.)
pub fn from_this_origin(headers: &HeaderMap, host: Option<&str>) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase());
    if let Some(site) = fetch_site {
        return matches!(site.as_str(), "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let forwarded = headers
        .get_all("x-forwarded-host")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    host.into_iter().chain(forwarded).any(|h| same_origin(origin, h))
}

/// Whether the `Origin` value `origin` (`scheme://host[:port]`) names `host` (`host[:port]`): the same name and the
/// same port, a missing port being the scheme's default (80 for http, 443 for https). `null` matches nothing.
pub fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.trim().split_once("://") else { return false };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        _ => return false,
    };
    if authority.contains(['/', '@', '?', '#']) {
        return false;
    }
    match (split_authority(authority), split_authority(host)) {
        (Some((a, pa)), Some((b, pb))) => !a.is_empty() && a == b && pa.unwrap_or(default) == pb.unwrap_or(default),
        _ => false,
    }
}

fn wrong_host(api: bool, open: &str) -> Response {
    let error = format!(
        "this dashboard answers only to localhost (DNS rebinding protection): open {open}, start with \
         --allow-host NAME, or set --token"
    );
    if api {
        return (StatusCode::FORBIDDEN, Json(ApiErrorBody { error, fields: Vec::new() })).into_response();
    }
    // `open` is the bound address and the checked base path: no markup can reach the page.
    (StatusCode::FORBIDDEN, Html(notice("Wrong host name", &error))).into_response()
}

fn cross_origin(api: bool) -> Response {
    let error = "cross-origin request refused: changes and live sockets are accepted only from this dashboard's \
                 own pages"
        .to_owned();
    if api {
        return (StatusCode::FORBIDDEN, Json(ApiErrorBody { error, fields: Vec::new() })).into_response();
    }
    (StatusCode::FORBIDDEN, Html(notice("Cross-origin request refused", &error))).into_response()
}

/// A small page in the login form's look; both texts are this module's own.
fn notice(title: &str, line: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>tokenscope — {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;background:#0f1115;color:#e6e6e6;display:grid;\
         place-items:center;min-height:100vh;margin:0}}main{{max-width:32rem;padding:1rem}}</style></head>\
         <body><main data-testid=\"access-refused\"><h1>{title}</h1><p>{line}</p></main></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn an_open_server_answers_localhost_loopback_and_allowed_names_only() {
        let allow = vec!["tunnel.internal".to_owned()];
        for ok in [
            "localhost",
            "localhost:3000",
            "LOCALHOST:1",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.5.6.7:80",
            "[::1]",
            "[::1]:3000",
            "tunnel.internal",
            "Tunnel.Internal:8080",
        ] {
            assert!(host_allowed(ok, &allow), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:3000",
            "0.0.0.0:3000",
            "[::2]:3000",
            "[::1",
            "localhost:notaport",
            "",
        ] {
            assert!(!host_allowed(bad, &allow), "{bad}");
        }
        assert!(!host_allowed("tunnel.internal", &[]));
    }

    #[test]
    fn origins_must_name_the_requests_host_and_port() {
        assert!(same_origin("http://127.0.0.1:3000", "127.0.0.1:3000"));
        assert!(same_origin("http://LocalHost:3000", "localhost:3000"));
        assert!(same_origin("https://pod-3000.proxy.runpod.net", "pod-3000.proxy.runpod.net"));
        assert!(same_origin("https://pod.example", "pod.example:443"));
        assert!(same_origin("http://pod.example", "pod.example:80"));
        assert!(same_origin("http://[::1]:3000", "[::1]:3000"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:3000"));
        assert!(!same_origin("http://localhost:8080", "localhost:3000"), "another port is another origin");
        assert!(!same_origin("http://pod.example", "pod.example:443"));
        assert!(!same_origin("null", "127.0.0.1:3000"));
        assert!(!same_origin("file://", "127.0.0.1:3000"));
        assert!(!same_origin("http://127.0.0.1:3000@evil.example", "127.0.0.1:3000"));
        assert!(!same_origin("ftp://127.0.0.1:3000", "127.0.0.1:3000"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn writes_and_upgrades_need_this_origin_or_none() {
        let host = Some("127.0.0.1:3000");
        assert!(from_this_origin(&headers(&[]), host), "no Origin: a script");
        assert!(from_this_origin(&headers(&[("origin", "http://127.0.0.1:3000")]), host));
        assert!(!from_this_origin(&headers(&[("origin", "http://evil.example")]), host));
        assert!(!from_this_origin(&headers(&[("origin", "null")]), host));
        assert!(!from_this_origin(&headers(&[("origin", "http://127.0.0.1:3000")]), None));
        let same = [("origin", "http://127.0.0.1:3000"), ("sec-fetch-site", "same-origin")];
        assert!(from_this_origin(&headers(&same), host));
        assert!(!from_this_origin(&headers(&[("sec-fetch-site", "cross-site")]), host));
        // Another port of the same host is same-site, not same-origin.
        let sibling = [("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "same-site")];
        assert!(!from_this_origin(&headers(&sibling), host));
        // A same-origin form post under `Referrer-Policy: no-referrer`: Chromium sends `Origin: null`.
        let form = [("origin", "null"), ("sec-fetch-site", "same-origin")];
        assert!(from_this_origin(&headers(&form), host));
        // A proxy that rewrote Host but said what it was in X-Forwarded-Host.
        let proxied = [("origin", "https://pod.example"), ("x-forwarded-host", "pod.example")];
        assert!(from_this_origin(&headers(&proxied), Some("127.0.0.1:3000")));

        assert!(changes_or_upgrades(&Method::POST, &HeaderMap::new()));
        assert!(changes_or_upgrades(&Method::DELETE, &HeaderMap::new()));
        assert!(!changes_or_upgrades(&Method::GET, &HeaderMap::new()));
        assert!(changes_or_upgrades(&Method::GET, &headers(&[("upgrade", "WebSocket")])));
    }
}
