//! The server killed or signalled mid-run: SIGKILL loses at most the last flush (about a second) and the run comes
//! back `interrupted`; SIGTERM and SIGINT stop the run, finalise and archive it, tell the viewers, and exit 0.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use protocol::live_run::{RunStatus, RunWsFrame};

use crate::procs::{spec, stored_requests, workdir, Mock, Server, PATIENCE};

/// Proves: a SIGKILL mid-run loses at most the rows of the last flush interval. At restart the run is listed
/// `interrupted` with the interruption verdict, its progress recounted from the stored requests, which are at least
/// what the API showed just before the kill minus ~1.5 s of requests (1 s flush period plus slack), and its windows
/// are kept.
#[tokio::test]
async fn sigkill_mid_run_comes_back_interrupted_with_data_up_to_the_last_flush() {
    let dir = workdir();
    let mock = Mock::start(&[]);
    let mut server = Server::start(dir.path());
    let id = server.start_run(&spec(&mock.url, 4, None, Some(60.0))).await;
    server.wait_run(&id, "2.5 s of load", |v| v.progress.elapsed_s >= 2.5 && v.progress.done > 0).await;
    let before = server.run(&id).await;
    server.kill9();
    let rate = before.progress.done as f64 / before.progress.elapsed_s;
    let flush_slack = (rate * 1.5).ceil() as u64 + 8;

    let server = Server::start(dir.path());
    let after = server.run(&id).await;
    assert_eq!(after.status, RunStatus::Interrupted, "{after:#?}");
    assert!(after.verdict.as_deref().is_some_and(|v| v.contains("interrupted") || v.contains("stopped while")));
    let stored = stored_requests(dir.path(), &id).await as u64;
    assert_eq!(after.progress.done, stored, "progress is recounted from the stored requests");
    assert!(
        stored + flush_slack >= before.progress.done,
        "lost more than the last flush: {} seen before the kill, {stored} stored (rate {rate:.0}/s)",
        before.progress.done
    );
    let series: serde_json::Value =
        server.http.get(format!("{}/api/runs/{id}/series", server.base)).send().await.unwrap().json().await.unwrap();
    assert!(series["windows"].as_array().is_some_and(|w| !w.is_empty()), "windows kept: {series}");
    eprintln!(
        "FIGURES sigkill: {} requests seen over the API just before SIGKILL, {stored} stored; lost {} (≈{:.2} s at \
         {rate:.0} requests/s)",
        before.progress.done,
        before.progress.done.saturating_sub(stored),
        before.progress.done.saturating_sub(stored) as f64 / rate
    );
}

/// Proves: SIGTERM / SIGINT mid-run is a graceful stop. A connected viewer gets the `finished` frame (status
/// `stopped`, with its summary); the process exits 0 within a few seconds; after a restart the run is `stopped`
/// (not interrupted) with its result, and every request it counted is stored.
async fn graceful(signal: &str) {
    let dir = workdir();
    let mock = Mock::start(&[]);
    let mut server = Server::start(dir.path());
    let id = server.start_run(&spec(&mock.url, 4, None, Some(60.0))).await;
    let (mut viewer, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/runs/{id}", server.authority)).await.unwrap();
    server.wait_run(&id, "1 s of load", |v| v.progress.elapsed_s >= 1.0 && v.progress.done > 0).await;

    let sent = Instant::now();
    server.signal(signal);
    let finished = tokio::time::timeout(PATIENCE, async {
        while let Some(msg) = viewer.next().await {
            if let Ok(Message::Text(t)) = msg {
                if let Ok(RunWsFrame::Finished { run }) = serde_json::from_str::<RunWsFrame>(&t) {
                    return Some(run);
                }
            }
        }
        None
    })
    .await
    .expect("the viewer hears the end in time")
    .expect("the viewer gets a finished frame before the socket closes");
    assert_eq!(finished.status, RunStatus::Stopped, "{finished:#?}");
    assert!(finished.result.is_some(), "the run is finalised with its summary");

    let status = server.wait_exit(Duration::from_secs(20)).expect("the server exits after the signal");
    let took = sent.elapsed();
    assert!(status.success(), "SIG{signal} → exit 0, got {status:?}\n{}", server.log());
    assert!(took < Duration::from_secs(12), "graceful stop took {took:?}");
    assert!(server.log_contains("live runs stopped and archived"), "{}", server.log());

    let server = Server::start(dir.path());
    let after = server.run(&id).await;
    assert_eq!(after.status, RunStatus::Stopped, "{after:#?}");
    assert!(after.result.is_some(), "the archived run has its summary");
    let stored = stored_requests(dir.path(), &id).await as u64;
    assert_eq!(stored, after.progress.done, "every request counted is stored");
    eprintln!(
        "FIGURES SIG{signal}: exit 0 after {:.2} s, run stopped with summary, {stored} requests stored, 0 lost",
        took.as_secs_f64()
    );
}

#[tokio::test]
async fn sigterm_mid_run_stops_finalises_and_archives_the_run() {
    graceful("TERM").await;
}

#[tokio::test]
async fn sigint_mid_run_stops_finalises_and_archives_the_run() {
    graceful("INT").await;
}

/// Proves: SIGTERM with no run live still exits 0 promptly (nothing to wait for).
#[tokio::test]
async fn sigterm_when_idle_exits_at_once() {
    let dir = workdir();
    let mut server = Server::start(dir.path());
    assert!(server.healthy().await);
    let sent = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
    assert!(sent.elapsed() < Duration::from_secs(5));
}
