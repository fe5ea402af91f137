//! `/ws/live`: the server-wide WebSocket every page holds. A `hello` frame, then heartbeats and pings that keep
//! HTTPS proxies (which drop idle sockets after ~100 s) from closing it. Share-link viewers may hold it too; theirs
//! is closed (4403) once all their links are revoked.

use std::{future::Future, time::Duration};

use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
    Extension,
};
use futures::{Sink, SinkExt, Stream, StreamExt};

use protocol::share::SessionInfo;
use protocol::LiveFrame;

use super::shares::SocketGrant;
use crate::state::AppState;

/// Upgrades the request and hands the socket to [`serve_live`].
pub async fn live_ws(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    viewer: Option<Extension<SessionInfo>>,
) -> Response {
    let every = Duration::from_secs(state.info.heartbeat_s.max(1));
    let grant = SocketGrant::new(&state, viewer.as_ref().map(|v| &v.0), |_| true);
    ws.on_upgrade(move |socket: WebSocket| {
        let (tx, rx) = socket.split();
        serve_live(tx, rx, every, grant.ended())
    })
}

fn text(frame: &LiveFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

/// Speaks the live protocol over any sink/stream pair until the client goes away, or until `ended` resolves (a
/// share link revoked): then its close frame is sent and the socket ends.
pub async fn serve_live<W, R>(mut tx: W, mut rx: R, heartbeat: Duration, ended: impl Future<Output = CloseFrame>)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let hello = LiveFrame::Hello { version: env!("CARGO_PKG_VERSION").into(), server_time_ms: crate::clock::unix_ms() };
    if tx.send(text(&hello)).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(heartbeat);
    tick.tick().await;
    tokio::pin!(ended);
    loop {
        tokio::select! {
            close = &mut ended => {
                let _ = tx.send(Message::Close(Some(close))).await;
                return;
            }
            _ = tick.tick() => {
                let beat = text(&LiveFrame::Heartbeat { server_time_ms: crate::clock::unix_ms() });
                if tx.send(beat).await.is_err() || tx.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            msg = rx.next() => match msg {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;

    #[tokio::test]
    async fn says_hello_then_heartbeats_then_stops_on_close() {
        let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
        let (in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
        let task = tokio::spawn(serve_live(out_tx, in_rx, Duration::from_millis(20), std::future::pending()));
        let first = out_rx.next().await.unwrap();
        let Message::Text(t) = first else { panic!("hello must be text") };
        assert!(matches!(serde_json::from_str::<LiveFrame>(&t).unwrap(), LiveFrame::Hello { .. }));
        let Message::Text(t) = out_rx.next().await.unwrap() else { panic!("heartbeat must be text") };
        assert!(matches!(serde_json::from_str::<LiveFrame>(&t).unwrap(), LiveFrame::Heartbeat { .. }));
        assert!(matches!(out_rx.next().await.unwrap(), Message::Ping(_)));
        in_tx.unbounded_send(Ok(Message::Close(None))).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn ends_with_the_close_frame_it_is_given() {
        let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
        let (_in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
        let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
        let ended = async move {
            let _ = end_rx.await;
            CloseFrame { code: 4403, reason: "share link revoked".into() }
        };
        let task = tokio::spawn(serve_live(out_tx, in_rx, Duration::from_secs(3600), ended));
        assert!(matches!(out_rx.next().await.unwrap(), Message::Text(_)), "hello");
        end_tx.send(()).unwrap();
        match out_rx.next().await.unwrap() {
            Message::Close(Some(f)) => assert_eq!((f.code, f.reason.as_str()), (4403, "share link revoked")),
            other => panic!("expected the close frame, got {other:?}"),
        }
        tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();
    }
}
