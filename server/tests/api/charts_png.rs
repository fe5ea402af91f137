//! `GET /api/runs/{id}/export/charts.png`: a finished demo run's charts as one PNG drawn by the server.

use protocol::api::ApiErrorBody;
use protocol::archive::{LatencyCdf, RunSeries};
use protocol::live_run::RunStatus;
use server::export::png::{size, WIDTH};

use crate::helpers::{demo_spec, spawn_demo_app};

#[tokio::test]
async fn a_finished_run_downloads_its_charts_as_a_png() {
    let app = spawn_demo_app().await;
    let target = app.demo_target().await;
    let id = app.start_run(&demo_spec(&target, 4, Some(40), None)).await;
    let view = app.wait_run(&id, "completed", |v| v.status == RunStatus::Completed).await;

    let resp = app.http.get(format!("{}/api/runs/{id}/export/charts.png", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "image/png");
    // Named after the run ("api test").
    assert_eq!(header("content-disposition"), "attachment; filename=\"tokenscope-api-test-charts.png\"");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let (w, h) =
        (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()));
    // The height follows the panels: every time panel drawn (windows and GPU samples) plus the latency CDF.
    let series: RunSeries = app.get_json(&format!("/api/runs/{id}/series")).await;
    let cdf: LatencyCdf = app.get_json(&format!("/api/runs/{id}/latency")).await;
    assert_eq!((w, h), size(&view, &series, &cdf));
    assert_eq!(w, WIDTH);
    assert!(h > 2000, "seven time panels and the CDF: {h} px");
    let mut reader = png::Decoder::new(&bytes[..]).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!((frame.width, frame.height), (w, h));
}

#[tokio::test]
async fn an_unknown_run_has_no_charts() {
    let app = spawn_demo_app().await;
    for id in ["NoSuchRunAtAll0000000", "x"] {
        let resp = app.http.get(format!("{}/api/runs/{id}/export/charts.png", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{id}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: ApiErrorBody = resp.json().await.unwrap();
        assert!(body.error.contains("no run"), "{}", body.error);
    }
}
