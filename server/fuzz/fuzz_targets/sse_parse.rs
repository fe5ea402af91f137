//! The target's streamed answer, as the client reads it: arbitrary bytes, cut into arbitrary network reads, through
//! the SSE event parser (eventsource-stream, as `engine::sse_stream::read_sse` uses it) and `engine::sse::parse_event`
//! on every event; plus `parse_event` on the raw text and `parse_body` on the raw bytes. Nothing may panic, and the
//! results must keep their promises ([DONE] only for `[DONE]`, error prefixes of at most 120 bytes of the payload).
#![no_main]

use eventsource_stream::Eventsource;
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;

use protocol::spec::Endpoint;

#[allow(dead_code)]
#[path = "../../src/engine/sse.rs"]
mod sse;

use sse::{parse_body, parse_event, Parsed};

fn check(data: &str, endpoint: Endpoint) {
    match parse_event(data, endpoint) {
        Ok(Parsed::Done) => assert_eq!(data.trim(), "[DONE]"),
        Ok(_) => {}
        Err(e) => assert!(e.prefix.len() <= 120, "prefix too long: {}", e.prefix.len()),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&head, bytes)) = input.split_first() else { return };
    let endpoint = match head % 3 {
        0 => Endpoint::Chat,
        1 => Endpoint::Completions,
        _ => Endpoint::Auto,
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        check(text, endpoint);
    }
    if let Err(e) = parse_body(bytes, endpoint) {
        // At most 120 bytes of the payload, each invalid byte shown as one U+FFFD.
        assert!(e.prefix.chars().count() <= 120, "prefix too long: {}", e.prefix.chars().count());
    }
    // Network reads: the high bits of the first byte pick the read size (1..=32 bytes, or all at once).
    let size = match head >> 2 {
        0 => bytes.len().max(1),
        n => usize::from(n % 32) + 1,
    };
    let reads: Vec<Result<Vec<u8>, std::convert::Infallible>> = bytes.chunks(size).map(|c| Ok(c.to_vec())).collect();
    futures::executor::block_on(async {
        let mut events = futures::stream::iter(reads).eventsource();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => check(&event.data, endpoint),
                // The client turns these into a `parse` error class and ends the request.
                Err(_) => break,
            }
        }
    });
});
