//! The real [`Target`]: an OpenAI-compatible HTTP client (reqwest) for `/v1/completions` and
//! `/v1/chat/completions`, streaming (SSE) or not, with one shared connection pool sized for thousands of
//! concurrent streams. Every outcome, failures included, is a [`RequestResult`]. A failure's message quotes the
//! target's own text only as a short visible snippet, and not at all for preflight ([`OpenAiTarget::hide_bodies`]).

use std::fmt;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url};

use protocol::spec::{Backend, Endpoint};

use super::request_body::{request_body, BodyOptions};
use super::sse::{parse_body, Parsed};
use super::sse_stream::{error, parse_error, read_sse, server_error, snippet, BodyText, Collected};
use super::target::{ChunkTap, ErrorClass, Prompt, RequestError, RequestResult, Target, TokenSource};
use super::tokenize::HfTokenizer;

/// Bytes of an error body read for [`RequestError::message`] (of which a snippet of at most
/// [`super::sse_stream::SNIPPET_CHARS`] characters is kept).
const ERROR_BODY_PREFIX: usize = 512;
/// Connect timeout of every request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections are dropped after this long: below the 5 s keep-alive timeout of cpp-httplib
/// (llama.cpp's server) and uvicorn (vLLM, SGLang), which close idle sockets without telling, so a request is
/// never sent on a socket the server is closing at that moment.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// How to reach and drive the server under test.
#[derive(Clone)]
pub struct TargetConfig {
    /// Base URL, e.g. `http://127.0.0.1:8000` (a trailing `/` or `/v1` is accepted).
    pub base_url: String,
    /// `Completions` or `Chat`; preflight resolves `Auto` first.
    pub endpoint: Endpoint,
    /// Model name sent in every request.
    pub model: String,
    /// Preset whose length-forcing fields are added to every request.
    pub backend: Backend,
    /// Bearer token; never logged.
    pub api_key: Option<String>,
    /// Ask for SSE streaming.
    pub stream: bool,
    /// Limit on one whole request, send to last byte.
    pub request_timeout: Duration,
}

impl fmt::Debug for TargetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetConfig")
            .field("base_url", &self.base_url)
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("backend", &self.backend)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("stream", &self.stream)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `Endpoint::Auto` reached the client.
    #[error("the endpoint is still `auto`: run preflight first, or pass --endpoint completions|chat")]
    AutoEndpoint,
    /// The base URL does not parse.
    #[error("invalid target URL {url:?}: {reason} (expected something like http://127.0.0.1:8000)")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The API key cannot be sent as a header.
    #[error("the API key contains characters that cannot be sent in an HTTP header (check --api-key)")]
    BadApiKey,
    /// reqwest could not build its client (TLS setup).
    #[error("cannot set up the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// An OpenAI-compatible server reached over HTTP.
pub struct OpenAiTarget {
    client: Client,
    /// Never pools: the resend of a request whose pooled connection was closed goes out on a new connection.
    fresh: Client,
    url: Url,
    auth: Option<HeaderValue>,
    endpoint: Endpoint,
    model: String,
    backend: Backend,
    stream: bool,
    request_timeout: Duration,
    /// Counts the streamed text when the server sends no `usage`.
    text_counter: Option<HfTokenizer>,
    /// Whether failure messages may quote the target's text.
    bodies: BodyText,
}

impl fmt::Debug for OpenAiTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiTarget")
            .field("url", &self.url.as_str())
            .field("model", &self.model)
            .field("backend", &self.backend)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl OpenAiTarget {
    /// Checks the configuration and builds the shared client.
    pub fn new(cfg: TargetConfig) -> Result<Self, ClientError> {
        let path = match cfg.endpoint {
            Endpoint::Completions => "v1/completions",
            Endpoint::Chat => "v1/chat/completions",
            Endpoint::Auto => return Err(ClientError::AutoEndpoint),
        };
        let url = server_url(&cfg.base_url, path)?;
        Ok(OpenAiTarget {
            // llama.cpp's server closes the connection after every streamed answer while announcing keep-alive
            // (cpp-httplib treats the end of its stream callback as a cancel): pooling buys nothing there and
            // sends requests on sockets being closed, so its streamed requests get a connection each, as
            // GuideLLM's do.
            client: if cfg.stream && cfg.backend == Backend::LlamaCpp { fresh_client()? } else { http_client()? },
            fresh: fresh_client()?,
            url,
            auth: auth_header(cfg.api_key.as_deref())?,
            endpoint: cfg.endpoint,
            model: cfg.model,
            backend: cfg.backend,
            stream: cfg.stream,
            request_timeout: cfg.request_timeout,
            text_counter: None,
            bodies: BodyText::Snippet,
        })
    }

    /// Failure messages carry none of the target's text (no error body, no error object's message, no payload
    /// that does not parse): only statuses, reason phrases and our own words. For preflight, whose answers go to
    /// whoever asked to check a URL.
    pub fn hide_bodies(mut self) -> Self {
        self.bodies = BodyText::Hidden;
        self
    }

    /// Counts output tokens with `tokenizer` over the streamed text whenever an answer carries no `usage`.
    pub fn count_text_with(mut self, tokenizer: HfTokenizer) -> Self {
        self.text_counter = Some(tokenizer);
        self
    }

    /// Sends the request and follows the answer into `out`.
    async fn run(&self, prompt: &Prompt, out: &mut Collected, tap: &dyn ChunkTap) -> Result<(), RequestError> {
        let opts =
            BodyOptions { endpoint: self.endpoint, model: &self.model, backend: self.backend, stream: self.stream };
        let body = request_body(opts, prompt).map_err(|e| error(ErrorClass::Other, format!("request body: {e}")))?;
        let send = |client: &Client, body: Vec<u8>| {
            let mut req = client.post(self.url.clone()).header(CONTENT_TYPE, "application/json").body(body);
            if let Some(auth) = &self.auth {
                req = req.header(AUTHORIZATION, auth.clone());
            }
            req.send()
        };
        let resp = match send(&self.client, body.clone()).await {
            Ok(resp) => resp,
            // The server had closed the pooled connection (llama.cpp's server closes after every streamed answer
            // while announcing keep-alive): it never read this request, so it is sent once more, on a connection
            // opened for it, and counted as retried.
            Err(e) if closed_before_answer(&e) => {
                out.retried = true;
                send(&self.fresh, body).await.map_err(transport_error)?
            }
            Err(e) => return Err(transport_error(e)),
        };
        let status = resp.status();
        if !status.is_success() {
            return Err(status_error(status, resp, self.bodies).await);
        }
        if self.stream {
            read_sse(resp.bytes_stream(), self.endpoint, out, tap, transport_error, self.bodies).await?;
        } else {
            let bytes = resp.bytes().await.map_err(transport_error)?;
            match parse_body(&bytes, self.endpoint).map_err(|e| parse_error(e, self.bodies))? {
                Parsed::Chunk(info) => {
                    if let Some(text) = &mut out.text {
                        text.push_str(&super::sse::content_text(&bytes, self.endpoint));
                    }
                    out.add(info, Instant::now(), tap)
                }
                Parsed::ServerError(m) => return Err(server_error(&m, false, self.bodies)),
                Parsed::Done => return Err(error(ErrorClass::Parse, "a non-streaming answer was `[DONE]`")),
            }
            out.finished = true;
        }
        out.verdict()
    }
}

impl Target for OpenAiTarget {
    fn execute<'a>(&'a self, prompt: &'a Prompt, tap: &'a dyn ChunkTap) -> BoxFuture<'a, RequestResult> {
        Box::pin(async move {
            let sent_at = Instant::now();
            let mut out = Collected::with_capacity(if self.stream { prompt.max_tokens.min(8192) as usize } else { 1 });
            if self.text_counter.is_some() {
                out.text = Some(String::new());
            }
            let outcome = tokio::time::timeout(self.request_timeout, self.run(prompt, &mut out, tap)).await;
            let err = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_elapsed) => Some(error(
                    ErrorClass::Timeout,
                    format!(
                        "no complete answer within the request timeout of {:.1} s",
                        self.request_timeout.as_secs_f64()
                    ),
                )),
            };
            let done_at = out.done_at.unwrap_or_else(Instant::now);
            let (mut output_tokens, mut token_source) = out.output_tokens();
            if let (TokenSource::Chunks, Some(counter), Some(text)) = (token_source, &self.text_counter, &out.text) {
                output_tokens = counter.count(text);
                token_source = TokenSource::Tokenizer;
            }
            RequestResult {
                index: prompt.index,
                sent_at,
                prompt_tokens: out.usage.prompt_tokens,
                chunks: out.chunks,
                done_at,
                output_tokens,
                token_source,
                retried: out.retried,
                error: err,
            }
        })
    }
}

/// What every client of the target shares: no Nagle, a connect timeout, no system proxy, idle pooled connections
/// dropped before the server's keep-alive timeout, and no redirects: a target that answers 3xx gets an HTTP error
/// naming the status, never a request to a host the dashboard's `--allow-target` did not check.
fn client_builder() -> reqwest::ClientBuilder {
    Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
}

/// A client that opens a new connection for every request (no idle pool).
fn fresh_client() -> Result<Client, ClientError> {
    client_builder().pool_max_idle_per_host(0).build().map_err(ClientError::Build)
}

/// The client every request of one target shares: pooled without limit.
pub(crate) fn http_client() -> Result<Client, ClientError> {
    client_builder().pool_max_idle_per_host(usize::MAX).build().map_err(ClientError::Build)
}

/// A client for the target's tokenize endpoint: the run's client settings, with the API key on every request.
pub fn tokenize_client(api_key: Option<&str>) -> Result<Client, ClientError> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(auth) = auth_header(api_key)? {
        headers.insert(AUTHORIZATION, auth);
    }
    client_builder().default_headers(headers).timeout(Duration::from_secs(30)).build().map_err(ClientError::Build)
}

/// True when `e` says the connection was closed before any answer came: hyper's "connection closed before message
/// completed" on a pooled connection, or a reset / broken pipe while sending. The server never read the request.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_connect() || e.is_status() {
        return false;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// `{base}/{path}` (path like `v1/models` or `health`), accepting a base with or without a trailing `/` or `/v1`.
pub(crate) fn server_url(base: &str, path: &str) -> Result<Url, ClientError> {
    let bad = |reason: String| ClientError::BadUrl { url: protocol::spec::redact_target(base).into_owned(), reason };
    let trimmed = base.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    // `http://h/page#` or `…?x=` would turn every path added below into a fragment or a query: all requests,
    // preflight's included, would go to that one page.
    if trimmed.contains(['#', '?']) {
        return Err(bad("it has a query or a fragment (`?`, `#`): give the server's base URL only".into()));
    }
    let url = Url::parse(&format!("{trimmed}/{path}")).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("the scheme must be http or https, not {}", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    Ok(url)
}

/// `Bearer KEY`, marked sensitive so it is never printed.
pub(crate) fn auth_header(api_key: Option<&str>) -> Result<Option<HeaderValue>, ClientError> {
    let Some(key) = api_key.filter(|k| !k.is_empty()) else { return Ok(None) };
    let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| ClientError::BadApiKey)?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// Classifies a reqwest error: connect (refused, DNS, TLS), timeout, or other I/O.
pub(crate) fn transport_error(e: reqwest::Error) -> RequestError {
    let class = if e.is_connect() {
        ErrorClass::Connect
    } else if e.is_timeout() {
        ErrorClass::Timeout
    } else {
        ErrorClass::Other
    };
    error(class, error_chain(&e))
}

/// `error: cause: root cause`, each cause once.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg.push_str(": ");
            msg.push_str(&s_text);
        }
        source = s.source();
    }
    msg
}

/// A non-2xx answer: its status and a [`snippet`] of its body's first bytes, or (`Hidden`) its status and reason
/// phrase only, the body left unread.
async fn status_error(status: StatusCode, mut resp: reqwest::Response, text: BodyText) -> RequestError {
    if text == BodyText::Hidden {
        return RequestError {
            class: ErrorClass::HttpStatus,
            status: Some(status.as_u16()),
            message: status.canonical_reason().unwrap_or_default().to_owned(),
        };
    }
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_PREFIX {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(ERROR_BODY_PREFIX);
    RequestError {
        class: ErrorClass::HttpStatus,
        status: Some(status.as_u16()),
        message: snippet(&String::from_utf8_lossy(&body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_url_accepts_common_spellings() {
        for base in ["http://h:8000", "http://h:8000/", "http://h:8000/v1", "http://h:8000/v1/", " http://h:8000 "] {
            assert_eq!(server_url(base, "v1/completions").unwrap().as_str(), "http://h:8000/v1/completions", "{base}");
        }
        assert_eq!(
            server_url("https://pod-8000.proxy.runpod.net/prefix", "v1/chat/completions").unwrap().as_str(),
            "https://pod-8000.proxy.runpod.net/prefix/v1/chat/completions"
        );
    }

    #[test]
    fn server_url_rejects_what_cannot_work() {
        for base in ["127.0.0.1:8000", "ftp://h/", "not a url", "", "http://h:1/internal/ok#", "http://h:1/x?a="] {
            let err = server_url(base, "v1/completions").unwrap_err();
            assert!(err.to_string().contains("http://127.0.0.1:8000"), "{err}");
        }
    }

    #[tokio::test]
    async fn error_bodies_are_a_short_visible_snippet_or_hidden() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let body = format!("SECRET-BODY \u{1b}[2J{}", "x".repeat(1_000));
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let _ = tcp.read(&mut buf).await;
                    let head = format!(
                        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tcp.write_all(head.as_bytes()).await;
                    let _ = tcp.write_all(body.as_bytes()).await;
                    // Until the client closes: no unread request bytes turn the close into a reset.
                    let _ = tcp.read_to_end(&mut Vec::new()).await;
                });
            }
        });
        let cfg = TargetConfig {
            base_url: base,
            endpoint: Endpoint::Completions,
            model: "m".into(),
            backend: Backend::Generic,
            api_key: None,
            stream: false,
            request_timeout: Duration::from_secs(10),
        };
        let prompt = Prompt {
            index: 0,
            body: super::super::target::PromptBody::Text("hi".into()),
            input_tokens: 1,
            max_tokens: 1,
        };
        let run = OpenAiTarget::new(cfg.clone()).unwrap().execute(&prompt, &super::super::target::NoTap).await;
        let err = run.error.unwrap();
        assert_eq!((err.class, err.status), (ErrorClass::HttpStatus, Some(500)));
        assert!(err.message.starts_with("SECRET-BODY \\u{1b}[2Jxxx"), "{}", err.message);
        assert_eq!(err.message.chars().count(), super::super::sse_stream::SNIPPET_CHARS);
        let hidden = OpenAiTarget::new(cfg).unwrap().hide_bodies().execute(&prompt, &super::super::target::NoTap).await;
        let err = hidden.error.unwrap();
        assert_eq!((err.status, err.message.as_str()), (Some(500), "Internal Server Error"));
    }

    #[test]
    fn auto_endpoint_is_refused() {
        let cfg = TargetConfig {
            base_url: "http://127.0.0.1:1".into(),
            endpoint: Endpoint::Auto,
            model: "m".into(),
            backend: Backend::Generic,
            api_key: Some("sk-secret".into()),
            stream: true,
            request_timeout: Duration::from_secs(1),
        };
        assert!(matches!(OpenAiTarget::new(cfg.clone()), Err(ClientError::AutoEndpoint)));
        assert!(!format!("{cfg:?}").contains("sk-secret"));
    }

    #[test]
    fn api_key_is_sensitive_and_checked() {
        let h = auth_header(Some("sk-1")).unwrap().unwrap();
        assert!(h.is_sensitive());
        assert_eq!(auth_header(Some("")).unwrap(), None);
        assert!(matches!(auth_header(Some("bad\nkey")), Err(ClientError::BadApiKey)));
    }
}
