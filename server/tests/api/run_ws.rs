//! `/ws/runs/{id}` over a real socket: a mid-run viewer gets the history then live frames, every viewer sees the
//! end, a late viewer gets the final state, and an unknown run is a 404 before any upgrade.

use futures::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite, tungstenite::Message, MaybeTlsStream, WebSocketStream};

use protocol::gpu::TelemetryStatus;
use protocol::live_run::{RunStatus, RunWsFrame};

use crate::helpers::{demo_spec, spawn_app, spawn_demo_app, TestApp, PATIENCE};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(app: &TestApp, id: &str) -> Ws {
    let (ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/ws/runs/{id}", app.authority)).await.unwrap();
    assert_eq!(resp.status(), 101);
    ws
}

/// The next JSON frame (pings skipped); panics when none comes within [`PATIENCE`].
async fn frame(ws: &mut Ws) -> RunWsFrame {
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next()).await.expect("a frame in time");
        match msg.expect("the socket stays open").unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_mid_run_viewer_gets_history_then_live_frames_then_the_end() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 4, None, Some(5.0))).await;

    // A first viewer from the start: once it has seen a window, the run has history.
    let mut first = connect(&app, &id).await;
    assert!(matches!(frame(&mut first).await, RunWsFrame::Hello { .. }));
    while !matches!(frame(&mut first).await, RunWsFrame::Window(_)) {}

    let mut viewer = connect(&app, &id).await;
    let RunWsFrame::Hello { run, windows, telemetry, .. } = frame(&mut viewer).await else { panic!("hello first") };
    assert_eq!(run.id, id);
    assert_eq!(run.status, RunStatus::Running);
    assert!(!windows.is_empty());
    assert!(matches!(telemetry, TelemetryStatus::Simulated { .. }), "{telemetry:?}");

    let (mut progress, mut window, mut gpu) = (0, 0, 0);
    let finished = loop {
        match frame(&mut viewer).await {
            RunWsFrame::Progress { status, progress: p } => {
                assert!(status.is_live());
                assert!(p.elapsed_s > 0.0);
                progress += 1;
            }
            RunWsFrame::Window(w) => {
                assert!(w.unix_ms > 1_700_000_000_000);
                window += 1;
            }
            RunWsFrame::Gpu { samples } => gpu += usize::from(!samples.is_empty()),
            RunWsFrame::Finished { run } => break run,
            RunWsFrame::Hello { .. } => panic!("one hello per viewer"),
            RunWsFrame::Preflight { .. } | RunWsFrame::Error(_) | RunWsFrame::Storage { .. } => {}
        }
    };
    assert!(progress >= 2 && window >= 1 && gpu >= 1, "progress {progress}, window {window}, gpu {gpu}");
    assert_eq!(finished.status, RunStatus::Completed, "{:?}", finished.verdict);
    assert!(finished.result.is_some());

    // The first viewer, behind on its reading, still gets to the end.
    while !matches!(frame(&mut first).await, RunWsFrame::Finished { .. }) {}

    // A viewer after the end: the final state in its hello.
    let mut late = connect(&app, &id).await;
    let RunWsFrame::Hello { run, windows, .. } = frame(&mut late).await else { panic!("hello first") };
    assert_eq!(run.status, RunStatus::Completed);
    assert!(run.result.is_some());
    assert_eq!(run.progress.done, finished.progress.done);
    assert!(!windows.is_empty());
}

#[tokio::test]
async fn an_unknown_run_is_404_without_an_upgrade() {
    let app = spawn_app().await;
    for id in ["nosuchrun", "0123456789ABCDEFGHIJKL"] {
        let url = format!("ws://{}/ws/runs/{id}", app.authority);
        match tokio_tungstenite::connect_async(url).await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 404, "{id}"),
            Err(e) => panic!("{id}: expected an HTTP 404, got {e}"),
            Ok(_) => panic!("{id}: upgraded"),
        }
    }
}
