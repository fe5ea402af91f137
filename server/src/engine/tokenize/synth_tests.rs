//! Tests of `PromptSynth` with local tokenizers and as an estimate: exact lengths, distinct starts,
//! determinism, the fallback, truncation.

use super::synth::{PromptSynth, SynthSource};
use super::test_util::{load, BPE, BYTES, REAL, SPM_BPE};

fn synth(name: &str) -> PromptSynth {
    PromptSynth::from_tokenizer(load(name))
}

#[test]
fn real_tokenizers_are_recognised_as_word_local() {
    for name in REAL {
        let synth = synth(name);
        assert!(!synth.encodes_each_prompt(), "{name}: {synth:?}");
        assert!(synth.encode_each_prompt(true).encodes_each_prompt());
    }
    assert!(synth(BYTES).encodes_each_prompt(), "no one-token words: must encode");
    assert!(!PromptSynth::estimate().encodes_each_prompt());
}

#[test]
fn exact_length_for_every_small_n() {
    // The encoding mode is slow in debug builds: checked on two fixtures.
    let cases = REAL.iter().map(|&name| (name, false)).chain([(BPE, true), (SPM_BPE, true)]);
    for (name, encode_each) in cases {
        let tok = load(name);
        let synth = PromptSynth::from_tokenizer(tok.clone()).encode_each_prompt(encode_each);
        assert_eq!(synth.source(), SynthSource::Tokenizer);
        assert!(synth.vocabulary() >= 300, "{name}: {} one-token words", synth.vocabulary());
        for n in 1..=300u32 {
            // Both modes give the same prompt.
            let (seed, index) =
                if n % 2 == 0 { (1, u64::from(n)) } else { (0xdead_beef, 1_000_000 + u64::from(n) * 7919) };
            {
                let p = synth.generate(seed, index, n);
                assert!(p.exact, "{name} n={n} seed={seed} index={index}: got {}", p.tokens);
                assert_eq!(p.tokens, n);
                assert_eq!(tok.count(&p.text), n, "{name} n={n}: {:?}", p.text);
            }
        }
    }
}

#[test]
fn exact_length_for_large_n() {
    for name in REAL {
        let tok = load(name);
        let synth = PromptSynth::from_tokenizer(tok.clone());
        for n in [1000, 4096, 8192] {
            for index in [0, u64::MAX] {
                let text = synth.prompt(42, index, n);
                assert_eq!(tok.count(&text), n, "{name} n={n} index={index}");
            }
        }
        let checked = synth.clone().encode_each_prompt(true);
        assert_eq!(checked.prompt(42, 5, 1000), synth.prompt(42, 5, 1000), "{name}: same prompt either way");
    }
}

#[test]
fn zero_tokens_is_empty() {
    let synth = synth(BPE);
    let p = synth.generate(1, 2, 0);
    assert_eq!((p.text.as_str(), p.tokens, p.exact), ("", 0, true));
}

#[test]
fn fallback_is_exact_when_no_word_is_one_token() {
    // Every byte is a token: no word qualifies, the fix-up loop overshoots, the id cut makes it exact.
    let tok = load(BYTES);
    let synth = PromptSynth::from_tokenizer(tok.clone());
    for n in (1..=120).chain([500, 2000]) {
        for index in [0, 1, 77] {
            let p = synth.generate(9, index, n);
            assert!(p.exact, "n={n} index={index}: {}", p.tokens);
            assert_eq!(tok.count(&p.text), n);
        }
    }
}

#[test]
fn prompts_of_different_indexes_share_at_most_two_tokens() {
    for name in [BPE, SPM_BPE] {
        let tok = load(name);
        let synth = PromptSynth::from_tokenizer(tok.clone());
        // Consecutive indexes, far apart ones (same first word, other second or third), and the extremes.
        let indexes: Vec<u64> = (0..150)
            .chain((1..60).map(|k| k * 12_345))
            .chain((1..20).map(|k| k << 40))
            .chain([u64::MAX - 1, u64::MAX])
            .collect();
        let prompts: Vec<Vec<u32>> =
            indexes.iter().map(|&i| tok.encode_ids(&synth.prompt(7, i, 32)).unwrap()).collect();
        let mut first_tokens = std::collections::HashSet::new();
        for (a, pa) in prompts.iter().enumerate() {
            first_tokens.insert(pa[0]);
            for pb in &prompts[a + 1..] {
                let shared = pa.iter().zip(pb).take_while(|(x, y)| x == y).count();
                assert!(shared <= 2, "{name}: indexes share {shared} tokens");
            }
        }
        assert!(first_tokens.len() > 100, "{name}: first tokens vary: {}", first_tokens.len());
    }
}

#[test]
fn consecutive_indexes_differ_from_the_first_token() {
    let tok = load(BPE);
    let synth = PromptSynth::from_tokenizer(tok.clone());
    for i in 0..200u64 {
        let a = tok.encode_ids(&synth.prompt(3, i, 16)).unwrap();
        let b = tok.encode_ids(&synth.prompt(3, i + 1, 16)).unwrap();
        assert_ne!(a[0], b[0], "index {i}");
    }
}

#[test]
fn deterministic_in_seed_index_and_length() {
    let a = synth(BPE);
    let b = synth(BPE);
    for (seed, index, n) in [(0, 0, 1), (1, 2, 100), (u64::MAX, u64::MAX, 777)] {
        assert_eq!(a.prompt(seed, index, n), b.prompt(seed, index, n));
        assert_eq!(a.prompt(seed, index, n), a.clone().prompt(seed, index, n));
    }
    assert_ne!(a.prompt(1, 2, 100), a.prompt(2, 2, 100), "seed matters");
    assert_ne!(a.prompt(1, 2, 100), a.prompt(1, 3, 100), "index matters");
    // Different seeds change the first word too.
    let firsts: std::collections::HashSet<String> =
        (0..50).map(|seed| a.prompt(seed, 0, 4).split(' ').next().unwrap_or_default().to_string()).collect();
    assert!(firsts.len() > 20, "{}", firsts.len());
}

#[test]
fn estimate_is_one_word_per_token_and_pinned() {
    let synth = PromptSynth::estimate();
    assert_eq!(synth.source(), SynthSource::Estimate);
    assert!(synth.calibration().is_none());
    for n in [1, 2, 3, 10, 1000] {
        let p = synth.generate(5, 6, n);
        assert_eq!(p.text.split(' ').count(), n as usize);
        assert_eq!(p.tokens, n);
        assert!(!p.exact);
    }
    assert_eq!(synth.prompt(5, 6, 0), "");
    // The generator is our own and must not drift between versions: prompt sets are reproducible from seeds.
    assert_eq!(synth.prompt(1, 0, 8), PINNED);
}

/// `PromptSynth::estimate().prompt(1, 0, 8)`; changes only if the word list or the generator changes.
const PINNED: &str = "live look serve stand part send were was";

#[test]
fn truncate_to_cuts_by_tokens() {
    for name in REAL {
        let tok = load(name);
        let synth = PromptSynth::from_tokenizer(tok.clone());
        let text = "The quick brown fox jumps over the lazy dog; naïve café, 12345 émigrés. ".repeat(40);
        for n in [0, 1, 5, 17, 100, 333] {
            let cut = synth.truncate_to(&text, n);
            assert_eq!(tok.count(&cut), n, "{name} n={n}");
            assert!(text.starts_with(cut.trim_start()) || name != BPE, "{name}: a prefix");
        }
        let short = "the world";
        assert_eq!(synth.truncate_to(short, 100), short);
    }
    let estimate = PromptSynth::estimate();
    assert_eq!(estimate.truncate_to("a  b\nc d", 3), "a b c");
}

/// A WordLevel tokenizer whose vocabulary is `words` and whose unknown token is missing, so that encoding any
/// other word fails.
fn word_level(words: &[&str]) -> super::hf::HfTokenizer {
    let vocab: serde_json::Map<String, serde_json::Value> =
        words.iter().enumerate().map(|(i, w)| (w.to_string(), serde_json::json!(i))).collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": { "type": "Whitespace" }, "post_processor": null, "decoder": null,
        "model": { "type": "WordLevel", "vocab": vocab, "unk_token": "<unk>" }
    });
    super::hf::HfTokenizer::from_bytes(json.to_string().as_bytes(), std::path::Path::new("wl.json"), "wl").unwrap()
}

#[test]
fn degenerate_tokenizers_never_panic() {
    // Two known words: prompts are made of them, exact.
    let tok = word_level(&["the", "of"]);
    assert_eq!(tok.count("people"), 0, "cannot encode: counts 0");
    assert!(tok.encode_ids("people").is_err());
    let synth = PromptSynth::from_tokenizer(tok.clone());
    for n in [1, 2, 50, 1000] {
        let p = synth.generate(1, 2, n);
        assert!(p.exact && tok.count(&p.text) == n, "n={n}");
    }
    // No known word at all: nothing can be encoded; the result says so instead of looping or panicking.
    let tok = word_level(&[]);
    let synth = PromptSynth::from_tokenizer(tok);
    for n in [1, 10, 3000] {
        let p = synth.generate(1, 2, n);
        assert!(!p.exact, "n={n}");
        assert_eq!(p.tokens, 0);
    }
    assert_eq!(synth.truncate_to("the people", 1), "the");
}
