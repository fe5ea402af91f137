//! The options of `tokenscope run` and their translation into a [`RunSpec`]: every problem comes back as a
//! [`FieldError`] on the JSON field, which [`cli_flag`] names as a flag.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use protocol::spec::{Arrival, Backend, Endpoint, FieldError, LoadSpec, RunSpec, Slo, TokenRange, WorkloadSpec};
use protocol::validation::MAX_CONCURRENCY;

/// Measured requests when neither `--requests`, `--duration` nor `--dataset` bounds the run.
pub const DEFAULT_REQUESTS: u64 = 100;
/// Prompt length when none is given, tokens.
pub const DEFAULT_INPUT_TOKENS: u32 = 512;
/// Output length when none is given, tokens.
pub const DEFAULT_OUTPUT_TOKENS: u32 = 128;
/// Stop when the first this-many requests all fail.
pub const FAIL_FAST_AFTER: u32 = 20;

const EXAMPLES: &str = "\
Examples:
  # 8 requests in flight, 200 measured requests, after 10 warmup requests
  tokenscope run --target http://127.0.0.1:8000 --concurrency 8 --requests 200 --warmup 10

  # 4 requests/s arriving as a Poisson process for one minute, prompts of 1000-2000 tokens
  tokenscope run --target http://127.0.0.1:8000 --rate 4 --duration 60s --input-tokens 1000..2000

  # find the knee: one step per concurrency, the best step meeting the SLOs is marked
  tokenscope run --target http://127.0.0.1:8000 --concurrency 1 --sweep 1,8,32,128 --requests 256 \\
      --slo ttft_ms=500,tpot_ms=50 --json sweep.json

  # replay a dataset (JSONL or ShareGPT, detected) through the chat endpoint of a vLLM server
  tokenscope run --target http://pod:8000 --backend vllm --endpoint chat --concurrency 32 --dataset sharegpt.json

Exit status: 0 success, 1 the run failed (nothing succeeded, early stop, or an SLO missed), 2 bad options,
130 interrupted (Ctrl-C; what completed is still reported and written).
Metric definitions: docs/metrics.md.";

/// How arrivals of a `--rate` load are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrivalArg {
    /// Exponential gaps (a Poisson process).
    Poisson,
    /// Evenly spaced.
    Constant,
    /// Gamma gaps: --burstiness below 1 is burstier than Poisson, above 1 more regular.
    Gamma,
}

/// `--warmup`: a request count or a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warmup {
    /// The first N requests.
    Requests(u64),
    /// Requests starting in the first S seconds.
    Seconds(f64),
}

/// Options of `tokenscope run`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000 (a trailing /v1 is fine).
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// A name for the run, shown in the archive, on its page and in exports (e.g. "TurboMind c=16"). Default: none
    /// (the archive shows the run's id).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub name: String,
    /// Model to request. Default: the only model listed by /v1/models.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Endpoint to drive.
    #[arg(long, value_enum, default_value = "auto")]
    pub endpoint: Endpoint,
    /// Server type: adds the fields it honours to force exactly --output-tokens tokens (ignore_eos…).
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Closed loop: keep N requests in flight (each completion sends the next).
    #[arg(long, value_name = "N", allow_negative_numbers = true, conflicts_with = "rate")]
    pub concurrency: Option<i64>,
    /// Open loop: send R requests per second on a schedule, whatever the server does; latencies count from the
    /// scheduled time.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Spacing of --rate arrivals. Default: poisson (gamma when --burstiness is given).
    #[arg(long, value_enum)]
    pub arrival: Option<ArrivalArg>,
    /// Shape of --arrival gamma: 1 = Poisson, 0.5 burstier, 4 more regular.
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub burstiness: Option<f64>,
    /// Measured requests (per sweep step). Default: 100 when no --duration or --dataset bounds the run.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub requests: Option<i64>,
    /// Stop sending this long after the first measured request (per sweep step): 60s, 5m, 90.
    #[arg(long, value_name = "DURATION", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Leave the first N requests, or the first 10s, out of every figure.
    #[arg(long, value_name = "N|DURATION", value_parser = parse_warmup)]
    pub warmup: Option<Warmup>,
    /// Synthetic prompt length in tokens: 512, or a uniform range 256..1024. Default: 512.
    #[arg(long, value_name = "N|MIN..MAX", value_parser = parse_range, conflicts_with = "dataset")]
    pub input_tokens: Option<TokenRange>,
    /// Requested output length (max_tokens): 128, or a range 64..256. With --dataset: the length for prompts
    /// that give none. Default: 128.
    #[arg(long, value_name = "N|MIN..MAX", value_parser = parse_range)]
    pub output_tokens: Option<TokenRange>,
    /// Prompts from a file: JSON lines ({"prompt": ...} or {"messages": [...]}, optional "max_tokens") or a
    /// ShareGPT JSON array; detected from the content. Without --requests/--duration each prompt is sent once.
    #[arg(long, value_name = "FILE")]
    pub dataset: Option<PathBuf>,
    /// Seed of every random choice (prompts, lengths, arrivals): the seed a report records repeats its run exactly.
    /// Default: a fresh seed per run, so no run resends an earlier run's prompts to a server's prefix cache.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// The model's tokenizer, for prompts of exactly --input-tokens tokens and exact output counts: a
    /// tokenizer.json, a folder holding one (a Hugging Face model folder) or a Hugging Face model id (downloaded
    /// once into the HF cache). Default: the server's own /tokenize when it has one, else an estimate (labelled).
    #[arg(long, value_name = "PATH|DIR|ID")]
    pub tokenizer: Option<String>,
    /// Fail the run (verdict, exit status 1) when more than this fraction of its measured requests fail.
    #[arg(long, value_name = "FRACTION", default_value_t = protocol::spec::DEFAULT_MAX_ERROR_RATE, allow_negative_numbers = true)]
    pub max_error_rate: f64,
    /// Objectives for goodput and the pass/fail exit status, met at p99: ttft_ms=500,tpot_ms=50,e2e_ms=10000.
    #[arg(long, value_name = "OBJECTIVES", value_parser = parse_slo)]
    pub slo: Option<Slo>,
    /// One step per value, replacing --concurrency (whole numbers) or --rate: 1,8,32,128.
    #[arg(long, value_name = "V,V,...", value_delimiter = ',', allow_negative_numbers = true)]
    pub sweep: Vec<f64>,
    /// Bearer token for the server.
    #[arg(long, value_name = "KEY", env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Ask for whole responses instead of a stream (TTFT then equals E2E; no ITL).
    #[arg(long)]
    pub no_stream: bool,
    /// Give up on one request after this long.
    #[arg(long, value_name = "DURATION", default_value = "600s", value_parser = parse_seconds)]
    pub request_timeout: f64,
    /// Wait this long for the server to come up (model loading) before failing.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_seconds)]
    pub ready_timeout: f64,
    /// Write the report (or the sweep report) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the run's charts (tokens/s, latency, load, GPU telemetry, latency distribution) as one PNG to FILE:
    /// the image the dashboard's "charts (PNG)" download gives.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// No progress bar, preflight lines or table: only errors and the verdict (on stderr). Pair with --json.
    #[arg(short, long)]
    pub quiet: bool,
    /// Telemetry and archive options.
    #[command(flatten)]
    pub record: super::record::RecordArgs,
}

impl RunArgs {
    /// The run these options describe, validated; the errors name JSON fields (see `cli_flag`).
    pub fn to_spec(&self) -> Result<RunSpec, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut err = |field: &str, message: &str| {
            errs.push(FieldError { field: field.to_owned(), message: message.to_owned() });
        };
        let load = self.load(&mut err);
        let requests = match self.requests {
            Some(n) if n < 1 => {
                err("requests", "must be at least 1 (measured requests per step)");
                None
            }
            n => n.map(|n| n as u64),
        };
        let workload = self.workload(&mut err);
        let (warmup_requests, warmup_s) = match self.warmup {
            None => (0, 0.0),
            Some(Warmup::Requests(n)) => (n, 0.0),
            Some(Warmup::Seconds(s)) => (0, s),
        };
        let bounded = requests.is_some() || self.duration.is_some() || self.dataset.is_some();
        let spec = RunSpec {
            name: self.name.trim().to_owned(),
            target: self.target.trim().to_owned(),
            model: self.model.clone().filter(|m| !m.trim().is_empty()),
            endpoint: self.endpoint,
            backend: self.backend,
            api_key: self.api_key.clone().filter(|k| !k.is_empty()),
            stream: !self.no_stream,
            load: load.unwrap_or(LoadSpec::Concurrency { concurrency: 1 }),
            sweep: self.sweep.clone(),
            requests: if bounded { requests } else { Some(DEFAULT_REQUESTS) },
            duration_s: self.duration,
            warmup_requests,
            warmup_s,
            workload,
            seed: self.seed,
            tokenizer: self.tokenizer.clone(),
            slo: self.slo.unwrap_or_default(),
            request_timeout_s: self.request_timeout,
            ready_timeout_s: self.ready_timeout,
            fail_fast_after: FAIL_FAST_AFTER,
            max_error_rate: self.max_error_rate,
        };
        for e in spec.validate() {
            if !errs.iter().any(|known: &FieldError| known.field == e.field) {
                errs.push(e);
            }
        }
        if errs.is_empty() {
            Ok(spec)
        } else {
            Err(errs)
        }
    }

    fn load(&self, err: &mut impl FnMut(&str, &str)) -> Option<LoadSpec> {
        let arrival = match (self.arrival, self.burstiness) {
            (None | Some(ArrivalArg::Poisson), None) => Arrival::Poisson,
            (Some(ArrivalArg::Constant), None) => Arrival::Constant,
            (None | Some(ArrivalArg::Gamma), Some(b)) => Arrival::Gamma { burstiness: b },
            (Some(ArrivalArg::Gamma), None) => {
                err("load.arrival.burstiness", "--arrival gamma needs --burstiness B (1 = Poisson, 0.5 burstier)");
                Arrival::Poisson
            }
            (Some(_), Some(_)) => {
                err("load.arrival.burstiness", "applies only to --arrival gamma");
                Arrival::Poisson
            }
        };
        match (self.concurrency, self.rate) {
            (Some(_), Some(_)) => {
                err("load", "give either --concurrency (closed loop) or --rate (open loop), not both");
                None
            }
            (Some(c), None) => {
                if self.arrival.is_some() || self.burstiness.is_some() {
                    err("load.arrival", "--arrival and --burstiness apply only to --rate loads");
                }
                match u32::try_from(c) {
                    Ok(c) if (1..=MAX_CONCURRENCY).contains(&c) => Some(LoadSpec::Concurrency { concurrency: c }),
                    _ => {
                        err("load.concurrency", &format!("must be between 1 and {MAX_CONCURRENCY}, e.g. 8"));
                        None
                    }
                }
            }
            (None, Some(r)) => Some(LoadSpec::Rate { rate_rps: r, arrival }),
            (None, None) if !self.sweep.is_empty() => Some(LoadSpec::Concurrency { concurrency: 1 }),
            (None, None) => {
                err("load", "give --concurrency N (N requests in flight) or --rate R (R requests per second)");
                None
            }
        }
    }

    fn workload(&self, err: &mut impl FnMut(&str, &str)) -> WorkloadSpec {
        let output = self.output_tokens.unwrap_or(TokenRange::fixed(DEFAULT_OUTPUT_TOKENS));
        let Some(path) = &self.dataset else {
            let input = self.input_tokens.unwrap_or(TokenRange::fixed(DEFAULT_INPUT_TOKENS));
            return WorkloadSpec::Synthetic { input_tokens: input, output_tokens: output };
        };
        if output.min != output.max {
            err(
                "workload.output_tokens",
                "with --dataset give one length (for prompts without max_tokens), not a range",
            );
        }
        let shown = path.display().to_string();
        let kind = match first_byte(path) {
            Ok(b) => b,
            Err(e) => {
                err("workload.path", &format!("cannot read {shown}: {e}"));
                None
            }
        };
        match kind {
            Some(b'[') => WorkloadSpec::ShareGpt { path: shown, output_tokens: output.max },
            Some(b'{') | None => WorkloadSpec::Jsonl { path: shown, output_tokens: output.max },
            Some(_) => {
                err(
                    "workload.path",
                    &format!("{shown} is neither JSON lines (starts with {{) nor ShareGPT (starts with [)"),
                );
                WorkloadSpec::Jsonl { path: shown, output_tokens: output.max }
            }
        }
    }
}

/// The first byte of `path` that is not white space (enough to tell JSON lines from a ShareGPT array).
fn first_byte(path: &std::path::Path) -> std::io::Result<Option<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(b) = buf[..n].iter().find(|b| !b.is_ascii_whitespace()) {
            return Ok(Some(*b));
        }
    }
}

/// `90`, `1.5` (seconds) or a humantime duration (`60s`, `5m`, `1h30m`), as seconds.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    if let Ok(v) = s.trim().parse::<f64>() {
        return Ok(v);
    }
    humantime::parse_duration(s.trim())
        .map(|d| d.as_secs_f64())
        .map_err(|e| format!("{e}; write seconds (90) or a duration (60s, 5m, 1h)"))
}

/// `10` (requests) or `10s` (a duration).
pub fn parse_warmup(s: &str) -> Result<Warmup, String> {
    if let Ok(n) = s.trim().parse::<u64>() {
        return Ok(Warmup::Requests(n));
    }
    humantime::parse_duration(s.trim())
        .map(|d| Warmup::Seconds(d.as_secs_f64()))
        .map_err(|_| "write a request count (10) or a duration (10s, 1m)".to_owned())
}

/// `N` or `MIN..MAX` (inclusive), whole numbers of tokens.
pub fn parse_range(s: &str) -> Result<TokenRange, String> {
    let num = |v: &str| {
        v.trim().parse::<u32>().map_err(|_| format!("`{v}` is not a whole number of tokens; write N or MIN..MAX"))
    };
    match s.split_once("..") {
        Some((a, b)) => Ok(TokenRange { min: num(a)?, max: num(b.trim_start_matches('='))? }),
        None => num(s).map(TokenRange::fixed),
    }
}

/// `ttft_ms=500,tpot_ms=50,e2e_ms=10000` (any subset; the `_ms` may be left out).
pub fn parse_slo(s: &str) -> Result<Slo, String> {
    let mut slo = Slo::default();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) =
            part.split_once('=').ok_or_else(|| format!("`{part}` is not KEY=MS; write e.g. ttft_ms=500,tpot_ms=50"))?;
        let v: f64 = value.trim().parse().map_err(|_| format!("`{value}` is not a number of milliseconds"))?;
        let slot = match key.trim() {
            "ttft_ms" | "ttft" => &mut slo.ttft_ms,
            "tpot_ms" | "tpot" => &mut slo.tpot_ms,
            "e2e_ms" | "e2e" => &mut slo.e2e_ms,
            other => return Err(format!("unknown objective `{other}`: use ttft_ms=, tpot_ms= or e2e_ms=")),
        };
        *slot = Some(v);
    }
    if slo.is_empty() {
        return Err("give at least one objective, e.g. ttft_ms=500".into());
    }
    Ok(slo)
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;

/// The `tokenscope run` option that sets a spec field (`load.concurrency` → `--concurrency`), for messages.
pub fn cli_flag(field: &str) -> Option<&'static str> {
    Some(match field {
        "name" => "--name",
        "target" => "--target",
        "model" => "--model",
        "endpoint" => "--endpoint",
        "backend" => "--backend",
        "api_key" => "--api-key",
        "stream" => "--no-stream",
        "load" => "--concurrency/--rate",
        "load.concurrency" => "--concurrency",
        "load.rate_rps" => "--rate",
        "load.arrival" => "--arrival",
        "load.arrival.burstiness" => "--burstiness",
        "sweep" => "--sweep",
        "requests" => "--requests",
        "duration_s" => "--duration",
        "warmup_requests" | "warmup_s" => "--warmup",
        "workload.input_tokens" => "--input-tokens",
        "workload.output_tokens" => "--output-tokens",
        "workload.path" => "--dataset",
        "seed" => "--seed",
        "tokenizer" => "--tokenizer",
        "max_error_rate" => "--max-error-rate",
        "slo" | "slo.ttft_ms" | "slo.tpot_ms" | "slo.e2e_ms" => "--slo",
        "request_timeout_s" => "--request-timeout",
        "ready_timeout_s" => "--ready-timeout",
        _ => return None,
    })
}
