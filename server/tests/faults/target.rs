//! The target failing under load: killed mid-run (the run ends `failed` with a verdict that names the target and
//! keeps what completed), or hanging (each request ends with the `timeout` class and the run still ends).

use protocol::live_run::{RunResult, RunStatus};
use protocol::record::ErrorClass;

use crate::procs::{spec, wait_stored, workdir, Mock, Server};

/// Proves: when the target process dies mid-run the run does not spin through its remaining minute of refused
/// connections: after 10 refusals in a row it ends `failed`, its verdict says the target stopped accepting
/// connections and names its URL, every request completed before the kill is kept (in the result and in the
/// archive), and the server stays healthy.
#[tokio::test]
async fn a_target_killed_mid_run_ends_the_run_with_a_clear_reason_and_keeps_its_requests() {
    let dir = workdir();
    let mut mock = Mock::start(&[]);
    let server = Server::start(dir.path());
    let id = server.start_run(&spec(&mock.url, 4, None, Some(60.0))).await;
    let before = server.wait_run(&id, "some completed requests", |v| v.progress.done >= 50).await;
    mock.kill9();

    let ended = server.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(ended.status, RunStatus::Failed, "{ended:#?}");
    let verdict = ended.verdict.clone().unwrap_or_default();
    assert!(verdict.contains("stopped accepting connections"), "{verdict}");
    assert!(verdict.contains(&mock.url), "the verdict names the target: {verdict}");
    assert!(ended.progress.elapsed_s < 30.0, "ended early, not at its 60 s duration: {:?}", ended.progress);
    let completed = ended.progress.done - ended.progress.failed;
    let completed_before = before.progress.done - before.progress.failed;
    assert!(completed >= completed_before, "completed requests kept: {completed} < {completed_before}");
    let Some(RunResult::Single(report)) = &ended.result else { panic!("a result: {ended:#?}") };
    assert!(report.requests_completed > 0);
    assert!(report.errors.get(&ErrorClass::Connect).copied().unwrap_or(0) >= 10, "{:?}", report.errors);

    let stored = wait_stored(dir.path(), &id, ended.progress.done).await;
    assert_eq!(stored, ended.progress.done, "every request is stored");
    assert!(server.healthy().await);
    eprintln!(
        "FIGURES target killed: {completed} requests completed and kept ({completed_before} before the kill), {} \
         failed after it, run ended {:.1} s after load start",
        ended.progress.failed, ended.progress.elapsed_s
    );
}

/// Proves: a target that accepts requests and never answers (the mock's `--hang-after`) gets per-request timeouts:
/// each hung request ends with the `timeout` class after `request_timeout_s`, the run ends (it does not hang with
/// its target), the requests answered before are kept, and the server stays healthy.
#[tokio::test]
async fn a_hanging_target_gets_per_request_timeouts_and_the_run_ends() {
    let dir = workdir();
    // Preflight's probes take the first few answers; the run's first requests are answered, the rest hang.
    let mock = Mock::start(&["--hang-after", "12"]);
    let server = Server::start(dir.path());
    let mut spec = spec(&mock.url, 4, Some(24), None);
    spec["request_timeout_s"] = 1.0.into();
    let id = server.start_run(&spec).await;

    let ended = server.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    let Some(RunResult::Single(report)) = &ended.result else { panic!("a result: {ended:#?}") };
    let timeouts = report.errors.get(&ErrorClass::Timeout).copied().unwrap_or(0);
    assert!(timeouts >= 4, "hung requests end as timeouts: {:?}", report.errors);
    assert_eq!(report.errors.len(), 1, "timeouts only: {:?}", report.errors);
    assert!(report.requests_completed >= 1, "answered requests are kept: {report:#?}");
    assert_eq!(report.requests_completed + report.requests_failed, 24);
    assert!(ended.error_samples.iter().any(|e| e.class == ErrorClass::Timeout));
    assert!(server.healthy().await);
    eprintln!(
        "FIGURES hanging target: {} answered, {timeouts} ended as timeout after 1 s, run ended after {:.1} s",
        report.requests_completed, ended.progress.elapsed_s
    );
}
