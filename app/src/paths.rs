//! The dashboard's own URLs under its base path (`tokenscope serve --base-path /prefix`, empty by default).
//!
//! Behind a path-prefixed proxy every link, fetch, WebSocket, export link and asset must carry the prefix, so
//! nothing in the app writes an absolute `/api/…`, `/ws/…` or `/runs/…` by hand: it calls [`url`].
//!
//! Where the base comes from:
//! - server rendering (`ssr`): the [`BasePath`] context the server provides for every page render;
//! - the browser (`hydrate`): the `<meta name="tokenscope-base" content="…">` the server rendered into the page's
//!   head, read once.
//!
//! One exception: `leptos_router`'s `use_navigate()` adds the router's base itself, so give it the app path
//! (`/runs/7`), not `url("/runs/7")`. `<A href>` and plain `<a href>` do not add it: give them [`url`].

/// Name of the `<meta>` that carries the base path into the browser.
pub const META_NAME: &str = "tokenscope-base";

/// The base path for server rendering, provided as Leptos context by the server ("" or "/prefix").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BasePath(pub String);

/// Checks a base path as the user typed it and returns its normal form: "" for none or "/", else "/a/b" (starts
/// with `/`, no trailing slash). The error names the problem; the caller adds the flag's name.
pub fn normalize(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "/" {
        return Ok(String::new());
    }
    if !raw.starts_with('/') {
        return Err(format!("it must start with `/` (try `/{}`)", raw.trim_end_matches('/')));
    }
    if raw.ends_with('/') {
        return Err(format!("it must not end with `/` (try `{}`)", raw.trim_end_matches('/')));
    }
    if let Some(bad) = raw.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "`{bad}` is not allowed in it: use letters, digits and `-._~` between the slashes, e.g. `/pod` or `/gpu-3/tokenscope`"
        ));
    }
    if raw.split('/').skip(1).any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err("it must not hold empty, `.` or `..` segments (e.g. `/pod` or `/team/gpu-3`)".into());
    }
    Ok(raw.to_owned())
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~')
}

/// `base` + `path`: `path` is an app path starting with `/` (`/api/runs`, `/runs/7?x=1`); "/" under a base
/// becomes `base/`.
pub fn join(base: &str, path: &str) -> String {
    if base.is_empty() {
        return path.to_owned();
    }
    if path.is_empty() {
        return format!("{base}/");
    }
    format!("{base}{path}")
}

/// Strips `base` from a request path when present: `/pod/runs` → `/runs`, `/pod` → `/`; `None` when the path is
/// not under `base` (or there is no base).
pub fn strip<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    if base.is_empty() {
        return None;
    }
    let rest = path.strip_prefix(base)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// The base path in effect ("" or "/prefix").
pub fn base() -> String {
    #[cfg(feature = "hydrate")]
    {
        browser_base()
    }
    #[cfg(all(feature = "ssr", not(feature = "hydrate")))]
    {
        leptos::prelude::use_context::<BasePath>().map(|b| b.0).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// The URL of an app path under the base path: what every fetch, WebSocket, link and export uses.
pub fn url(path: &str) -> String {
    join(&base(), path)
}

/// Server rendering: provides the base path to the page being rendered, and — under a base path — tells the
/// router the address the browser sees (`{base}{path}`), whether the request reached the server with the prefix
/// (which the server strips before routing) or without it (a proxy that strips it). Call it from the server's
/// per-request Leptos context.
#[cfg(feature = "ssr")]
pub fn provide_for_request(base: &str) {
    use leptos::prelude::{provide_context, use_context};
    provide_context(BasePath(base.to_owned()));
    if base.is_empty() {
        return;
    }
    if let Some(parts) = use_context::<http::request::Parts>() {
        let seen = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let path = parts.uri.path();
        let full = if strip(base, path).is_some() { seen.to_owned() } else { join(base, seen) };
        provide_context(leptos_router::location::RequestUrl::new(&format!("http://leptos.dev{full}")));
    }
}

/// The WebSocket URL for a page served over `protocol` (`"https:"` → `wss`, anything else → `ws`) from `host`
/// (`name:port`), at `path` (already under the base path).
pub fn ws_url_for(protocol: &str, host: &str, path: &str) -> String {
    let scheme = if protocol.eq_ignore_ascii_case("https:") { "wss" } else { "ws" };
    format!("{scheme}://{host}{path}")
}

#[cfg(feature = "hydrate")]
fn browser_base() -> String {
    thread_local! {
        static BASE: String = read_meta();
    }
    BASE.with(Clone::clone)
}

#[cfg(feature = "hydrate")]
fn read_meta() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(&format!("meta[name=\"{META_NAME}\"]")).ok().flatten())
        .and_then(|m| m.get_attribute("content"))
        .and_then(|c| normalize(&c).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalize("").unwrap(), "");
        assert_eq!(normalize("/").unwrap(), "");
        assert_eq!(normalize("/pod").unwrap(), "/pod");
        assert_eq!(normalize(" /team/gpu-3_x.y~ ").unwrap(), "/team/gpu-3_x.y~");
    }

    #[test]
    fn bad_base_paths_say_how_to_fix_them() {
        assert!(normalize("pod").unwrap_err().contains("try `/pod`"));
        assert!(normalize("/pod/").unwrap_err().contains("try `/pod`"));
        for bad in ["/po?d", "/pod#x", "/p d", "/p%20d", "/pöd", "/a\\b"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
        for bad in ["//pod", "/a//b", "/a/../b", "/."] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn join_and_strip_are_inverse() {
        assert_eq!(join("", "/api/runs"), "/api/runs");
        assert_eq!(join("/pod", "/api/runs"), "/pod/api/runs");
        assert_eq!(join("/pod", "/"), "/pod/");
        assert_eq!(strip("/pod", "/pod/api/runs"), Some("/api/runs"));
        assert_eq!(strip("/pod", "/pod"), Some("/"));
        assert_eq!(strip("/pod", "/pod/"), Some("/"));
        assert_eq!(strip("/pod", "/podcast"), None);
        assert_eq!(strip("/pod", "/api/runs"), None);
        assert_eq!(strip("", "/api/runs"), None);
    }

    #[test]
    fn websockets_follow_the_page_scheme() {
        assert_eq!(
            ws_url_for("https:", "abc-3000.proxy.runpod.net", "/pod/ws/live"),
            "wss://abc-3000.proxy.runpod.net/pod/ws/live"
        );
        assert_eq!(ws_url_for("http:", "127.0.0.1:3000", "/ws/gpu"), "ws://127.0.0.1:3000/ws/gpu");
    }

    #[test]
    fn without_a_base_urls_are_unchanged() {
        assert_eq!(url("/ws/gpu"), "/ws/gpu");
    }
}
