//! What a run is asked to do: the options of `tokenscope run`, and the body of `POST /api/runs`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Longest run name accepted, characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Which OpenAI-compatible endpoint requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Found by preflight: whichever of chat / completions answers a 1-token request.
    #[default]
    Auto,
    /// `POST /v1/completions` with a `prompt`.
    Completions,
    /// `POST /v1/chat/completions` with `messages`.
    Chat,
}

/// The inference server behind the target, for the request fields each honours to force the output length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Found by preflight from what the server exposes (`/version`, `/v1/models` `owned_by`, `/props`, `/info`…);
    /// `generic` when nothing is recognised. Requests never go out as `auto`: until preflight resolves it, it sends
    /// the plain OpenAI fields of `generic`.
    #[default]
    Auto,
    /// Plain OpenAI fields only.
    Generic,
    /// vLLM (`ignore_eos`, `min_tokens`).
    Vllm,
    /// SGLang (`ignore_eos`, `min_tokens`).
    Sglang,
    /// LMDeploy / TurboMind (`ignore_eos`, `min_new_tokens`).
    Lmdeploy,
    /// TensorRT-LLM `trtllm-serve` (`ignore_eos`, `min_tokens`).
    Trtllm,
    /// Hugging Face TGI's OpenAI API (no length forcing beyond `max_tokens`).
    Tgi,
    /// llama.cpp server (`ignore_eos`, `n_predict`).
    LlamaCpp,
    /// Ollama's OpenAI API (`options.num_predict`).
    Ollama,
    /// tokenscope's own mock target.
    Mock,
}

/// How request arrivals are spaced in an open-loop (rate) load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", try_from = "ArrivalFields")]
pub enum Arrival {
    /// Exponential gaps (a Poisson process).
    #[default]
    Poisson,
    /// Evenly spaced.
    Constant,
    /// Gamma-distributed gaps; `burstiness` < 1 is burstier than Poisson, > 1 more regular.
    Gamma {
        /// Shape of the gamma distribution (1 = Poisson).
        burstiness: f64,
    },
}

/// The load pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", try_from = "LoadFields")]
pub enum LoadSpec {
    /// Closed loop: this many requests in flight at all times.
    Concurrency {
        /// Requests in flight.
        concurrency: u32,
    },
    /// Open loop: requests sent on a schedule whatever the server does.
    Rate {
        /// Mean requests per second.
        rate_rps: f64,
        /// Spacing of arrivals.
        arrival: Arrival,
    },
}

impl Default for LoadSpec {
    /// One request at a time.
    fn default() -> Self {
        LoadSpec::Concurrency { concurrency: 1 }
    }
}

/// A length: fixed, or drawn uniformly from an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRange {
    /// Smallest value.
    pub min: u32,
    /// Largest value (= `min` for a fixed length).
    pub max: u32,
}

impl TokenRange {
    /// A fixed length.
    pub const fn fixed(n: u32) -> Self {
        TokenRange { min: n, max: n }
    }
}

/// Where the prompts come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", try_from = "WorkloadFields")]
pub enum WorkloadSpec {
    /// Generated prompts of the given lengths (seeded, reproducible).
    Synthetic {
        /// Prompt length in tokens.
        input_tokens: TokenRange,
        /// Requested output length in tokens (`max_tokens`).
        output_tokens: TokenRange,
    },
    /// A JSON-lines file: each line `{"prompt": "..."}` or `{"messages": [...]}`, optional `max_tokens`.
    Jsonl {
        /// Path of the file on the machine running tokenscope.
        path: String,
        /// `max_tokens` for lines that give none.
        output_tokens: u32,
    },
    /// A ShareGPT JSON file (`[{"conversations": [{"from": "human", "value": ...}, ...]}]`).
    ShareGpt {
        /// Path of the file on the machine running tokenscope.
        path: String,
        /// `max_tokens` when the conversation gives no reply to measure.
        output_tokens: u32,
    },
}

/// Service-level objectives; a request meets them when it meets every one given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Slo {
    /// Time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Time per output token, ms.
    pub tpot_ms: Option<f64>,
    /// End-to-end latency, ms.
    pub e2e_ms: Option<f64>,
}

impl Slo {
    /// True when no objective is set.
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none() && self.tpot_ms.is_none() && self.e2e_ms.is_none()
    }
}

/// Everything a run needs. Serialized into reports and the archive (the API key and the password of the target
/// never are; [`RunSpec::to_request_json`] is the body that sends them to `POST /api/runs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// A name for the archive (optional).
    #[serde(default)]
    pub name: String,
    /// Base URL of the inference server, e.g. `http://127.0.0.1:8000`. It may carry `user:password@` for HTTP
    /// basic auth: reqwest 0.12 sends it (`RequestBuilder::new` takes the userinfo out of the URL and adds an
    /// `Authorization: Basic` header, async_impl/request.rs `extract_authority`). Serialized without it (see
    /// [`redact_target`]), so reports, the archive and viewers never see the password while the run itself keeps it.
    #[serde(serialize_with = "serialize_target")]
    pub target: String,
    /// Model name; discovered from `/v1/models` when empty.
    #[serde(default)]
    pub model: Option<String>,
    /// Endpoint to drive.
    #[serde(default)]
    pub endpoint: Endpoint,
    /// Backend preset.
    #[serde(default)]
    pub backend: Backend,
    /// Bearer token for the target; never serialized out.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// Stream responses (SSE). Without streaming, TTFT equals E2E.
    #[serde(default = "yes")]
    pub stream: bool,
    /// Load pattern.
    pub load: LoadSpec,
    /// Sweep: one step per value, replacing the concurrency or the rate of `load`.
    #[serde(default)]
    pub sweep: Vec<f64>,
    /// Stop after this many measured requests (per step).
    #[serde(default)]
    pub requests: Option<u64>,
    /// Stop after this long, seconds (per step).
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Requests sent first and left out of the metrics.
    #[serde(default)]
    pub warmup_requests: u64,
    /// Seconds at the start left out of the metrics.
    #[serde(default)]
    pub warmup_s: f64,
    /// Prompts.
    pub workload: WorkloadSpec,
    /// Seed of every random choice (prompts, lengths, arrivals). `None`: a fresh seed is drawn when the run starts
    /// (and recorded in the run's spec and report), so a second run never resends the first one's prompts to a
    /// server with a prefix cache; give the recorded seed to repeat a run exactly.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The model's tokenizer, for prompts of exactly the asked length and exact token counts: a `tokenizer.json`
    /// file, a folder holding one (a Hugging Face model folder), or a Hugging Face model id (downloaded once into
    /// the Hugging Face cache). `None`: the target's own tokenize endpoint when it has one, else an estimate that
    /// the report labels as such.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Objectives for goodput and the pass/fail verdict.
    #[serde(default)]
    pub slo: Slo,
    /// Per-request timeout, seconds.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: f64,
    /// How long preflight waits for the server to become ready, seconds.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_s: f64,
    /// Stop the run when the first this-many requests all fail (0 = never).
    #[serde(default = "default_fail_fast")]
    pub fail_fast_after: u32,
    /// A run (a sweep step) whose measured requests fail more often than this fraction ends with a verdict and
    /// counts as failed (exit status 1), whatever its SLOs.
    #[serde(default = "default_max_error_rate")]
    pub max_error_rate: f64,
}

/// Default of [`RunSpec::max_error_rate`]: 10 % failed requests.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.10;

fn yes() -> bool {
    true
}
fn default_request_timeout() -> f64 {
    600.0
}
fn default_ready_timeout() -> f64 {
    60.0
}
fn default_fail_fast() -> u32 {
    20
}
fn default_max_error_rate() -> f64 {
    DEFAULT_MAX_ERROR_RATE
}

/// One problem with one field of a spec: what the form shows beside the field and the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field, as named in the JSON body (`load.concurrency`, `requests`…).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl RunSpec {
    /// The body of `POST /api/runs` for this spec: its serialized form plus what serializing leaves out for
    /// reports and viewers but the run needs, the API key and the `user:password@` of the target.
    pub fn to_request_json(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut body {
            map.insert("target".into(), self.target.clone().into());
            if let Some(key) = &self.api_key {
                map.insert("api_key".into(), key.clone().into());
            }
        }
        body
    }
}

/// `url` as it may be shown or stored: without the `user:password@` of its authority (`http://u:p@h:8000/v1` →
/// `http://h:8000/v1`). The authority ends at the first `/`, `?`, `#` or `\` (a URL parser reads `\` as `/` in an
/// http URL) and its userinfo at its last `@`, as a URL parser reads them; without a `scheme://` the authority is
/// the start of the string, so `user:pw@host:8000` loses its `user:pw@` too.
pub fn redact_target(url: &str) -> Cow<'_, str> {
    let lead = url.len() - url.trim_start().len();
    let start = match url[lead..].find("://") {
        Some(i) if is_scheme(&url[lead..lead + i]) => lead + i + 3,
        _ => lead,
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{}", &url[..start], &rest[at + 1..])),
        None => Cow::Borrowed(url),
    }
}

/// `http`, `https`, `git+ssh`…: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// [`RunSpec::target`] as it is written out: through [`redact_target`].
fn serialize_target<S: serde::Serializer>(target: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redact_target(target))
}

// Reading the tagged enums. `Arrival`, `LoadSpec` and `WorkloadSpec` are written as one object with a `kind`. serde's
// own reading of such an enum buffers the object and reads the variant from the buffer, out of sight of a wrapping
// deserializer: the API's strict body reader (`serde_ignored` inside `serde_path_to_error`) would then neither see a
// misspelt field inside `load` nor name `load.concurrency` in a type error. So each is read through a plain struct
// of every kind's fields, which wrappers follow field by field, and then checked for its kind. Unknown fields are
// still ignored here (archived runs and reports from other versions stay readable; the API refuses them itself);
// a field of another kind (`rate_rps` on a concurrency load) is refused, as no writer of these types puts one there.

/// Why the fields of a tagged enum make none of its kinds. Worded as serde words a missing field, or as
/// ``field `name`: message``, so that a reader can name the field (`load.concurrency`) and not only the enum.
#[derive(Debug)]
struct KindError {
    field: &'static str,
    message: Option<String>,
}

impl KindError {
    fn missing(field: &'static str) -> Self {
        KindError { field, message: None }
    }

    fn wrong(field: &'static str, message: impl Into<String>) -> Self {
        KindError { field, message: Some(message.into()) }
    }

    /// `field` was given but belongs to other kinds than `kind`.
    fn check_absent(given: bool, field: &'static str, kind: &str, owners: &str) -> Result<(), KindError> {
        match given {
            true => Err(KindError::wrong(
                field,
                format!("applies to kind {owners} only, not `{kind}`: remove it or change `kind`"),
            )),
            false => Ok(()),
        }
    }
}

impl std::fmt::Display for KindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            None => write!(f, "missing field `{}`", self.field),
            Some(m) => write!(f, "field `{}`: {m}", self.field),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ArrivalKind {
    Poisson,
    Constant,
    Gamma,
}

/// The fields of every [`Arrival`].
#[derive(Deserialize)]
struct ArrivalFields {
    kind: ArrivalKind,
    burstiness: Option<f64>,
}

impl TryFrom<ArrivalFields> for Arrival {
    type Error = KindError;

    fn try_from(f: ArrivalFields) -> Result<Self, KindError> {
        let plain = |kind: &str| KindError::check_absent(f.burstiness.is_some(), "burstiness", kind, "`gamma`");
        match f.kind {
            ArrivalKind::Poisson => plain("poisson").map(|()| Arrival::Poisson),
            ArrivalKind::Constant => plain("constant").map(|()| Arrival::Constant),
            ArrivalKind::Gamma => {
                Ok(Arrival::Gamma { burstiness: f.burstiness.ok_or(KindError::missing("burstiness"))? })
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LoadKind {
    Concurrency,
    Rate,
}

/// The fields of every [`LoadSpec`].
#[derive(Deserialize)]
struct LoadFields {
    kind: LoadKind,
    concurrency: Option<u32>,
    rate_rps: Option<f64>,
    arrival: Option<Arrival>,
}

impl TryFrom<LoadFields> for LoadSpec {
    type Error = KindError;

    fn try_from(f: LoadFields) -> Result<Self, KindError> {
        match f.kind {
            LoadKind::Concurrency => {
                KindError::check_absent(f.rate_rps.is_some(), "rate_rps", "concurrency", "`rate`")?;
                KindError::check_absent(f.arrival.is_some(), "arrival", "concurrency", "`rate`")?;
                Ok(LoadSpec::Concurrency { concurrency: f.concurrency.ok_or(KindError::missing("concurrency"))? })
            }
            LoadKind::Rate => {
                KindError::check_absent(f.concurrency.is_some(), "concurrency", "rate", "`concurrency`")?;
                Ok(LoadSpec::Rate {
                    rate_rps: f.rate_rps.ok_or(KindError::missing("rate_rps"))?,
                    arrival: f.arrival.ok_or(KindError::missing("arrival"))?,
                })
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WorkloadKind {
    Synthetic,
    Jsonl,
    ShareGpt,
}

/// The fields of every [`WorkloadSpec`].
#[derive(Deserialize)]
struct WorkloadFields {
    kind: WorkloadKind,
    input_tokens: Option<TokenRange>,
    output_tokens: Option<OutputTokens>,
    path: Option<String>,
}

/// `output_tokens` of either kind: a range (synthetic) or one number (datasets).
enum OutputTokens {
    Range(TokenRange),
    Count(u32),
}

impl<'de> Deserialize<'de> for OutputTokens {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Unexpected, Visitor};
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = OutputTokens;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of tokens, or a range object with min and max")
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<OutputTokens, E> {
                u32::try_from(v).map(OutputTokens::Count).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<OutputTokens, E> {
                u32::try_from(v).map(OutputTokens::Count).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OutputTokens, A::Error> {
                // Through the map access it was given, so a wrapping deserializer still sees `min` and `max`.
                TokenRange::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(OutputTokens::Range)
            }
        }
        d.deserialize_any(Either)
    }
}

impl TryFrom<WorkloadFields> for WorkloadSpec {
    type Error = KindError;

    fn try_from(f: WorkloadFields) -> Result<Self, KindError> {
        let output = f.output_tokens.ok_or(KindError::missing("output_tokens"))?;
        let (kind, dataset): (&str, fn(String, u32) -> WorkloadSpec) = match f.kind {
            WorkloadKind::Synthetic => {
                KindError::check_absent(f.path.is_some(), "path", "synthetic", "`jsonl` or `share_gpt`")?;
                let input_tokens = f.input_tokens.ok_or(KindError::missing("input_tokens"))?;
                return match output {
                    OutputTokens::Range(output_tokens) => Ok(WorkloadSpec::Synthetic { input_tokens, output_tokens }),
                    OutputTokens::Count(_) => Err(KindError::wrong(
                        "output_tokens",
                        "a synthetic workload takes a range, e.g. {\"min\": 16, \"max\": 64}",
                    )),
                };
            }
            WorkloadKind::Jsonl => ("jsonl", |path, output_tokens| WorkloadSpec::Jsonl { path, output_tokens }),
            WorkloadKind::ShareGpt => {
                ("share_gpt", |path, output_tokens| WorkloadSpec::ShareGpt { path, output_tokens })
            }
        };
        KindError::check_absent(f.input_tokens.is_some(), "input_tokens", kind, "`synthetic`")?;
        let path = f.path.ok_or(KindError::missing("path"))?;
        match output {
            OutputTokens::Count(n) => Ok(dataset(path, n)),
            OutputTokens::Range(_) => Err(KindError::wrong(
                "output_tokens",
                "a dataset takes one number (for the prompts that give no max_tokens), e.g. 128",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec_json() -> serde_json::Value {
        json!({
            "target": "http://user:pw@127.0.0.1:8000/v1",
            "api_key": "sk-1",
            "load": {"kind": "rate", "rate_rps": 2.5, "arrival": {"kind": "gamma", "burstiness": 0.5}},
            "requests": 10,
            "workload": {"kind": "synthetic", "input_tokens": {"min": 1, "max": 2}, "output_tokens": {"min": 3, "max": 4}}
        })
    }

    #[test]
    fn targets_lose_their_userinfo() {
        assert_eq!(redact_target("http://user:pw@host:8000/v1"), "http://host:8000/v1");
        assert_eq!(redact_target("https://tok@h"), "https://h");
        assert_eq!(redact_target("http://a:b@c@h/x"), "http://h/x", "the last @ ends the userinfo");
        assert_eq!(redact_target("http://h:8000/a@b"), "http://h:8000/a@b", "an @ in the path is not userinfo");
        assert_eq!(redact_target("http://h?u=a@b"), "http://h?u=a@b");
        assert_eq!(redact_target("http://u:p@h\\@x"), "http://h\\@x", "a backslash ends the authority");
        assert_eq!(redact_target("user:pw@h:8000"), "h:8000", "no scheme: the start is the authority");
        assert_eq!(redact_target(" http://u:p@h"), " http://h");
        assert!(matches!(redact_target("http://127.0.0.1:8000"), Cow::Borrowed(_)));
        assert_eq!(redact_target("not a url"), "not a url");
    }

    #[test]
    fn the_password_stays_in_memory_and_out_of_the_json() {
        let spec: RunSpec = serde_json::from_value(spec_json()).unwrap();
        assert_eq!(spec.target, "http://user:pw@127.0.0.1:8000/v1", "the run still authenticates");
        let out = serde_json::to_value(&spec).unwrap();
        assert_eq!(out["target"], "http://127.0.0.1:8000/v1");
        assert!(out.get("api_key").is_none());
        let body = spec.to_request_json();
        assert_eq!(body["target"], "http://user:pw@127.0.0.1:8000/v1");
        assert_eq!(body["api_key"], "sk-1");
        assert_eq!(serde_json::from_value::<RunSpec>(body).unwrap(), spec, "the request body is the whole spec");
    }

    #[test]
    fn tagged_enums_read_what_they_write() {
        let loads = [
            LoadSpec::Concurrency { concurrency: 3 },
            LoadSpec::Rate { rate_rps: 1.5, arrival: Arrival::Poisson },
            LoadSpec::Rate { rate_rps: 1.5, arrival: Arrival::Constant },
            LoadSpec::Rate { rate_rps: 1.5, arrival: Arrival::Gamma { burstiness: 2.0 } },
        ];
        for load in loads {
            let v = serde_json::to_value(&load).unwrap();
            assert_eq!(serde_json::from_value::<LoadSpec>(v).unwrap(), load);
        }
        let workloads = [
            WorkloadSpec::Synthetic {
                input_tokens: TokenRange::fixed(8),
                output_tokens: TokenRange { min: 1, max: 9 },
            },
            WorkloadSpec::Jsonl { path: "a.jsonl".into(), output_tokens: 64 },
            WorkloadSpec::ShareGpt { path: "s.json".into(), output_tokens: 32 },
        ];
        for w in workloads {
            let v = serde_json::to_value(&w).unwrap();
            assert_eq!(serde_json::from_value::<WorkloadSpec>(v).unwrap(), w);
        }
        assert_eq!(
            serde_json::to_value(LoadSpec::Concurrency { concurrency: 3 }).unwrap(),
            json!({"kind": "concurrency", "concurrency": 3}),
            "the wire format is unchanged"
        );
    }

    #[test]
    fn unknown_fields_are_ignored_when_read_back() {
        let v = json!({"kind": "concurrency", "concurrency": 2, "from_a_newer_version": true});
        assert_eq!(serde_json::from_value::<LoadSpec>(v).unwrap(), LoadSpec::Concurrency { concurrency: 2 });
    }

    #[test]
    fn kind_errors_name_the_field() {
        let err = |v: serde_json::Value| serde_json::from_value::<LoadSpec>(v).unwrap_err().to_string();
        assert_eq!(err(json!({"kind": "concurrency"})), "missing field `concurrency`");
        assert_eq!(err(json!({"kind": "rate", "rate_rps": 1})), "missing field `arrival`");
        assert!(err(json!({"concurrency": 1})).starts_with("missing field `kind`"));
        assert!(
            err(json!({"kind": "concurrency", "concurrency": 1, "rate_rps": 3}))
                .starts_with("field `rate_rps`: applies to kind `rate` only"),
            "a field of another kind is refused"
        );
        let err = |v: serde_json::Value| serde_json::from_value::<WorkloadSpec>(v).unwrap_err().to_string();
        let m = err(json!({"kind": "synthetic", "input_tokens": {"min": 1, "max": 1}, "output_tokens": 5}));
        assert!(m.starts_with("field `output_tokens`: a synthetic workload takes a range"), "{m}");
        let m = err(json!({"kind": "jsonl", "path": "x", "output_tokens": {"min": 1, "max": 1}}));
        assert!(m.starts_with("field `output_tokens`: a dataset takes one number"), "{m}");
        assert_eq!(err(json!({"kind": "share_gpt", "output_tokens": 1})), "missing field `path`");
        let m = err(json!({"kind": "jsonl", "path": "x", "output_tokens": -1}));
        assert!(m.starts_with("invalid value: integer `-1`, expected a whole number of tokens"), "{m}");
        let m = serde_json::from_value::<Arrival>(json!({"kind": "poisson", "burstiness": 2})).unwrap_err();
        assert!(m.to_string().starts_with("field `burstiness`: applies to kind `gamma` only"), "{m}");
    }
}
