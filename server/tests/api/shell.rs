//! The foundation: health, the live WebSocket, the server-rendered pages and static files.

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use protocol::{HealthResponse, LiveFrame};

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_is_json_with_status_and_version() {
    let app = spawn_app().await;
    let resp = reqwest::get(format!("{}/api/health", app.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: HealthResponse = resp.json().await.unwrap();
    assert_eq!(body.status, "ok");
    assert_eq!(body.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn live_websocket_handshakes_and_says_hello() {
    let app = spawn_app().await;
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/ws/live", app.authority)).await.unwrap();
    assert_eq!(resp.status(), 101);
    let Some(Ok(Message::Text(text))) = ws.next().await else { panic!("expected a text frame") };
    match serde_json::from_str::<LiveFrame>(&text).unwrap() {
        LiveFrame::Hello { version, server_time_ms } => {
            assert_eq!(version, env!("CARGO_PKG_VERSION"));
            assert!(server_time_ms > 1_700_000_000_000);
        }
        other => panic!("first frame must be hello, got {other:?}"),
    }
}

#[tokio::test]
async fn every_page_renders_with_navigation() {
    let app = spawn_app().await;
    for (path, testid) in [
        ("/", "page-runs"),
        ("/runs", "page-runs"),
        ("/runs/new", "page-new-run"),
        ("/gpu", "page-gpu"),
        ("/compare", "page-compare"),
    ] {
        let resp = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(testid), "{path} lacks {testid}");
        for label in ["Runs", "New run", "GPU", "Compare"] {
            assert!(html.contains(label), "{path} nav lacks {label}");
        }
        assert!(html.contains("/pkg/tokenscope.js"), "{path} lacks the hydration script");
    }
}

#[tokio::test]
async fn unknown_page_is_404_and_static_files_are_served() {
    let app = spawn_app().await;
    let resp = reqwest::get(format!("{}/no/such/page", app.base)).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("Not found"));
    let css = reqwest::get(format!("{}/pkg/tokenscope.css", app.base)).await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}
