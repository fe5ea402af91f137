//! The mock's token stream: when each chunk is due (absolute deadlines, so no drift), what its SSE frame says
//! (pre-rendered words, one buffer per frame), and the `Stream` that an axum `Body` sends.

use std::convert::Infallible;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;
use tokio::time::Instant;

use super::precise::PreciseSleep;

use super::InFlight;

/// Distinct token words; token `i` is word `i % WORD_COUNT`.
const WORD_COUNT: u32 = 1000;
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| (0..WORD_COUNT).map(|i| format!(" w{i}")).collect());

/// The text of token `i`, e.g. `" w12"`.
pub(super) fn word(i: u32) -> &'static str {
    WORDS.get((i % WORD_COUNT) as usize).map_or(" w", String::as_str)
}

/// The text of `tokens` tokens from 0.
pub(super) fn text(tokens: u32) -> String {
    (0..tokens).map(word).collect()
}

/// How `tokens` tokens are cut into chunks of `per_chunk` and when each is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// Tokens to send.
    pub tokens: u32,
    /// Tokens per chunk (≥ 1).
    pub per_chunk: u32,
}

impl Plan {
    /// A plan; `per_chunk` 0 counts as 1.
    pub fn new(tokens: u32, per_chunk: u32) -> Self {
        Plan { tokens, per_chunk: per_chunk.max(1) }
    }

    /// Number of chunks (the last may carry fewer tokens).
    pub fn chunks(&self) -> u32 {
        self.tokens.div_ceil(self.per_chunk)
    }

    /// Token indices of chunk `j`.
    pub fn chunk_tokens(&self, j: u32) -> Range<u32> {
        let start = j.saturating_mul(self.per_chunk).min(self.tokens);
        start..start.saturating_add(self.per_chunk).min(self.tokens)
    }

    /// When chunk `j` is due after the request arrived, at no slowdown: `ttft + (first token of j) × itl`.
    pub fn due(&self, j: u32, ttft: Duration, itl: Duration) -> Duration {
        ttft + itl * self.chunk_tokens(j).start
    }
}

/// `d` stretched by `factor` (exact when the factor is 1).
pub(super) fn scaled(d: Duration, factor: f64) -> Duration {
    if factor == 1.0 {
        d
    } else {
        d.mul_f64(factor)
    }
}

/// Which endpoint's chunk shape to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `text_completion` chunks with `text`.
    Completions,
    /// `chat.completion.chunk` chunks with `delta`.
    Chat,
}

/// SSE frames of one answer, sharing a pre-rendered head (`data: {"id":…,"choices":[`).
#[derive(Debug, Clone)]
pub(super) struct Frames {
    head: Bytes,
    kind: Kind,
}

impl Frames {
    /// Frames for answer number `n` of `model` (a JSON-escaped string literal).
    pub fn new(kind: Kind, n: u64, created: u64, model_json: &str) -> Self {
        let (id, object) = match kind {
            Kind::Completions => ("cmpl", "text_completion"),
            Kind::Chat => ("chatcmpl", "chat.completion.chunk"),
        };
        let head = format!(
            "data: {{\"id\":\"{id}-mock-{n}\",\"object\":\"{object}\",\"created\":{created},\"model\":{model_json},\"choices\":["
        );
        Frames { head: Bytes::from(head), kind }
    }

    /// The chat role chunk (`delta: {role: assistant, content: ""}`), no content.
    pub fn role(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.head.len() + 100);
        b.put_slice(&self.head);
        b.put_slice(b"{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        b.freeze()
    }

    /// Appends the chunk carrying `tokens`, with `finish` as its finish_reason when given.
    pub fn content(&self, b: &mut BytesMut, tokens: Range<u32>, finish: Option<&str>) {
        b.reserve(self.head.len() + 96 + 6 * tokens.len());
        b.put_slice(&self.head);
        b.put_slice(match self.kind {
            Kind::Completions => b"{\"index\":0,\"text\":\"".as_slice(),
            Kind::Chat => b"{\"index\":0,\"delta\":{\"content\":\"".as_slice(),
        });
        for i in tokens {
            b.put_slice(word(i).as_bytes());
        }
        b.put_slice(match self.kind {
            Kind::Completions => b"\",\"logprobs\":null,\"finish_reason\":".as_slice(),
            Kind::Chat => b"\"},\"logprobs\":null,\"finish_reason\":".as_slice(),
        });
        match finish {
            Some(reason) => {
                b.put_u8(b'"');
                b.put_slice(reason.as_bytes());
                b.put_u8(b'"');
            }
            None => b.put_slice(b"null"),
        }
        b.put_slice(b"}]}\n\n");
    }

    /// Appends the usage-only chunk (`choices: []`).
    pub fn usage(&self, b: &mut BytesMut, prompt: u32, completion: u32) {
        b.put_slice(&self.head);
        let total = u64::from(prompt) + u64::from(completion);
        let tail = format!(
            "],\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{total}}}}}\n\n"
        );
        b.put_slice(tail.as_bytes());
    }

    /// Appends `data: [DONE]`.
    pub fn done(b: &mut BytesMut) {
        b.put_slice(b"data: [DONE]\n\n");
    }
}

/// One streamed answer: the role chunk (chat) at once, then each content chunk at its deadline, the last one
/// followed by the usage chunk (when asked) and `[DONE]` in the same write.
pub(super) struct TokenStream {
    guard: InFlight,
    frames: Frames,
    plan: Plan,
    itl: Duration,
    next_chunk: u32,
    /// `(prompt_tokens, completion_tokens)` to report, when usage is sent.
    usage: Option<(u32, u32)>,
    finish: &'static str,
    role_pending: bool,
    finished: bool,
    sleep: PreciseSleep,
}

impl TokenStream {
    /// A stream starting at `start`, whose first chunk is due after `ttft` (slowdown not yet applied).
    #[allow(clippy::too_many_arguments)] // Every argument is one independent fact of the answer.
    pub fn new(
        guard: InFlight,
        frames: Frames,
        plan: Plan,
        start: Instant,
        ttft: Duration,
        itl: Duration,
        usage: Option<(u32, u32)>,
        finish: &'static str,
    ) -> Self {
        let first = start + scaled(ttft, guard.0.slowdown_factor());
        let role_pending = frames.kind == Kind::Chat;
        TokenStream {
            guard,
            frames,
            plan,
            itl,
            next_chunk: 0,
            usage,
            finish,
            role_pending,
            finished: false,
            sleep: PreciseSleep::until(first.into_std()),
        }
    }

    /// Builds the frame of the current chunk and schedules the next.
    fn next_frame(&mut self) -> Bytes {
        let j = self.next_chunk;
        let tokens = self.plan.chunk_tokens(j);
        let last = j + 1 >= self.plan.chunks();
        let mut b = BytesMut::new();
        self.frames.content(&mut b, tokens, last.then_some(self.finish));
        if last {
            if let Some((prompt, completion)) = self.usage {
                self.frames.usage(&mut b, prompt, completion);
            }
            Frames::done(&mut b);
            self.finished = true;
        } else {
            // Due `per_chunk` ITLs after this chunk's deadline, stretched by the load right now.
            let step = scaled(self.itl * self.plan.per_chunk, self.guard.0.slowdown_factor());
            let next = self.sleep.deadline() + step;
            self.sleep.reset(next);
        }
        self.next_chunk += 1;
        b.freeze()
    }
}

impl Stream for TokenStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.role_pending {
            this.role_pending = false;
            return Poll::Ready(Some(Ok(this.frames.role())));
        }
        if this.finished {
            return Poll::Ready(None);
        }
        ready!(Pin::new(&mut this.sleep).poll(cx));
        Poll::Ready(Some(Ok(this.next_frame())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn chunks_cover_every_token_once() {
        let p = Plan::new(10, 3);
        assert_eq!(p.chunks(), 4);
        assert_eq!((0..4).map(|j| p.chunk_tokens(j)).collect::<Vec<_>>(), vec![0..3, 3..6, 6..9, 9..10]);
        assert_eq!(Plan::new(0, 4).chunks(), 0);
        assert_eq!(Plan::new(5, 0), Plan::new(5, 1));
    }

    #[test]
    fn deadlines_are_ttft_plus_token_index_times_itl() {
        let p = Plan::new(128, 1);
        assert_eq!(p.due(0, 100 * MS, 10 * MS), 100 * MS);
        assert_eq!(p.due(127, 100 * MS, 10 * MS), 1370 * MS);
        let p = Plan::new(10, 4);
        assert_eq!([0, 1, 2].map(|j| p.due(j, 50 * MS, 5 * MS)), [50 * MS, 70 * MS, 90 * MS]);
    }

    #[test]
    fn stepping_deadlines_does_not_drift() {
        // The stream adds `per_chunk × itl` to the previous deadline: with no slowdown that is exact.
        let (p, ttft, itl) = (Plan::new(10_000, 3), 100 * MS, Duration::from_micros(3_333));
        let mut at = ttft;
        for j in 1..p.chunks() {
            at += scaled(itl * p.per_chunk, 1.0);
            assert_eq!(at, p.due(j, ttft, itl));
        }
        assert_eq!(scaled(10 * MS, 2.0), 20 * MS);
    }

    fn parse(frame: &[u8]) -> Vec<serde_json::Value> {
        let s = std::str::from_utf8(frame).unwrap();
        s.split("\n\n")
            .filter(|e| !e.is_empty() && *e != "data: [DONE]")
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn frames_are_valid_openai_chunks() {
        let f = Frames::new(Kind::Completions, 7, 1, "\"m\\\"x\"");
        let mut b = BytesMut::new();
        f.content(&mut b, 0..2, None);
        let v = parse(&b);
        assert_eq!(v[0]["choices"][0]["text"], " w0 w1");
        assert_eq!(v[0]["model"], "m\"x");
        assert_eq!(v[0]["id"], "cmpl-mock-7");
        assert!(v[0]["choices"][0]["finish_reason"].is_null());

        let f = Frames::new(Kind::Chat, 1, 1, "\"m\"");
        assert_eq!(parse(&f.role())[0]["choices"][0]["delta"]["role"], "assistant");
        let mut b = BytesMut::new();
        f.content(&mut b, 1000..1001, Some("length"));
        f.usage(&mut b, 5, 9);
        Frames::done(&mut b);
        assert!(b.ends_with(b"data: [DONE]\n\n"));
        let v = parse(&b);
        assert_eq!(v[0]["choices"][0]["delta"]["content"], " w0");
        assert_eq!(v[0]["choices"][0]["finish_reason"], "length");
        assert_eq!(v[1]["choices"], serde_json::json!([]));
        assert_eq!(v[1]["usage"]["total_tokens"], 14);
    }

    #[test]
    fn text_is_the_words_in_order() {
        assert_eq!(text(3), " w0 w1 w2");
        assert_eq!(word(1003), " w3");
    }
}
