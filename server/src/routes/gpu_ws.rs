//! `/ws/gpu`: live GPU telemetry. A `hello` frame with the status, the GPU list and the recent history (≤ 600 points
//! per GPU), then one `samples` frame per sampler tick. A viewer that falls behind skips to the newest tick; a ping
//! every 20 s keeps HTTPS proxies from closing an idle socket.

use std::time::Duration;

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use protocol::gpu::GpuWsFrame;

use crate::{
    clock::unix_ms,
    state::AppState,
    telemetry::{Batch, Telemetry},
};

/// Most history points per GPU in the hello frame.
pub const HISTORY_POINTS_PER_GPU: usize = 600;
/// Interval between pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// Upgrades the request and hands the socket to [`serve_gpu`].
pub async fn gpu_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    let telemetry = state.telemetry.clone();
    ws.on_upgrade(move |socket: WebSocket| {
        let (tx, rx) = socket.split();
        serve_gpu(tx, rx, telemetry, PING_EVERY)
    })
}

fn text(frame: &GpuWsFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

/// The newest batch still in the channel after a `Lagged`.
fn newest(rx: &mut broadcast::Receiver<Batch>) -> Option<Batch> {
    let mut last = None;
    loop {
        match rx.try_recv() {
            Ok(b) => last = Some(b),
            Err(TryRecvError::Lagged(_)) => continue,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return last,
        }
    }
}

/// Speaks the GPU protocol over any sink/stream pair until the client goes away.
pub async fn serve_gpu<W, R>(mut tx: W, mut rx: R, telemetry: Telemetry, ping_every: Duration)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    // Subscribe before reading the history so no tick falls between the two.
    let mut ticks = telemetry.subscribe();
    let history = telemetry.history_downsampled(HISTORY_POINTS_PER_GPU);
    let sent_up_to = history.iter().map(|s| s.unix_ms).max();
    let hello = GpuWsFrame::Hello {
        status: telemetry.status(),
        server_time_ms: unix_ms(),
        interval_ms: telemetry.interval().as_millis() as u64,
        history,
    };
    // The socket must not keep the sampler alive: from here on only the subscription is held.
    drop(telemetry);
    if tx.send(text(&hello)).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    // False once telemetry has stopped (or never ran): the socket stays open with pings until the client leaves,
    // so a page without GPU telemetry does not reconnect in a loop.
    let mut live = true;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if tx.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            got = ticks.recv(), if live => {
                let batch = match got {
                    Ok(b) => b,
                    Err(RecvError::Lagged(_)) => match newest(&mut ticks) {
                        Some(b) => b,
                        None => continue,
                    },
                    Err(RecvError::Closed) => {
                        live = false;
                        continue;
                    }
                };
                if sent_up_to.is_some_and(|m| batch.iter().all(|s| s.unix_ms <= m)) {
                    continue; // already in the hello's history
                }
                if tx.send(text(&GpuWsFrame::Samples { samples: batch.to_vec() })).await.is_err() {
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
    use protocol::gpu::{GpuSample, TelemetryStatus};

    fn batch(t: u64) -> Vec<GpuSample> {
        (0..2).map(|index| GpuSample { index, unix_ms: t, simulated: true, ..Default::default() }).collect()
    }

    async fn frame(out: &mut mpsc::UnboundedReceiver<Message>) -> GpuWsFrame {
        loop {
            match out.next().await.unwrap() {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Ping(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn hello_with_history_then_live_ticks_then_skip_ahead_when_behind() {
        let (telemetry, feed) =
            Telemetry::manual(TelemetryStatus::Simulated { gpus: vec![] }, Duration::from_millis(250));
        for t in 1..=1_000 {
            feed.publish(batch(t));
        }
        let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
        let (in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
        let task = tokio::spawn(serve_gpu(out_tx, in_rx, telemetry.clone(), Duration::from_secs(3600)));

        let GpuWsFrame::Hello { status, interval_ms, history, .. } = frame(&mut out_rx).await else {
            panic!("hello first")
        };
        assert_eq!(status.label(), "simulated");
        assert_eq!(interval_ms, 250);
        assert_eq!(history.iter().filter(|s| s.index == 1).count(), HISTORY_POINTS_PER_GPU);
        assert_eq!(history.last().unwrap().unix_ms, 1_000);

        feed.publish(batch(1_001));
        let GpuWsFrame::Samples { samples } = frame(&mut out_rx).await else { panic!("samples") };
        assert_eq!((samples.len(), samples[0].unix_ms), (2, 1_001));

        // 200 ticks while the viewer is not looking: it gets the newest, not a backlog.
        for t in 1_002..1_202 {
            feed.publish(batch(t));
        }
        let GpuWsFrame::Samples { samples } = frame(&mut out_rx).await else { panic!("samples") };
        assert_eq!(samples[0].unix_ms, 1_201);

        in_tx.unbounded_send(Ok(Message::Close(None))).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn pings_keep_an_unavailable_socket_open() {
        let telemetry = Telemetry::unavailable("libnvidia-ml.so.1 not found");
        let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
        let (_in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
        tokio::spawn(serve_gpu(out_tx, in_rx, telemetry, Duration::from_millis(20)));
        let Some(Message::Text(t)) = out_rx.next().await else { panic!("hello") };
        let GpuWsFrame::Hello { status, history, .. } = serde_json::from_str(&t).unwrap() else { panic!() };
        assert!(!status.is_up() && history.is_empty());
        assert!(matches!(out_rx.next().await.unwrap(), Message::Ping(_)));
    }
}
