//! Retrying preflight's requests on transient failures: one HTTP 500 or reset connection from a server that has
//! just finished loading must not refuse a run. A failure that may pass on its own ([`transient`]) is retried up to
//! [`ATTEMPTS`] times with a growing pause; how many attempts it took is reported ("HTTP 500 Internal Server Error
//! on attempt 1, passed on attempt 2 of 3").

use std::future::Future;
use std::time::Duration;

use super::super::target::{ErrorClass, RequestError, RequestResult};

/// Requests sent at most for one preflight request.
pub const ATTEMPTS: u32 = 3;
/// Pause before the second attempt; each later pause is [`BACKOFF_FACTOR`] times longer, at most [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const BACKOFF_FACTOR: u32 = 4;
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Whether a failure may pass on its own: a 5xx, a refused or reset connection, a timeout, a broken body. A 4xx,
/// an answer that does not parse or a stream without an end are the server's settled answers.
pub fn transient(e: &RequestError) -> bool {
    match e.class {
        ErrorClass::HttpStatus => e.status.is_some_and(|s| (500..600).contains(&s)),
        ErrorClass::Connect | ErrorClass::Timeout | ErrorClass::Other => true,
        ErrorClass::Parse | ErrorClass::StreamEnded => false,
    }
}

/// A request's last answer and the transient failures before it.
#[derive(Debug)]
pub struct Tried {
    /// The last attempt's result (a success, a settled failure, or the last transient one).
    pub result: RequestResult,
    /// Each failed attempt before it, in our words (`HTTP 500 Internal Server Error`, `connection refused`).
    pub failures: Vec<String>,
}

impl Tried {
    /// Requests sent.
    pub fn attempts(&self) -> u32 {
        self.failures.len() as u32 + 1
    }

    /// `{what}: HTTP 500 … on attempt 1, passed on attempt 2 of 3` when it passed after retries; else `None`.
    pub fn passed_after_retries(&self, what: &str) -> Option<String> {
        if self.failures.is_empty() || self.result.error.is_some() {
            return None;
        }
        let failed: Vec<String> =
            self.failures.iter().enumerate().map(|(i, f)| format!("{f} on attempt {}", i + 1)).collect();
        Some(format!("{what}: {}, passed on attempt {} of {ATTEMPTS}", failed.join(", "), self.attempts()))
    }
}

/// A failure in a few words: the status and its reason phrase, or the client's error.
pub fn short(e: &RequestError) -> String {
    match e.status {
        Some(s) => format!("HTTP {s} {}", e.message.trim()).trim_end().to_owned(),
        None => e.message.trim().to_owned(),
    }
}

/// Sends with `send` until it succeeds, fails in a way `retry` does not take, or [`ATTEMPTS`] are spent.
pub async fn with_retries<F, Fut>(mut send: F, retry: impl Fn(&RequestError) -> bool) -> Tried
where
    F: FnMut() -> Fut,
    Fut: Future<Output = RequestResult>,
{
    let mut failures = Vec::new();
    let mut pause = FIRST_BACKOFF;
    loop {
        let result = send().await;
        match &result.error {
            Some(e) if failures.len() as u32 + 1 < ATTEMPTS && retry(e) => {
                failures.push(short(e));
                tokio::time::sleep(pause).await;
                pause = (pause * BACKOFF_FACTOR).min(MAX_BACKOFF);
            }
            _ => return Tried { result, failures },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::target::TokenSource;

    fn result(error: Option<(ErrorClass, Option<u16>)>) -> RequestResult {
        let at = std::time::Instant::now();
        RequestResult {
            index: 0,
            sent_at: at,
            chunks: vec![],
            done_at: at,
            output_tokens: 0,
            token_source: TokenSource::Chunks,
            prompt_tokens: None,
            retried: false,
            error: error.map(|(class, status)| RequestError {
                class,
                status,
                message: if status.is_some() { "Internal Server Error".into() } else { "connection reset".into() },
            }),
        }
    }

    #[test]
    fn only_failures_that_may_pass_are_transient() {
        let e = |class, status| RequestError { class, status, message: String::new() };
        assert!(transient(&e(ErrorClass::HttpStatus, Some(500))));
        assert!(transient(&e(ErrorClass::HttpStatus, Some(503))));
        assert!(!transient(&e(ErrorClass::HttpStatus, Some(404))));
        assert!(!transient(&e(ErrorClass::HttpStatus, None)));
        assert!(transient(&e(ErrorClass::Connect, None)) && transient(&e(ErrorClass::Timeout, None)));
        assert!(!transient(&e(ErrorClass::Parse, None)) && !transient(&e(ErrorClass::StreamEnded, None)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_retried_and_counted() {
        let mut answers = vec![result(None), result(Some((ErrorClass::HttpStatus, Some(500))))];
        let tried = with_retries(|| std::future::ready(answers.pop().unwrap()), transient).await;
        assert!(tried.result.error.is_none());
        assert_eq!(tried.attempts(), 2);
        assert_eq!(
            tried.passed_after_retries("probe of /v1/chat/completions").unwrap(),
            "probe of /v1/chat/completions: HTTP 500 Internal Server Error on attempt 1, passed on attempt 2 of 3"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_three_attempts_with_growing_pauses() {
        let start = tokio::time::Instant::now();
        let mut sent = 0;
        let tried = with_retries(
            || {
                sent += 1;
                std::future::ready(result(Some((ErrorClass::Other, None))))
            },
            transient,
        )
        .await;
        assert_eq!((sent, tried.attempts()), (3, 3));
        assert_eq!(tried.failures, ["connection reset", "connection reset"]);
        assert!(tried.result.error.is_some() && tried.passed_after_retries("x").is_none());
        assert_eq!(start.elapsed(), Duration::from_millis(2500), "0.5 s, then 2 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_settled_failure_is_not_retried() {
        let mut sent = 0;
        let tried = with_retries(
            || {
                sent += 1;
                std::future::ready(result(Some((ErrorClass::HttpStatus, Some(404)))))
            },
            transient,
        )
        .await;
        assert_eq!((sent, tried.attempts()), (1, 1));
    }
}
