//! Replays of the attack on the public port, browser side: DNS rebinding (`Host: evil.example` answered by an open
//! server), a page on another origin planting a run through `POST /api/runs/import` with `text/plain` in `no-cors`
//! mode, and cross-site writes and sockets in general.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error as WsError};

use protocol::archive::RunSummary;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const TOKEN: &str = "origin-checks-token-8d2b71";

async fn send(app: &TestApp, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.http.request(method, format!("{}{path}", app.base));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

async fn error(resp: reqwest::Response) -> String {
    let body: Value = resp.json().await.unwrap();
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_open_server_answers_only_to_local_host_names() {
    let app = spawn_app().await;
    let port = app.authority.rsplit(':').next().unwrap().to_owned();
    let get = reqwest::Method::GET;
    let resp = send(&app, get.clone(), "/api/runs", &[("host", "evil.example")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let msg = error(resp).await;
    for part in ["answers only to localhost", "DNS rebinding", "--allow-host NAME", "--token"] {
        assert!(msg.contains(part), "{msg}");
    }
    assert!(msg.contains(&format!("http://127.0.0.1:{port}/")), "{msg}");
    let page = send(&app, get.clone(), "/runs", &[("host", "evil.example:3000")]).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("DNS rebinding"));
    let socket = send(&app, get.clone(), "/ws/live", &[("host", "evil.example")]).await;
    assert_eq!(socket.status(), StatusCode::FORBIDDEN);

    assert_eq!(send(&app, get.clone(), "/api/health", &[("host", "evil.example")]).await.status(), 200);
    let local = format!("localhost:{port}");
    for host in [local.as_str(), &app.authority, "127.0.0.2", "[::1]:9"] {
        assert_eq!(send(&app, get.clone(), "/api/runs", &[("host", host)]).await.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn allow_host_and_a_token_open_other_host_names() {
    let app = spawn_app_with(|args| args.allow_hosts = vec!["Tunnel.Example".into()]).await;
    let get = reqwest::Method::GET;
    assert_eq!(send(&app, get.clone(), "/api/runs", &[("host", "tunnel.example:8080")]).await.status(), 200);
    assert_eq!(send(&app, get.clone(), "/api/runs", &[("host", "evil.example")]).await.status(), 403);

    // With a token, the token protects the server: any Host is answered (a pod proxy's name, a LAN address).
    let locked = spawn_app_with(|args| args.token = Some(TOKEN.into())).await;
    let bearer = format!("Bearer {TOKEN}");
    let headers = [("host", "pod-3000.proxy.example"), ("authorization", bearer.as_str())];
    assert_eq!(send(&locked, get, "/api/runs", &headers).await.status(), 200);
}

#[tokio::test]
async fn the_no_cors_text_plain_import_is_refused_twice() {
    let app = spawn_app().await;
    let report = json!({ "started_at_ms": 1, "requests_completed": 3 }).to_string();
    // What the attacking page's `fetch(…, {mode: "no-cors", method: "POST", body})` sends.
    let attack = app
        .http
        .post(format!("{}/api/runs/import?name=planted", app.base))
        .header("origin", "http://localhost:8080")
        .header("sec-fetch-site", "same-site")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(report.clone());
    let resp = attack.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(error(resp).await.contains("cross-origin request refused"));

    // Without the Origin (a script), text/plain still does not import.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut req = app.http.post(format!("{}/api/runs/import", app.base)).body(report.clone());
        if let Some(c) = content_type {
            req = req.header("content-type", c);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        assert!(error(resp).await.contains("Content-Type: application/json"));
    }
    let rows: Vec<RunSummary> = app.get_json("/api/runs/summaries").await;
    assert!(rows.is_empty(), "nothing was planted: {rows:?}");

    // The same body as JSON from the page's own origin reaches the handler (422: not a whole report).
    let own = format!("http://{}", app.authority);
    let resp = app
        .http
        .post(format!("{}/api/runs/import", app.base))
        .header("origin", own)
        .header("content-type", "application/json; charset=utf-8")
        .body(report)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn writes_from_another_origin_are_refused_on_every_server() {
    for locked in [false, true] {
        let app = spawn_app_with(|args| {
            if locked {
                args.host = "0.0.0.0".into();
                args.token = Some(TOKEN.into());
            }
        })
        .await;
        let bearer = format!("Bearer {TOKEN}");
        let auth = ("authorization", bearer.as_str());
        let post = reqwest::Method::POST;
        let evil = [("origin", "http://evil.example"), ("content-type", "application/json"), auth];
        for (method, path) in [
            (post.clone(), "/api/runs"),
            (post.clone(), "/api/preflight"),
            (reqwest::Method::DELETE, "/api/runs/0123456789ABCDEFGHIJKL"),
            (reqwest::Method::PATCH, "/api/runs/0123456789ABCDEFGHIJKL"),
            (post.clone(), "/api/shares"),
        ] {
            let resp = send(&app, method.clone(), path, &evil).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{method} {path} (locked: {locked})");
            assert!(error(resp).await.contains("cross-origin request refused"));
        }
        let cross = [("sec-fetch-site", "cross-site"), ("content-type", "application/json"), auth];
        assert_eq!(send(&app, post.clone(), "/api/runs", &cross).await.status(), 403, "Sec-Fetch-Site: cross-site");
        let null = [("origin", "null"), auth];
        assert_eq!(send(&app, post.clone(), "/api/runs", &null).await.status(), 403, "Origin: null");
        // A cross-site login (login CSRF) is refused as a page.
        let resp = app
            .http
            .post(format!("{}/login", app.base))
            .header("origin", "http://evil.example")
            .form(&[("token", TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);

        // The dashboard's own pages, a proxy that names the public host, and scripts without an Origin pass.
        let own = format!("http://{}", app.authority);
        let same = [("origin", own.as_str()), ("content-type", "application/json"), auth];
        assert_eq!(send(&app, post.clone(), "/api/runs", &same).await.status(), 400, "same origin: the handler");
        let proxied = [
            ("origin", "https://pod.example"),
            ("x-forwarded-host", "pod.example"),
            ("content-type", "application/json"),
            auth,
        ];
        assert_eq!(send(&app, post.clone(), "/api/runs", &proxied).await.status(), 400, "through a proxy");
        let script = [("content-type", "application/json"), auth];
        assert_eq!(send(&app, post.clone(), "/api/runs", &script).await.status(), 400, "no Origin");
        // Reads are not checked: a cross-site GET cannot read the answer, and links must open.
        let read = [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), auth];
        assert_eq!(send(&app, reqwest::Method::GET, "/api/runs", &read).await.status(), 200);
    }
}

#[tokio::test]
async fn a_socket_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let open = |origin: Option<String>| {
        let mut req = format!("ws://{}/ws/live", app.authority).into_client_request().unwrap();
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        tokio_tungstenite::connect_async(req)
    };
    match open(Some("http://evil.example".into())).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 403),
        Err(e) => panic!("expected 403, got {e}"),
        Ok(_) => panic!("a socket from evil.example was opened"),
    }
    match open(Some("http://localhost:8080".into())).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 403, "another local port is another origin"),
        Err(e) => panic!("expected 403, got {e}"),
        Ok(_) => panic!("a socket from another local origin was opened"),
    }
    open(Some(format!("http://{}", app.authority))).await.expect("the page's own origin");
    open(None).await.expect("a client that sends no Origin");
}
