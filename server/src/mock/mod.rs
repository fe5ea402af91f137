//! `tokenscope mock`: a built-in OpenAI-compatible server with exact, configurable timing (TTFT, inter-token
//! latency, load-dependent slowdown), injected failures and a loading phase, for trying tokenscope without a GPU
//! and for tests. Cheap enough per stream to hold 10 000 concurrent streams on two cores.
//!
//! Realism on request: early end of sequence (`eos_rate`) unless the request forces its length, a tokenizer
//! behind `POST /tokenize` that also counts `usage.prompt_tokens`, and the identity of a real server (`identity`)
//! for backend detection.
//!
//! Routes: `POST /v1/completions`, `POST /v1/chat/completions` (SSE or not), `GET /v1/models`, `GET /health`,
//! `POST /tokenize`, and the identity's own (`GET /version` for the mock's own).

mod error_body;
mod handlers;
mod identity;
mod length;
mod precise;
mod stream;
mod tokenize;

pub use identity::Identity;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// How the mock behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Time between successive tokens, ms (a chunk of k tokens follows the previous one after k × this).
    pub itl_ms: f64,
    /// Tokens generated when a request gives no `max_tokens` (a given `max_tokens` is honoured exactly, unless an
    /// early end of sequence cuts it short: see `eos_rate`).
    pub output_tokens: u32,
    /// Fraction of requests (0..1) that reach their end-of-sequence token early, at a seeded point, and finish
    /// with `stop` — unless the request forces its length (`ignore_eos`, `min_tokens`… as the identity honours).
    pub eos_rate: f64,
    /// Tokens per SSE chunk (0 counts as 1).
    pub tokens_per_chunk: u32,
    /// Fraction of requests (0..1) answered with HTTP 500 and a JSON error body.
    pub error_rate: f64,
    /// The body of those failures, sent as it is (`text/plain`) instead of the JSON error: for showing what a
    /// server's own error text becomes in messages and exports.
    pub error_body: Option<String>,
    /// The one model served.
    pub model: String,
    /// Fractional increase of TTFT and ITL per request in flight (0.002: 2× slower at 500 in flight).
    pub slowdown: f64,
    /// Seconds after start during which every route answers 503 "loading".
    pub startup_delay_s: f64,
    /// Answer `/v1/chat/completions` with 404, like a completions-only server.
    pub no_chat: bool,
    /// Never send `usage`, even when asked.
    pub no_usage: bool,
    /// Answer `POST /tokenize` with 404.
    pub no_tokenize: bool,
    /// The server the mock plays: its identifying endpoints and `owned_by`, and the length fields it honours.
    pub identity: Identity,
    /// Seed of the injected failures.
    pub seed: u64,
    /// The first this many generation requests (0-based count, preflight's probes included) are answered with
    /// HTTP 500, like a server whose first answers after loading fail: for showing that preflight retries them.
    pub fail_first: u64,
    /// A hanging server: generation requests from this number on (0-based, preflight's probes included) are
    /// accepted and never answered, so clients see only their own timeouts. `None`: never.
    pub hang_after: Option<u64>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            ttft_ms: 100.0,
            itl_ms: 10.0,
            output_tokens: 128,
            eos_rate: 0.0,
            tokens_per_chunk: 1,
            error_rate: 0.0,
            error_body: None,
            model: "tokenscope-mock".into(),
            slowdown: 0.0,
            startup_delay_s: 0.0,
            no_chat: false,
            no_usage: false,
            no_tokenize: false,
            identity: Identity::Mock,
            seed: 0,
            fail_first: 0,
            hang_after: None,
        }
    }
}

/// The mock's shared state.
struct Mock {
    cfg: MockConfig,
    ttft: Duration,
    itl: Duration,
    ready_at: Instant,
    /// Unix time of start, for the `created` fields.
    created: u64,
    in_flight: AtomicUsize,
    requests: AtomicU64,
}

impl Mock {
    fn new(cfg: MockConfig) -> Self {
        let ms = |v: f64| Duration::try_from_secs_f64(v / 1000.0).unwrap_or(Duration::ZERO);
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let startup = Duration::try_from_secs_f64(cfg.startup_delay_s).unwrap_or(Duration::ZERO);
        Mock {
            ttft: ms(cfg.ttft_ms),
            itl: ms(cfg.itl_ms),
            ready_at: Instant::now() + startup,
            created,
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            cfg,
        }
    }

    fn loading(&self) -> bool {
        Instant::now() < self.ready_at
    }

    /// How much slower than configured the mock is right now.
    fn slowdown_factor(&self) -> f64 {
        let f = 1.0 + self.cfg.slowdown * self.in_flight.load(Ordering::Relaxed) as f64;
        if f.is_finite() && f > 0.0 {
            f
        } else {
            1.0
        }
    }

    /// Whether request number `n` is one the mock never answers (`hang_after`).
    fn hangs(&self, n: u64) -> bool {
        self.cfg.hang_after.is_some_and(|h| n >= h)
    }

    /// Whether request number `n` is one of the injected failures: one of the first `fail_first`, or one drawn at
    /// `error_rate` (deterministic for a seed).
    fn fails(&self, n: u64) -> bool {
        n < self.cfg.fail_first
            || self.cfg.error_rate > 0.0
                && unit(splitmix64(self.cfg.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))) < self.cfg.error_rate
    }

    /// Where request number `n` reaches its end-of-sequence token among `limit` planned tokens: for a fraction
    /// `eos_rate` of requests, a point drawn uniformly in 1..limit (at least one token, never the last); else
    /// `None`. Deterministic for a seed, and drawn apart from the failures.
    fn eos_at(&self, n: u64, limit: u32) -> Option<u32> {
        if self.cfg.eos_rate <= 0.0 || limit < 2 {
            return None;
        }
        let h = splitmix64(self.cfg.seed ^ EOS_SALT ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if unit(h) >= self.cfg.eos_rate {
            return None;
        }
        let at = 1 + (unit(splitmix64(h)) * f64::from(limit - 1)) as u32;
        Some(at.min(limit - 1))
    }
}

/// Counts a request in flight until dropped (when its answer is complete or its client went away).
struct InFlight(Arc<Mock>);

impl InFlight {
    fn enter(mock: &Arc<Mock>) -> Self {
        mock.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(mock))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Keeps the end-of-sequence draws independent of the failure draws of the same seed.
const EOS_SALT: u64 = 0x5EED_E0E0_0000_0001;

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform value in [0, 1) from 64 random bits.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The mock's routes. The loading phase (`startup_delay_s`) starts now.
pub fn mock_router(cfg: MockConfig) -> Router {
    let identity = cfg.identity;
    let mock = Arc::new(Mock::new(cfg));
    Router::new()
        .route("/health", get(handlers::health))
        .route("/v1/models", get(handlers::models))
        .route("/v1/completions", post(handlers::completions))
        .route("/v1/chat/completions", post(handlers::chat))
        .route("/tokenize", post(tokenize::tokenize))
        .merge(identity.routes())
        .with_state(mock)
}

/// Serves the mock on `listener` (TCP_NODELAY on every connection, so small SSE frames leave at once).
pub async fn serve_mock(listener: TcpListener, cfg: MockConfig) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {err}");
        }
    });
    axum::serve(listener, mock_router(cfg)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_rate_hits_its_fraction() {
        for rate in [0.0, 0.1, 0.5, 1.0] {
            let mock = Mock::new(MockConfig { error_rate: rate, seed: 7, ..Default::default() });
            let fails = (0..10_000).filter(|&n| mock.fails(n)).count() as f64 / 10_000.0;
            assert!((fails - rate).abs() < 0.02, "rate {rate}: {fails}");
        }
    }

    #[test]
    fn eos_rate_hits_its_fraction_at_points_inside_the_answer() {
        for rate in [0.0, 0.25, 1.0] {
            let mock = Mock::new(MockConfig { eos_rate: rate, seed: 3, ..Default::default() });
            let points: Vec<u32> = (0..10_000).filter_map(|n| mock.eos_at(n, 100)).collect();
            let frac = points.len() as f64 / 10_000.0;
            assert!((frac - rate).abs() < 0.02, "rate {rate}: {frac}");
            assert!(points.iter().all(|p| (1..100).contains(p)), "at least one token, never the last");
        }
        let all = Mock::new(MockConfig { eos_rate: 1.0, ..Default::default() });
        assert_eq!((all.eos_at(0, 1), all.eos_at(0, 0)), (None, None), "nothing to cut");
        let mean = (0..10_000).filter_map(|n| all.eos_at(n, 101)).map(f64::from).sum::<f64>() / 10_000.0;
        assert!((mean - 50.5).abs() < 2.0, "uniform over 1..=100: mean {mean}");
    }

    #[test]
    fn eos_and_failures_are_drawn_apart() {
        let mock = Mock::new(MockConfig { eos_rate: 0.5, error_rate: 0.5, seed: 9, ..Default::default() });
        let same = (0..10_000).filter(|&n| mock.fails(n) == mock.eos_at(n, 100).is_some()).count();
        assert!((4_500..5_500).contains(&same), "{same} of 10 000 agree");
    }

    #[test]
    fn slowdown_grows_with_requests_in_flight() {
        let mock = Arc::new(Mock::new(MockConfig { slowdown: 0.002, ..Default::default() }));
        assert_eq!(mock.slowdown_factor(), 1.0);
        let guards: Vec<_> = (0..500).map(|_| InFlight::enter(&mock)).collect();
        assert!((mock.slowdown_factor() - 2.0).abs() < 1e-9);
        drop(guards);
        assert_eq!(mock.in_flight.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn bad_timings_do_not_panic() {
        let mock = Mock::new(MockConfig {
            ttft_ms: -1.0,
            itl_ms: f64::NAN,
            startup_delay_s: f64::INFINITY,
            ..Default::default()
        });
        assert_eq!((mock.ttft, mock.itl), (Duration::ZERO, Duration::ZERO));
    }

    #[test]
    fn fail_first_fails_only_the_first_requests() {
        let mock = Mock::new(MockConfig { fail_first: 2, ..Default::default() });
        assert_eq!((0..4).map(|n| mock.fails(n)).collect::<Vec<_>>(), [true, true, false, false]);
        assert!(!Mock::new(MockConfig::default()).fails(0));
    }

    #[test]
    fn hang_after_counts_from_zero() {
        let mock = Mock::new(MockConfig { hang_after: Some(3), ..Default::default() });
        assert_eq!((0..6).map(|n| mock.hangs(n)).collect::<Vec<_>>(), [false, false, false, true, true, true]);
        assert!(!Mock::new(MockConfig::default()).hangs(u64::MAX));
    }
}
