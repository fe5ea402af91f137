//! Per-request facts shared by the engine's results and the wire: token-count source and error classes.

use serde::{Deserialize, Serialize};

/// Where a request's output-token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// Counted content chunks (the server sent no usage and no tokenizer was at hand): one token per chunk, too
    /// few on servers that send several tokens per chunk.
    Chunks,
    /// The tokenizer over the streamed text (the server sent no usage).
    Tokenizer,
}

impl TokenSource {
    /// The name reports use (`usage`, `chunks`, `tokenizer`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Chunks => "chunks",
            TokenSource::Tokenizer => "tokenizer",
        }
    }
}

/// What kind of failure a request met; the classes a report counts errors by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// TCP connect refused / DNS / TLS: the server is not there.
    Connect,
    /// No complete answer within the request timeout.
    Timeout,
    /// The server answered with a non-2xx status.
    HttpStatus,
    /// The stream or body was not valid JSON / SSE.
    Parse,
    /// The stream ended before `[DONE]` / a finish reason, or carried no content.
    StreamEnded,
    /// Anything else (I/O errors mid-body…).
    Other,
}

/// A failed request's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestError {
    /// Class of the failure.
    pub class: ErrorClass,
    /// HTTP status when the server answered.
    pub status: Option<u16>,
    /// Human-readable description; for HTTP errors, the first bytes (≤ 512) of the body.
    pub message: String,
}

impl ErrorClass {
    /// The class's name as in JSON (`http_status`…).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Timeout => "timeout",
            ErrorClass::HttpStatus => "http_status",
            ErrorClass::Parse => "parse",
            ErrorClass::StreamEnded => "stream_ended",
            ErrorClass::Other => "other",
        }
    }
}
