//! The JSON body of one generation request: `/v1/completions` or `/v1/chat/completions`, greedy, with the
//! backend preset's length-forcing fields.

use std::borrow::Cow;

use serde::Serialize;

use protocol::spec::{Backend, Endpoint};

use super::presets::PresetFields;
use super::target::{Prompt, PromptBody};

/// `stream_options` asking for a final usage chunk.
#[derive(Debug, Clone, Copy, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// One chat message, borrowed from the prompt.
#[derive(Debug, Clone, Copy, Serialize)]
struct MessageRef<'a> {
    role: &'a str,
    content: &'a str,
}

/// The body, borrowing the prompt's text.
#[derive(Debug, Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<MessageRef<'a>>>,
    max_tokens: u32,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    temperature: f32,
    #[serde(flatten)]
    preset: PresetFields,
}

/// What a body depends on besides the prompt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyOptions<'a> {
    /// `Completions` or `Chat` (`Auto` is treated as `Completions`).
    pub endpoint: Endpoint,
    /// Model name.
    pub model: &'a str,
    /// Preset.
    pub backend: Backend,
    /// Ask for SSE.
    pub stream: bool,
}

/// Serializes the request body for `prompt`.
pub(crate) fn request_body(opts: BodyOptions<'_>, prompt: &Prompt) -> Result<Vec<u8>, serde_json::Error> {
    let (text, messages) = match (opts.endpoint, &prompt.body) {
        (Endpoint::Chat, PromptBody::Chat(msgs)) => {
            (None, Some(msgs.iter().map(|m| MessageRef { role: &m.role, content: &m.content }).collect()))
        }
        (Endpoint::Chat, PromptBody::Text(t)) => (None, Some(vec![MessageRef { role: "user", content: t }])),
        (_, PromptBody::Text(t)) => (Some(Cow::Borrowed(t.as_str())), None),
        (_, PromptBody::Chat(msgs)) => (Some(Cow::Owned(join_messages(msgs))), None),
    };
    let body = RequestBody {
        model: opts.model,
        prompt: text,
        messages,
        max_tokens: prompt.max_tokens,
        stream: opts.stream,
        stream_options: opts.stream.then_some(StreamOptions { include_usage: true }),
        temperature: 0.0,
        preset: PresetFields::new(opts.backend, prompt.max_tokens),
    };
    serde_json::to_vec(&body)
}

/// A conversation as plain text for `/v1/completions`: one `role: content` line per message.
fn join_messages(msgs: &[super::target::ChatMessage]) -> String {
    let mut out = String::with_capacity(msgs.iter().map(|m| m.role.len() + m.content.len() + 3).sum());
    for (i, m) in msgs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&m.role);
        out.push_str(": ");
        out.push_str(&m.content);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::target::ChatMessage;
    use serde_json::{json, Value};

    fn body(endpoint: Endpoint, backend: Backend, stream: bool, prompt: PromptBody) -> Value {
        let opts = BodyOptions { endpoint, model: "m", backend, stream };
        let prompt = Prompt { index: 0, body: prompt, input_tokens: 3, max_tokens: 32 };
        serde_json::from_slice(&request_body(opts, &prompt).unwrap()).unwrap()
    }

    fn chat() -> PromptBody {
        PromptBody::Chat(vec![
            ChatMessage { role: "system".into(), content: "be brief".into() },
            ChatMessage { role: "user".into(), content: "hi".into() },
        ])
    }

    #[test]
    fn streaming_completions_ask_for_usage() {
        let b = body(Endpoint::Completions, Backend::Vllm, true, PromptBody::Text("hello".into()));
        assert_eq!(
            b,
            json!({"model": "m", "prompt": "hello", "max_tokens": 32, "stream": true,
                   "stream_options": {"include_usage": true}, "temperature": 0.0,
                   "ignore_eos": true, "min_tokens": 32})
        );
    }

    #[test]
    fn non_streaming_has_no_stream_options() {
        let b = body(Endpoint::Completions, Backend::Generic, false, PromptBody::Text("x".into()));
        assert_eq!(b, json!({"model": "m", "prompt": "x", "max_tokens": 32, "stream": false, "temperature": 0.0}));
    }

    #[test]
    fn text_on_chat_is_one_user_message() {
        let b = body(Endpoint::Chat, Backend::Ollama, true, PromptBody::Text("hello".into()));
        assert_eq!(b["messages"], json!([{"role": "user", "content": "hello"}]));
        assert_eq!(b["options"], json!({"num_predict": 32}));
        assert!(b.get("prompt").is_none());
    }

    #[test]
    fn chat_on_chat_keeps_messages() {
        let b = body(Endpoint::Chat, Backend::Generic, true, chat());
        assert_eq!(
            b["messages"],
            json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
        );
    }

    #[test]
    fn chat_on_completions_joins_lines() {
        let b = body(Endpoint::Completions, Backend::Lmdeploy, false, chat());
        assert_eq!(b["prompt"], json!("system: be brief\nuser: hi"));
        assert_eq!(b["min_new_tokens"], json!(32));
        assert!(b.get("messages").is_none());
    }
}
