//! The seam between load generation and the server under test: a [`Target`] executes one [`Prompt`] and reports
//! what happened as a [`RequestResult`] with raw timestamps. Metrics are computed from those elsewhere.

use std::time::Instant;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use protocol::record::{ErrorClass, RequestError, TokenSource};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// The body of a prompt: plain text for `/v1/completions`, messages for `/v1/chat/completions`.
/// A target converts one into the other when the endpoint needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptBody {
    /// Plain text.
    Text(String),
    /// A conversation.
    Chat(Vec<ChatMessage>),
}

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Position in the workload (0-based).
    pub index: u64,
    /// What to send.
    pub body: PromptBody,
    /// Estimated prompt length in tokens (the workload's own count; the server's `usage` is authoritative).
    pub input_tokens: u32,
    /// `max_tokens` to request.
    pub max_tokens: u32,
}

/// Arrival of one chunk that carried non-empty content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentChunk {
    /// When the chunk was read.
    pub at: Instant,
    /// Bytes of content text it carried (used to spread tokens over chunks when the server counts only the total).
    pub bytes: u32,
}

/// Everything measured about one request, as raw instants; no derived metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestResult {
    /// The prompt's index.
    pub index: u64,
    /// When the request was handed to the HTTP client.
    pub sent_at: Instant,
    /// Every content-bearing chunk in order (one entry for a non-streaming response, at its arrival).
    pub chunks: Vec<ContentChunk>,
    /// When the response was complete.
    pub done_at: Instant,
    /// Output tokens (from `usage` when present, else the number of content chunks).
    pub output_tokens: u32,
    /// Where `output_tokens` came from.
    pub token_source: TokenSource,
    /// Prompt tokens from `usage`, when present.
    pub prompt_tokens: Option<u32>,
    /// The request was sent a second time, on a fresh connection, because its pooled connection had been closed by
    /// the server before any answer (the server never read the first one).
    pub retried: bool,
    /// `Some` when the request failed; partial `chunks` are kept.
    pub error: Option<RequestError>,
}

/// Told of every content chunk the moment it is read, so live windows count tokens when they arrive rather than
/// when their request completes.
pub trait ChunkTap: Send + Sync {
    /// A chunk with `bytes` bytes of content text arrived at `at`.
    fn chunk(&self, at: Instant, bytes: u32);
}

/// A tap that ignores every chunk (preflight probes, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTap;

impl ChunkTap for NoTap {
    fn chunk(&self, _at: Instant, _bytes: u32) {}
}

/// An OpenAI-compatible server, or an in-process stand-in for tests.
pub trait Target: Send + Sync + 'static {
    /// Sends `prompt` now and follows it to completion (or failure, or the request timeout), telling `tap` of each
    /// content chunk as it arrives. Never panics and never returns early without a result: every outcome is a
    /// [`RequestResult`].
    fn execute<'a>(&'a self, prompt: &'a Prompt, tap: &'a dyn ChunkTap) -> BoxFuture<'a, RequestResult>;
}
