//! The prompts a run sends.
//!
//! - **Synthetic**: prompt `i` is generated when it is sent, from (seed, i): its input and output lengths are drawn
//!   from the ranges by a seeded generator, its text by [`PromptSynth`] — exactly N tokens by the model's tokenizer
//!   (or the server's tokenize endpoint; else about N, labelled an estimate), different from the first token on for
//!   every index. Every request of a run (warmup and every sweep step included) takes the next index, so no prompt
//!   is sent twice and no pool bounds long runs.
//! - **Datasets** (JSON lines, ShareGPT; see `dataset`): read once, each prompt's length counted with the same
//!   counter; ShareGPT replies give `max_tokens` and pairs that are too short or too long are left out as vLLM's
//!   benchmark does. A run longer than the dataset cycles through it (the report says how many prompts it has).
//!
//! The set is identified by a SHA-256 so two runs can be shown to have sent the same prompts.

use protocol::report::WorkloadInfo;
use protocol::spec::{RunSpec, TokenRange, WorkloadSpec};
use sha2::{Digest, Sha256};

use super::dataset::{parse_jsonl, parse_sharegpt_pairs, DatasetAccess};
use super::error::WorkloadError;
use super::target::{Prompt, PromptBody};
use super::tokenize::{HfTokenizer, PromptSynth, ServerTokenizer, SynthSource};

/// ShareGPT pairs with a prompt or a reply shorter than this are left out (vLLM's `min_len`).
pub const SHAREGPT_MIN_TOKENS: u32 = 4;
/// ShareGPT prompts longer than this are left out (vLLM's `max_prompt_len`).
pub const SHAREGPT_MAX_PROMPT_TOKENS: u32 = 1024;
/// ShareGPT pairs longer than this in all are left out (vLLM's `max_total_len`).
pub const SHAREGPT_MAX_TOTAL_TOKENS: u32 = 2048;
/// Mixed into the seed for the synthetic lengths, so lengths and texts draw from different streams.
const LENGTH_SALT: u64 = 0x6c65_6e67_7468_7321;
/// Dataset prompts counted at once through a server's tokenize endpoint.
const SERVER_COUNT_CONCURRENCY: usize = 8;

/// How a run counts the tokens of a text: the model's tokenizer, the server's tokenize endpoint, or an estimate.
#[derive(Debug, Clone)]
pub enum Counter {
    /// A local tokenizer (exact).
    Tokenizer(HfTokenizer),
    /// The server's tokenize endpoint (exact for the server's own tokenizer).
    Server(ServerTokenizer),
    /// About 4 characters per token.
    Estimate,
}

impl Counter {
    /// `tokenizer`, `server` or `estimate`, as reports name the source.
    pub fn source(&self) -> &'static str {
        match self {
            Counter::Tokenizer(_) => "tokenizer",
            Counter::Server(_) => "server",
            Counter::Estimate => "estimate",
        }
    }

    /// The tokens of `text` (no special tokens added).
    pub async fn count(&self, text: &str) -> u32 {
        match self {
            Counter::Tokenizer(t) => t.count(text),
            Counter::Server(s) => match s.count(text).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!("the server could not count a prompt ({e}); estimating it");
                    super::dataset::estimate_tokens(text)
                }
            },
            Counter::Estimate => super::dataset::estimate_tokens(text),
        }
    }
}

/// What a workload is made with: the prompt generator and the counter, chosen by the session.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Builds synthetic prompts.
    pub synth: PromptSynth,
    /// Counts dataset prompts and replies.
    pub counter: Counter,
}

impl Tokens {
    /// No tokenizer: estimates (the report says so).
    pub fn estimate() -> Self {
        Tokens { synth: PromptSynth::estimate(), counter: Counter::Estimate }
    }

    /// A local tokenizer for both.
    pub fn tokenizer(t: HfTokenizer) -> Self {
        Tokens { synth: PromptSynth::from_tokenizer(t.clone()), counter: Counter::Tokenizer(t) }
    }
}

#[derive(Debug, Clone)]
enum Prompts {
    /// Generated per request.
    Synthetic { synth: PromptSynth, input: TokenRange, output: TokenRange, seed: u64 },
    /// Read from a file, cycled.
    Fixed(Vec<Prompt>),
}

/// The prompt set of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    prompts: Prompts,
    /// Kind, seed, count, SHA-256 and how lengths were counted, for the report.
    pub info: WorkloadInfo,
}

impl Workload {
    /// Parses the dataset of `spec`, if it has one, and nothing else: the CLI's check before anything is sent.
    pub fn check_dataset(spec: &RunSpec, datasets: &DatasetAccess) -> Result<(), WorkloadError> {
        match &spec.workload {
            WorkloadSpec::Synthetic { .. } => Ok(()),
            WorkloadSpec::Jsonl { path, output_tokens } => {
                parse_jsonl(&datasets.read(path)?, path, *output_tokens).map(drop)
            }
            WorkloadSpec::ShareGpt { path, output_tokens } => {
                parse_sharegpt_pairs(&datasets.read(path)?, path, *output_tokens).map(drop)
            }
        }
    }

    /// The prompt set `spec` asks for, lengths counted with `tokens` (reads and counts the dataset, if any).
    pub async fn build(spec: &RunSpec, tokens: &Tokens, datasets: &DatasetAccess) -> Result<Self, WorkloadError> {
        let seed = spec.seed.unwrap_or_default();
        match &spec.workload {
            WorkloadSpec::Synthetic { input_tokens, output_tokens } => {
                Ok(Self::synthetic(*input_tokens, *output_tokens, seed, tokens.synth.clone()))
            }
            WorkloadSpec::Jsonl { path, output_tokens } => {
                let text = read_blocking(path, datasets).await?;
                let mut prompts = parse_jsonl(&text, path, *output_tokens)?;
                for p in &mut prompts {
                    p.input_tokens = tokens.counter.count(&body_text(&p.body)).await.max(1);
                }
                Ok(Self::from_prompts("jsonl", seed, prompts, tokens.counter.source(), 0))
            }
            WorkloadSpec::ShareGpt { path, output_tokens } => {
                let text = read_blocking(path, datasets).await?;
                let pairs = parse_sharegpt_pairs(&text, path, *output_tokens)?;
                let (prompts, filtered) = count_sharegpt(pairs, &tokens.counter).await;
                if prompts.is_empty() {
                    return Err(WorkloadError::Empty {
                        path: path.clone(),
                        expected: "conversations whose prompt and reply are 4 to 1024 tokens (2048 in all)",
                    });
                }
                Ok(Self::from_prompts("sharegpt", seed, prompts, tokens.counter.source(), filtered))
            }
        }
    }

    /// Synthetic prompts: lengths drawn uniformly from the ranges, texts from `synth`; same seed, same prompts.
    pub fn synthetic(input: TokenRange, output: TokenRange, seed: u64, synth: PromptSynth) -> Self {
        let mut h = Sha256::new();
        h.update(format!(
            "synthetic v2\0{}\0{seed}\0{}..{}\0{}..{}",
            synth.label(),
            input.min,
            input.max,
            output.min,
            output.max
        ));
        let info = WorkloadInfo {
            kind: "synthetic".to_owned(),
            seed,
            prompt_count: 0,
            prompt_set_sha256: hex::encode(h.finalize()),
            tokens_source: synth_source(&synth).to_owned(),
            tokenizer: synth.label().to_owned(),
            calibration_max_error_tokens: synth.calibration().map(|c| c.max_abs_error),
            filtered_out: 0,
        };
        Workload { prompts: Prompts::Synthetic { synth, input, output, seed }, info }
    }

    /// A fixed prompt set (tests; datasets).
    pub fn from_prompts(kind: &str, seed: u64, prompts: Vec<Prompt>, source: &str, filtered_out: u64) -> Self {
        let info = WorkloadInfo {
            kind: kind.to_owned(),
            seed,
            prompt_count: prompts.len() as u64,
            prompt_set_sha256: prompt_set_sha256(&prompts),
            tokens_source: source.to_owned(),
            tokenizer: String::new(),
            calibration_max_error_tokens: None,
            filtered_out,
        };
        Workload { prompts: Prompts::Fixed(prompts), info }
    }

    /// Number of prompts of a fixed set; `None` for generated prompts (unbounded, never repeated).
    pub fn len(&self) -> Option<u64> {
        match &self.prompts {
            Prompts::Synthetic { .. } => None,
            Prompts::Fixed(p) => Some(p.len() as u64),
        }
    }

    /// True for a fixed set without prompts (never built: datasets must hold one).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The prompt of the run's `i`-th request (0-based over warmup and every step): generated for synthetic
    /// workloads, the `i mod len`-th of a dataset.
    pub fn prompt(&self, i: u64) -> Prompt {
        match &self.prompts {
            Prompts::Synthetic { synth, input, output, seed } => {
                let mut rng = SplitMix(seed ^ LENGTH_SALT ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let input_tokens = rng.between(input.min, input.max);
                let max_tokens = rng.between(output.min, output.max);
                let p = synth.generate(*seed, i, input_tokens);
                Prompt { index: i, body: PromptBody::Text(p.text), input_tokens: p.tokens.max(1), max_tokens }
            }
            Prompts::Fixed(prompts) => {
                let n = prompts.len().max(1) as u64;
                let mut p = prompts[(i % n) as usize].clone();
                p.index = i;
                p
            }
        }
    }
}

fn synth_source(synth: &PromptSynth) -> &'static str {
    match synth.source() {
        SynthSource::Tokenizer => "tokenizer",
        SynthSource::Server => "server",
        SynthSource::Estimate => "estimate",
    }
}

async fn read_blocking(path: &str, datasets: &DatasetAccess) -> Result<String, WorkloadError> {
    let (owned, datasets) = (path.to_owned(), datasets.clone());
    tokio::task::spawn_blocking(move || datasets.read(&owned))
        .await
        .map_err(|e| WorkloadError::Io { path: path.to_owned(), source: std::io::Error::other(e.to_string()) })?
}

/// The text a prompt sends (chat messages joined), for counting.
fn body_text(body: &PromptBody) -> String {
    match body {
        PromptBody::Text(t) => t.clone(),
        PromptBody::Chat(msgs) => msgs.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n"),
    }
}

/// Counts each ShareGPT prompt and reply, keeps the pairs vLLM's benchmark keeps (prompt and reply at least 4
/// tokens, prompt at most 1024, both at most 2048), and sets `max_tokens` to the reply's length. Pairs without a
/// reply keep the default `max_tokens` and are filtered on the prompt alone. Returns the kept prompts, renumbered,
/// and how many were left out.
async fn count_sharegpt(pairs: Vec<(Prompt, Option<String>)>, counter: &Counter) -> (Vec<Prompt>, u64) {
    use futures::StreamExt;
    let counted: Vec<(Prompt, Option<u32>)> = futures::stream::iter(pairs)
        .map(|(mut p, reply)| async move {
            p.input_tokens = counter.count(&body_text(&p.body)).await.max(1);
            let reply_tokens = match &reply {
                Some(r) => Some(counter.count(r).await),
                None => None,
            };
            (p, reply_tokens)
        })
        .buffered(SERVER_COUNT_CONCURRENCY)
        .collect()
        .await;
    let mut kept = Vec::with_capacity(counted.len());
    let mut filtered = 0;
    for (mut p, reply) in counted {
        let output = reply.unwrap_or(p.max_tokens);
        let keep = p.input_tokens >= SHAREGPT_MIN_TOKENS
            && output >= SHAREGPT_MIN_TOKENS
            && p.input_tokens <= SHAREGPT_MAX_PROMPT_TOKENS
            && p.input_tokens.saturating_add(output) <= SHAREGPT_MAX_TOTAL_TOKENS;
        if !keep {
            filtered += 1;
            continue;
        }
        p.max_tokens = output;
        p.index = kept.len() as u64;
        kept.push(p);
    }
    (kept, filtered)
}

/// SplitMix64: a tiny, stable generator (the same lengths whatever the version of `rand`).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        let span = u64::from(hi - lo) + 1;
        lo + (self.next() % span) as u32
    }
}

/// SHA-256 (hex) over every prompt's body and `max_tokens`, in order.
pub fn prompt_set_sha256(prompts: &[Prompt]) -> String {
    let mut h = Sha256::new();
    for p in prompts {
        match &p.body {
            PromptBody::Text(t) => {
                h.update(b"t\0");
                h.update(t.as_bytes());
            }
            PromptBody::Chat(msgs) => {
                h.update(b"c\0");
                for m in msgs {
                    h.update(m.role.as_bytes());
                    h.update(b"\0");
                    h.update(m.content.as_bytes());
                    h.update(b"\0");
                }
            }
        }
        h.update(b"\0");
        h.update(p.max_tokens.to_le_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;

    use super::*;

    fn fixture_tokenizer() -> HfTokenizer {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer.json");
        HfTokenizer::from_file(&path, "fixture").unwrap()
    }

    #[test]
    fn synthetic_prompts_are_reproducible_exact_and_never_repeat() {
        let t = fixture_tokenizer();
        let w = Workload::synthetic(
            TokenRange { min: 10, max: 200 },
            TokenRange::fixed(7),
            42,
            PromptSynth::from_tokenizer(t.clone()),
        );
        let again = Workload::synthetic(
            TokenRange { min: 10, max: 200 },
            TokenRange::fixed(7),
            42,
            PromptSynth::from_tokenizer(t.clone()),
        );
        let other = Workload::synthetic(
            TokenRange { min: 10, max: 200 },
            TokenRange::fixed(7),
            43,
            PromptSynth::from_tokenizer(t.clone()),
        );
        assert_eq!(w.info.prompt_set_sha256, again.info.prompt_set_sha256);
        assert_ne!(w.info.prompt_set_sha256, other.info.prompt_set_sha256);
        assert_eq!((w.info.kind.as_str(), w.info.tokens_source.as_str(), w.len()), ("synthetic", "tokenizer", None));
        let mut seen = HashSet::new();
        for i in 0..300 {
            let p = w.prompt(i);
            let PromptBody::Text(text) = &p.body else { panic!("text expected") };
            assert_eq!(t.count(text), p.input_tokens, "prompt {i} is exactly its length by the tokenizer");
            assert!((10..=200).contains(&p.input_tokens));
            assert_eq!((p.max_tokens, p.index), (7, i));
            assert!(seen.insert(text.clone()), "prompt {i} repeats an earlier one");
            assert_eq!(w.prompt(i), again.prompt(i), "same seed and index, same prompt");
        }
        assert_ne!(w.prompt(5), other.prompt(5));
    }

    #[test]
    fn without_a_tokenizer_lengths_are_estimates_and_say_so() {
        let w = Workload::synthetic(TokenRange::fixed(16), TokenRange::fixed(8), 1, PromptSynth::estimate());
        assert_eq!(w.info.tokens_source, "estimate");
        let p = w.prompt(0);
        let PromptBody::Text(text) = &p.body else { panic!("text expected") };
        assert_eq!(text.split_whitespace().count(), 16);
    }

    #[tokio::test]
    async fn sharegpt_is_counted_with_the_tokenizer_and_filtered_like_vllm() {
        let t = fixture_tokenizer();
        let long = "word ".repeat(1500);
        let text = serde_json::json!([
            {"conversations": [{"from": "human", "value": "What is a GPU? Explain it in a few words."},
                               {"from": "gpt", "value": "A graphics processing unit, a processor of many small cores."}]},
            {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello there, how are you today?"}]},
            {"conversations": [{"from": "human", "value": long}, {"from": "gpt", "value": "ok then, that is long"}]},
        ])
        .to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, text).unwrap();
        let spec: RunSpec = serde_json::from_value(serde_json::json!({
            "target": "http://x", "load": {"kind": "concurrency", "concurrency": 1}, "seed": 3,
            "workload": {"kind": "share_gpt", "path": path.to_str().unwrap(), "output_tokens": 64}
        }))
        .unwrap();
        let w = Workload::build(&spec, &Tokens::tokenizer(t.clone()), &DatasetAccess::local()).await.unwrap();
        assert_eq!((w.len(), w.info.filtered_out, w.info.tokens_source.as_str()), (Some(1), 2, "tokenizer"));
        let p = w.prompt(0);
        assert_eq!(p.input_tokens, t.count("What is a GPU? Explain it in a few words."));
        assert_eq!(p.max_tokens, t.count("A graphics processing unit, a processor of many small cores."));
        assert_eq!(w.prompt(1).body, p.body, "a dataset cycles");
        assert_eq!(w.prompt(1).index, 1);
    }
}
