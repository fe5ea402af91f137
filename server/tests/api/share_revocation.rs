//! Replay of the attack on the public port, share-link side: a viewer's open `/ws/runs/{id}` kept streaming after
//! the owner revoked the link. Revocation now closes every socket the link opened (4403 *share link revoked*), on a
//! live run, an archived run and `/ws/live`; the owner's sockets stay open.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{header, redirect::Policy};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error as WsError, Message};

use protocol::api::RunCreated;
use protocol::share::ShareView;

use crate::helpers::{demo_spec, spawn_app_with, TestApp, PATIENCE};

const TOKEN: &str = "share-revocation-token-3a9c";

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Fixture {
    app: TestApp,
    owner: reqwest::Client,
}

impl Fixture {
    async fn new() -> Self {
        let app = spawn_app_with(|args| {
            args.host = "0.0.0.0".into();
            args.token = Some(TOKEN.into());
            args.no_demo = false;
            args.telemetry.simulate_gpus = Some(1);
        })
        .await;
        let owner = crate::helpers::bearer_client(TOKEN);
        Fixture { app, owner }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    /// A link to `run`, opened by a fresh browser: the link and the browser's share cookie.
    async fn share(&self, run: &str) -> (ShareView, String) {
        let resp = self.owner.post(self.url("/api/shares")).json(&json!({ "kind": "run", "runs": [run] }));
        let resp = resp.send().await.unwrap();
        assert_eq!(resp.status(), 201);
        let share: ShareView = resp.json().await.unwrap();
        let viewer = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let opened = viewer.get(self.url(&format!("/s/{}", share.id))).send().await.unwrap();
        assert_eq!(opened.status(), 303);
        let cookie = opened.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
        (share, cookie)
    }

    /// Waits until the run is under load and has finished a request (so that stopping it leaves a report).
    async fn wait_for_requests(&self, run: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let view: Value =
                self.owner.get(self.url(&format!("/api/runs/{run}"))).send().await.unwrap().json().await.unwrap();
            if view["status"] == "running" && view["progress"]["done"].as_u64() > Some(0) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the run never got going: {view}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn revoke(&self, id: &str) {
        let resp = self.owner.delete(self.url(&format!("/api/shares/{id}"))).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }

    /// Opens `path` as a socket with `header: value`; asserts the first frame is text (hello).
    async fn socket(&self, path: &str, header: (&'static str, &str)) -> Socket {
        let mut req = format!("ws://{}{path}", self.app.authority).into_client_request().unwrap();
        req.headers_mut().insert(header.0, header.1.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("the socket opens");
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => ws,
            other => panic!("expected hello on {path}, got {other:?}"),
        }
    }
}

/// Reads until the close frame, which must come within 2 s; asserts its code and reason.
async fn closed_by_revocation(ws: &mut Socket, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("{what}: still open 2 s after the revocation"),
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                assert_eq!((u16::from(frame.code), frame.reason.as_str()), (4403, "share link revoked"), "{what}");
                return;
            }
            Ok(Some(Ok(Message::Close(None)))) | Ok(None) | Ok(Some(Err(_))) => {
                panic!("{what}: ended without the close frame")
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

#[tokio::test]
async fn revoking_a_link_closes_the_sockets_it_opened_within_two_seconds() {
    let f = Fixture::new().await;
    let demo: Value = f.owner.get(f.url("/api/demo")).send().await.unwrap().json().await.unwrap();
    // A live run that goes on for the whole test.
    let spec = demo_spec(demo["target"].as_str().unwrap(), 1, None, Some(120.0));
    let resp = f.owner.post(f.url("/api/runs")).json(&spec).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let live = resp.json::<RunCreated>().await.unwrap().id;
    f.wait_for_requests(&live).await;

    let (share, cookie) = f.share(&live).await;
    let cookie = ("cookie", cookie.as_str());
    let mut run_socket = f.socket(&format!("/ws/runs/{live}"), cookie).await;
    let mut live_socket = f.socket("/ws/live", cookie).await;
    let bearer = format!("Bearer {TOKEN}");
    let mut owners = f.socket(&format!("/ws/runs/{live}"), ("authorization", &bearer)).await;

    f.revoke(&share.id).await;
    closed_by_revocation(&mut run_socket, "the live run's socket").await;
    closed_by_revocation(&mut live_socket, "/ws/live").await;
    // The owner's socket on the same run goes on.
    let frame =
        tokio::time::timeout(Duration::from_secs(10), owners.next()).await.expect("the owner still gets frames");
    assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
    // And the link opens nothing any more.
    let mut req = format!("ws://{}/ws/runs/{live}", f.app.authority).into_client_request().unwrap();
    req.headers_mut().insert(cookie.0, cookie.1.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 410),
        other => panic!("expected 410, got {:?}", other.map(|_| ())),
    }

    // An archived run (an imported copy, served from the archive): the same.
    let stop = f.owner.post(f.url(&format!("/api/runs/{live}/stop"))).send().await.unwrap();
    assert!(stop.status().is_success(), "{}", stop.status());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let report = loop {
        let resp = f.owner.get(f.url(&format!("/api/runs/{live}/export.json"))).send().await.unwrap();
        let status = resp.status();
        if status == 200 {
            break resp.text().await.unwrap();
        }
        let body = resp.text().await.unwrap();
        assert!(tokio::time::Instant::now() < deadline, "the stopped run's report never came: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let resp = f
        .owner
        .post(f.url("/api/runs/import"))
        .header("content-type", "application/json")
        .body(report)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let copy = resp.json::<RunCreated>().await.unwrap().id;
    let (share, cookie) = f.share(&copy).await;
    let mut stored = f.socket(&format!("/ws/runs/{copy}"), ("cookie", cookie.as_str())).await;
    f.revoke(&share.id).await;
    closed_by_revocation(&mut stored, "an archived run's socket").await;
}

#[tokio::test]
async fn a_socket_stays_open_while_another_held_link_still_shares_the_run() {
    let f = Fixture::new().await;
    let demo: Value = f.owner.get(f.url("/api/demo")).send().await.unwrap().json().await.unwrap();
    let spec = demo_spec(demo["target"].as_str().unwrap(), 1, None, Some(120.0));
    let resp = f.owner.post(f.url("/api/runs")).json(&spec).send().await.unwrap();
    let live = resp.json::<RunCreated>().await.unwrap().id;
    let (first, _) = f.share(&live).await;
    let (second, cookie) = f.share(&live).await;
    // One browser holding both links.
    let both = format!("tokenscope_share={}.{}", second.id, first.id);
    let mut ws = f.socket(&format!("/ws/runs/{live}"), ("cookie", both.as_str())).await;
    f.revoke(&first.id).await;
    let frame = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("still streaming");
    assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
    drop(cookie);
    f.revoke(&second.id).await;
    closed_by_revocation(&mut ws, "after the last link").await;
    f.owner.post(f.url(&format!("/api/runs/{live}/stop"))).send().await.unwrap();
}
