//! Preflight against the mock: discovery, endpoint choice, waiting for a loading server, and refusals.

use std::time::Duration;

use axum::{routing::get, Json, Router};
use protocol::spec::{Backend, Endpoint};
use server::engine::preflight::{preflight, target_config, PreflightError};
use server::mock::MockConfig;

use crate::helpers::{closed_port, fast, recorder, spawn_mock, spawn_router, spec, MODEL};

#[tokio::test]
async fn a_ready_mock_is_discovered_and_checked() {
    let base = spawn_mock(fast()).await;
    let (lines, mut on_state) = recorder();
    let report = preflight(&spec(&base), &mut on_state).await.unwrap();
    assert!(report.ready);
    assert_eq!(report.model, MODEL);
    assert_eq!(report.models, vec![MODEL.to_string()]);
    assert_eq!(report.endpoint, Endpoint::Completions, "completions is preferred when both work");
    assert_eq!(report.endpoints_working, vec![Endpoint::Completions, Endpoint::Chat]);
    assert_eq!(report.health_status, Some(200));
    assert!(report.usage_reported);
    assert_eq!((report.output_length_requested, report.output_length_received), (8, 8), "the run's own length");
    assert!(report.output_length_honoured);
    assert_eq!((report.backend, report.backend_detected), (Backend::Mock, Some(Backend::Mock)));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(report.states[0], "ready: 1 model");
    assert_eq!(*lines.lock().unwrap(), report.states);
    let cfg = target_config(&spec(&base), &report);
    assert_eq!((cfg.endpoint, cfg.model.as_str(), cfg.stream), (Endpoint::Completions, MODEL, true));
}

#[tokio::test]
async fn auto_picks_completions_on_a_completions_only_server() {
    let base = spawn_mock(MockConfig { no_chat: true, ..fast() }).await;
    let report = preflight(&spec(&base), &mut |_| {}).await.unwrap();
    assert_eq!(report.endpoint, Endpoint::Completions);
    assert_eq!(report.endpoints_working, vec![Endpoint::Completions]);

    let mut chat = spec(&base);
    chat.endpoint = Endpoint::Chat;
    let err = preflight(&chat, &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, PreflightError::EndpointNotWorking { .. }), "{err}");
    assert!(err.to_string().contains("404") && err.to_string().contains("--endpoint completions"), "{err}");
}

#[tokio::test]
async fn it_waits_for_a_loading_server() {
    let base = spawn_mock(MockConfig { startup_delay_s: 1.2, ..fast() }).await;
    let (lines, mut on_state) = recorder();
    let report = preflight(&spec(&base), &mut on_state).await.unwrap();
    assert!(report.waited_s >= 1.0, "waited {}", report.waited_s);
    assert_eq!(report.states[0], "waiting: /v1/models 503");
    assert_eq!(report.states[1], "ready: 1 model");
    assert_eq!(lines.lock().unwrap().len(), report.states.len(), "one line per change, not per poll");
}

#[tokio::test]
async fn a_server_still_loading_gets_no_load() {
    let base = spawn_mock(MockConfig { startup_delay_s: 30.0, ..fast() }).await;
    let mut s = spec(&base);
    s.ready_timeout_s = 0.6;
    match preflight(&s, &mut |_| {}).await.unwrap_err() {
        PreflightError::NotReady { waited_s, last_state } => {
            assert!((0.5..5.0).contains(&waited_s), "{waited_s}");
            assert_eq!(last_state, "waiting: /v1/models 503");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_not_ready() {
    let mut s = spec(&closed_port());
    s.ready_timeout_s = 0.2;
    let started = std::time::Instant::now();
    let err = preflight(&s, &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("waiting: connection refused"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn several_models_must_be_chosen() {
    let models =
        || async { Json(serde_json::json!({"object": "list", "data": [{"id": "llama-8b"}, {"id": "qwen-7b"}]})) };
    let base = spawn_router(Router::new().route("/v1/models", get(models))).await;
    let err = preflight(&spec(&base), &mut |_| {}).await.unwrap_err();
    assert!(matches!(&err, PreflightError::SeveralModels(m) if m.len() == 2));
    let text = err.to_string();
    assert!(text.contains("llama-8b, qwen-7b") && text.contains("--model"), "{text}");
}

#[tokio::test]
async fn a_server_without_usage_is_noted() {
    let base = spawn_mock(MockConfig { no_usage: true, ..fast() }).await;
    let report = preflight(&spec(&base), &mut |_| {}).await.unwrap();
    assert!(!report.usage_reported);
    assert!(report.output_length_honoured, "8 one-token chunks");
    assert!(report.notes.iter().any(|n| n.contains("usage")), "{:?}", report.notes);
}

#[tokio::test]
async fn a_wrong_model_is_noted_and_refused() {
    let base = spawn_mock(fast()).await;
    let mut s = spec(&base);
    s.model = Some("gpt-9".into());
    let err = preflight(&s, &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, PreflightError::NoWorkingEndpoint { .. }), "{err}");
    assert!(err.to_string().contains("gpt-9") && err.to_string().contains("404"), "{err}");
}
