//! Which requests a share-link holder may make: a pure table of (method, path, query, links) → allow, read-only or
//! deny, tested without a server.

use axum::extract::Query;
use axum::http::{Method, Uri};

use protocol::share::{ShareView, SHARE_PREFIX};

/// What a share-link viewer may do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A read the links cover (or opening a link).
    Allow,
    /// A write (any method but GET/HEAD) by someone who holds links: 403, share links are read-only.
    ReadOnly,
    /// Not covered: the login form or 401, as without any link.
    Deny,
}

/// Decides what the holder of the working links `shares` may do; pure, so that the whole policy is one table.
///
/// Allowed (GET and HEAD only): opening any link (`/s/{id}`); static files (`/pkg/…`, the icon); the server-wide
/// socket (`/ws/live`: version and clock only); `/api/session`; the page `/runs/{id}` of a shared run; the page
/// `/compare?runs=…` when every run named is in one link; for a shared run, what its page and the compare page
/// read: `/api/runs/{id}`, `…/series`, `…/latency`, the exports (JSON, CSVs, Markdown, PNG) and its socket `/ws/runs/{id}` (which also
/// gives an ended run's page its stored history). Not allowed: every listing (`/`, `/runs`, `/api/runs`,
/// `/api/runs/summaries`), other runs, the New run and GPU pages, `/api/shares`, `/metrics`.
pub fn decide(method: &Method, uri: &Uri, shares: &[ShareView]) -> Decision {
    let path = uri.path();
    let read = method == Method::GET || method == Method::HEAD;
    if read && path.strip_prefix(SHARE_PREFIX).is_some_and(|id| !id.is_empty() && !id.contains('/')) {
        return Decision::Allow;
    }
    if shares.is_empty() {
        return Decision::Deny;
    }
    if !read {
        return Decision::ReadOnly;
    }
    let shared = |id: &str| shares.iter().any(|s| s.runs.iter().any(|r| r == id));
    let run_read = |rest: &str| {
        let (id, tail) = rest.split_once('/').map_or((rest, ""), |(id, tail)| (id, tail));
        let known = matches!(
            tail,
            "" | "series"
                | "latency"
                | "export.json"
                | "export/requests.csv"
                | "export/telemetry.csv"
                | "export/summary.md"
                | "export/charts.png"
        );
        known && shared(id)
    };
    let allowed = match path {
        "/api/session" | "/ws/live" | "/favicon.svg" | "/favicon.ico" => true,
        _ if path.starts_with("/pkg/") => true,
        "/compare" => {
            let ids = compare_ids(uri);
            !ids.is_empty() && shares.iter().any(|s| ids.iter().all(|id| s.runs.contains(id)))
        }
        _ => {
            if let Some(id) = path.strip_prefix("/runs/") {
                !id.contains('/') && shared(id)
            } else if let Some(id) = path.strip_prefix("/ws/runs/") {
                !id.contains('/') && shared(id)
            } else if let Some(rest) = path.strip_prefix("/api/runs/") {
                run_read(rest)
            } else {
                false
            }
        }
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

/// The run ids of a compare page's `?runs=a,b` (as the page itself reads them).
fn compare_ids(uri: &Uri) -> Vec<String> {
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(uri) else { return Vec::new() };
    pairs.into_iter().find(|(k, _)| k == "runs").map(|(_, v)| protocol::share::parse_ids(&v)).unwrap_or_default()
}

/// True when one of the `revoked` links would have let this request read a run (not merely a static file, the
/// live socket or the session): such a request gets "revoked" (410) rather than the login form.
pub(super) fn revoked_covers(method: &Method, uri: &Uri, revoked: &[ShareView]) -> bool {
    let no_runs: Vec<ShareView> =
        revoked.first().map(|s| ShareView { runs: Vec::new(), ..s.clone() }).into_iter().collect();
    decide(method, uri, revoked) == Decision::Allow && decide(method, uri, &no_runs) != Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::new_run_id;
    use crate::routes::shares::view_of;
    use crate::store::ShareRow;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "BBBBBBBBBBBBBBBBBBBBBB";
    const C: &str = "CCCCCCCCCCCCCCCCCCCCCC";

    fn share(kind: &str, runs: &[&str]) -> ShareView {
        view_of(ShareRow {
            id: new_run_id(),
            kind: kind.into(),
            run_ids: runs.iter().map(|r| (*r).to_owned()).collect(),
            label: String::new(),
            created_unix_ms: 1,
            revoked_unix_ms: None,
        })
    }

    fn check(method: Method, uri: &str, shares: &[ShareView]) -> Decision {
        decide(&method, &uri.parse::<Uri>().unwrap(), shares)
    }

    #[test]
    fn a_run_link_opens_its_page_reads_exports_and_socket_only() {
        let s = [share("run", &[A])];
        let allowed = [
            format!("/runs/{A}"),
            format!("/api/runs/{A}"),
            format!("/api/runs/{A}/series"),
            format!("/api/runs/{A}/latency"),
            format!("/api/runs/{A}/export.json"),
            format!("/api/runs/{A}/export/requests.csv"),
            format!("/api/runs/{A}/export/telemetry.csv"),
            format!("/api/runs/{A}/export/summary.md"),
            format!("/api/runs/{A}/export/charts.png"),
            format!("/ws/runs/{A}"),
            "/api/session".into(),
            "/ws/live".into(),
            "/pkg/tokenscope.js".into(),
            "/pkg/tokenscope_bg.wasm".into(),
            "/favicon.svg".into(),
            "/s/anything".into(),
        ];
        for path in &allowed {
            assert_eq!(check(Method::GET, path, &s), Decision::Allow, "GET {path}");
            assert_eq!(check(Method::HEAD, path, &s), Decision::Allow, "HEAD {path}");
        }
        let denied = [
            "/".to_owned(),
            "/runs".into(),
            "/runs/new".into(),
            format!("/runs/{B}"),
            format!("/runs/{A}/x"),
            "/gpu".into(),
            "/compare".into(),
            format!("/compare?runs={A},{B}"),
            "/api/runs".into(),
            "/api/runs/summaries".into(),
            format!("/api/runs/{B}"),
            format!("/api/runs/{A}/stop"),
            format!("/api/runs/{A}/other"),
            format!("/ws/runs/{B}"),
            "/ws/gpu".into(),
            "/api/gpu".into(),
            "/api/shares".into(),
            format!("/api/shares?run={A}"),
            "/metrics".into(),
            "/api/demo".into(),
        ];
        for path in &denied {
            assert_eq!(check(Method::GET, path, &s), Decision::Deny, "GET {path}");
        }
    }

    #[test]
    fn writes_with_a_link_are_read_only_and_without_one_denied() {
        let s = [share("run", &[A])];
        for (m, path) in [
            (Method::PATCH, format!("/api/runs/{A}")),
            (Method::DELETE, format!("/api/runs/{A}")),
            (Method::POST, format!("/api/runs/{A}/stop")),
            (Method::POST, "/api/runs".into()),
            (Method::POST, "/api/shares".into()),
            (Method::DELETE, "/api/shares/xyz0123456789".into()),
            (Method::POST, "/api/runs/import".into()),
            (Method::PUT, format!("/runs/{A}")),
        ] {
            assert_eq!(check(m.clone(), &path, &s), Decision::ReadOnly, "{m} {path}");
            assert_eq!(check(m.clone(), &path, &[]), Decision::Deny, "{m} {path} without links");
        }
    }

    #[test]
    fn without_working_links_only_opening_a_link_is_allowed() {
        assert_eq!(check(Method::GET, "/s/abcdefghijklmnop", &[]), Decision::Allow);
        assert_eq!(check(Method::POST, "/s/abcdefghijklmnop", &[]), Decision::Deny);
        assert_eq!(check(Method::GET, "/s/", &[]), Decision::Deny);
        for path in [format!("/runs/{A}"), "/pkg/tokenscope.js".into(), "/api/session".into(), "/ws/live".into()] {
            assert_eq!(check(Method::GET, &path, &[]), Decision::Deny, "{path}");
        }
    }

    #[test]
    fn a_compare_link_covers_exactly_its_runs() {
        let s = [share("compare", &[A, B])];
        for path in [
            format!("/compare?runs={A},{B}"),
            format!("/compare?runs={B},{A}"),
            format!("/compare?runs={A}%2C{B}"),
            format!("/compare?runs={A}"),
            format!("/runs/{A}"),
            format!("/runs/{B}"),
            format!("/api/runs/{B}/latency"),
        ] {
            assert_eq!(check(Method::GET, &path, &s), Decision::Allow, "{path}");
        }
        for path in [
            format!("/compare?runs={A},{B},{C}"),
            format!("/compare?runs={A},{C}"),
            "/compare?runs=".into(),
            format!("/runs/{C}"),
            format!("/api/runs/{C}/series"),
        ] {
            assert_eq!(check(Method::GET, &path, &s), Decision::Deny, "{path}");
        }
        // Two run links do not make a comparison: every run of the page must be in one link.
        let two = [share("run", &[A]), share("run", &[B])];
        assert_eq!(check(Method::GET, &format!("/compare?runs={A},{B}"), &two), Decision::Deny);
        assert_eq!(check(Method::GET, &format!("/runs/{B}"), &two), Decision::Allow);
    }

    #[test]
    fn revoked_links_answer_for_their_runs_only() {
        let mut s = share("run", &[A]);
        s.revoked_unix_ms = Some(2);
        let revoked = [s];
        let get = |uri: &str| revoked_covers(&Method::GET, &uri.parse::<Uri>().unwrap(), &revoked);
        assert!(get(&format!("/runs/{A}")));
        assert!(get(&format!("/api/runs/{A}/series")));
        assert!(!get(&format!("/runs/{B}")));
        assert!(!get("/api/session"));
        assert!(!get("/pkg/tokenscope.js"));
        assert!(!revoked_covers(&Method::PATCH, &format!("/api/runs/{A}").parse::<Uri>().unwrap(), &revoked));
        assert!(!revoked_covers(&Method::GET, &format!("/runs/{A}").parse::<Uri>().unwrap(), &[]));
    }
}
