//! `GET /api/runs/{id}/latency[?step=N]`: a run's latency distributions, from the histograms stored when it ended,
//! for the whole run or one sweep step; a bad step is refused naming the field and the valid range.

use serde_json::{json, Value};

use protocol::archive::{reports, LatencyDistribution};
use protocol::live_run::RunStatus;

use crate::helpers::{demo_spec, spawn_demo_app};

#[tokio::test]
async fn a_sweep_has_one_distribution_per_step_and_bad_steps_are_refused() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let mut spec = demo_spec(&target, 1, Some(12), None);
    spec["sweep"] = json!([1, 4]);
    let id = app.start_run(&spec).await;
    let view = app.wait_run(&id, "completed", |v| v.status == RunStatus::Completed).await;
    let done: Vec<u64> = reports(view.result.as_ref()).iter().map(|r| r.requests_completed).collect();
    assert_eq!(done.len(), 2, "two steps ran");

    let whole: LatencyDistribution = app.get_json(&format!("/api/runs/{id}/latency")).await;
    assert_eq!(whole.step, None);
    assert_eq!(whole.cdf.requests, done.iter().sum::<u64>());
    let steps: Vec<(u32, &str, u64)> = whole.steps.iter().map(|s| (s.index, s.load.as_str(), s.requests)).collect();
    assert_eq!(steps, [(0, "concurrency 1", done[0]), (1, "concurrency 4", done[1])]);
    assert_eq!(whole.cdf.e2e.last().map(|p| p.fraction), Some(1.0));

    for (i, n) in done.iter().enumerate() {
        let step: LatencyDistribution = app.get_json(&format!("/api/runs/{id}/latency?step={i}")).await;
        assert_eq!((step.step, step.cdf.requests), (Some(i as u32), *n));
        assert_eq!(step.steps, whole.steps, "the step list comes with every answer");
        assert!(!step.cdf.ttft.is_empty() && step.cdf.ttft.len() <= 200, "{}", step.cdf.ttft.len());
        let slowest = step.cdf.e2e.last().unwrap().ms;
        assert!(slowest <= whole.cdf.e2e.last().unwrap().ms * 1.001, "a step is within the whole run");
    }
    let empty: LatencyDistribution = app.get_json(&format!("/api/runs/{id}/latency?step=")).await;
    assert_eq!((empty.step, empty.cdf.requests), (None, whole.cdf.requests), "an empty step is the whole run");

    for bad in ["2", "-1", "one", "99999999999"] {
        let resp = app.http.get(format!("{}/api/runs/{id}/latency?step={bad}", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 422, "step={bad}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["fields"][0]["field"], "step", "{body}");
        let message = body["fields"][0]["message"].as_str().unwrap();
        assert!(message.contains("from 0 to 1 (2 steps)"), "step={bad}: {message}");
    }
}

#[tokio::test]
async fn a_single_run_has_one_step_and_the_charts_png_uses_the_same_distribution() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 2, Some(10), None)).await;
    app.wait_run(&id, "completed", |v| v.status == RunStatus::Completed).await;

    let whole: LatencyDistribution = app.get_json(&format!("/api/runs/{id}/latency")).await;
    assert_eq!(whole.cdf.requests, 10);
    assert_eq!(whole.steps.len(), 1);
    let step: LatencyDistribution = app.get_json(&format!("/api/runs/{id}/latency?step=0")).await;
    assert_eq!((step.cdf.requests, &step.cdf.ttft), (10, &whole.cdf.ttft));
    let resp = app.http.get(format!("{}/api/runs/{id}/latency?step=1", app.base)).send().await.unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("it has one step, 0"), "{body}");

    let png = app.http.get(format!("{}/api/runs/{id}/export/charts.png", app.base)).send().await.unwrap();
    assert_eq!(png.status(), 200);
}
