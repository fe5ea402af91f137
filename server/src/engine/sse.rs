//! Parsing what an OpenAI-compatible server sends: one SSE `data:` payload of a streamed answer, or a whole
//! non-streaming body (the same JSON shape with `message` instead of `delta`). Pure functions, no I/O.
//!
//! This runs once per token on the hot path, so the wire structs borrow nothing and allocate nothing: content
//! strings are deserialized straight into their byte length ([`StrLen`]) and unused fields are skipped.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use protocol::spec::Endpoint;

/// Token counts from the server's `usage` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    /// `usage.prompt_tokens`.
    #[serde(default)]
    pub prompt_tokens: Option<u32>,
    /// `usage.completion_tokens`.
    #[serde(default)]
    pub completion_tokens: Option<u32>,
}

/// What one chunk (or one whole body) carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Bytes of content text (0 for role-only, empty or usage-only chunks).
    pub content_bytes: u32,
    /// `usage`, when this chunk had one.
    pub usage: Option<Usage>,
    /// The first choice carried a non-null `finish_reason`.
    pub finished: bool,
}

/// One parsed SSE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// `data: [DONE]`: the stream is complete.
    Done,
    /// A completion chunk.
    Chunk(ChunkInfo),
    /// An error object sent inside a 2xx answer (`{"error": ...}` or `{"object": "error", ...}`).
    ServerError(String),
}

/// A payload that is not the JSON an OpenAI-compatible server sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON from the server ({reason}); the data starts with: {prefix:?}")]
pub struct ParseError {
    /// What serde_json objected to.
    pub reason: String,
    /// The first bytes (≤ 120) of the payload.
    pub prefix: String,
}

/// Parses one SSE `data:` payload of a streamed answer from `endpoint`.
/// Content is `choices[0].text` (completions) or `choices[0].delta.content` + `reasoning_content` (chat).
pub fn parse_event(data: &str, endpoint: Endpoint) -> Result<Parsed, ParseError> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Parsed::Done);
    }
    if data.is_empty() {
        return Ok(Parsed::Chunk(ChunkInfo::default()));
    }
    parse_json(data.as_bytes(), endpoint)
}

/// The content text of one chunk (or of a whole body): `choices[0].text`, or the chat `delta`/`message`'s
/// `content` followed by its `reasoning_content`. Only for counting output tokens with a tokenizer when the server
/// sends no usage (the measuring path, [`parse_event`], never allocates the text).
pub fn content_text(data: &[u8], endpoint: Endpoint) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return String::new() };
    let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else { return String::new() };
    let field = |o: &serde_json::Value, k: &str| o.get(k).and_then(|s| s.as_str()).unwrap_or_default().to_owned();
    match endpoint {
        Endpoint::Chat => match choice.get("delta").or_else(|| choice.get("message")) {
            Some(m) => field(m, "content") + &field(m, "reasoning_content"),
            None => String::new(),
        },
        Endpoint::Completions | Endpoint::Auto => field(choice, "text"),
    }
}

/// Parses a whole non-streaming response body from `endpoint` (content from `message` on chat).
pub fn parse_body(body: &[u8], endpoint: Endpoint) -> Result<Parsed, ParseError> {
    parse_json(body, endpoint)
}

fn parse_json(data: &[u8], endpoint: Endpoint) -> Result<Parsed, ParseError> {
    let wire: ChunkWire = serde_json::from_slice(data).map_err(|e| ParseError {
        reason: e.to_string(),
        prefix: String::from_utf8_lossy(&data[..floor_char_boundary(data, 120)]).into_owned(),
    })?;
    if let Some(err) = wire.error {
        return Ok(Parsed::ServerError(error_message(&err)));
    }
    if wire.object.as_deref() == Some("error") {
        return Ok(Parsed::ServerError(wire.message.unwrap_or_else(|| "error object without a message".into())));
    }
    let (content_bytes, finished) = match wire.choices.0 {
        None => (0, false),
        Some(c) => {
            let text = match endpoint {
                Endpoint::Chat => c.delta.or(c.message).map_or(0, |d| d.len()),
                Endpoint::Completions | Endpoint::Auto => StrLen::of(c.text),
            };
            (text, c.finish_reason.is_some())
        }
    };
    Ok(Parsed::Chunk(ChunkInfo { content_bytes, usage: wire.usage, finished }))
}

/// The largest index ≤ `max` that does not split a UTF-8 sequence (for error prefixes).
fn floor_char_boundary(data: &[u8], max: usize) -> usize {
    let mut end = data.len().min(max);
    while end > 0 && end < data.len() && (data[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    end
}

fn error_message(err: &serde_json::Value) -> String {
    match err {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => match o.get("message") {
            Some(serde_json::Value::String(m)) => m.clone(),
            _ => err.to_string(),
        },
        other => other.to_string(),
    }
}

/// A completion chunk, reduced to what is measured.
#[derive(Deserialize)]
struct ChunkWire {
    #[serde(default)]
    choices: FirstChoice,
    #[serde(default)]
    usage: Option<Usage>,
    /// Cold path: only present on errors.
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceWire {
    #[serde(default)]
    text: Option<StrLen>,
    #[serde(default)]
    delta: Option<MessageWire>,
    #[serde(default)]
    message: Option<MessageWire>,
    #[serde(default)]
    finish_reason: Option<IgnoredAny>,
}

/// A chat `delta` (streaming) or `message` (whole body).
#[derive(Deserialize)]
struct MessageWire {
    #[serde(default)]
    content: Option<StrLen>,
    #[serde(default)]
    reasoning_content: Option<StrLen>,
    /// Newer vLLM name for `reasoning_content`.
    #[serde(default)]
    reasoning: Option<StrLen>,
}

impl MessageWire {
    fn len(&self) -> u32 {
        StrLen::of(self.content)
            .saturating_add(StrLen::of(self.reasoning_content))
            .saturating_add(StrLen::of(self.reasoning))
    }
}

/// A JSON string deserialized into its (unescaped) byte length, without allocating.
#[derive(Debug, Clone, Copy)]
struct StrLen(u32);

impl StrLen {
    fn of(s: Option<StrLen>) -> u32 {
        s.map_or(0, |s| s.0)
    }
}

impl<'de> Deserialize<'de> for StrLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StrLen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrLen, E> {
                Ok(StrLen(u32::try_from(v.len()).unwrap_or(u32::MAX)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `choices`, keeping only the first element (no `Vec` allocated per chunk).
#[derive(Default)]
struct FirstChoice(Option<ChoiceWire>);

impl<'de> Deserialize<'de> for FirstChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of choices")
            }
            fn visit_unit<E: de::Error>(self) -> Result<FirstChoice, E> {
                Ok(FirstChoice(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstChoice, A::Error> {
                let first = seq.next_element::<ChoiceWire>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(data: &str, endpoint: Endpoint) -> ChunkInfo {
        match parse_event(data, endpoint).unwrap() {
            Parsed::Chunk(c) => c,
            other => panic!("expected a chunk, got {other:?}"),
        }
    }

    #[test]
    fn completions_text_is_content() {
        let c =
            chunk(r#"{"id":"x","choices":[{"index":0,"text":" hello","finish_reason":null}]}"#, Endpoint::Completions);
        assert_eq!(c, ChunkInfo { content_bytes: 6, usage: None, finished: false });
    }

    #[test]
    fn multi_token_chunk_counts_all_bytes() {
        let c = chunk(r#"{"choices":[{"text":" w1 w2 w3"}]}"#, Endpoint::Completions);
        assert_eq!(c.content_bytes, 9);
    }

    #[test]
    fn chat_delta_content_and_reasoning_are_content() {
        let c = chunk(r#"{"choices":[{"delta":{"content":"ab"}}]}"#, Endpoint::Chat);
        assert_eq!(c.content_bytes, 2);
        let c = chunk(r#"{"choices":[{"delta":{"content":null,"reasoning_content":"hmm"}}]}"#, Endpoint::Chat);
        assert_eq!(c.content_bytes, 3);
    }

    #[test]
    fn role_only_first_chunk_has_no_content() {
        let c = chunk(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#, Endpoint::Chat);
        assert_eq!(c.content_bytes, 0);
        let c = chunk(r#"{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#, Endpoint::Chat);
        assert_eq!(c.content_bytes, 0);
    }

    #[test]
    fn empty_content_chunk_has_no_content() {
        assert_eq!(chunk(r#"{"choices":[{"text":""}]}"#, Endpoint::Completions).content_bytes, 0);
        assert_eq!(chunk("", Endpoint::Completions), ChunkInfo::default());
    }

    #[test]
    fn escaped_and_multibyte_content_counts_unescaped_bytes() {
        let c = chunk(r#"{"choices":[{"text":"\"é\u00e9\n"}]}"#, Endpoint::Completions);
        assert_eq!(c.content_bytes, 1 + 2 + 2 + 1);
    }

    #[test]
    fn usage_only_final_chunk_with_empty_choices() {
        let c = chunk(
            r#"{"id":"x","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":16,"total_tokens":23}}"#,
            Endpoint::Chat,
        );
        assert_eq!(c.content_bytes, 0);
        assert_eq!(c.usage, Some(Usage { prompt_tokens: Some(7), completion_tokens: Some(16) }));
        assert!(!c.finished);
    }

    #[test]
    fn usage_null_and_choices_null_are_absent() {
        let c = chunk(r#"{"choices":null,"usage":null}"#, Endpoint::Chat);
        assert_eq!(c, ChunkInfo::default());
    }

    #[test]
    fn finish_reason_is_seen_with_content() {
        let c = chunk(r#"{"choices":[{"text":" end","finish_reason":"length"}],"usage":null}"#, Endpoint::Completions);
        assert_eq!(c, ChunkInfo { content_bytes: 4, usage: None, finished: true });
    }

    #[test]
    fn only_the_first_choice_counts() {
        let c = chunk(r#"{"choices":[{"text":"a"},{"text":"bbbb"}]}"#, Endpoint::Completions);
        assert_eq!(c.content_bytes, 1);
    }

    #[test]
    fn done_marker() {
        assert_eq!(parse_event("[DONE]", Endpoint::Chat), Ok(Parsed::Done));
        assert_eq!(parse_event(" [DONE]\r", Endpoint::Completions), Ok(Parsed::Done));
    }

    #[test]
    fn error_objects_in_the_stream() {
        let e = parse_event(r#"{"error":{"message":"out of memory","type":"server_error"}}"#, Endpoint::Chat);
        assert_eq!(e, Ok(Parsed::ServerError("out of memory".into())));
        let e = parse_event(r#"{"error":"boom"}"#, Endpoint::Chat);
        assert_eq!(e, Ok(Parsed::ServerError("boom".into())));
        let e = parse_event(r#"{"object":"error","message":"bad model","code":404}"#, Endpoint::Completions);
        assert_eq!(e, Ok(Parsed::ServerError("bad model".into())));
    }

    #[test]
    fn garbage_is_a_parse_error() {
        for data in ["hello", "{\"choices\":[{\"text\":1}]}", "[1,2]", "{\"choices\":[{\"text\":\"x\"}", "nul"] {
            let err = parse_event(data, Endpoint::Completions).unwrap_err();
            assert!(err.to_string().contains("invalid JSON"), "{err}");
        }
    }

    #[test]
    fn error_prefix_is_cut_on_a_char_boundary() {
        let data = format!("{}é tail", "x".repeat(119));
        let err = parse_event(&data, Endpoint::Completions).unwrap_err();
        assert_eq!(err.prefix, "x".repeat(119));
    }

    #[test]
    fn non_streaming_bodies() {
        let chat = br#"{"choices":[{"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],
                        "usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
        let Parsed::Chunk(c) = parse_body(chat, Endpoint::Chat).unwrap() else { panic!() };
        assert_eq!(c.content_bytes, 8);
        assert!(c.finished);
        assert_eq!(c.usage.and_then(|u| u.completion_tokens), Some(2));
        let comp = br#"{"choices":[{"text":"abc","finish_reason":"length"}]}"#;
        let Parsed::Chunk(c) = parse_body(comp, Endpoint::Completions).unwrap() else { panic!() };
        assert_eq!(c.content_bytes, 3);
        assert!(parse_body(b"<html>502</html>", Endpoint::Chat).is_err());
    }
}
