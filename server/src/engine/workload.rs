//! The prompts a run sends: synthetic (seeded, reproducible), or read from a JSON-lines or ShareGPT file (see
//! `dataset`). Requests cycle through the prompt set in order; the set is identified by its SHA-256 so two runs
//! can be shown to have sent the same prompts.

use protocol::report::WorkloadInfo;
use protocol::spec::{RunSpec, TokenRange, WorkloadSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use super::dataset::{parse_jsonl, parse_sharegpt, read};
use super::error::WorkloadError;
use super::target::{Prompt, PromptBody};

/// Most distinct synthetic prompts generated; longer runs cycle through them.
pub const SYNTHETIC_POOL_MAX: u64 = 4096;
/// Memory budget of a synthetic prompt set, bytes.
const SYNTHETIC_POOL_BYTES: u64 = 256 << 20;

/// Common English words, each one token (with its leading space) in the usual BPE vocabularies, so that a prompt
/// of N words is about N tokens.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he",
    "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their",
    "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so",
    "no", "time", "people", "year", "way", "day", "man", "thing", "woman", "life", "child", "world", "school",
    "state", "family", "group", "country", "problem", "hand", "part", "place", "case", "week", "system", "program",
    "question", "work", "number", "night", "point", "home", "water", "room", "mother", "area", "money", "story",
    "fact", "month", "lot", "right", "study", "book", "eye", "job", "word", "business", "issue", "side", "kind",
    "head", "house", "service", "friend", "father", "power", "hour", "game", "line", "end", "member", "law", "car",
    "city", "name", "team", "minute", "idea", "kid", "body", "back", "face", "level", "office", "door", "health",
    "art", "war", "history", "party", "result", "change", "morning", "reason", "research", "girl", "guy", "moment",
    "air", "teacher", "force", "education", "good", "new", "first", "last", "long", "great", "little", "own", "other",
    "old", "big", "high", "different", "small", "large", "next", "early", "young", "important", "few", "public",
    "bad", "same", "able", "make", "know", "take", "see", "come", "think", "look", "want", "give", "use", "find",
    "tell", "ask", "seem", "feel", "try", "leave", "call", "keep", "let", "begin", "show", "hear", "play", "run",
    "move", "like", "live", "believe", "hold", "bring", "write", "stand", "lose", "pay", "meet", "include", "learn",
    "lead", "understand", "watch", "follow", "stop", "create", "speak", "read", "spend", "grow", "open", "walk",
    "win", "offer", "remember", "love", "consider", "appear", "buy", "wait", "serve", "die", "send",
];

/// The prompt set of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Distinct prompts, in the order requests use them (request `i` sends prompt `i % len`).
    pub prompts: Vec<Prompt>,
    /// Kind, seed, count and SHA-256, for the report.
    pub info: WorkloadInfo,
}

impl Workload {
    /// Builds the prompt set `spec` asks for (reads the dataset file, if any).
    pub fn load(spec: &RunSpec) -> Result<Self, WorkloadError> {
        match &spec.workload {
            WorkloadSpec::Synthetic { input_tokens, output_tokens } => {
                let needed = spec.requests.map_or(SYNTHETIC_POOL_MAX, |r| r.saturating_add(spec.warmup_requests));
                Ok(Self::synthetic(
                    *input_tokens,
                    *output_tokens,
                    spec.seed.unwrap_or_default(),
                    synthetic_pool_len(needed, *input_tokens),
                ))
            }
            WorkloadSpec::Jsonl { path, output_tokens } => {
                let text = read(path)?;
                Ok(Self::from_prompts(
                    "jsonl",
                    spec.seed.unwrap_or_default(),
                    parse_jsonl(&text, path, *output_tokens)?,
                ))
            }
            WorkloadSpec::ShareGpt { path, output_tokens } => {
                let text = read(path)?;
                Ok(Self::from_prompts(
                    "sharegpt",
                    spec.seed.unwrap_or_default(),
                    parse_sharegpt(&text, path, *output_tokens)?,
                ))
            }
        }
    }

    /// `count` generated prompts of random common words, lengths drawn uniformly from the ranges; same seed, same set.
    pub fn synthetic(input: TokenRange, output: TokenRange, seed: u64, count: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let prompts = (0..count.max(1))
            .map(|index| {
                let input_tokens = rng.random_range(input.min..=input.max.max(input.min));
                let max_tokens = rng.random_range(output.min..=output.max.max(output.min));
                let mut text = String::with_capacity(input_tokens as usize * 7);
                for i in 0..input_tokens {
                    if i > 0 {
                        text.push(' ');
                    }
                    text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
                }
                Prompt { index, body: PromptBody::Text(text), input_tokens, max_tokens }
            })
            .collect();
        Self::from_prompts("synthetic", seed, prompts)
    }

    fn from_prompts(kind: &str, seed: u64, prompts: Vec<Prompt>) -> Self {
        let info = WorkloadInfo {
            kind: kind.to_owned(),
            seed,
            prompt_count: prompts.len() as u64,
            prompt_set_sha256: prompt_set_sha256(&prompts),
            tokens_source: "estimate".to_owned(),
        };
        Workload { prompts, info }
    }

    /// The prompt request `i` sends (the set repeats once exhausted). `prompts` is never empty.
    pub fn prompt(&self, i: u64) -> &Prompt {
        let n = self.prompts.len().max(1) as u64;
        &self.prompts[(i % n) as usize]
    }
}

/// Pool size for `needed` requests: at most [`SYNTHETIC_POOL_MAX`] prompts and about 256 MiB of text.
fn synthetic_pool_len(needed: u64, input: TokenRange) -> u64 {
    let per_prompt = u64::from(input.max.max(1)) * 8;
    needed.min(SYNTHETIC_POOL_MAX).min(SYNTHETIC_POOL_BYTES / per_prompt).max(1)
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
    use super::*;

    #[test]
    fn synthetic_is_reproducible_and_sized() {
        let input = TokenRange { min: 10, max: 20 };
        let output = TokenRange::fixed(7);
        let a = Workload::synthetic(input, output, 42, 50);
        let b = Workload::synthetic(input, output, 42, 50);
        let c = Workload::synthetic(input, output, 43, 50);
        assert_eq!(a.info.prompt_set_sha256, b.info.prompt_set_sha256);
        assert_ne!(a.info.prompt_set_sha256, c.info.prompt_set_sha256);
        assert_eq!(a.info.prompt_count, 50);
        assert_eq!(a.info.kind, "synthetic");
        for p in &a.prompts {
            let PromptBody::Text(t) = &p.body else { panic!("text expected") };
            assert_eq!(t.split(' ').count() as u32, p.input_tokens);
            assert!((10..=20).contains(&p.input_tokens));
            assert_eq!(p.max_tokens, 7);
        }
        assert_eq!(a.prompt(53).index, 3);
    }

    #[test]
    fn pool_is_bounded() {
        assert_eq!(synthetic_pool_len(10, TokenRange::fixed(100)), 10);
        assert_eq!(synthetic_pool_len(1_000_000, TokenRange::fixed(100)), SYNTHETIC_POOL_MAX);
        assert!(synthetic_pool_len(1_000_000, TokenRange::fixed(128_000)) < 300);
    }
}
