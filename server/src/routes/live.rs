//! `/ws/live`: the server-wide WebSocket every page holds. A `hello` frame, then heartbeats and pings that keep
//! HTTPS proxies (which drop idle sockets after ~100 s) from closing it.

use std::time::Duration;

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};

use protocol::LiveFrame;

use crate::state::AppState;

/// Upgrades the request and hands the socket to [`serve_live`].
pub async fn live_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    let every = Duration::from_secs(state.info.heartbeat_s.max(1));
    ws.on_upgrade(move |socket: WebSocket| {
        let (tx, rx) = socket.split();
        serve_live(tx, rx, every)
    })
}

fn text(frame: &LiveFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

/// Speaks the live protocol over any sink/stream pair until the client goes away.
pub async fn serve_live<W, R>(mut tx: W, mut rx: R, heartbeat: Duration)
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
    loop {
        tokio::select! {
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
        let task = tokio::spawn(serve_live(out_tx, in_rx, Duration::from_millis(20)));
        let first = out_rx.next().await.unwrap();
        let Message::Text(t) = first else { panic!("hello must be text") };
        assert!(matches!(serde_json::from_str::<LiveFrame>(&t).unwrap(), LiveFrame::Hello { .. }));
        let Message::Text(t) = out_rx.next().await.unwrap() else { panic!("heartbeat must be text") };
        assert!(matches!(serde_json::from_str::<LiveFrame>(&t).unwrap(), LiveFrame::Heartbeat { .. }));
        assert!(matches!(out_rx.next().await.unwrap(), Message::Ping(_)));
        in_tx.unbounded_send(Ok(Message::Close(None))).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();
    }
}
