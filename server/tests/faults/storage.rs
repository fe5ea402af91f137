//! The archive failing while a run is live: locked by another process, or refusing inserts as a full disk does.
//! The measurement goes on, the error reaches the API (and every viewer) and the log, the unwritten rows are kept
//! and written once the archive accepts them again: nothing is lost.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use protocol::live_run::{RunStatus, RunView, RunWsFrame};

use crate::procs::{open_db, spec, wait_stored, workdir, Mock, Server};

/// What every storage fault test checks after the fault is over: the run ran to its end as `completed`, its
/// storage error is gone, and every request it counted is in the archive.
async fn nothing_lost(server: &Server, dir: &std::path::Path, id: &str) -> RunView {
    let ended = server.wait_run(id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(ended.status, RunStatus::Completed, "{ended:#?}");
    assert_eq!(ended.storage_error, None, "recovered before the end");
    let stored = wait_stored(dir, id, ended.progress.done).await;
    assert_eq!(stored, ended.progress.done, "every request counted is stored once the archive recovers");
    assert!(server.log_contains("could not archive the run's series"), "the log reports it:\n{}", server.log());
    assert!(server.log_contains("the archive accepts writes again"), "{}", server.log());
    assert!(server.healthy().await);
    ended
}

/// Proves: another process holding SQLite's write lock (`BEGIN EXCLUSIVE`) for 9 s — longer than the 5 s busy
/// timeout — does not stall the run: its progress keeps advancing over the API, `storage_error` says the
/// database is locked (in the run view and as a `storage` frame to a connected viewer), the log has a warning per
/// failed write, and once the lock is released the kept rows are written (stored requests = requests counted) and
/// the error clears (a `storage` frame with no error).
#[tokio::test]
async fn a_locked_database_never_stalls_the_run_and_loses_nothing() {
    let dir = workdir();
    let mock = Mock::start(&[]);
    let server = Server::start(dir.path());
    let id = server.start_run(&spec(&mock.url, 2, None, Some(16.0))).await;
    server.wait_run(&id, "load", |v| v.progress.elapsed_s >= 0.5 && v.progress.done > 0).await;
    // A viewer collects the storage frames it is sent until the run ends.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/runs/{id}", server.authority)).await.unwrap();
    let viewer = tokio::spawn(async move {
        let mut storage = Vec::new();
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            match serde_json::from_str::<RunWsFrame>(&t).unwrap() {
                RunWsFrame::Storage { error } => storage.push(error),
                RunWsFrame::Finished { .. } => break,
                _ => {}
            }
        }
        storage
    });

    let mut db = open_db(dir.path()).await;
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut db).await.unwrap();
    let locked = Instant::now();
    let at_lock = server.run(&id).await;
    let reported = server.wait_run(&id, "a storage error", |v| v.storage_error.is_some()).await;
    let error = reported.storage_error.clone().unwrap();
    assert!(error.contains("locked"), "{error}");
    assert_eq!(reported.status, RunStatus::Running);
    assert!(reported.progress.done > at_lock.progress.done, "measuring goes on while the archive is locked");
    tokio::time::sleep_until((locked + Duration::from_secs(9)).into()).await;
    let late = server.run(&id).await;
    assert!(late.progress.done > reported.progress.done, "and keeps going");
    assert!(late.storage_error.is_some());
    sqlx::query("COMMIT").execute(&mut db).await.unwrap();
    drop(db);
    let held = locked.elapsed();

    let recovered = server.wait_run(&id, "recovery", |v| v.storage_error.is_none()).await;
    assert_eq!(recovered.status, RunStatus::Running, "recovered while live");
    let ended = nothing_lost(&server, dir.path(), &id).await;
    let frames = tokio::time::timeout(crate::procs::PATIENCE, viewer).await.unwrap().unwrap();
    assert!(frames.first().is_some_and(|e| e.as_deref().is_some_and(|e| e.contains("locked"))), "{frames:?}");
    assert_eq!(frames.last(), Some(&None), "viewers hear of the recovery: {frames:?}");
    let failures = server.log().matches("could not archive the run's series").count();
    eprintln!(
        "FIGURES database locked: lock held {:.1} s, {failures} failed writes, {} requests counted during the lock, \
         {} stored in the end = {} counted, 0 lost",
        held.as_secs_f64(),
        late.progress.done - at_lock.progress.done,
        ended.progress.done,
        ended.progress.done
    );
}

/// Proves: an archive that refuses inserts with SQLite's "database or disk is full" (simulated with a trigger on
/// `run_requests`, since `PRAGMA max_page_count` binds only the connection that sets it and a real full disk needs
/// a mounted filesystem) does not stop the run: progress advances, `storage_error` reports the full disk, and when
/// space "comes back" (the trigger is dropped) every kept row is written.
#[tokio::test]
async fn a_full_disk_never_stops_the_run_and_the_rows_are_written_when_space_returns() {
    let dir = workdir();
    let mock = Mock::start(&[]);
    let server = Server::start(dir.path());
    let id = server.start_run(&spec(&mock.url, 2, None, Some(7.0))).await;
    server.wait_run(&id, "load", |v| v.progress.elapsed_s >= 0.5 && v.progress.done > 0).await;

    let mut db = open_db(dir.path()).await;
    sqlx::query(
        "CREATE TRIGGER fault_disk_full BEFORE INSERT ON run_requests \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let full = Instant::now();
    let at_full = server.run(&id).await;
    let reported = server.wait_run(&id, "a storage error", |v| v.storage_error.is_some()).await;
    let error = reported.storage_error.clone().unwrap();
    assert!(error.contains("disk is full"), "{error}");
    tokio::time::sleep_until((full + Duration::from_secs(3)).into()).await;
    let late = server.run(&id).await;
    assert!(late.progress.done > at_full.progress.done, "measuring goes on while the disk is full");
    assert!(late.storage_error.is_some(), "still reported");
    sqlx::query("DROP TRIGGER fault_disk_full").execute(&mut db).await.unwrap();
    drop(db);
    let held = full.elapsed();

    let ended = nothing_lost(&server, dir.path(), &id).await;
    let failures = server.log().matches("could not archive the run's series").count();
    eprintln!(
        "FIGURES disk full: full for {:.1} s, {failures} failed writes, {} requests counted meanwhile, {} stored in \
         the end = {} counted, 0 lost",
        held.as_secs_f64(),
        late.progress.done - at_full.progress.done,
        ended.progress.done,
        ended.progress.done
    );
}
