//! Token counting and exact-length synthetic prompts.
//!
//! Three ways to know how many tokens a text is, best first:
//!
//! * a local Hugging Face tokenizer ([`HfTokenizer`], from `--tokenizer`: a `tokenizer.json` path, a model
//!   folder, or a model id looked up in the Hugging Face cache and downloaded once; see [`load_tokenizer`]);
//! * the target server's own tokenize endpoint ([`ServerTokenizer`]: llama.cpp, vLLM, SGLang, TGI);
//! * an estimate, one common English word per token.
//!
//! [`PromptSynth`] builds synthetic prompts of exactly N tokens from the first two (from the estimate, about N),
//! deterministic in (seed, index, N) and different from their first token on, so that servers with prefix
//! caching get no cache hits between prompts.
//!
//! The module depends on nothing else of the crate; its submodules refer to each other through `super::`.

mod error;
mod hf;
mod hub;
mod server;
mod synth;
mod words;

#[cfg(test)]
mod hf_tests;
#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod synth_tests;
#[cfg(test)]
pub(crate) mod test_util;

pub use self::error::{TokenizerError, TOKENIZER_FIX};
pub use self::hf::{load_tokenizer, load_tokenizer_offline, load_tokenizer_with, precheck, HfTokenizer};
pub use self::hub::{is_model_id, HubConfig};
pub use self::server::{ServerFlavor, ServerTokenizer};
pub use self::synth::{Calibration, CalibrationSample, PromptSynth, SynthPrompt, SynthSource};
