//! Successful answers: streamed completions and chat, non-streaming, and token counting without usage.

use std::time::Duration;

use protocol::spec::Endpoint;
use server::engine::target::NoTap;
use server::engine::target::{RequestResult, Target, TokenSource};
use server::mock::MockConfig;

use crate::helpers::{fast, prompt, spawn_mock, target};

fn ttft(r: &RequestResult) -> Duration {
    r.chunks[0].at - r.sent_at
}

fn assert_ordered(r: &RequestResult) {
    assert!(r.chunks.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(r.chunks.iter().all(|c| c.at >= r.sent_at && c.at <= r.done_at));
}

#[tokio::test]
async fn streamed_completions_count_exact_tokens() {
    let base = spawn_mock(MockConfig { ttft_ms: 50.0, itl_ms: 2.0, ..Default::default() }).await;
    let r = target(&base, Endpoint::Completions, true).execute(&prompt(20), &NoTap).await;
    assert_eq!(r.error, None);
    assert_eq!(r.index, 3);
    assert_eq!((r.output_tokens, r.token_source), (20, TokenSource::Usage));
    assert_eq!(r.chunks.len(), 20);
    assert!(r.chunks.iter().all(|c| c.bytes >= 3), "each chunk is a word like ' w1'");
    assert_eq!(r.prompt_tokens, Some(4));
    assert!(ttft(&r) >= Duration::from_millis(50), "TTFT {:?}", ttft(&r));
    assert_ordered(&r);
}

#[tokio::test]
async fn streamed_chat_ignores_the_role_chunk_and_counts_multi_token_chunks() {
    let base = spawn_mock(MockConfig { ttft_ms: 40.0, itl_ms: 1.0, tokens_per_chunk: 4, ..Default::default() }).await;
    let r = target(&base, Endpoint::Chat, true).execute(&prompt(10), &NoTap).await;
    assert_eq!(r.error, None);
    assert_eq!(r.chunks.len(), 3, "4 + 4 + 2 tokens");
    assert_eq!((r.output_tokens, r.token_source), (10, TokenSource::Usage));
    // The role chunk is sent at once; TTFT counts from the first content.
    assert!(ttft(&r) >= Duration::from_millis(40), "TTFT {:?}", ttft(&r));
    assert_ordered(&r);
}

#[tokio::test]
async fn non_streaming_is_one_chunk_at_arrival() {
    let base = spawn_mock(MockConfig { ttft_ms: 30.0, itl_ms: 1.0, ..Default::default() }).await;
    for endpoint in [Endpoint::Completions, Endpoint::Chat] {
        let r = target(&base, endpoint, false).execute(&prompt(12), &NoTap).await;
        assert_eq!(r.error, None, "{endpoint:?}");
        assert_eq!(r.chunks.len(), 1);
        assert_eq!(r.chunks[0].bytes as usize, (0..12).map(|i| format!(" w{i}").len()).sum::<usize>());
        assert_eq!((r.output_tokens, r.token_source), (12, TokenSource::Usage));
        assert!(ttft(&r) >= Duration::from_millis(30 + 11));
    }
}

#[tokio::test]
async fn without_usage_tokens_are_counted_from_chunks() {
    let base = spawn_mock(MockConfig { no_usage: true, tokens_per_chunk: 2, ..fast() }).await;
    let r = target(&base, Endpoint::Completions, true).execute(&prompt(9), &NoTap).await;
    assert_eq!(r.error, None);
    assert_eq!((r.output_tokens, r.token_source), (5, TokenSource::Chunks));
    assert_eq!(r.prompt_tokens, None);
}

#[tokio::test]
async fn many_concurrent_streams_share_the_client() {
    let base = spawn_mock(fast()).await;
    let t = target(&base, Endpoint::Chat, true);
    let p = prompt(16);
    let results = futures::future::join_all((0..200).map(|_| t.execute(&p, &NoTap))).await;
    assert!(results.iter().all(|r| r.error.is_none() && r.output_tokens == 16 && r.chunks.len() == 16));
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    use axum::serve::ListenerExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let listener = listener.tap_io(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    tokio::spawn(async move { axum::serve(listener, server::mock::mock_router(fast())).await });
    for endpoint in [Endpoint::Completions, Endpoint::Chat] {
        let t = target(&base, endpoint, true);
        for _ in 0..5 {
            assert_eq!(t.execute(&prompt(4), &NoTap).await.error, None);
        }
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 2, "one connection per client: the body is read to its end");
}
