//! Synthetic prompts of an exact token length.
//!
//! A prompt is common English words joined by single spaces. Its first three words spell out the prompt's index
//! (a seeded digit permutation), so two prompts of one run differ from their first token, or share at most two
//! tokens; the rest are drawn from a generator seeded by (seed, index). Same (seed, index, length), same prompt.
//!
//! Only words that are one token in context for the tokenizer in use are drawn, so N words are about N tokens:
//!
//! * with a local tokenizer the prompt is encoded and words are added or removed until the count is exactly N
//!   (usually one encode); if that does not settle (a tokenizer whose tokens cross word boundaries), the ids are
//!   cut at N and decoded, a few times, and failing that the closest prompt is returned with its real length;
//! * with a server tokenizer the word list and a constant correction are measured once, at construction, against
//!   the server (see [`Calibration`]); prompts then need no round trip;
//! * with neither, one word counts as one token (an estimate).

use std::fmt;
use std::sync::Arc;

use super::error::TokenizerError;
use super::hf::HfTokenizer;
use super::server::ServerTokenizer;
use super::words::WORDS;

/// The words the estimate uses: the head of [`WORDS`], one token in the usual BPE vocabularies.
const ESTIMATE_WORDS: usize = 250;
/// Words kept by server calibration (enough variety; each costs a request).
const SERVER_WORDS_TARGET: usize = 400;
/// Fewest one-token words for calibration to be trusted.
const SERVER_WORDS_MIN: usize = 16;
/// Kept words asked whether they are one token at the start of a text too.
const SERVER_LEAD_TRIED: usize = 128;
/// Concurrent requests during server calibration.
const SERVER_CONCURRENCY: usize = 8;
/// Below this many lead words, the first word is drawn from all words.
const LEAD_WORDS_MIN: usize = 16;
/// Add/remove rounds before falling back to cutting ids.
const FIX_ROUNDS: usize = 6;
/// Cut-and-decode rounds of the fallback.
const CUT_ROUNDS: usize = 8;
/// Prompt lengths the server calibration measures.
const CALIBRATION_LENGTHS: [u32; 5] = [1, 8, 64, 512, 2048];
/// Words that open a calibration text, whichever is one token first.
const REFERENCES: [&str; 4] = ["the", "of", "and", "to"];

/// Where a [`PromptSynth`]'s token counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthSource {
    /// A local tokenizer: lengths are exact (checked by encoding).
    Tokenizer,
    /// The server's tokenize endpoint, measured once: lengths are as exact as [`Calibration`] says.
    Server,
    /// One word per token: lengths are approximate.
    Estimate,
}

impl fmt::Display for SynthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tokenizer => "tokenizer",
            Self::Server => "server",
            Self::Estimate => "estimate",
        })
    }
}

/// One calibration measurement: a prompt of `requested` tokens that the server counted as `observed` (after
/// the correction, less the special tokens it adds to every text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalibrationSample {
    /// Tokens asked for.
    pub requested: u32,
    /// Tokens the server counted.
    pub observed: u32,
}

/// What the server calibration measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Words whose one-token-ness was asked.
    pub words_tried: u32,
    /// Words kept: one token each, after another word.
    pub words_kept: u32,
    /// Tokens the server counts in every text although no special tokens were asked for (TGI's BOS); subtracted.
    pub special_tokens: u32,
    /// Constant correction found before the samples below (prompts get `n - offset` words), e.g. for a first
    /// word that the tokenizer splits differently.
    pub offset: i32,
    /// Sample prompts of 1, 8, 64, 512 and 2048 tokens, two indexes each, counted after the correction.
    pub samples: Vec<CalibrationSample>,
    /// Largest |observed - requested| over the samples.
    pub max_abs_error: u32,
    /// Mean |observed - requested| over the samples.
    pub mean_abs_error: f64,
}

/// A generated prompt and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthPrompt {
    /// The prompt text.
    pub text: String,
    /// Its length in tokens: measured with a local tokenizer, else the length asked for.
    pub tokens: u32,
    /// Whether `tokens` was measured and equals the length asked for.
    pub exact: bool,
}

/// Builds synthetic prompts of exact token lengths; built once per run, cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct PromptSynth {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    source: SynthSource,
    tokenizer: Option<HfTokenizer>,
    /// The tokenizer cuts prompts into one piece per word, each word one token: a prompt of N words is N
    /// tokens without encoding it (see [`word_local`]).
    word_local: bool,
    /// Encode every prompt even when `word_local`.
    encode_each: bool,
    /// Words drawn anywhere (one token after a space).
    words: Vec<&'static str>,
    /// Words drawn first (one token at the start too).
    lead: Vec<&'static str>,
    /// Server correction: prompts of n tokens get n - offset words.
    offset: i32,
    calibration: Option<Calibration>,
    label: String,
}

impl fmt::Debug for PromptSynth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptSynth")
            .field("source", &self.inner.source)
            .field("label", &self.inner.label)
            .field("words", &self.inner.words.len())
            .field("lead", &self.inner.lead.len())
            .field("offset", &self.inner.offset)
            .field("word_local", &self.inner.word_local)
            .field("encode_each", &self.inner.encode_each)
            .finish()
    }
}

impl PromptSynth {
    /// Prompts of about N tokens, one common word per token, without any tokenizer.
    pub fn estimate() -> Self {
        let words = WORDS[..ESTIMATE_WORDS.min(WORDS.len())].to_vec();
        Self::build(SynthSource::Estimate, None, words.clone(), words, 0, None, "estimate (1 word = 1 token)".into())
    }

    /// Prompts of exactly N tokens by `tokenizer`. Measures which words are one token (a few ms).
    pub fn from_tokenizer(tokenizer: HfTokenizer) -> Self {
        let count = |text: &str| tokenizer.count(text);
        let reference = REFERENCES.iter().copied().find(|r| count(r) == 1).unwrap_or(REFERENCES[0]);
        let base = count(reference);
        let mut words = Vec::new();
        let mut lead = Vec::new();
        let mut text = String::with_capacity(32);
        for &word in WORDS {
            text.clear();
            text.push_str(reference);
            text.push(' ');
            text.push_str(word);
            if count(&text) != base + 1 {
                continue;
            }
            words.push(word);
            text.clear();
            text.push_str(word);
            text.push(' ');
            text.push_str(reference);
            if count(word) == 1 && count(&text) == base + 1 {
                lead.push(word);
            }
        }
        if words.is_empty() {
            // A tokenizer with no one-token word (character level, say): draw from all words and let the
            // count-and-fix loop and the cut fallback make the length exact.
            words = WORDS.to_vec();
        }
        let lead_measured = lead.len() >= LEAD_WORDS_MIN;
        if !lead_measured {
            lead = words.clone();
        }
        let label = format!("tokenizer {}", tokenizer.name());
        let mut synth = Self::build(SynthSource::Tokenizer, Some(tokenizer.clone()), words, lead, 0, None, label);
        if lead_measured && word_local(&tokenizer, &synth.inner.words, &synth.inner.lead) {
            Arc::make_mut(&mut synth.inner).word_local = true;
            // Belt and braces: a few prompts must come out exact without the encode.
            let confirmed = [1, 2, 3, 17, 256, 1500]
                .into_iter()
                .enumerate()
                .all(|(i, n)| tokenizer.count(&synth.generate(0xc0ff_ee00 + i as u64, i as u64 * 7_919, n).text) == n);
            Arc::make_mut(&mut synth.inner).word_local = confirmed;
        }
        tracing::debug!(
            words = synth.inner.words.len(),
            lead = synth.inner.lead.len(),
            word_local = synth.inner.word_local,
            reference,
            "prompt words measured"
        );
        synth
    }

    /// With `on`, every prompt is encoded to check its length even when the tokenizer's structure already
    /// guarantees it (slower: one encode per prompt; for tests and the suspicious).
    pub fn encode_each_prompt(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.inner).encode_each = on;
        self
    }

    /// Whether [`PromptSynth::generate`] encodes each prompt (a local tokenizer whose structure does not
    /// guarantee word-per-token prompts, or [`PromptSynth::encode_each_prompt`]); `false` also for the server
    /// and the estimate, which cannot.
    pub fn encodes_each_prompt(&self) -> bool {
        self.inner.tokenizer.is_some() && (self.inner.encode_each || !self.inner.word_local)
    }

    /// Prompts of N tokens by the server's count, calibrated now: keeps the words the server counts as one token
    /// after another word (some 500 to 1,000 short requests, 8 at a time), then counts sample prompts and derives
    /// a constant correction. Fails if the server errs or fewer than 16 words are one token.
    pub async fn from_server(server: &ServerTokenizer) -> Result<Self, TokenizerError> {
        let mut reference = REFERENCES[0];
        let mut base = 0;
        for candidate in REFERENCES {
            base = server.count(candidate).await?;
            reference = candidate;
            if base == 1 {
                break;
            }
        }
        // Counts of a one-token reference above 1 are tokens the server adds to everything.
        let special_tokens = base.saturating_sub(1);

        let mut words = Vec::new();
        let mut tried = 0u32;
        for chunk in WORDS.chunks(SERVER_CONCURRENCY) {
            if words.len() >= SERVER_WORDS_TARGET {
                break;
            }
            let counts = count_all(server, chunk.iter().map(|word| format!("{reference} {word}"))).await?;
            tried += chunk.len() as u32;
            words.extend(chunk.iter().zip(&counts).filter(|(_, &c)| c == base + 1).map(|(w, _)| *w));
        }
        // Lead words: also one token at the very start of a text (asked for the first ones only).
        let mut lead = Vec::new();
        for chunk in words[..words.len().min(SERVER_LEAD_TRIED)].chunks(SERVER_CONCURRENCY) {
            let counts = count_all(server, chunk.iter().map(|word| format!("{word} {reference}"))).await?;
            lead.extend(chunk.iter().zip(&counts).filter(|(_, &c)| c == base + 1).map(|(w, _)| *w));
        }
        if words.len() < SERVER_WORDS_MIN {
            return Err(TokenizerError::Server {
                url: server.url().to_string(),
                reason: format!(
                    "only {} of {tried} common words are one token by the server's count; cannot calibrate",
                    words.len()
                ),
            });
        }

        if lead.len() < LEAD_WORDS_MIN {
            lead = words.clone();
        }
        let label = format!("server {} {}", server.flavor(), protocol::spec::redact_target(server.url()));
        let mut synth = Self::build(SynthSource::Server, None, words.clone(), lead.clone(), 0, None, label.clone());
        let first = synth.measure(server, special_tokens).await?;
        let mut errors: Vec<i64> = first.iter().map(|s| s.observed as i64 - s.requested as i64).collect();
        errors.sort_unstable();
        let offset = errors.get(errors.len() / 2).copied().unwrap_or(0).clamp(-64, 64) as i32;
        let samples = if offset == 0 {
            first
        } else {
            synth = Self::build(SynthSource::Server, None, words.clone(), lead.clone(), offset, None, label.clone());
            synth.measure(server, special_tokens).await?
        };
        let abs: Vec<u32> = samples.iter().map(|s| s.observed.abs_diff(s.requested)).collect();
        let calibration = Calibration {
            words_tried: tried,
            words_kept: words.len() as u32,
            special_tokens,
            offset,
            max_abs_error: abs.iter().copied().max().unwrap_or(0),
            mean_abs_error: abs.iter().map(|&e| f64::from(e)).sum::<f64>() / abs.len().max(1) as f64,
            samples,
        };
        tracing::info!(
            url = server.url(),
            words = calibration.words_kept,
            offset,
            special_tokens,
            max_abs_error = calibration.max_abs_error,
            "server tokenizer calibrated"
        );
        Ok(Self::build(SynthSource::Server, None, words, lead, offset, Some(calibration), label))
    }

    /// Counts sample prompts with the server, less `special` tokens each.
    async fn measure(&self, server: &ServerTokenizer, special: u32) -> Result<Vec<CalibrationSample>, TokenizerError> {
        let mut samples = Vec::new();
        for requested in CALIBRATION_LENGTHS {
            for index in [0, 1_000_003] {
                let text = self.prompt(0x5eed, index, requested);
                let observed = server.count(&text).await?.saturating_sub(special);
                samples.push(CalibrationSample { requested, observed });
            }
        }
        Ok(samples)
    }

    fn build(
        source: SynthSource,
        tokenizer: Option<HfTokenizer>,
        words: Vec<&'static str>,
        lead: Vec<&'static str>,
        offset: i32,
        calibration: Option<Calibration>,
        label: String,
    ) -> Self {
        let inner =
            Inner { source, tokenizer, word_local: false, encode_each: false, words, lead, offset, calibration, label };
        Self { inner: Arc::new(inner) }
    }

    /// Where the token counts come from.
    pub fn source(&self) -> SynthSource {
        self.inner.source
    }

    /// The server calibration, for [`SynthSource::Server`].
    pub fn calibration(&self) -> Option<&Calibration> {
        self.inner.calibration.as_ref()
    }

    /// For reports: "tokenizer NAME", "server FLAVOR URL" or "estimate (1 word = 1 token)".
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Number of distinct words prompts are drawn from.
    pub fn vocabulary(&self) -> usize {
        self.inner.words.len()
    }

    /// The prompt of `n_tokens` tokens for (`seed`, `index`); see [`PromptSynth::generate`].
    pub fn prompt(&self, seed: u64, index: u64, n_tokens: u32) -> String {
        self.generate(seed, index, n_tokens).text
    }

    /// The prompt of `n_tokens` tokens (encoded without special tokens) for (`seed`, `index`): deterministic,
    /// different for every index from the first token on. With a local tokenizer, `tokens` is its measured
    /// length, `n_tokens` unless the tokenizer defeats both the fix-up and the fallback (then the closest).
    pub fn generate(&self, seed: u64, index: u64, n_tokens: u32) -> SynthPrompt {
        match &self.inner.tokenizer {
            Some(tokenizer) => self.exact(tokenizer, seed, index, n_tokens),
            None if n_tokens == 0 => SynthPrompt { text: String::new(), tokens: 0, exact: false },
            None => {
                let words = (i64::from(n_tokens) - i64::from(self.inner.offset)).max(1);
                let mut draft = Draft::new(self, seed, index, words as usize);
                draft.fill(words as usize);
                SynthPrompt { text: draft.text, tokens: n_tokens, exact: false }
            }
        }
    }

    /// The local-tokenizer path of [`PromptSynth::generate`].
    fn exact(&self, tokenizer: &HfTokenizer, seed: u64, index: u64, n: u32) -> SynthPrompt {
        if n == 0 {
            return SynthPrompt { text: String::new(), tokens: 0, exact: true };
        }
        let target = n as usize;
        let mut draft = Draft::new(self, seed, index, target);
        draft.fill(target);
        if self.inner.word_local && !self.inner.encode_each {
            // One token per word, proven at construction: no encode needed.
            return SynthPrompt { text: draft.text, tokens: n, exact: true };
        }
        let mut best: Option<(String, u32)> = None;
        for _ in 0..FIX_ROUNDS {
            let count = tokenizer.count(&draft.text);
            if count == n {
                return SynthPrompt { text: draft.text, tokens: n, exact: true };
            }
            keep_closest(&mut best, &draft.text, count, n);
            // Tokens per word so far (1 for the usual tokenizers), to turn the miss into words.
            let per_word = (f64::from(count) / draft.len().max(1) as f64).max(0.5);
            if count < n {
                let add = ((f64::from(n - count) / per_word).ceil() as usize).max(1);
                draft.fill(draft.len() + add);
            } else {
                let remove = ((f64::from(count - n) / per_word).floor() as usize).max(1);
                if remove >= draft.len() {
                    break;
                }
                draft.truncate(draft.len() - remove);
            }
        }
        // Fallback: make sure the text has at least n tokens, cut its ids at n and decode, adjusting the cut.
        let mut ids = tokenizer.encode_ids(&draft.text).unwrap_or_default();
        while !ids.is_empty() && ids.len() < target && draft.len() < target.saturating_mul(64) {
            draft.fill(draft.len() + (target - ids.len()));
            ids = tokenizer.encode_ids(&draft.text).unwrap_or_default();
        }
        let mut cut = target.min(ids.len());
        for _ in 0..CUT_ROUNDS {
            if ids.is_empty() {
                break;
            }
            let Ok(text) = tokenizer.decode(&ids[..cut]) else { break };
            let count = tokenizer.count(&text);
            if count == n {
                return SynthPrompt { text, tokens: n, exact: true };
            }
            keep_closest(&mut best, &text, count, n);
            let next = (cut as i64 - (i64::from(count) - i64::from(n))).clamp(1, ids.len() as i64) as usize;
            if next == cut {
                break;
            }
            cut = next;
        }
        let (text, tokens) = best.unwrap_or_default();
        tracing::debug!(n, tokens, "prompt length not exact for this tokenizer");
        SynthPrompt { text, tokens, exact: tokens == n }
    }

    /// `text` cut to at most `n_tokens` tokens (a text that is not longer comes back unchanged). With a local
    /// tokenizer the cut is by tokens and the result counts exactly `n_tokens` unless decoding defeats it (then
    /// a little less); otherwise the first `n_tokens` whitespace-separated words are kept (approximate).
    pub fn truncate_to(&self, text: &str, n_tokens: u32) -> String {
        let Some(tokenizer) = &self.inner.tokenizer else {
            return truncate_words(text, n_tokens as usize);
        };
        let Ok(ids) = tokenizer.encode_ids(text) else {
            return truncate_words(text, n_tokens as usize);
        };
        let n = n_tokens as usize;
        if ids.len() <= n {
            return text.to_string();
        }
        // Cut the ids and decode; decode-then-encode is not always the identity (byte-level BPE, Metaspace), so
        // move the cut until the piece counts exactly n, keeping the longest piece that fits.
        let mut cut = n;
        let mut best: Option<(String, usize)> = None;
        for _ in 0..CUT_ROUNDS {
            let Ok(piece) = tokenizer.decode(&ids[..cut]) else { break };
            let count = tokenizer.count(&piece) as usize;
            if count == n {
                return piece;
            }
            if count < n && best.as_ref().is_none_or(|(_, c)| count > *c) {
                best = Some((piece, count));
            }
            let next = (cut as i64 - (count as i64 - n as i64)).clamp(0, ids.len() as i64) as usize;
            if next == cut {
                break;
            }
            cut = next;
        }
        best.map(|(piece, _)| piece).unwrap_or_default()
    }
}

/// Whether `tokenizer` tokenizes a text of `lead` then `words` joined by single spaces word by word: the model
/// sees each word as a piece of its own (the pre-tokenizer splits at every space), or sees the whole text but
/// is a BPE no token of which joins a word's end to the next word's start (Llama-2 style: no pre-tokenizer,
/// spaces turned into `▁`). Either way every word costs what it costs after another word (one token, measured),
/// and a prompt of N words is N tokens. Checked on a sample of every word, three times, in random order.
fn word_local(tokenizer: &HfTokenizer, words: &[&'static str], lead: &[&'static str]) -> bool {
    let (Some(&first), false) = (lead.first(), words.is_empty()) else { return false };
    let mut rng = SplitMix64::new(0x5a3b_1e00);
    let mut sample = vec![first];
    sample.extend((0..words.len() * 3).map(|_| words[rng.below(words.len() as u64) as usize]));
    sample.extend_from_slice(lead);
    let Ok(pieces) = tokenizer.pre_tokens(&sample.join(" ")) else { return false };
    let marks = [' ', '\u{120}', '\u{2581}']; // space, byte-level 'Ġ', SentencePiece '▁'
    if pieces.len() == sample.len() {
        return pieces.iter().zip(&sample).all(|(piece, word)| piece.trim_start_matches(marks) == *word);
    }
    // The whole text in one piece: the model must be a BPE whose merges never cross a word boundary.
    let ([text], Some(vocab)) = (pieces.as_slice(), tokenizer.bpe_vocab()) else { return false };
    let Some(mark) = text.trim_start_matches(marks).chars().find(|c| !c.is_ascii_alphabetic()) else {
        return false;
    };
    if !text.trim_start_matches(mark).split(mark).eq(sample.iter().copied()) {
        return false;
    }
    // A token with the mark after another character could span "word|▁next"; without any, merges stay
    // inside words (runs of marks only occur with runs of spaces, which prompts never have). Tokens with
    // characters prompts never have (Gemma's ">▁</") cannot form.
    vocab.iter().filter(|token| token.chars().all(|c| c == mark || c.is_ascii_lowercase())).all(|token| {
        let mut previous: Option<char> = None;
        token.chars().all(|c| {
            let ok = !(c == mark && previous.is_some_and(|p| p != mark));
            previous = Some(c);
            ok
        })
    })
}

/// The server's counts of `texts`, asked concurrently, in order.
async fn count_all(server: &ServerTokenizer, texts: impl Iterator<Item = String>) -> Result<Vec<u32>, TokenizerError> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0;
    for (i, text) in texts.enumerate() {
        let server = server.clone();
        tasks.spawn(async move { (i, server.count(&text).await) });
        n += 1;
    }
    let mut counts = vec![0u32; n];
    while let Some(joined) = tasks.join_next().await {
        let (i, counted) = joined.map_err(|e| TokenizerError::Server {
            url: server.url().to_string(),
            reason: format!("calibration task failed: {e}"),
        })?;
        counts[i] = counted?;
    }
    Ok(counts)
}

/// Keeps in `best` whichever of it and (`text`, `count`) is closer to `n` (shorter on ties).
fn keep_closest(best: &mut Option<(String, u32)>, text: &str, count: u32, n: u32) {
    let better = match best {
        None => true,
        Some((_, b)) => {
            let (d, bd) = (count.abs_diff(n), b.abs_diff(n));
            d < bd || (d == bd && count < *b)
        }
    };
    if better {
        *best = Some((text.to_string(), count));
    }
}

/// The first `n` whitespace-separated words of `text`, joined by single spaces.
fn truncate_words(text: &str, n: usize) -> String {
    let mut out = String::with_capacity(text.len().min(n.saturating_mul(8)));
    for (i, word) in text.split_whitespace().take(n).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A prompt being built: words joined by spaces, with each word's end offset so words can be dropped.
struct Draft<'a> {
    synth: &'a Inner,
    rng: SplitMix64,
    text: String,
    ends: Vec<usize>,
    index: u64,
    seed: u64,
}

impl<'a> Draft<'a> {
    fn new(synth: &'a PromptSynth, seed: u64, index: u64, words: usize) -> Self {
        Self {
            synth: &synth.inner,
            rng: SplitMix64::new(mix(seed ^ mix(index ^ 0x7f4a_7c15_9e37_79b9))),
            text: String::with_capacity(words.saturating_mul(8).min(1 << 24)),
            ends: Vec::with_capacity(words.min(1 << 21)),
            index,
            seed,
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The word at position `k`: the first three spell the index, the rest are random.
    fn word(&mut self, k: usize) -> &'static str {
        let (lead, words) = (&self.synth.lead, &self.synth.words);
        let list = if k == 0 { lead } else { words };
        if list.is_empty() {
            return "the";
        }
        let len = list.len() as u64;
        if k < 3 {
            // Digit k of the index in base (|lead|, |words|, |words|), shifted by a seeded offset: distinct
            // indexes below |lead|·|words|² differ in one of the first three words.
            let lead_len = lead.len().max(1) as u64;
            let digit = match k {
                0 => self.index % lead_len,
                1 => (self.index / lead_len) % len,
                _ => (self.index / lead_len / len) % len,
            };
            let shift = mix(self.seed.wrapping_add(k as u64).wrapping_mul(0xa076_1d64_78bd_642f)) % len;
            return list[((digit + shift) % len) as usize];
        }
        list[self.rng.below(len) as usize]
    }

    /// Appends words until there are `words` of them.
    fn fill(&mut self, words: usize) {
        while self.ends.len() < words {
            let word = self.word(self.ends.len());
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            self.text.push_str(word);
            self.ends.push(self.text.len());
        }
    }

    /// Keeps the first `words` words. Words drawn later are new ones (the generator moves on).
    fn truncate(&mut self, words: usize) {
        self.ends.truncate(words);
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
    }
}

/// SplitMix64's output function: a bijection of u64 that mixes well.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A tiny generator whose sequence is fixed forever (unlike `rand`'s, which may change between versions), so
/// prompt sets stay reproducible across builds.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}
