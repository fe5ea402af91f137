//! Share links over HTTP: the owner makes, lists and revokes them; a browser that holds only a link reads exactly
//! the shared run or comparison (pages, API, exports, socket), gets 403 for any write and the login form or 401 for
//! anything else; a revocation holds from the next request on.

use futures::StreamExt;
use reqwest::{header, redirect::Policy, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use protocol::api::{ApiErrorBody, RunCreated};
use protocol::live_run::{RunStatus, RunWsFrame};
use protocol::share::{Role, SessionInfo, ShareView};

use crate::helpers::{demo_spec, spawn_app_with, TestApp, PATIENCE};

const TOKEN: &str = "share-test-token-71";

/// A demo app on a public bind with a token, and the owner's client (bearer header on every request).
struct Fixture {
    app: TestApp,
    owner: reqwest::Client,
    /// Three ended runs: one recorded by the demo, two imported copies of its report.
    runs: [String; 3],
}

async fn fixture() -> Fixture {
    fixture_on(true).await
}

/// `public`: on 0.0.0.0 with a token; else on loopback without one (open).
async fn fixture_on(public: bool) -> Fixture {
    fixture_with(public, "").await
}

/// Like [`fixture_on`], served under `base_path` (requests are accepted with or without it).
async fn fixture_with(public: bool, base_path: &str) -> Fixture {
    let app = spawn_app_with(|args| {
        args.base_path = base_path.to_owned();
        if public {
            args.host = "0.0.0.0".into();
            args.token = Some(TOKEN.into());
        }
        args.no_demo = false;
        args.telemetry.simulate_gpus = Some(1);
    })
    .await;
    let owner = crate::helpers::bearer_client(TOKEN);
    let demo: Value = owner.get(format!("{}/api/demo", app.base)).send().await.unwrap().json().await.unwrap();
    let spec = demo_spec(demo["target"].as_str().unwrap(), 4, Some(12), None);
    let resp = owner.post(format!("{}/api/runs", app.base)).json(&spec).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let first = resp.json::<RunCreated>().await.unwrap().id;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let view: Value =
            owner.get(format!("{}/api/runs/{first}", app.base)).send().await.unwrap().json().await.unwrap();
        if view["status"] == json!(RunStatus::Completed) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the demo run never completed: {view}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let report = owner.get(format!("{}/api/runs/{first}/export.json", app.base)).send().await.unwrap();
    let report = report.text().await.unwrap();
    let mut runs = vec![first];
    for name in ["copy b", "copy c"] {
        let resp = owner
            .post(format!("{}/api/runs/import", app.base))
            .json(&json!({ "report": serde_json::from_str::<Value>(&report).unwrap(), "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        runs.push(resp.json::<RunCreated>().await.unwrap().id);
    }
    Fixture { app, owner, runs: runs.try_into().unwrap() }
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    async fn share(&self, body: Value) -> reqwest::Response {
        self.owner.post(self.url("/api/shares")).json(&body).send().await.unwrap()
    }

    async fn make(&self, kind: &str, runs: &[&String]) -> ShareView {
        let resp = self.share(json!({ "kind": kind, "runs": runs, "label": "for a teammate" })).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    async fn revoke(&self, id: &str) -> reqwest::Response {
        self.owner.delete(self.url(&format!("/api/shares/{id}"))).send().await.unwrap()
    }

    /// Opens `/s/{id}` as a browser holding `cookie` (none: a fresh browser); the redirect and the new cookie.
    async fn open(&self, id: &str, cookie: Option<&str>) -> (reqwest::Response, String) {
        let mut req = viewer_client().get(self.url(&format!("/s/{id}")));
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        let cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .unwrap_or_default();
        (resp, cookie)
    }

    /// `method path` as a browser that holds only `cookie`.
    async fn as_viewer(&self, method: reqwest::Method, path: &str, cookie: &str) -> reqwest::Response {
        let req = viewer_client().request(method.clone(), self.url(path)).header(header::COOKIE, cookie);
        let req = if method == reqwest::Method::GET { req } else { req.json(&json!({ "name": "x" })) };
        req.send().await.unwrap()
    }
}

fn viewer_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

async fn error_of(resp: reqwest::Response) -> ApiErrorBody {
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_owner_makes_lists_and_revokes_links_and_bad_bodies_name_the_field() {
    let f = fixture().await;
    let [a, b, c] = &f.runs;
    let run = f.make("run", &[a]).await;
    assert_eq!(run.id.len(), 22, "an unguessable id like a run's");
    assert_eq!((run.kind.as_str(), run.runs.clone(), run.label.as_str()), ("run", vec![a.clone()], "for a teammate"));
    assert_eq!(run.path, format!("/s/{}", run.id));
    assert!(run.active());
    let compare = f.make("compare", &[a, b]).await;

    let list: Vec<ShareView> =
        f.owner.get(f.url(&format!("/api/shares?run={a}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [compare.id.as_str(), run.id.as_str()]);
    let list: Vec<ShareView> =
        f.owner.get(f.url(&format!("/api/shares?run={c}"))).send().await.unwrap().json().await.unwrap();
    assert!(list.is_empty());

    let resp = f.revoke(&run.id).await;
    assert_eq!(resp.status(), 200);
    let revoked: ShareView = resp.json().await.unwrap();
    let when = revoked.revoked_unix_ms.expect("revoked");
    let again: ShareView = f.revoke(&run.id).await.json().await.unwrap();
    assert_eq!(again.revoked_unix_ms, Some(when), "revoking twice keeps the first time");
    assert_eq!(f.revoke("NoSuchShare0123456789a").await.status(), 404);
    let list: Vec<ShareView> =
        f.owner.get(f.url(&format!("/api/shares?run={a}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 2, "revoked links stay listed");
    assert!(list.iter().any(|s| s.id == run.id && !s.active()));

    for (body, field) in [
        (json!({ "kind": "dashboard", "runs": [a] }), "kind"),
        (json!({ "runs": [a] }), "kind"),
        (json!({ "kind": "run", "runs": [a, b] }), "runs"),
        (json!({ "kind": "run" }), "runs"),
        (json!({ "kind": "compare", "runs": [a] }), "runs"),
        (json!({ "kind": "compare", "runs": [a, b, c, a, b, c, a] }), "runs"),
        (json!({ "kind": "run", "runs": ["../../etc/passwd"] }), "runs"),
        (json!({ "kind": "run", "runs": [a], "label": "x".repeat(201) }), "label"),
    ] {
        let resp = f.share(body.clone()).await;
        assert_eq!(resp.status(), 422, "{body}");
        let err = error_of(resp).await;
        assert_eq!(err.fields.first().map(|e| e.field.as_str()), Some(field), "{body}: {err:?}");
        assert!(err.error.starts_with("invalid share link"), "{}", err.error);
    }
    let resp = f.share(json!({ "kind": "run", "runs": ["NoSuchRun0123456789abc"] })).await;
    assert_eq!(resp.status(), 404);
    assert!(error_of(resp).await.error.contains("NoSuchRun0123456789abc"));

    // Owner only: without the token the list is 401 and a write 401 (403 with a link in hand, below).
    assert_eq!(viewer_client().get(f.url("/api/shares")).send().await.unwrap().status(), 401);
    assert_eq!(viewer_client().post(f.url("/api/shares")).json(&json!({})).send().await.unwrap().status(), 401);
    let session: SessionInfo = f.owner.get(f.url("/api/session")).send().await.unwrap().json().await.unwrap();
    assert_eq!(session.role, Role::Owner);
}

#[tokio::test]
async fn a_run_link_opens_that_run_read_only_until_it_is_revoked() {
    let f = fixture().await;
    let [a, b, _] = &f.runs;
    let share = f.make("run", &[a]).await;

    let (resp, cookie) = f.open(&share.id, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], format!("/runs/{a}"));
    let set = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(part), "{set}");
    }
    assert_eq!(cookie, format!("tokenscope_share={}", share.id));

    // What the run page reads.
    let get = reqwest::Method::GET;
    for path in [
        format!("/runs/{a}"),
        format!("/api/runs/{a}"),
        format!("/api/runs/{a}/series"),
        format!("/api/runs/{a}/latency"),
        format!("/api/runs/{a}/export.json"),
        format!("/api/runs/{a}/export/requests.csv"),
        format!("/api/runs/{a}/export/telemetry.csv"),
        format!("/api/runs/{a}/export/summary.md"),
        "/pkg/tokenscope.css".into(),
        "/favicon.svg".into(),
    ] {
        assert_eq!(f.as_viewer(get.clone(), &path, &cookie).await.status(), 200, "GET {path}");
    }
    let page = f.as_viewer(get.clone(), &format!("/runs/{a}"), &cookie).await.text().await.unwrap();
    assert!(page.contains("class=\"viewer\""), "the page is rendered read-only from the start");
    let session: SessionInfo = f.as_viewer(get.clone(), "/api/session", &cookie).await.json().await.unwrap();
    assert_eq!(session.role, Role::Viewer);
    assert_eq!(session.shares.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [share.id.as_str()]);

    // The run's socket, which gives its page the stored history.
    let mut req = format!("ws://{}/ws/runs/{a}", f.app.authority).into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("a shared run's socket opens");
    match ws.next().await {
        Some(Ok(Message::Text(t))) => {
            assert!(matches!(serde_json::from_str::<RunWsFrame>(&t).unwrap(), RunWsFrame::Hello { .. }))
        }
        other => panic!("expected hello, got {other:?}"),
    }

    // Writes: 403, read-only.
    for (method, path) in [
        (reqwest::Method::PATCH, format!("/api/runs/{a}")),
        (reqwest::Method::DELETE, format!("/api/runs/{a}")),
        (reqwest::Method::POST, format!("/api/runs/{a}/stop")),
        (reqwest::Method::POST, "/api/runs".into()),
        (reqwest::Method::POST, "/api/shares".into()),
        (reqwest::Method::DELETE, format!("/api/shares/{}", share.id)),
    ] {
        let resp = f.as_viewer(method.clone(), &path, &cookie).await;
        assert_eq!(resp.status(), 403, "{method} {path}");
        assert!(error_of(resp).await.error.contains("read-only"));
    }
    assert_eq!(f.owner.get(f.url(&format!("/api/runs/{a}"))).send().await.unwrap().status(), 200, "nothing changed");

    // Everything else: the login form for pages, 401 for the API.
    for path in ["/runs".to_owned(), "/".into(), "/runs/new".into(), "/gpu".into(), format!("/runs/{b}")] {
        let resp = f.as_viewer(get.clone(), &path, &cookie).await;
        assert_eq!(resp.status(), 401, "GET {path}");
        assert!(resp.text().await.unwrap().contains("login-form"), "{path}");
    }
    for path in [
        "/api/runs".to_owned(),
        "/api/runs/summaries".into(),
        format!("/api/runs/{b}"),
        format!("/api/runs/{b}/export.json"),
        format!("/api/shares?run={a}"),
        "/metrics".into(),
    ] {
        assert_eq!(f.as_viewer(get.clone(), &path, &cookie).await.status(), 401, "GET {path}");
    }

    // Revoked: the same cookie gets 410 at once, for the page and the API; anything else stays 401.
    assert_eq!(f.revoke(&share.id).await.status(), 200);
    let resp = f.as_viewer(get.clone(), &format!("/runs/{a}"), &cookie).await;
    assert_eq!(resp.status(), 410);
    assert!(resp.text().await.unwrap().contains("This share link was revoked by its owner"));
    assert_eq!(f.as_viewer(get.clone(), &format!("/api/runs/{a}"), &cookie).await.status(), 410);
    assert_eq!(f.as_viewer(get.clone(), "/api/session", &cookie).await.status(), 401);
    assert_eq!(f.as_viewer(reqwest::Method::PATCH, &format!("/api/runs/{a}"), &cookie).await.status(), 401);
    let (resp, _) = f.open(&share.id, None).await;
    assert_eq!(resp.status(), 410, "the link itself says it was revoked");
    let (resp, _) = f.open("NoSuchShare0123456789a", None).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn a_compare_link_covers_exactly_its_runs_and_a_browser_keeps_several_links() {
    let f = fixture().await;
    let [a, b, c] = &f.runs;
    let run_c = f.make("run", &[c]).await;
    let compare = f.make("compare", &[a, b]).await;

    let (_, first) = f.open(&run_c.id, None).await;
    let (resp, cookie) = f.open(&compare.id, Some(&first)).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], format!("/compare?runs={a},{b}"));
    assert_eq!(cookie, format!("tokenscope_share={}.{}", compare.id, run_c.id), "newest first, both kept");

    let get = reqwest::Method::GET;
    for path in [
        format!("/compare?runs={a},{b}"),
        format!("/compare?runs={b},{a}"),
        format!("/runs/{a}"),
        format!("/api/runs/{b}/series"),
        format!("/api/runs/{b}/latency"),
        format!("/runs/{c}"),
    ] {
        assert_eq!(f.as_viewer(get.clone(), &path, &cookie).await.status(), 200, "GET {path}");
    }
    // c is shared on its own, not in the comparison: a page of all three needs one link that has all three.
    for path in [format!("/compare?runs={a},{b},{c}"), format!("/compare?runs={a},{c}"), "/compare".into()] {
        assert_eq!(f.as_viewer(get.clone(), &path, &cookie).await.status(), 401, "GET {path}");
    }
    // With only the comparison's link, c is out of reach.
    let (_, only_compare) = f.open(&compare.id, None).await;
    assert_eq!(f.as_viewer(get.clone(), &format!("/api/runs/{c}"), &only_compare).await.status(), 401);

    // Revoking the comparison leaves the run link working.
    assert_eq!(f.revoke(&compare.id).await.status(), 200);
    assert_eq!(f.as_viewer(get.clone(), &format!("/compare?runs={a},{b}"), &cookie).await.status(), 410);
    assert_eq!(f.as_viewer(get.clone(), &format!("/runs/{c}"), &cookie).await.status(), 200);
    let (_, after) = f.open(&run_c.id, Some(&cookie)).await;
    assert_eq!(after, format!("tokenscope_share={}", run_c.id), "a revoked link leaves the cookie");
}

#[tokio::test]
async fn on_an_open_server_links_still_redirect_and_everyone_is_the_owner() {
    let f = fixture_on(false).await;
    let [a, _, _] = &f.runs;
    let share = f.make("run", &[a]).await;
    let (resp, cookie) = f.open(&share.id, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], format!("/runs/{a}"));
    let session: SessionInfo = viewer_client().get(f.url("/api/session")).send().await.unwrap().json().await.unwrap();
    assert_eq!(session, SessionInfo { role: Role::Owner, shares: vec![] });
    let page = f.as_viewer(reqwest::Method::GET, &format!("/runs/{a}"), &cookie).await.text().await.unwrap();
    assert!(!page.contains("class=\"viewer\""), "no read-only view on an open server");
    assert_eq!(f.as_viewer(reqwest::Method::PATCH, &format!("/api/runs/{a}"), &cookie).await.status(), 200);
    assert_eq!(
        viewer_client().get(f.url("/s/NoSuchShare0123456789a")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn under_a_base_path_the_link_redirects_and_scopes_the_cookie_under_it() {
    let f = fixture_with(true, "/pod").await;
    let [a, b, _] = &f.runs;
    let share = f.make("run", &[a]).await;
    let (resp, cookie) = f.open(&share.id, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], format!("/pod/runs/{a}"));
    assert!(resp.headers()[header::SET_COOKIE].to_str().unwrap().contains("Path=/pod;"));
    let get = reqwest::Method::GET;
    assert_eq!(f.as_viewer(get.clone(), &format!("/pod/runs/{a}"), &cookie).await.status(), 200);
    assert_eq!(f.as_viewer(get.clone(), &format!("/pod/api/runs/{a}/series"), &cookie).await.status(), 200);
    assert_eq!(f.as_viewer(get.clone(), &format!("/pod/runs/{b}"), &cookie).await.status(), 401);
    assert_eq!(f.as_viewer(reqwest::Method::DELETE, &format!("/pod/api/runs/{a}"), &cookie).await.status(), 403);
}
