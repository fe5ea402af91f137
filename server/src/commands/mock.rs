//! `tokenscope mock`: serves the built-in OpenAI-compatible mock until Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;

use crate::mock::{serve_mock, Identity, MockConfig};

/// Options of `tokenscope mock`.
///
/// Every answer is timed exactly: the first chunk arrives TTFT after the request, each later token ITL after the
/// previous one, so a benchmark of the mock should report back the numbers given here (until the client or the
/// machine saturates; `--slowdown` makes the mock itself degrade under load like a real server).
#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to listen on (0.0.0.0 to reach it from other machines).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Time to first token, in milliseconds.
    #[arg(long, default_value_t = 100.0, value_name = "MS", value_parser = non_negative, allow_negative_numbers = true)]
    pub ttft_ms: f64,
    /// Inter-token latency, in milliseconds: the gap between successive tokens (a chunk of k tokens follows the
    /// previous chunk after k × this).
    #[arg(long, default_value_t = 10.0, value_name = "MS", value_parser = non_negative, allow_negative_numbers = true)]
    pub itl_ms: f64,
    /// Tokens generated when a request gives no `max_tokens`; a request's `max_tokens` is honoured exactly unless
    /// --eos-rate cuts it short.
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub output_tokens: u32,
    /// Fraction of requests, 0 to 1, that hit their end-of-sequence token early, at a seeded random point, and
    /// end with finish_reason `stop` (usage tells the real count), as a real model does — unless the request
    /// forces its length with a field the --identity honours (`ignore_eos: true`; `min_tokens`, `min_new_tokens`,
    /// `options.num_predict` as a floor). 0 (the default) keeps every length exact, so a benchmark of the mock
    /// measures the client, not the dice.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION", value_parser = fraction, allow_negative_numbers = true)]
    pub eos_rate: f64,
    /// Tokens carried by each SSE chunk (like a server's stream interval, or speculative decoding).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub tokens_per_chunk: u32,
    /// Fraction of requests, 0 to 1, answered with HTTP 500 and a JSON error body (0.01 = one in a hundred).
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION", value_parser = fraction, allow_negative_numbers = true)]
    pub error_rate: f64,
    /// The body of the --error-rate failures, sent as it is (text/plain) instead of the JSON error: to see what a
    /// server's own error text (quotes, markup, `=formulas`, escape sequences) becomes in tokenscope's messages
    /// and exports.
    #[arg(long, value_name = "TEXT")]
    pub error_body: Option<String>,
    /// The model name served by /v1/models and accepted in requests (others get 404, like vLLM).
    #[arg(long, default_value = "tokenscope-mock")]
    pub model: String,
    /// Load-dependent slowdown: TTFT and ITL grow by this fraction per request in flight
    /// (0.002 → twice as slow at 500 in flight). 0 keeps timing constant at any load.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION", value_parser = non_negative, allow_negative_numbers = true)]
    pub slowdown: f64,
    /// Pretend to load a model this long (e.g. 30s, 2m): /health, /v1/models and generation answer 503
    /// until then. Shows how preflight waits for a server that is still starting.
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub startup_delay: Duration,
    /// Answer /v1/chat/completions with 404, like a completions-only server.
    #[arg(long)]
    pub no_chat: bool,
    /// Never send `usage`, even when asked: clients must count tokens from chunks.
    #[arg(long)]
    pub no_usage: bool,
    /// Answer POST /tokenize with 404, like a server without a tokenizer endpoint. Otherwise it takes llama.cpp's
    /// `{"content"}` or vLLM's `{"prompt"}` and counts one token per whitespace-separated word, as
    /// usage.prompt_tokens does.
    #[arg(long)]
    pub no_tokenize: bool,
    /// Play this server for backend detection: expose its identifying endpoints (vLLM's /version, SGLang's
    /// /get_model_info, TGI's /info, llama.cpp's /props, Ollama's /api/version…) and its /v1/models owned_by,
    /// and honour only its own length fields. `mock` (the default) answers GET /version with
    /// `"server": "tokenscope-mock"` and honours every field.
    #[arg(long, value_enum, default_value = "mock")]
    pub identity: Identity,
    /// Seed choosing which requests fail under --error-rate and where --eos-rate ends them.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Answer the first N generation requests (preflight's probes included) with HTTP 500, like a server whose
    /// first answers after loading fail: preflight retries them, a run counts them.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fail_first: u64,
    /// Play a hung server: generation requests from number N on (counting from 0, preflight's probes included)
    /// are accepted and never answered, so clients hit their request timeout.
    #[arg(long, value_name = "N")]
    pub hang_after: Option<u64>,
}

impl MockArgs {
    /// The mock's configuration.
    pub fn config(&self) -> MockConfig {
        MockConfig {
            ttft_ms: self.ttft_ms,
            itl_ms: self.itl_ms,
            output_tokens: self.output_tokens,
            eos_rate: self.eos_rate,
            tokens_per_chunk: self.tokens_per_chunk,
            error_rate: self.error_rate,
            error_body: self.error_body.clone(),
            model: self.model.clone(),
            slowdown: self.slowdown,
            startup_delay_s: self.startup_delay.as_secs_f64(),
            no_chat: self.no_chat,
            no_usage: self.no_usage,
            no_tokenize: self.no_tokenize,
            identity: self.identity,
            seed: self.seed,
            fail_first: self.fail_first,
            hang_after: self.hang_after,
        }
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a number ≥ 0, not {s}"));
    }
    Ok(v)
}

fn fraction(s: &str) -> Result<f64, String> {
    let v = non_negative(s)?;
    if v > 1.0 {
        return Err(format!("must be between 0 and 1 (a fraction of requests, 0.05 = 5 %), not {s}"));
    }
    Ok(v)
}

/// Runs `tokenscope mock`.
pub async fn main(args: MockArgs) -> anyhow::Result<ExitCode> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < 20_000 => eprintln!(
            "note: at most {limit} open files: the mock can hold about that many connections (raise `ulimit -n`)"
        ),
        Ok(_) => {}
        Err(err) => eprintln!("note: cannot raise the open-file limit: {err}"),
    }
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{} (--host/--port)", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let cfg = args.config();
    eprintln!(
        "tokenscope mock — OpenAI-compatible server at http://{addr} (model {}, TTFT {} ms, ITL {} ms)",
        cfg.model, cfg.ttft_ms, cfg.itl_ms
    );
    if cfg.identity != Identity::Mock || cfg.eos_rate > 0.0 {
        let identity = clap::ValueEnum::to_possible_value(&cfg.identity).map(|v| v.get_name().to_owned());
        eprintln!(
            "playing {}; {:.0} % of answers end early unless the request forces its length",
            identity.unwrap_or_default(),
            cfg.eos_rate * 100.0
        );
    }
    eprintln!(
        "try: tokenscope run --target http://{addr}   (preflight detects the backend from what the mock exposes)"
    );
    tokio::select! {
        served = serve_mock(listener, cfg) => served.context("the mock server stopped")?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        mock: MockArgs,
    }

    #[test]
    fn defaults_match_the_config_defaults() {
        let cli = Cli::try_parse_from(["mock"]).unwrap();
        assert_eq!(cli.mock.config(), MockConfig::default());
        assert_eq!(cli.mock.port, 8000);
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (flag, value) in [
            ("--error-rate", "1.5"),
            ("--error-rate", "-0.1"),
            ("--eos-rate", "2"),
            ("--ttft-ms", "-3"),
            ("--slowdown", "x"),
            ("--identity", "openai"),
        ] {
            let err = Cli::try_parse_from(["mock", flag, value]).err().unwrap().to_string();
            assert!(err.contains(flag), "{err}");
        }
        let err = Cli::try_parse_from(["mock", "--error-rate", "2"]).err().unwrap().to_string();
        assert!(err.contains("between 0 and 1"), "{err}");
    }

    #[test]
    fn startup_delay_reads_human_durations() {
        let cli = Cli::try_parse_from(["mock", "--startup-delay", "1m 30s", "--no-chat"]).unwrap();
        assert_eq!(cli.mock.config().startup_delay_s, 90.0);
        assert!(cli.mock.config().no_chat);
    }

    #[test]
    fn realism_flags_reach_the_config() {
        let cli =
            Cli::try_parse_from(["mock", "--eos-rate", "0.5", "--no-tokenize", "--identity", "llama-cpp"]).unwrap();
        let cfg = cli.mock.config();
        assert_eq!((cfg.eos_rate, cfg.no_tokenize, cfg.identity), (0.5, true, Identity::LlamaCpp));
        let cli = Cli::try_parse_from(["mock", "--error-rate", "1", "--error-body", "=cmd|' /C calc'!A0"]).unwrap();
        assert_eq!(cli.mock.config().error_body.as_deref(), Some("=cmd|' /C calc'!A0"));
    }
}
