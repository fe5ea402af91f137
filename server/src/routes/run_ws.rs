//! `/ws/runs/{id}`: a run's history so far, then its live frames (progress at 4 Hz, 1 s windows, errors, GPU
//! samples batched at ≤ 4 Hz). Lagging viewers skip ahead; a ping every 20 s keeps proxies from closing the socket.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        Path, State,
    },
    response::{IntoResponse, Response},
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use app::protocol::gpu::GpuSample;
use app::protocol::live_run::{RunView, RunWsFrame};

use super::runs::find;
use crate::hub::LiveRun;
use crate::state::AppState;
use crate::telemetry::Telemetry;

/// GPU points per GPU in the history a viewer gets on connect.
pub const HISTORY_POINTS_PER_GPU: usize = 1200;
const GPU_FLUSH: Duration = Duration::from_millis(250);
const PING_EVERY: Duration = Duration::from_secs(20);

/// Upgrades to the run's channel; 404 (before the upgrade) for an unknown run.
pub async fn run_ws(ws: WebSocketUpgrade, Path(id): Path<String>, State(state): State<AppState>) -> Response {
    let telemetry = state.telemetry.clone();
    if let Some(run) = state.runs.get(&id) {
        return ws.on_upgrade(move |socket: WebSocket| {
            let (tx, rx) = socket.split();
            serve_run(tx, rx, run, telemetry)
        });
    }
    match find(&state, &id).await {
        Ok(view) => ws.on_upgrade(move |socket: WebSocket| {
            let (tx, rx) = socket.split();
            serve_archived(tx, rx, view, telemetry)
        }),
        Err(e) => e.into_response(),
    }
}

fn text(frame: &RunWsFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

/// Keeps every `k`-th sample of each GPU so that no GPU has more than `max` (the last is always kept).
pub fn thin_per_gpu(samples: Vec<GpuSample>, max: usize) -> Vec<GpuSample> {
    let mut counts = std::collections::BTreeMap::<u32, usize>::new();
    for s in &samples {
        *counts.entry(s.index).or_default() += 1;
    }
    let mut seen = std::collections::BTreeMap::<u32, usize>::new();
    samples
        .into_iter()
        .filter(|s| {
            let n = counts[&s.index];
            let k = n.div_ceil(max.max(1));
            let i = seen.entry(s.index).or_default();
            *i += 1;
            k <= 1 || (*i - 1).is_multiple_of(k) || *i == n
        })
        .collect()
}

fn hello(view: RunView, windows: Vec<app::protocol::event::WindowStats>, telemetry: &Telemetry) -> RunWsFrame {
    let gpu = thin_per_gpu(telemetry.history(view.started_unix_ms), HISTORY_POINTS_PER_GPU);
    RunWsFrame::Hello { run: Box::new(view), windows, telemetry: telemetry.status(), gpu }
}

/// An ended run read from the archive: its state, then nothing but pings.
pub async fn serve_archived<W, R>(mut tx: W, mut rx: R, view: RunView, telemetry: Telemetry)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let frame =
        RunWsFrame::Hello { run: Box::new(view), windows: Vec::new(), telemetry: telemetry.status(), gpu: Vec::new() };
    if tx.send(text(&frame)).await.is_err() {
        return;
    }
    while let Some(Ok(msg)) = rx.next().await {
        if matches!(msg, Message::Close(_)) {
            return;
        }
    }
}

/// Speaks the run protocol over any sink/stream pair until the viewer leaves.
pub async fn serve_run<W, R>(mut tx: W, mut rx: R, run: Arc<LiveRun>, telemetry: Telemetry)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    // Subscribe before the snapshot so nothing falls between the two.
    let mut frames = run.frames.subscribe();
    let mut gpu = telemetry.subscribe();
    let (view, windows) = run.snapshot();
    let mut live = view.status.is_live();
    let mut frames_open = true;
    if tx.send(text(&hello(view, windows, &telemetry))).await.is_err() {
        return;
    }
    let mut batch: Vec<GpuSample> = Vec::new();
    let mut flush = tokio::time::interval(GPU_FLUSH);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            f = frames.recv(), if frames_open => match f {
                Ok(frame) => {
                    if matches!(*frame, RunWsFrame::Finished { .. }) {
                        live = false;
                    }
                    if tx.send(text(&frame)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => frames_open = false,
            },
            g = gpu.recv(), if live => match g {
                Ok(samples) => batch.extend(samples.iter().cloned()),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => live = false,
            },
            _ = flush.tick() => {
                if !batch.is_empty() {
                    let frame = RunWsFrame::Gpu { samples: std::mem::take(&mut batch) };
                    if tx.send(text(&frame)).await.is_err() {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if tx.send(Message::Ping(Vec::new().into())).await.is_err() {
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

    #[test]
    fn thinning_caps_each_gpu_and_keeps_the_last() {
        let samples: Vec<GpuSample> = (0..1000)
            .flat_map(|t| (0..2).map(move |g| GpuSample { index: g, unix_ms: t, ..Default::default() }))
            .collect();
        let thin = thin_per_gpu(samples, 100);
        for g in 0..2 {
            let mine: Vec<_> = thin.iter().filter(|s| s.index == g).collect();
            assert!(mine.len() <= 101, "{}", mine.len());
            assert_eq!(mine.last().unwrap().unix_ms, 999);
        }
    }
}
