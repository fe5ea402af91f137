//! How long one answer is: the requested length (or the configured default), cut short at a seeded
//! end-of-sequence point under `--eos-rate` — unless the request forces its length with a field the mock's identity
//! honours (`ignore_eos: true`; `min_tokens` / `min_new_tokens` / `options.num_predict` as a floor).

use super::identity::Honours;

/// What a request says about its output length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct LengthAsk {
    /// `max_tokens`, else `max_completion_tokens`, else llama.cpp's `n_predict`, else Ollama's
    /// `options.num_predict` (negative ones mean "no limit" and are dropped).
    pub max: Option<u32>,
    /// `ignore_eos`.
    pub ignore_eos: Option<bool>,
    /// `min_tokens` (vLLM, SGLang, TensorRT-LLM).
    pub min_tokens: Option<u32>,
    /// `min_new_tokens` (LMDeploy).
    pub min_new_tokens: Option<u32>,
    /// `options.num_predict` (Ollama), when not negative.
    pub num_predict: Option<u32>,
}

/// The length of one answer and its `finish_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Length {
    /// Tokens generated (what `usage.completion_tokens` reports).
    pub tokens: u32,
    /// `"stop"` when the end-of-sequence token ended it, `"length"` when `max_tokens` did.
    pub finish: &'static str,
}

impl LengthAsk {
    /// Tokens planned before any end of sequence: the asked maximum, or `default_tokens`.
    pub fn limit(&self, default_tokens: u32) -> u32 {
        self.max.unwrap_or(default_tokens)
    }

    /// The answer's length, given where the end-of-sequence token would fall among `limit` tokens (`eos_at`,
    /// from the seeded draw; `None`: nowhere) and which fields the server honours.
    pub fn answer(&self, honours: Honours, limit: u32, eos_at: Option<u32>) -> Length {
        // Without `max_tokens`, the default length is where the model "naturally" stops: an end of sequence.
        let at_limit = Length { tokens: limit, finish: if self.max.is_some() { "length" } else { "stop" } };
        let Some(eos) = eos_at.filter(|&at| at < limit) else { return at_limit };
        if honours.ignore_eos && self.ignore_eos == Some(true) {
            return at_limit;
        }
        let floor = [
            self.min_tokens.filter(|_| honours.min_tokens),
            self.min_new_tokens.filter(|_| honours.min_new_tokens),
            self.num_predict.filter(|_| honours.num_predict),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        let tokens = eos.max(floor);
        if tokens >= limit {
            at_limit
        } else {
            Length { tokens, finish: "stop" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Honours = Honours { ignore_eos: true, min_tokens: true, min_new_tokens: true, num_predict: true };
    const NONE: Honours = Honours { ignore_eos: false, min_tokens: false, min_new_tokens: false, num_predict: false };

    fn ask(max: u32) -> LengthAsk {
        LengthAsk { max: Some(max), ..Default::default() }
    }

    #[test]
    fn without_an_eos_the_asked_length_is_exact() {
        assert_eq!(ask(64).answer(NONE, 64, None), Length { tokens: 64, finish: "length" });
        let free = LengthAsk::default();
        assert_eq!(free.limit(128), 128);
        assert_eq!(free.answer(NONE, 128, None), Length { tokens: 128, finish: "stop" }, "the default length stops");
    }

    #[test]
    fn an_eos_cuts_the_answer_short_with_stop() {
        assert_eq!(ask(64).answer(ALL, 64, Some(10)), Length { tokens: 10, finish: "stop" });
        assert_eq!(ask(64).answer(ALL, 64, Some(64)), Length { tokens: 64, finish: "length" }, "not before the end");
    }

    #[test]
    fn ignore_eos_and_floors_force_the_length_when_honoured() {
        let ignore = LengthAsk { ignore_eos: Some(true), ..ask(64) };
        assert_eq!(ignore.answer(ALL, 64, Some(10)).tokens, 64);
        assert_eq!(ignore.answer(NONE, 64, Some(10)).tokens, 10, "a server that does not read ignore_eos stops");
        let floor = LengthAsk { min_tokens: Some(64), ..ask(64) };
        assert_eq!(floor.answer(ALL, 64, Some(10)), Length { tokens: 64, finish: "length" });
        let half = LengthAsk { min_new_tokens: Some(32), ..ask(64) };
        assert_eq!(half.answer(ALL, 64, Some(10)), Length { tokens: 32, finish: "stop" }, "a floor below the max");
        let ollama = LengthAsk { num_predict: Some(64), ..ask(64) };
        assert_eq!(ollama.answer(ALL, 64, Some(3)).tokens, 64);
        let vllm_only = Honours { min_tokens: true, ..NONE };
        assert_eq!(ollama.answer(vllm_only, 64, Some(3)).tokens, 3, "fields of another server are ignored");
    }
}
