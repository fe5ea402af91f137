//! Failures and how they are classed: connect, timeout, HTTP status, parse, stream ended, error in the stream.

use std::time::{Duration, Instant};

use axum::{body::Body, routing::post, Router};
use protocol::spec::Endpoint;
use server::engine::target::NoTap;
use server::engine::target::{ErrorClass, Target};
use server::mock::MockConfig;

use crate::helpers::{closed_port, fast, prompt, spawn_mock, spawn_router, target, target_with};

/// A server whose completions endpoint answers 200 with `body` as an SSE stream.
async fn sse_server(body: &'static str) -> String {
    let handler = move || async move {
        axum::response::Response::builder().header("content-type", "text/event-stream").body(Body::from(body)).unwrap()
    };
    spawn_router(Router::new().route("/v1/completions", post(handler))).await
}

#[tokio::test]
async fn connection_refused_is_connect() {
    let r = target(&closed_port(), Endpoint::Completions, true).execute(&prompt(4), &NoTap).await;
    let err = r.error.unwrap();
    assert_eq!(err.class, ErrorClass::Connect, "{}", err.message);
    assert!(r.chunks.is_empty());
}

#[tokio::test]
async fn a_slow_answer_is_timeout() {
    let base = spawn_mock(MockConfig { ttft_ms: 2000.0, ..Default::default() }).await;
    let started = Instant::now();
    let r =
        target_with(&base, Endpoint::Completions, true, Duration::from_millis(300)).execute(&prompt(4), &NoTap).await;
    assert_eq!(r.error.unwrap().class, ErrorClass::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1900));
}

#[tokio::test]
async fn a_timeout_keeps_partial_chunks() {
    let base = spawn_mock(MockConfig { ttft_ms: 10.0, itl_ms: 100.0, ..Default::default() }).await;
    let r = target_with(&base, Endpoint::Chat, true, Duration::from_millis(500)).execute(&prompt(100), &NoTap).await;
    assert_eq!(r.error.unwrap().class, ErrorClass::Timeout);
    assert!(!r.chunks.is_empty() && r.chunks.len() < 100, "{} chunks", r.chunks.len());
}

#[tokio::test]
async fn server_errors_are_http_status_with_the_body() {
    let base = spawn_mock(MockConfig { error_rate: 1.0, ..fast() }).await;
    let r = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await;
    let err = r.error.unwrap();
    assert_eq!((err.class, err.status), (ErrorClass::HttpStatus, Some(500)));
    assert!(err.message.contains("injected failure"), "{}", err.message);
}

#[tokio::test]
async fn long_error_bodies_are_cut_to_a_200_character_snippet() {
    let handler = || async { (axum::http::StatusCode::BAD_GATEWAY, "é".repeat(1000)) };
    let base = spawn_router(Router::new().route("/v1/completions", post(handler))).await;
    let err = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await.error.unwrap();
    assert_eq!(err.status, Some(502));
    assert_eq!(err.message, "é".repeat(199) + "…");
}

#[tokio::test]
async fn chat_on_a_completions_only_server_is_404() {
    let base = spawn_mock(MockConfig { no_chat: true, ..fast() }).await;
    let err = target(&base, Endpoint::Chat, true).execute(&prompt(4), &NoTap).await.error.unwrap();
    assert_eq!((err.class, err.status), (ErrorClass::HttpStatus, Some(404)));
    let ok = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await;
    assert_eq!(ok.error, None);
}

#[tokio::test]
async fn garbage_sse_is_parse() {
    let base = sse_server("data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: <html>oops</html>\n\n").await;
    let r = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await;
    assert_eq!(r.error.unwrap().class, ErrorClass::Parse);
    assert_eq!(r.chunks.len(), 1);
}

#[tokio::test]
async fn a_stream_cut_before_done_is_stream_ended() {
    let base =
        sse_server("data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\n").await;
    let r = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await;
    assert_eq!(r.error.unwrap().class, ErrorClass::StreamEnded);
    assert_eq!((r.chunks.len(), r.output_tokens), (2, 2));
}

#[tokio::test]
async fn a_200_without_content_is_stream_ended() {
    let base = sse_server(": keep-alive\n\ndata: [DONE]\n\n").await;
    let r = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await;
    assert_eq!(r.error.unwrap().class, ErrorClass::StreamEnded);
}

#[tokio::test]
async fn an_error_object_in_the_stream_is_other() {
    let base = sse_server("data: {\"error\":{\"message\":\"CUDA out of memory\"}}\n\n").await;
    let err = target(&base, Endpoint::Completions, true).execute(&prompt(4), &NoTap).await.error.unwrap();
    assert_eq!(err.class, ErrorClass::Other);
    assert!(err.message.contains("CUDA out of memory"));
}
