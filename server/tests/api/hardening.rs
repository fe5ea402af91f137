//! Hardening: security headers on every response, the 2 MiB body limit, target API keys never served back, and
//! user text escaped in server-rendered pages.

use protocol::live_run::RunStatus;

use crate::helpers::{demo_spec, spawn_app, spawn_app_with, spawn_demo_app};

#[tokio::test]
async fn every_response_has_the_security_headers() {
    let app = spawn_app().await;
    let locked = spawn_app_with(|args| args.token = Some("hdr-token-0123456789".into())).await;
    for (base, path) in [
        (&app.base, "/api/health"),
        (&app.base, "/runs"),
        (&app.base, "/api/runs/nope"),
        (&app.base, "/pkg/tokenscope.js"),
        (&locked.base, "/api/runs"),
        (&locked.base, "/runs"),
    ] {
        let resp = app.http.get(format!("{base}{path}")).send().await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'",
            "connect-src 'self' ws: wss:",
            "img-src 'self' data: blob:",
            "style-src 'self' 'unsafe-inline'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn a_body_over_two_mib_is_refused_with_413() {
    let app = spawn_app().await;
    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(3 << 20));
    let resp = app
        .http
        .post(format!("{}/api/runs", app.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "the body is too large (the limit is 2 MiB)");
}

#[tokio::test]
async fn a_target_api_key_is_never_served_back() {
    let app = spawn_demo_app().await;
    let key = "sk-test-never-shown-5d2a";
    let mut spec = demo_spec(&app.demo_target().await, 2, Some(4), None);
    spec["api_key"] = key.into();
    let id = app.start_run(&spec).await;
    app.wait_run(&id, "completed", |v| v.status == RunStatus::Completed).await;
    for path in [
        format!("/api/runs/{id}"),
        "/api/runs".to_owned(),
        "/api/runs/summaries".to_owned(),
        format!("/api/runs/{id}/export.json"),
        format!("/api/runs/{id}/export/summary.md"),
        format!("/runs/{id}"),
    ] {
        let resp = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(!resp.text().await.unwrap().contains(key), "{path} shows the API key");
    }
}

#[tokio::test]
async fn a_run_name_with_markup_is_escaped_on_the_runs_page() {
    let app = spawn_demo_app().await;
    let name = "<script>alert(1)</script>";
    let mut spec = demo_spec(&app.demo_target().await, 2, Some(4), None);
    spec["name"] = name.into();
    let id = app.start_run(&spec).await;
    app.wait_run(&id, "completed", |v| v.status == RunStatus::Completed).await;
    let api = app.http.get(format!("{}/api/runs/summaries", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(api.contains(r#""name":"<script>alert(1)</script>""#), "the API keeps the name as typed: {api}");
    let html = app.http.get(format!("{}/runs", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("href=\"/runs/{id}\"")), "the run is listed");
    assert!(!html.contains(name), "the name is not markup on the page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the name is shown, escaped");
}

/// Pages, JSON and the bundle are gzipped for clients that accept it (a pod proxy's slow first load); a
/// WebSocket upgrade is not touched.
#[tokio::test]
async fn answers_are_gzipped_when_accepted_and_upgrades_are_not() {
    let app = spawn_app().await;
    for path in ["/runs", "/api/runs", "/pkg/tokenscope.js"] {
        let resp = app.http.get(format!("{}{path}", app.base)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let encoding = resp.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
        let body = resp.bytes().await.unwrap();
        if body.len() > 40 {
            assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
            assert_eq!(&body[..2], &[0x1f, 0x8b], "{path}: a gzip stream");
        }
        let plain = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}: not asked for, not sent");
    }
    let ws = format!("{}/ws/live", app.base.replacen("http", "ws", 1));
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws).unwrap();
    req.headers_mut().insert("accept-encoding", "gzip".parse().unwrap());
    let (mut socket, resp) = tokio_tungstenite::connect_async(req).await.expect("the upgrade still works");
    assert!(resp.headers().get("content-encoding").is_none());
    use futures::StreamExt;
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next()).await.unwrap();
    assert!(first.is_some_and(|m| m.is_ok()), "a first frame arrives intact");
}
