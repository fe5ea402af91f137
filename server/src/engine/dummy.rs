//! An in-process [`Target`] with exact, configurable timing, for tests of the engine: no sockets, and with tokio's
//! paused clock every latency it produces is exact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

use super::metrics::now;
use super::target::{ChunkTap, ContentChunk, ErrorClass, Prompt, RequestError, RequestResult, Target, TokenSource};

/// A fake server: the first chunk after `ttft`, then one chunk of `tokens_per_chunk` tokens every
/// `itl × tokens_per_chunk` until `output_tokens` tokens have been sent.
#[derive(Debug)]
pub struct DummyTarget {
    /// Time to first chunk.
    pub ttft: Duration,
    /// Time per token after the first.
    pub itl: Duration,
    /// Tokens per answer (`None`: the prompt's `max_tokens`).
    pub output_tokens: Option<u32>,
    /// Tokens carried by each chunk after the first.
    pub tokens_per_chunk: u32,
    /// Report `usage` (else the count is of chunks).
    pub usage: bool,
    /// Fail every request with this error class after `ttft`.
    pub error: Option<(ErrorClass, Option<u16>)>,
    /// Fail only the first this-many calls (with `error`, or `other` when unset); 0 = per `error`.
    pub fail_first: u64,
    /// Answer the first this-many calls, then fail every later one (with `error`, or `other`): a target that dies.
    pub fail_after: Option<u64>,
    /// Requests executed so far (see [`DummyTarget::calls`]).
    pub calls: AtomicU64,
}

impl DummyTarget {
    /// 10 ms TTFT, 1 ms ITL, the prompt's `max_tokens`, one token per chunk, with usage.
    pub fn new() -> Self {
        DummyTarget {
            ttft: Duration::from_millis(10),
            itl: Duration::from_millis(1),
            output_tokens: None,
            tokens_per_chunk: 1,
            usage: true,
            error: None,
            fail_first: 0,
            fail_after: None,
            calls: AtomicU64::new(0),
        }
    }

    /// Requests executed so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Default for DummyTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl Target for DummyTarget {
    fn execute<'a>(&'a self, prompt: &'a Prompt, tap: &'a dyn ChunkTap) -> BoxFuture<'a, RequestResult> {
        Box::pin(async move {
            let call = self.calls.fetch_add(1, Ordering::Relaxed);
            let sent_at = now();
            let mut result = RequestResult {
                index: prompt.index,
                sent_at,
                chunks: Vec::new(),
                done_at: sent_at,
                output_tokens: 0,
                token_source: if self.usage { TokenSource::Usage } else { TokenSource::Chunks },
                prompt_tokens: self.usage.then_some(prompt.input_tokens),
                retried: false,
                error: None,
            };
            tokio::time::sleep(self.ttft).await;
            let fail = match self.fail_after {
                Some(n) => call >= n,
                None if self.fail_first > 0 => call < self.fail_first,
                None => self.error.is_some(),
            };
            if fail {
                let (class, status) = self.error.unwrap_or((ErrorClass::Other, None));
                result.error = Some(RequestError { class, status, message: format!("dummy failure {call}") });
                result.done_at = now();
                return result;
            }
            let total = self.output_tokens.unwrap_or(prompt.max_tokens).max(1);
            let first = now();
            tap.chunk(first, 4);
            result.chunks.push(ContentChunk { at: first, bytes: 4 });
            let mut sent = 1;
            let per = self.tokens_per_chunk.max(1);
            while sent < total {
                let k = per.min(total - sent);
                tokio::time::sleep(self.itl * k).await;
                let at = now();
                tap.chunk(at, 4 * k);
                result.chunks.push(ContentChunk { at, bytes: 4 * k });
                sent += k;
            }
            result.output_tokens = if self.usage { total } else { result.chunks.len() as u32 };
            result.done_at = now();
            result
        })
    }
}
