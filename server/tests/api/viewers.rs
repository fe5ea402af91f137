//! 100 dashboards on one live run: every viewer of `/ws/runs/{id}` gets the hello, live progress frames and the
//! final state, and none is dropped.

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use protocol::live_run::{RunStatus, RunWsFrame};

use crate::helpers::{demo_spec, spawn_demo_app, PATIENCE};

const VIEWERS: usize = 100;

/// What one viewer saw: progress frames, windows, and the final status.
struct Seen {
    progress: usize,
    windows: usize,
    finished: Option<RunStatus>,
}

/// Proves: 100 concurrent viewers of a live run all connect, all get progress frames while it runs and all get
/// the `finished` frame with the final state; the run completes normally.
#[tokio::test]
async fn a_hundred_concurrent_viewers_all_get_progress_and_the_end() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 4, None, Some(4.0))).await;

    let url = format!("ws://{}/ws/runs/{id}", app.authority);
    let viewers = (0..VIEWERS).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("viewer connects");
            let mut seen = Seen { progress: 0, windows: 0, finished: None };
            let mut hello = false;
            while let Ok(Some(msg)) = tokio::time::timeout(PATIENCE, ws.next()).await {
                let Ok(Message::Text(t)) = msg else { continue };
                match serde_json::from_str::<RunWsFrame>(&t).expect("a protocol frame") {
                    RunWsFrame::Hello { .. } => hello = true,
                    RunWsFrame::Progress { .. } => seen.progress += 1,
                    RunWsFrame::Window(_) => seen.windows += 1,
                    RunWsFrame::Finished { run } => {
                        seen.finished = Some(run.status);
                        break;
                    }
                    _ => {}
                }
            }
            assert!(hello, "hello first");
            seen
        })
    });
    let seen: Vec<Seen> = futures::future::join_all(viewers).await.into_iter().map(|r| r.unwrap()).collect();
    let held = seen.iter().filter(|s| s.finished == Some(RunStatus::Completed)).count();
    assert_eq!(held, VIEWERS, "every viewer sees the run complete");
    assert!(seen.iter().all(|s| s.progress >= 2), "every viewer gets live progress");
    let min_progress = seen.iter().map(|s| s.progress).min().unwrap_or(0);
    let min_windows = seen.iter().map(|s| s.windows).min().unwrap_or(0);
    eprintln!(
        "FIGURES viewers: {held}/{VIEWERS} concurrent viewers held to the end; each got ≥ {min_progress} progress \
         frames and ≥ {min_windows} windows"
    );
}
