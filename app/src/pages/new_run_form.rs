//! The New run form's state: one string signal per input, turned into a [`RunSpec`] on submit.

use leptos::prelude::*;

use protocol::preflight::FORM_MAX_READY_TIMEOUT_S;
use protocol::spec::{Arrival, Backend, Endpoint, FieldError, LoadSpec, RunSpec, Slo, TokenRange, WorkloadSpec};

/// Every input of the form, as typed.
#[derive(Clone, Copy)]
pub struct Form {
    /// The `name` input, as typed.
    pub name: RwSignal<String>,
    /// The `target` input, as typed.
    pub target: RwSignal<String>,
    /// The `model` input, as typed.
    pub model: RwSignal<String>,
    /// The `api_key` input, as typed.
    pub api_key: RwSignal<String>,
    /// The `backend` input, as typed.
    pub backend: RwSignal<String>,
    /// The `endpoint` input, as typed.
    pub endpoint: RwSignal<String>,
    /// The `load_kind` input, as typed.
    pub load_kind: RwSignal<String>,
    /// The `concurrency` input, as typed.
    pub concurrency: RwSignal<String>,
    /// The `rate` input, as typed.
    pub rate: RwSignal<String>,
    /// The `arrival` input, as typed.
    pub arrival: RwSignal<String>,
    /// The `burstiness` input, as typed.
    pub burstiness: RwSignal<String>,
    /// The `sweep` input, as typed.
    pub sweep: RwSignal<String>,
    /// The `workload_kind` input, as typed.
    pub workload_kind: RwSignal<String>,
    /// The `input_tokens` input, as typed.
    pub input_tokens: RwSignal<String>,
    /// The `output_tokens` input, as typed.
    pub output_tokens: RwSignal<String>,
    /// The `dataset` input, as typed.
    pub dataset: RwSignal<String>,
    /// The `requests` input, as typed.
    pub requests: RwSignal<String>,
    /// The `duration` input, as typed.
    pub duration: RwSignal<String>,
    /// The `warmup` input, as typed.
    pub warmup: RwSignal<String>,
    /// The `seed` input, as typed.
    pub seed: RwSignal<String>,
    /// The `tokenizer` input, as typed (a tokenizer.json path or folder on the server, or a Hugging Face id).
    pub tokenizer: RwSignal<String>,
    /// The `slo_ttft` input, as typed.
    pub slo_ttft: RwSignal<String>,
    /// The `slo_tpot` input, as typed.
    pub slo_tpot: RwSignal<String>,
    /// The `slo_e2e` input, as typed.
    pub slo_e2e: RwSignal<String>,
    /// The `ready_timeout_s` input, as typed: seconds Check and the run wait for the server to be ready.
    pub ready_timeout: RwSignal<String>,
}

/// The ready timeout a new form starts with, seconds.
pub const DEFAULT_READY_TIMEOUT_S: u32 = 30;

fn s(v: &str) -> RwSignal<String> {
    RwSignal::new(v.to_owned())
}

impl Form {
    /// Defaults a first run needs no change to.
    pub fn new() -> Self {
        Form {
            name: s(""),
            target: s(""),
            model: s(""),
            api_key: s(""),
            backend: s("auto"),
            endpoint: s("auto"),
            load_kind: s("concurrency"),
            concurrency: s("8"),
            rate: s("4"),
            arrival: s("poisson"),
            burstiness: s("1"),
            sweep: s(""),
            workload_kind: s("synthetic"),
            input_tokens: s("256"),
            output_tokens: s("128"),
            dataset: s(""),
            requests: s("200"),
            duration: s(""),
            warmup: s("0"),
            seed: s(""),
            tokenizer: s(""),
            slo_ttft: s(""),
            slo_tpot: s(""),
            slo_e2e: s(""),
            ready_timeout: s(&DEFAULT_READY_TIMEOUT_S.to_string()),
        }
    }
}

impl Default for Form {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses `N` or `MIN..MAX` (also `MIN-MAX`).
pub fn parse_range(v: &str) -> Option<TokenRange> {
    let v = v.trim();
    let (a, b) = v.split_once("..").or_else(|| v.split_once('-')).unwrap_or((v, v));
    let (min, max) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    Some(TokenRange { min, max })
}

fn opt_f64(field: &str, v: &str, errs: &mut Vec<FieldError>) -> Option<f64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>() {
        Ok(x) => Some(x),
        Err(_) => {
            errs.push(FieldError { field: field.into(), message: format!("{v:?} is not a number") });
            None
        }
    }
}

fn num<T: std::str::FromStr + Default>(field: &str, v: &str, errs: &mut Vec<FieldError>) -> T {
    v.trim().parse().unwrap_or_else(|_| {
        errs.push(FieldError { field: field.into(), message: format!("{:?} is not a whole number", v.trim()) });
        T::default()
    })
}

/// The `seed` input: empty for a fresh seed per run, else a whole number (repeats a run exactly).
fn optional_seed(v: &str, errs: &mut Vec<FieldError>) -> Option<u64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errs.push(FieldError {
                field: "seed".into(),
                message: format!("{v:?} is not a whole number; leave it empty for a fresh seed per run"),
            });
            None
        }
    }
}

/// The `ready_timeout_s` input: whole seconds from 1 to [`FORM_MAX_READY_TIMEOUT_S`].
pub fn ready_timeout(v: &str) -> Result<u32, FieldError> {
    let v = v.trim().trim_end_matches('s').trim();
    let max = FORM_MAX_READY_TIMEOUT_S;
    match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(FieldError {
            field: "ready_timeout_s".into(),
            message: format!(
                "Ready timeout must be a whole number of seconds from 1 to {max} (how long to wait for the server to \
                 load), e.g. 60"
            ),
        }),
    }
}

/// A backend or endpoint name as the JSON spells it.
fn from_name<T: serde::de::DeserializeOwned + Default>(v: &str) -> T {
    serde_json::from_value(serde_json::Value::String(v.to_owned())).unwrap_or_default()
}

impl Form {
    /// The spec the inputs describe, or the inputs that are not even numbers.
    pub fn to_spec(&self) -> Result<RunSpec, Vec<FieldError>> {
        let mut errs = Vec::new();
        let load = if self.load_kind.get() == "rate" {
            let arrival = match self.arrival.get().as_str() {
                "constant" => Arrival::Constant,
                "gamma" => Arrival::Gamma {
                    burstiness: opt_f64("load.arrival.burstiness", &self.burstiness.get(), &mut errs).unwrap_or(1.0),
                },
                _ => Arrival::Poisson,
            };
            LoadSpec::Rate { rate_rps: opt_f64("load.rate_rps", &self.rate.get(), &mut errs).unwrap_or(0.0), arrival }
        } else {
            LoadSpec::Concurrency { concurrency: num("load.concurrency", &self.concurrency.get(), &mut errs) }
        };
        let sweep: Vec<f64> = self
            .sweep
            .get()
            .split(',')
            .filter(|x| !x.trim().is_empty())
            .filter_map(|x| opt_f64("sweep", x, &mut errs))
            .collect();
        let output = parse_range(&self.output_tokens.get());
        let workload = match self.workload_kind.get().as_str() {
            kind @ ("jsonl" | "sharegpt") => {
                let path = self.dataset.get().trim().to_owned();
                let output_tokens = output.map(|r| r.max).unwrap_or(128);
                if kind == "jsonl" {
                    WorkloadSpec::Jsonl { path, output_tokens }
                } else {
                    WorkloadSpec::ShareGpt { path, output_tokens }
                }
            }
            _ => {
                let input = parse_range(&self.input_tokens.get());
                if input.is_none() {
                    errs.push(FieldError {
                        field: "workload.input_tokens".into(),
                        message: "give N or MIN..MAX, e.g. 256 or 128..512".into(),
                    });
                }
                if output.is_none() {
                    errs.push(FieldError {
                        field: "workload.output_tokens".into(),
                        message: "give N or MIN..MAX, e.g. 128".into(),
                    });
                }
                WorkloadSpec::Synthetic {
                    input_tokens: input.unwrap_or(TokenRange::fixed(1)),
                    output_tokens: output.unwrap_or(TokenRange::fixed(1)),
                }
            }
        };
        let ready_timeout_s = match ready_timeout(&self.ready_timeout.get()) {
            Ok(n) => f64::from(n),
            Err(e) => {
                errs.push(e);
                f64::from(DEFAULT_READY_TIMEOUT_S)
            }
        };
        let requests = match self.requests.get().trim() {
            "" => None,
            v => Some(num("requests", v, &mut errs)),
        };
        let spec = RunSpec {
            name: self.name.get().trim().to_owned(),
            target: self.target.get().trim().to_owned(),
            model: Some(self.model.get().trim().to_owned()).filter(|m| !m.is_empty()),
            endpoint: from_name::<Endpoint>(&self.endpoint.get()),
            backend: from_name::<Backend>(&self.backend.get()),
            api_key: Some(self.api_key.get()).filter(|k| !k.is_empty()),
            stream: true,
            load,
            sweep,
            requests,
            duration_s: opt_f64("duration_s", &self.duration.get(), &mut errs),
            warmup_requests: num("warmup_requests", &self.warmup.get(), &mut errs),
            warmup_s: 0.0,
            workload,
            seed: optional_seed(&self.seed.get(), &mut errs),
            tokenizer: Some(self.tokenizer.get().trim().to_owned()).filter(|t| !t.is_empty()),
            max_error_rate: protocol::spec::DEFAULT_MAX_ERROR_RATE,
            slo: Slo {
                ttft_ms: opt_f64("slo.ttft_ms", &self.slo_ttft.get(), &mut errs),
                tpot_ms: opt_f64("slo.tpot_ms", &self.slo_tpot.get(), &mut errs),
                e2e_ms: opt_f64("slo.e2e_ms", &self.slo_e2e.get(), &mut errs),
            },
            request_timeout_s: 600.0,
            ready_timeout_s,
            fail_fast_after: 20,
        };
        errs.extend(spec.validate());
        if errs.is_empty() {
            Ok(spec)
        } else {
            Err(errs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_timeout_is_whole_seconds_in_range() {
        assert_eq!(ready_timeout(" 90 "), Ok(90));
        assert_eq!(ready_timeout("45s"), Ok(45));
        for bad in ["0", "601", "-1", "1.5", "soon", ""] {
            let e = ready_timeout(bad).unwrap_err();
            assert_eq!(e.field, "ready_timeout_s", "{bad}");
            assert!(e.message.starts_with("Ready timeout must be") && e.message.contains("1 to 600"), "{e:?}");
        }
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_range("256"), Some(TokenRange::fixed(256)));
        assert_eq!(parse_range("128..512"), Some(TokenRange { min: 128, max: 512 }));
        assert_eq!(parse_range(" 1 - 2 "), Some(TokenRange { min: 1, max: 2 }));
        assert_eq!(parse_range("x"), None);
    }

    #[test]
    fn defaults_with_a_target_make_a_valid_spec_and_bad_numbers_name_their_field() {
        let owner = Owner::new();
        owner.with(|| {
            let f = Form::new();
            f.target.set("http://127.0.0.1:8000".into());
            let spec = f.to_spec().unwrap();
            assert_eq!(spec.load, LoadSpec::Concurrency { concurrency: 8 });
            assert_eq!(spec.ready_timeout_s, 30.0);
            f.concurrency.set("many".into());
            let errs = f.to_spec().unwrap_err();
            assert!(errs.iter().any(|e| e.field == "load.concurrency"), "{errs:?}");
            f.concurrency.set("8".into());
            f.ready_timeout.set("120".into());
            assert_eq!(f.to_spec().unwrap().ready_timeout_s, 120.0);
            f.ready_timeout.set("0".into());
            let errs = f.to_spec().unwrap_err();
            assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["ready_timeout_s"]);
            assert!(errs[0].message.contains("from 1 to 600"), "{errs:?}");
        });
    }
}
