//! Following a streamed answer: bytes → SSE events (eventsource-stream, which handles comments, CRLF and UTF-8
//! split across reads) → [`parse_event`] → a [`Collected`] tally of content chunks, usage and completion.
//!
//! What the target sent reaches an error message only as a short, visible [`snippet`] (a run's failures are worth
//! debugging from), and not at all when the caller asks for [`BodyText::Hidden`] (preflight, whose answers go to
//! whoever asked for a check of any URL).

use std::time::{Duration, Instant};

use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use protocol::spec::Endpoint;

use super::sse::{parse_event, ChunkInfo, ParseError, Parsed, Usage};
use super::target::{ChunkTap, ContentChunk, ErrorClass, RequestError, TokenSource};
use crate::export::text::clip;

/// How long to keep reading after `[DONE]` for the end of the body, so the connection returns to the pool.
const DRAIN_AFTER_DONE: Duration = Duration::from_millis(50);

/// What has arrived so far of one answer; kept when the request fails or times out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collected {
    /// Content-bearing chunks, in order.
    pub chunks: Vec<ContentChunk>,
    /// The latest `usage` seen.
    pub usage: Usage,
    /// A `finish_reason` was seen.
    pub finished: bool,
    /// `[DONE]` was seen.
    pub done: bool,
    /// When `[DONE]` arrived.
    pub done_at: Option<Instant>,
    /// The streamed text, kept only when it is to be counted with a tokenizer (`Some` from the start then).
    pub text: Option<String>,
    /// The request was sent again once, on a fresh connection, after its first connection turned out closed.
    pub retried: bool,
}

impl Collected {
    /// An empty tally with room for `expected` chunks.
    pub fn with_capacity(expected: usize) -> Self {
        Collected { chunks: Vec::with_capacity(expected), ..Default::default() }
    }

    /// Records one parsed chunk that arrived at `at`, telling `tap` when it carried content.
    pub fn add(&mut self, info: ChunkInfo, at: Instant, tap: &dyn ChunkTap) {
        if info.content_bytes > 0 {
            tap.chunk(at, info.content_bytes);
            self.chunks.push(ContentChunk { at, bytes: info.content_bytes });
        }
        if let Some(u) = info.usage {
            self.usage.prompt_tokens = u.prompt_tokens.or(self.usage.prompt_tokens);
            self.usage.completion_tokens = u.completion_tokens.or(self.usage.completion_tokens);
        }
        self.finished |= info.finished;
    }

    /// Output tokens and where the count came from.
    pub fn output_tokens(&self) -> (u32, TokenSource) {
        match self.usage.completion_tokens {
            Some(n) => (n, TokenSource::Usage),
            None => (u32::try_from(self.chunks.len()).unwrap_or(u32::MAX), TokenSource::Chunks),
        }
    }

    /// After the body ended cleanly: was the answer complete?
    pub fn verdict(&self) -> Result<(), RequestError> {
        if !self.done && !self.finished {
            return Err(error(ErrorClass::StreamEnded, "the stream closed before [DONE] and without a finish_reason"));
        }
        if self.chunks.is_empty() {
            return Err(error(ErrorClass::StreamEnded, "the server answered 2xx but sent no content"));
        }
        Ok(())
    }
}

/// Most characters of the target's own text (an error body, an error object's message, the start of a payload
/// that does not parse) kept in one error message.
pub(crate) const SNIPPET_CHARS: usize = 200;

/// Whether error messages may quote what the target sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum BodyText {
    /// A [`snippet`] of it: a run's failures, shown to the one who started the run.
    #[default]
    Snippet,
    /// None of it, only statuses and our own words: preflight's answers.
    Hidden,
}

/// The target's text as it may appear in a message: control and bidirectional characters as visible escapes, at
/// most [`SNIPPET_CHARS`] characters.
pub(crate) fn snippet(s: &str) -> String {
    clip(s, SNIPPET_CHARS)
}

/// A [`RequestError`] without an HTTP status.
pub(crate) fn error(class: ErrorClass, message: impl Into<String>) -> RequestError {
    RequestError { class, status: None, message: message.into() }
}

/// A [`ParseError`] as a request error: what serde objected to and the start of the payload, as [`snippet`]s, or
/// neither when the body is [`BodyText::Hidden`] (serde's reason may quote the payload).
pub(crate) fn parse_error(e: ParseError, body: BodyText) -> RequestError {
    match body {
        BodyText::Snippet => error(
            ErrorClass::Parse,
            format!(
                "invalid JSON from the server ({}); the data starts with: \"{}\"",
                snippet(&e.reason),
                snippet(&e.prefix)
            ),
        ),
        BodyText::Hidden => error(ErrorClass::Parse, "the answer is not the JSON an OpenAI-compatible server sends"),
    }
}

/// An error object the server sent in a 2xx answer (`in_stream`: inside an SSE stream), with a [`snippet`] of its
/// message unless the body is [`BodyText::Hidden`].
pub(crate) fn server_error(message: &str, in_stream: bool, body: BodyText) -> RequestError {
    let place = if in_stream { " in the stream" } else { "" };
    let message = match body {
        BodyText::Snippet => format!("the server sent an error{place}: {}", snippet(message)),
        BodyText::Hidden => format!("the server sent an error object{place} (see the server's log for its text)"),
    };
    error(ErrorClass::Other, message)
}

/// Reads an SSE body into `out` until `[DONE]`, the end of the body, or an error. `transport` classifies errors
/// of the byte stream; `text` says whether error messages may quote what the stream carried. Call
/// [`Collected::verdict`] after an `Ok` to learn whether the answer was complete.
pub(crate) async fn read_sse<S, B, E>(
    body: S,
    endpoint: Endpoint,
    out: &mut Collected,
    tap: &dyn ChunkTap,
    transport: impl Fn(E) -> RequestError,
    text: BodyText,
) -> Result<(), RequestError>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    let events = body.eventsource();
    futures::pin_mut!(events);
    while let Some(item) = events.next().await {
        let event = match item {
            Ok(event) => event,
            Err(EventStreamError::Transport(e)) => return Err(transport(e)),
            Err(EventStreamError::Utf8(e)) => {
                return Err(error(ErrorClass::Parse, format!("stream is not UTF-8: {e}")))
            }
            // nom's error quotes the rest of the input.
            Err(EventStreamError::Parser(e)) => {
                let message = match text {
                    BodyText::Snippet => format!("invalid SSE: {}", snippet(&e.to_string())),
                    BodyText::Hidden => "invalid SSE".to_owned(),
                };
                return Err(error(ErrorClass::Parse, message));
            }
        };
        match parse_event(&event.data, endpoint).map_err(|e| parse_error(e, text))? {
            Parsed::Chunk(info) => {
                if info.content_bytes > 0 {
                    if let Some(text) = &mut out.text {
                        text.push_str(&super::sse::content_text(event.data.as_bytes(), endpoint));
                    }
                }
                out.add(info, Instant::now(), tap)
            }
            Parsed::Done => {
                out.done = true;
                out.done_at = Some(Instant::now());
                // Reading the body to its end lets the connection go back to the pool.
                let _ = tokio::time::timeout(DRAIN_AFTER_DONE, async { while events.next().await.is_some() {} }).await;
                return Ok(());
            }
            Parsed::ServerError(message) => return Err(server_error(&message, true, text)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    use crate::engine::target::NoTap;

    /// Feeds `parts` as successive network reads through the client's pipeline.
    async fn feed(parts: Vec<Vec<u8>>, endpoint: Endpoint) -> (Collected, Result<(), RequestError>) {
        let mut out = Collected::default();
        let body = futures::stream::iter(parts.into_iter().map(Ok::<_, Infallible>));
        let res = read_sse(body, endpoint, &mut out, &NoTap, |e: Infallible| match e {}, BodyText::Snippet).await;
        let res = res.and_then(|()| out.verdict());
        (out, res)
    }

    fn one(s: &str) -> Vec<Vec<u8>> {
        vec![s.as_bytes().to_vec()]
    }

    const COMPLETION: &str = concat!(
        "data: {\"choices\":[{\"text\":\" a\"}]}\n\n",
        ": keep-alive\n\n",
        "data: {\"choices\":[{\"text\":\" b c\",\"finish_reason\":\"length\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n",
        "data: [DONE]\n\n",
    );

    #[tokio::test]
    async fn full_stream_with_keep_alive_and_usage() {
        let (out, res) = feed(one(COMPLETION), Endpoint::Completions).await;
        res.unwrap();
        assert_eq!(out.chunks.iter().map(|c| c.bytes).collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(out.output_tokens(), (3, TokenSource::Usage));
        assert_eq!(out.usage.prompt_tokens, Some(5));
        assert!(out.done && out.finished);
    }

    #[tokio::test]
    async fn every_split_point_gives_the_same_result() {
        let bytes = COMPLETION.as_bytes();
        for cut in 1..bytes.len() {
            let (out, res) = feed(vec![bytes[..cut].to_vec(), bytes[cut..].to_vec()], Endpoint::Completions).await;
            res.unwrap();
            assert_eq!(out.chunks.len(), 2, "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn utf8_split_mid_codepoint_across_reads() {
        let text = "data: {\"choices\":[{\"delta\":{\"content\":\"日本\"}}]}\n\ndata: [DONE]\n\n".as_bytes();
        let start = text.iter().position(|&b| b >= 0x80).unwrap();
        for cut in start + 1..start + 6 {
            // One byte at a time around the cut, then the rest.
            let parts = vec![text[..cut].to_vec(), text[cut..cut + 1].to_vec(), text[cut + 1..].to_vec()];
            let (out, res) = feed(parts, Endpoint::Chat).await;
            res.unwrap();
            assert_eq!(out.chunks.len(), 1);
            assert_eq!(out.chunks[0].bytes, 6, "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn crlf_line_endings() {
        let s = "data: {\"choices\":[{\"text\":\"x\"}]}\r\n\r\n: ping\r\n\r\ndata: [DONE]\r\n\r\n";
        let (out, res) = feed(one(s), Endpoint::Completions).await;
        res.unwrap();
        assert_eq!(out.output_tokens(), (1, TokenSource::Chunks));
        // CR and LF in different reads must not end the event early.
        let cut = s.find('\n').unwrap();
        let (out, res) = feed(vec![s[..cut].into(), s[cut..].into()], Endpoint::Completions).await;
        res.unwrap();
        assert_eq!(out.chunks.len(), 1);
    }

    #[tokio::test]
    async fn role_only_and_empty_chunks_are_not_content() {
        let s = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let (out, res) = feed(one(s), Endpoint::Chat).await;
        res.unwrap();
        assert_eq!(out.chunks.len(), 1);
        assert_eq!(out.output_tokens(), (1, TokenSource::Chunks));
    }

    #[tokio::test]
    async fn cut_before_done_is_stream_ended() {
        let (out, res) = feed(one("data: {\"choices\":[{\"text\":\"x\"}]}\n\n"), Endpoint::Completions).await;
        assert_eq!(res.unwrap_err().class, ErrorClass::StreamEnded);
        assert_eq!(out.chunks.len(), 1, "partial chunks are kept");
    }

    #[tokio::test]
    async fn finish_reason_without_done_is_complete() {
        let (_, res) =
            feed(one("data: {\"choices\":[{\"text\":\"x\",\"finish_reason\":\"stop\"}]}\n\n"), Endpoint::Completions)
                .await;
        res.unwrap();
    }

    #[tokio::test]
    async fn done_without_content_is_stream_ended() {
        let (_, res) =
            feed(one("data: {\"choices\":[{\"text\":\"\"}]}\n\ndata: [DONE]\n\n"), Endpoint::Completions).await;
        assert_eq!(res.unwrap_err().class, ErrorClass::StreamEnded);
    }

    #[tokio::test]
    async fn error_object_in_stream_is_other() {
        let s = "data: {\"choices\":[{\"text\":\"x\"}]}\n\ndata: {\"error\":{\"message\":\"oom\"}}\n\n";
        let (out, res) = feed(one(s), Endpoint::Completions).await;
        let err = res.unwrap_err();
        assert_eq!(err.class, ErrorClass::Other);
        assert!(err.message.contains("oom"));
        assert_eq!(out.chunks.len(), 1);
    }

    #[tokio::test]
    async fn the_targets_text_is_a_short_visible_snippet_or_nothing() {
        let long = format!("\u{1b}[2J{}", "x".repeat(5_000));
        let s = format!("data: {{\"error\":{{\"message\":\"{}\"}}}}\n\n", long.replace('\u{1b}', "\\u001b"));
        let (_, res) = feed(one(&s), Endpoint::Completions).await;
        let m = res.unwrap_err().message;
        assert!(m.starts_with("the server sent an error in the stream: \\u{1b}[2Jxxx"), "{m}");
        assert!(m.chars().count() <= 60 + SNIPPET_CHARS && !m.contains('\u{1b}'), "{m}");

        let secret = "data: {\"error\":{\"message\":\"SECRET\"}}\n\ndata: <SECRET>\n\n";
        for data in [secret, "data: <SECRET>\n\n", "data: {\"choices\": \"SECRET\"}\n\n"] {
            let body = futures::stream::iter([Ok::<_, Infallible>(data.as_bytes().to_vec())]);
            let mut out = Collected::default();
            let err = read_sse(body, Endpoint::Completions, &mut out, &NoTap, |e| match e {}, BodyText::Hidden)
                .await
                .unwrap_err();
            assert!(!err.message.contains("SECRET"), "{}", err.message);
            let body = futures::stream::iter([Ok::<_, Infallible>(data.as_bytes().to_vec())]);
            let err = read_sse(body, Endpoint::Completions, &mut out, &NoTap, |e| match e {}, BodyText::Snippet)
                .await
                .unwrap_err();
            assert!(err.message.contains("SECRET"), "a run's message keeps a snippet: {}", err.message);
        }
    }

    #[tokio::test]
    async fn garbage_is_parse() {
        let (_, res) = feed(one("data: <html>bad gateway</html>\n\n"), Endpoint::Completions).await;
        assert_eq!(res.unwrap_err().class, ErrorClass::Parse);
        let (_, res) = feed(vec![b"data: {\"choices\":[]}\n\n\xff\xfe".to_vec()], Endpoint::Completions).await;
        assert_eq!(res.unwrap_err().class, ErrorClass::Parse);
    }

    #[tokio::test]
    async fn transport_errors_use_the_classifier() {
        let mut out = Collected::default();
        let body =
            futures::stream::iter(vec![Ok(b"data: {\"choices\":[{\"text\":\"x\"}]}\n\n".to_vec()), Err("reset")]);
        let classify = |e| error(ErrorClass::Other, e);
        let err =
            read_sse(body, Endpoint::Completions, &mut out, &NoTap, classify, BodyText::Snippet).await.unwrap_err();
        assert_eq!(err.message, "reset");
        assert_eq!(out.chunks.len(), 1);
    }
}
