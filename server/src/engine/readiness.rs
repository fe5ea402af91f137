//! Waiting for a server to finish loading: polls `GET /v1/models` and `GET /health` every 500 ms and reports
//! each change of state, until `/v1/models` lists a model and `/health` is not 503 — or time runs out. Where the
//! wait stands (attempt, seconds, why) goes to the observer at every poll and at least once a second, for a live
//! status line.

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, Url};
use serde::Deserialize;
use tokio::time::Instant;

use protocol::preflight::WaitProgress;

use super::openai::error_chain;
use super::preflight::PreflightObserver;

/// Time between polls.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// Longest time without a word to the observer while a poll is in flight.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Limit on each poll request.
const POLL_TIMEOUT: Duration = Duration::from_secs(2);

/// What the server looked like when it became ready.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ready {
    /// Models listed by `/v1/models` (at least one).
    pub models: Vec<String>,
    /// Their `owned_by` values, each once (servers name themselves there: `vllm`, `sglang`, `llamacpp`…).
    pub owned_by: Vec<String>,
    /// Status of the last `GET /health`.
    pub health_status: Option<u16>,
    /// Seconds waited.
    pub waited_s: f64,
}

/// Time ran out; the last state seen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NotReady {
    /// Seconds waited.
    pub waited_s: f64,
    /// The last state line.
    pub last_state: String,
}

/// Where to poll, and how.
pub(crate) struct Poller<'a> {
    /// Client (short-lived; not the load client).
    pub client: &'a Client,
    /// `{target}/v1/models`.
    pub models_url: Url,
    /// `{target}/health`.
    pub health_url: Url,
    /// Bearer header, when an API key is set.
    pub auth: Option<HeaderValue>,
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
    #[serde(default)]
    owned_by: Option<String>,
}

/// The outcome of one poll.
enum Poll {
    Ready(ModelList),
    Waiting(String),
}

impl Poller<'_> {
    /// Polls until ready or `timeout`; tells `observer` every change of state (appended to `states` too) and,
    /// while not ready, where the wait stands at every poll and at least once a second.
    pub async fn wait(
        &self,
        timeout: Duration,
        observer: &mut dyn PreflightObserver,
        states: &mut Vec<String>,
    ) -> Result<Ready, NotReady> {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut next_poll = start;
        let mut attempt = 0u32;
        let mut reason = "connecting".to_owned();
        let progress = |attempt: u32, reason: &str| WaitProgress {
            attempt,
            elapsed_s: start.elapsed().as_secs_f64(),
            timeout_s: timeout.as_secs_f64(),
            reason: reason.to_owned(),
        };
        loop {
            attempt += 1;
            let (poll, health_status) = {
                let round = self.poll_once();
                tokio::pin!(round);
                loop {
                    tokio::select! {
                        r = &mut round => break r,
                        () = tokio::time::sleep(HEARTBEAT) => observer.waiting(&progress(attempt, &reason)),
                    }
                }
            };
            let state = match &poll {
                Poll::Ready(list) if list.data.len() == 1 => "ready: 1 model".to_string(),
                Poll::Ready(list) => format!("ready: {} models", list.data.len()),
                Poll::Waiting(why) => format!("waiting: {why}"),
            };
            if states.last() != Some(&state) {
                observer.state(&state);
                states.push(state);
            }
            if let Poll::Waiting(why) = &poll {
                reason.clone_from(why);
                observer.waiting(&progress(attempt, &reason));
            }
            let waited_s = start.elapsed().as_secs_f64();
            match poll {
                Poll::Ready(list) => {
                    let mut owned_by: Vec<String> = Vec::new();
                    for o in list.data.iter().filter_map(|m| m.owned_by.as_deref()).filter(|o| !o.is_empty()) {
                        if !owned_by.iter().any(|seen| seen == o) {
                            owned_by.push(o.to_string());
                        }
                    }
                    let models = list.data.into_iter().map(|m| m.id).collect();
                    return Ok(Ready { models, owned_by, health_status, waited_s });
                }
                Poll::Waiting(_) if Instant::now() >= deadline => {
                    let last_state = states.last().cloned().unwrap_or_default();
                    return Err(NotReady { waited_s, last_state });
                }
                Poll::Waiting(_) => {}
            }
            next_poll += POLL_EVERY;
            tokio::time::sleep_until(next_poll.min(deadline).max(Instant::now())).await;
        }
    }

    /// One round: both GETs at once.
    async fn poll_once(&self) -> (Poll, Option<u16>) {
        let (models, health) = futures::join!(self.get(&self.models_url), self.get(&self.health_url));
        let health_status = health.as_ref().ok().map(|(status, _)| *status);
        let poll = match models {
            Err(why) => Poll::Waiting(why),
            Ok((200, body)) => match serde_json::from_slice::<ModelList>(&body) {
                Ok(list) if list.data.is_empty() => Poll::Waiting("/v1/models lists no model yet".into()),
                Ok(_) if health_status == Some(503) => Poll::Waiting("/health 503".into()),
                Ok(list) => Poll::Ready(list),
                // Its body is not quoted: preflight's states reach whoever asked to check the URL.
                Err(_) => Poll::Waiting("/v1/models answered 200 but not a model list: check the URL".into()),
            },
            Ok((status, _)) => Poll::Waiting(format!("/v1/models {status}")),
        };
        (poll, health_status)
    }

    /// `GET url` → status and body, or why it failed.
    async fn get(&self, url: &Url) -> Result<(u16, bytes::Bytes), String> {
        let mut req = self.client.get(url.clone()).timeout(POLL_TIMEOUT);
        if let Some(auth) = &self.auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        let resp = req.send().await.map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| describe(&e))?;
        Ok((status, body))
    }
}

/// A short human description of why a poll failed.
fn describe(e: &reqwest::Error) -> String {
    let mut root: &(dyn std::error::Error + 'static) = e;
    while let Some(s) = root.source() {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            return "connection refused".into();
        }
        root = s;
    }
    if e.is_timeout() {
        format!("no answer within {} s", POLL_TIMEOUT.as_secs())
    } else if e.is_connect() {
        format!("cannot connect: {root}")
    } else {
        error_chain(e)
    }
}
