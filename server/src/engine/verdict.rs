//! Turning a wall of failed requests into one sentence a user can act on ("every request got HTTP 404 from
//! /v1/chat/completions: … try --endpoint completions").

use std::collections::BTreeMap;

use protocol::preflight::{Setting, Surface};
use protocol::record::{ErrorClass, RequestError};
use protocol::spec::Endpoint;

/// What a verdict needs to know about the run besides its failures.
#[derive(Debug, Clone)]
pub struct VerdictContext {
    /// The target's base URL.
    pub target: String,
    /// The endpoint requests went to (resolved by preflight; `Auto` when unknown).
    pub endpoint: Endpoint,
    /// The per-request timeout, seconds.
    pub request_timeout_s: f64,
    /// Whose words the hints use: flags for `tokenscope run`, the New run form's fields for the dashboard.
    pub surface: Surface,
}

impl VerdictContext {
    fn name(&self, setting: Setting) -> &'static str {
        setting.name(self.surface)
    }

    /// "try --endpoint chat" / "set Endpoint to /v1/chat/completions".
    fn try_endpoint(&self, e: Endpoint) -> String {
        match self.surface {
            Surface::Cli => format!("try --endpoint {}", protocol::preflight::endpoint_name(e)),
            Surface::Form => format!("set Endpoint to {}", protocol::preflight::endpoint_path(e)),
        }
    }
}

/// Failures counted by class and HTTP status, with the first message of each.
#[derive(Debug, Clone, Default)]
pub struct FailureTally {
    /// Failures counted.
    pub total: u64,
    kinds: BTreeMap<(ErrorClass, Option<u16>), (u64, String)>,
}

impl FailureTally {
    /// Counts one failure.
    pub fn add(&mut self, e: &RequestError) {
        self.total += 1;
        self.kinds.entry((e.class, e.status)).or_insert_with(|| (0, e.message.clone())).0 += 1;
    }

    /// One sentence: what every failure had in common and what to try, or the mix of failures when they differ.
    pub fn explain(&self, ctx: &VerdictContext) -> String {
        let path = match ctx.endpoint {
            Endpoint::Chat => "/v1/chat/completions",
            Endpoint::Completions => "/v1/completions",
            Endpoint::Auto => "the endpoint",
        };
        let mut iter = self.kinds.iter();
        let (Some(((class, status), (_, message))), None) = (iter.next(), iter.next()) else {
            return self.mixed();
        };
        let message = short(message);
        match (class, status) {
            (ErrorClass::HttpStatus, Some(404)) => match ctx.endpoint {
                Endpoint::Chat => format!(
                    "every request got HTTP 404 from {path}: this server may only serve completions \
                     — {} (or check {}: {message})",
                    ctx.try_endpoint(Endpoint::Completions),
                    ctx.name(Setting::Model)
                ),
                Endpoint::Completions => format!(
                    "every request got HTTP 404 from {path}: this server may only serve chat \
                     — {} (or check {}: {message})",
                    ctx.try_endpoint(Endpoint::Chat),
                    ctx.name(Setting::Model)
                ),
                Endpoint::Auto => format!(
                    "every request got HTTP 404: check the URL, {} and {} ({message})",
                    ctx.name(Setting::Endpoint),
                    ctx.name(Setting::Model)
                ),
            },
            (ErrorClass::HttpStatus, Some(s @ (401 | 403))) => match ctx.surface {
                Surface::Cli => format!(
                    "every request got HTTP {s} from {path}: the server wants an API key — pass --api-key or set \
                     OPENAI_API_KEY ({message})"
                ),
                Surface::Form => format!(
                    "every request got HTTP {s} from {path}: the server wants an API key — fill in API key \
                     ({message})"
                ),
            },
            (ErrorClass::HttpStatus, Some(s @ (400 | 422))) => format!(
                "every request got HTTP {s} from {path}: the server rejected the request body — check {}, \
                 {} and the prompt lengths against the model's context ({message})",
                ctx.name(Setting::Model),
                ctx.name(Setting::Backend)
            ),
            (ErrorClass::HttpStatus, Some(s)) => {
                format!("every request got HTTP {s} from {path}: see the server's log ({message})")
            }
            (ErrorClass::Connect, _) => {
                format!("the target refused every connection: is the server running at {}? ({message})", ctx.target)
            }
            (ErrorClass::Timeout, _) => format!(
                "every request timed out after {} s: raise {}, lower the load or shorten {}",
                ctx.request_timeout_s,
                ctx.name(Setting::RequestTimeout),
                ctx.name(Setting::OutputTokens)
            ),
            (ErrorClass::Parse, _) => match ctx.surface {
                Surface::Cli => format!(
                    "no answer from {path} could be parsed: is {} an OpenAI-compatible server? try --no-stream or \
                     another --endpoint ({message})",
                    ctx.target
                ),
                Surface::Form => format!(
                    "no answer from {path} could be parsed: is {} an OpenAI-compatible server? try another \
                     Endpoint ({message})",
                    ctx.target
                ),
            },
            (ErrorClass::StreamEnded, _) => match ctx.surface {
                Surface::Cli => format!(
                    "every stream from {path} ended without a complete answer: try --no-stream, or check the \
                     server's log ({message})"
                ),
                Surface::Form => format!(
                    "every stream from {path} ended without a complete answer: check the server's log, or measure \
                     without streaming from the CLI (tokenscope run --no-stream) ({message})"
                ),
            },
            _ => format!("every request failed ({}): {message}", class_name(*class)),
        }
    }

    /// The failures by kind (`3 × timeout, 1 × HTTP 500`) and the first message.
    fn parts(&self) -> (String, String) {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|((class, status), (n, _))| match status {
                Some(s) => format!("{n} × HTTP {s}"),
                None => format!("{n} × {}", class_name(*class)),
            })
            .collect();
        let first = self.kinds.values().next().map(|(_, m)| short(m)).unwrap_or_default();
        (kinds.join(", "), first)
    }

    /// The failures by kind, e.g. `3 × timeout, 1 × HTTP 500; first error: …`.
    pub fn summary(&self) -> String {
        let (kinds, first) = self.parts();
        format!("{kinds}; first error: {first}")
    }

    fn mixed(&self) -> String {
        let (kinds, first) = self.parts();
        format!("every request failed ({kinds}); first error: {first}")
    }
}

/// The class as it appears in JSON (`http_status`…).
pub fn class_name(class: ErrorClass) -> &'static str {
    class.as_str()
}

/// The first line of `m`, at most 160 characters.
fn short(m: &str) -> String {
    let line = m.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(endpoint: Endpoint) -> VerdictContext {
        VerdictContext { target: "http://127.0.0.1:9".into(), endpoint, request_timeout_s: 30.0, surface: Surface::Cli }
    }

    #[test]
    fn the_dashboard_gets_its_fields_not_flags() {
        let form = |e| VerdictContext { surface: Surface::Form, ..ctx(e) };
        let v = tally(&[(ErrorClass::HttpStatus, Some(404)); 3]).explain(&form(Endpoint::Chat));
        assert!(v.contains("set Endpoint to /v1/completions") && v.contains("check Model"), "{v}");
        for (class, status) in [
            (ErrorClass::HttpStatus, Some(404)),
            (ErrorClass::HttpStatus, Some(401)),
            (ErrorClass::HttpStatus, Some(400)),
            (ErrorClass::Timeout, None),
            (ErrorClass::Parse, None),
            (ErrorClass::StreamEnded, None),
        ] {
            let v = tally(&[(class, status)]).explain(&form(Endpoint::Chat));
            for flag in ["--endpoint", "--model", "--api-key", "--backend", "--output-tokens"] {
                assert!(!v.contains(flag), "{flag} in {v}");
            }
        }
    }

    fn tally(errs: &[(ErrorClass, Option<u16>)]) -> FailureTally {
        let mut t = FailureTally::default();
        for &(class, status) in errs {
            t.add(&RequestError { class, status, message: "body\nmore".into() });
        }
        t
    }

    #[test]
    fn a_404_on_chat_suggests_completions() {
        let v = tally(&[(ErrorClass::HttpStatus, Some(404)); 3]).explain(&ctx(Endpoint::Chat));
        assert!(v.starts_with("every request got HTTP 404 from /v1/chat/completions"), "{v}");
        assert!(v.contains("try --endpoint completions"), "{v}");
        assert!(!v.contains("more"), "{v}");
        let v = tally(&[(ErrorClass::HttpStatus, Some(404))]).explain(&ctx(Endpoint::Completions));
        assert!(v.contains("try --endpoint chat"), "{v}");
    }

    #[test]
    fn refused_connections_and_timeouts() {
        let v = tally(&[(ErrorClass::Connect, None); 2]).explain(&ctx(Endpoint::Chat));
        assert!(v.contains("refused every connection") && v.contains("http://127.0.0.1:9"), "{v}");
        let v = tally(&[(ErrorClass::Timeout, None)]).explain(&ctx(Endpoint::Chat));
        assert!(v.contains("--request-timeout") && v.contains("30 s"), "{v}");
        let v = tally(&[(ErrorClass::HttpStatus, Some(401))]).explain(&ctx(Endpoint::Chat));
        assert!(v.contains("--api-key"), "{v}");
    }

    #[test]
    fn mixed_failures_are_listed() {
        let v = tally(&[(ErrorClass::HttpStatus, Some(500)), (ErrorClass::Timeout, None), (ErrorClass::Timeout, None)])
            .explain(&ctx(Endpoint::Chat));
        assert_eq!(v, "every request failed (2 × timeout, 1 × HTTP 500); first error: body");
    }
}
