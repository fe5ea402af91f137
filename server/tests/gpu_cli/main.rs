//! GPU telemetry end to end: the `tokenscope gpu` binary with and without a GPU, and `/metrics`, `/api/gpu`,
//! `/ws/gpu` on a served app in demo mode (`--simulate-gpu 2`).

// Helpers outside `#[test]` functions set the tests up; a panic there is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{process::Command, time::Duration};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use protocol::gpu::{GpuSnapshot, GpuWsFrame, TelemetryStatus};
use server::startup::Application;

fn tokenscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokenscope")).args(args).output().expect("tokenscope runs")
}

#[test]
fn once_json_without_a_gpu_says_unavailable_and_exits_3() {
    let out = tokenscope(&["gpu", "--once", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let snap: GpuSnapshot = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    match snap.status {
        TelemetryStatus::Unavailable { reason } => {
            assert_eq!(out.status.code(), Some(3), "documented exit status");
            assert!(reason.contains("libnvidia-ml"), "{reason}");
            assert!(stdout.contains(r#""status":"unavailable""#));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(stderr.trim().lines().count(), 1, "one line on stderr: {stderr}");
            assert!(stderr.contains("no GPU telemetry") && stderr.contains("libnvidia-ml"), "{stderr}");
        }
        // On a GPU machine the same command must succeed with real samples.
        TelemetryStatus::Available { gpus } => {
            assert_eq!(out.status.code(), Some(0));
            assert_eq!(snap.samples.len(), gpus.len());
            assert!(snap.samples.iter().all(|s| !s.simulated && s.power_w.is_some()));
        }
        TelemetryStatus::Simulated { .. } => panic!("simulated without --simulate-gpu"),
    }
}

#[test]
fn help_documents_the_exit_status() {
    let out = tokenscope(&["gpu", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("3  no GPU telemetry"), "{help}");
}

#[test]
fn once_json_simulated_gives_two_labelled_gpus_with_fields() {
    let out = tokenscope(&["gpu", "--once", "--json", "--simulate-gpu", "2", "--interval", "100ms"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let snap: GpuSnapshot = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(snap.status.label(), "simulated");
    assert_eq!(snap.status.gpus().len(), 2);
    assert!(snap.status.gpus().iter().all(|g| g.simulated));
    assert_eq!(snap.samples.iter().map(|s| s.index).collect::<Vec<_>>(), vec![0, 1]);
    for s in &snap.samples {
        assert!(s.simulated);
        assert!(s.util_gpu_percent.is_some() && s.power_w.is_some() && s.mem_used_bytes.is_some());
        assert!(s.energy_j.is_some() && s.gpm_sm_activity_percent.is_some(), "--once waits for the slow tier");
    }
}

#[test]
fn bad_options_exit_2_with_the_fix() {
    let out = tokenscope(&["gpu", "--once", "--interval", "5ms"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("50ms to 1s"));
    let out = tokenscope(&["gpu", "--once", "--simulate-gpu", "2", "--gpus", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--gpus 5"));
}

/// Starts the real app on port 0 with two simulated GPUs sampled at 10 Hz.
async fn spawn_simulated_app() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = server::testing::server_config(dir.path()).unwrap();
    args.telemetry.simulate_gpus = Some(2);
    args.telemetry.interval = Duration::from_millis(100);
    let app = Application::build(&args).await.expect("app builds");
    let addr = app.addr();
    tokio::spawn(app.run_until(std::future::pending()));
    (addr.to_string(), dir)
}

#[tokio::test]
async fn metrics_and_api_have_series_for_each_simulated_gpu() {
    let (addr, _dir) = spawn_simulated_app().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    assert!(text.contains("tokenscope_telemetry_up 1"), "{text}");
    for family in ["tokenscope_gpu_power_watts", "tokenscope_gpu_utilization_percent", "tokenscope_gpu_simulated"] {
        assert!(text.contains(&format!("# TYPE {family} gauge")), "{family}");
        assert!(text.contains(&format!("{family}{{gpu=\"1\"")), "{family} for gpu 1:\n{text}");
    }
    assert!(text.contains(r#"name="Simulated H200 (tokenscope demo)"} 1"#), "simulated flag set");

    let snap: GpuSnapshot = reqwest::get(format!("http://{addr}/api/gpu")).await.unwrap().json().await.unwrap();
    assert_eq!(snap.status.label(), "simulated");
    assert_eq!(snap.samples.len(), 2);
}

#[tokio::test]
async fn gpu_websocket_says_hello_then_streams_ticks() {
    let (addr, _dir) = spawn_simulated_app().await;
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/gpu")).await.unwrap();
    assert_eq!(resp.status(), 101);
    let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("hello") };
    let GpuWsFrame::Hello { status, interval_ms, .. } = serde_json::from_str(&t).unwrap() else { panic!("hello") };
    assert_eq!((status.gpus().len(), interval_ms), (2, 100));
    let next = tokio::time::timeout(Duration::from_secs(2), ws.next()).await.unwrap();
    let Some(Ok(Message::Text(t))) = next else { panic!("samples") };
    let GpuWsFrame::Samples { samples } = serde_json::from_str(&t).unwrap() else { panic!("samples") };
    assert_eq!(samples.len(), 2);
    assert!(samples.iter().all(|s| s.simulated));
}
