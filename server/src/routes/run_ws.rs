//! `/ws/runs/{id}`: a run's history so far, then its live frames (progress at 4 Hz, 1 s windows, errors, GPU
//! samples batched at ≤ 4 Hz). Lagging viewers skip ahead; a ping every 20 s keeps proxies from closing the socket.
//! A share-link viewer's socket is closed (4403) when the links that shared the run are revoked.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        Path, State,
    },
    response::{IntoResponse, Response},
    Extension,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use protocol::archive::RunSeries;
use protocol::gpu::{GpuSample, TelemetryStatus};
use protocol::live_run::{RunView, RunWsFrame};
use protocol::share::SessionInfo;

use super::error::find_run;
use super::shares::SocketGrant;
use crate::hub::LiveRun;
use crate::state::AppState;
use crate::telemetry::Telemetry;

/// GPU points per GPU in the history a viewer gets on connect.
pub const HISTORY_POINTS_PER_GPU: usize = 1200;
const GPU_FLUSH: Duration = Duration::from_millis(250);
const PING_EVERY: Duration = Duration::from_secs(20);

/// Upgrades to the run's channel; 404 (before the upgrade) for an unknown run. A share-link viewer's socket ends
/// when the links that share this run are revoked.
pub async fn run_ws(
    ws: WebSocketUpgrade,
    Path(id): Path<String>,
    State(state): State<AppState>,
    viewer: Option<Extension<SessionInfo>>,
) -> Response {
    let telemetry = state.telemetry.clone();
    let grant = SocketGrant::new(&state, viewer.as_ref().map(|v| &v.0), |s| s.runs.contains(&id));
    if let Some(run) = state.runs.get(&id) {
        return ws.on_upgrade(move |socket: WebSocket| {
            let (tx, rx) = socket.split();
            serve_run(tx, rx, run, telemetry, grant.ended())
        });
    }
    match find_run(&state.runs, &id).await {
        Ok(view) => {
            let series = state.store.load_series(&id).await.unwrap_or_else(|e| {
                tracing::warn!(run = %id, "could not read the run's series: {e}");
                RunSeries::default()
            });
            ws.on_upgrade(move |socket: WebSocket| {
                let (tx, rx) = socket.split();
                serve_stored(tx, rx, view, series, grant.ended())
            })
        }
        Err(e) => e.into_response(),
    }
}

fn text(frame: &RunWsFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

fn hello(view: RunView, windows: Vec<protocol::event::WindowStats>, telemetry: &Telemetry) -> RunWsFrame {
    let gpu = crate::telemetry::ring::thin_per_gpu(telemetry.history(view.started_unix_ms), HISTORY_POINTS_PER_GPU);
    RunWsFrame::Hello { run: Box::new(view), windows, telemetry: telemetry.status(), gpu }
}

/// An ended run without stored series: its state under today's telemetry status, then nothing but pings.
pub async fn serve_archived<W, R>(tx: W, rx: R, view: RunView, telemetry: Telemetry)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let series = RunSeries { telemetry: Some(telemetry.status()), ..RunSeries::default() };
    serve_stored(tx, rx, view, series, std::future::pending()).await;
}

/// An ended run read from the archive: its state with its stored windows, GPU samples of its load (at most
/// [`HISTORY_POINTS_PER_GPU`] per GPU) and the telemetry status it ran under; then nothing but pings. When `ended`
/// resolves (a share link revoked), its close frame is sent and the socket ends.
pub async fn serve_stored<W, R>(
    mut tx: W,
    mut rx: R,
    view: RunView,
    series: RunSeries,
    ended: impl Future<Output = CloseFrame>,
) where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let telemetry = series.telemetry.unwrap_or_else(|| TelemetryStatus::Unavailable {
        reason: "no GPU telemetry was recorded with this run".into(),
    });
    let since = view.started_unix_ms;
    let gpu = crate::telemetry::ring::thin_per_gpu(
        series.gpu.into_iter().filter(|s| s.unix_ms >= since).collect(),
        HISTORY_POINTS_PER_GPU,
    );
    let frame = RunWsFrame::Hello { run: Box::new(view), windows: series.windows, telemetry, gpu };
    if tx.send(text(&frame)).await.is_err() {
        return;
    }
    tokio::pin!(ended);
    loop {
        tokio::select! {
            close = &mut ended => {
                let _ = tx.send(Message::Close(Some(close))).await;
                return;
            }
            msg = rx.next() => match msg {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Speaks the run protocol over any sink/stream pair until the viewer leaves, or until `ended` resolves (a share
/// link revoked): then its close frame is sent and the socket ends.
pub async fn serve_run<W, R>(
    mut tx: W,
    mut rx: R,
    run: Arc<LiveRun>,
    telemetry: Telemetry,
    ended: impl Future<Output = CloseFrame>,
) where
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
    tokio::pin!(ended);
    loop {
        tokio::select! {
            close = &mut ended => {
                let _ = tx.send(Message::Close(Some(close))).await;
                return;
            }
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
    use futures::channel::mpsc;
    use protocol::event::{RunEvent, WindowStats};
    use protocol::live_run::RunStatus;

    fn view() -> RunView {
        let spec = serde_json::from_value(serde_json::json!({
            "target": "http://127.0.0.1:8000",
            "load": { "kind": "concurrency", "concurrency": 1 },
            "requests": 1,
            "workload": { "kind": "synthetic", "input_tokens": { "min": 1, "max": 1 },
                          "output_tokens": { "min": 1, "max": 1 } }
        }))
        .unwrap();
        RunView {
            id: "0123456789ABCDEFGHIJKL".into(),
            spec,
            status: RunStatus::Running,
            started_unix_ms: 1,
            progress: Default::default(),
            preflight_states: Vec::new(),
            verdict: None,
            error_samples: Vec::new(),
            result: None,
            demo: false,
            notes: String::new(),
            tags: Vec::new(),
            storage_error: None,
        }
    }

    fn window(i: u64) -> WindowStats {
        WindowStats {
            step: 0,
            t_end_ms: i as f64,
            unix_ms: i,
            length_ms: 1000.0,
            output_tokens: 0.0,
            output_tokens_per_s: 0.0,
            requests_per_s: 0.0,
            ttft_p50_ms: None,
            ttft_p99_ms: None,
            itl_p50_ms: None,
            itl_p99_ms: None,
            e2e_p50_ms: None,
            e2e_p99_ms: None,
            in_flight: 0,
            completed_total: i,
            failed_total: 0,
            errors: Default::default(),
        }
    }

    async fn next_frame(out: &mut mpsc::Receiver<Message>) -> RunWsFrame {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), out.next()).await.unwrap().unwrap();
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Ping(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_viewer_that_stops_reading_never_blocks_the_run_and_skips_ahead() {
        const WINDOWS: u64 = 2_000;
        let run = LiveRun::new(view());
        // Room for one frame: the viewer's socket is full almost at once.
        let (out_tx, mut out_rx) = mpsc::channel::<Message>(0);
        let (in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
        let viewer =
            tokio::spawn(serve_run(out_tx, in_rx, run.clone(), Telemetry::unavailable("test"), std::future::pending()));
        assert!(matches!(next_frame(&mut out_rx).await, RunWsFrame::Hello { .. }));

        // The run goes on to its end while nobody reads: 2 000 windows and progress ticks, far beyond the buffer.
        let producer = tokio::spawn({
            let run = run.clone();
            async move {
                for i in 0..WINDOWS {
                    run.apply(RunEvent::Window(window(i)));
                    run.tick(None);
                    tokio::task::yield_now().await;
                }
                run.finish(RunStatus::Completed, None, None)
            }
        });
        let end = tokio::time::timeout(Duration::from_secs(30), producer).await.expect("the run is never blocked");
        assert_eq!(end.unwrap().status, RunStatus::Completed);
        assert!(!viewer.is_finished());

        // Reading again: what was in flight, then a jump to the newest frames, then the end.
        let mut seen = Vec::new();
        loop {
            match next_frame(&mut out_rx).await {
                RunWsFrame::Window(w) => seen.push(w.unix_ms),
                RunWsFrame::Finished { run } => {
                    assert_eq!(run.status, RunStatus::Completed);
                    break;
                }
                _ => {}
            }
        }
        // Where the lag starts depends on scheduling; what matters: in order, ending at the newest window, and far
        // fewer than were produced (the viewer skipped ahead instead of replaying everything).
        assert_eq!(seen.last(), Some(&(WINDOWS - 1)));
        assert!(seen.windows(2).all(|p| p[0] < p[1]), "in order");
        assert!(seen.len() < 300, "{} windows delivered", seen.len());

        in_tx.unbounded_send(Ok(Message::Close(None))).unwrap();
        tokio::time::timeout(Duration::from_secs(30), viewer).await.unwrap().unwrap();
    }

    #[test]
    fn thinning_caps_each_gpu_and_keeps_the_last() {
        let samples: Vec<GpuSample> = (0..1000)
            .flat_map(|t| (0..2).map(move |g| GpuSample { index: g, unix_ms: t, ..Default::default() }))
            .collect();
        let thin = crate::telemetry::ring::thin_per_gpu(samples, 100);
        for g in 0..2 {
            let mine: Vec<_> = thin.iter().filter(|s| s.index == g).collect();
            assert!(mine.len() <= 101, "{}", mine.len());
            assert_eq!(mine.last().unwrap().unix_ms, 999);
        }
    }
}
