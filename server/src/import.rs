//! Importing a report into the archive: the JSON that `tokenscope run --json FILE` and
//! `GET /api/runs/{id}/export.json` write (a run's report, or a sweep's with `steps`) becomes an ended run with a
//! new id. A report holds the load, the workload's kind and seed, the SLOs and (when preflight ran) the model and
//! endpoint, so the spec is rebuilt from those; the target URL, the request limits and the per-request series are
//! not in a report: the target is left empty and the run is tagged `imported`.

use crate::hub::new_run_id;
use protocol::archive::{reports, RunPatch};
use protocol::live_run::{RunResult, RunView};
use protocol::preflight::PreflightReport;
use protocol::report::{RunReport, SweepReport};
use protocol::spec::{Endpoint, LoadSpec, RunSpec, TokenRange, WorkloadSpec};

/// The tag every imported run carries.
pub const IMPORTED_TAG: &str = "imported";

/// Why a file or body is not a report that can be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not JSON at all.
    #[error("the report is not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but not of a report's shape, or with figures that do not hold together.
    #[error("the report is not a tokenscope run report: {0}")]
    Shape(String),
}

/// Parses a report: a sweep when the object has `steps`, else a single run's report.
///
/// Unknown fields are ignored here, unlike in the request bodies the API reads strictly (`routes::error::ApiJson`):
/// a report is data read back, not a request that configures something. It may come from a newer tokenscope that
/// writes more fields, and the import keeps what this version understands instead of refusing the whole file.
pub fn parse_report(value: serde_json::Value) -> Result<RunResult, ImportError> {
    let shape = |e: serde_json::Error| ImportError::Shape(e.to_string());
    let Some(object) = value.as_object() else {
        return Err(ImportError::Shape("expected a JSON object (a run report, or a sweep report with `steps`)".into()));
    };
    let result = if object.contains_key("steps") {
        let sweep: SweepReport = serde_json::from_value(value).map_err(shape)?;
        if sweep.steps.is_empty() {
            return Err(ImportError::Shape("`steps` is empty: a sweep report has at least one step".into()));
        }
        if sweep.best_step.is_some_and(|i| i >= sweep.steps.len()) {
            return Err(ImportError::Shape(format!(
                "`best_step` points past the {} steps of the sweep",
                sweep.steps.len()
            )));
        }
        RunResult::Sweep(sweep)
    } else {
        RunResult::Single(Box::new(serde_json::from_value::<RunReport>(value).map_err(shape)?))
    };
    Ok(result)
}

/// Parses the bytes of a report file.
pub fn parse_report_bytes(bytes: &[u8]) -> Result<RunResult, ImportError> {
    let value = serde_json::from_slice(bytes).map_err(|e| ImportError::Syntax(e.to_string()))?;
    parse_report(value)
}

/// The archive's view of an imported report: a new id, the spec rebuilt from the report, the `imported` tag and
/// a note that says what the report could not tell. `name` is checked like a rename.
pub fn imported_view(result: &RunResult, name: Option<&str>) -> Result<RunView, ImportError> {
    let name = name.map(str::trim).unwrap_or_default().to_owned();
    let check = RunPatch { name: Some(name.clone()), ..RunPatch::default() };
    if let Some(e) = check.validate().first() {
        return Err(ImportError::Shape(e.to_string()));
    }
    let mut view = RunView::ended(new_run_id(), spec_of(result, name), result.clone(), Vec::new());
    view.tags = vec![IMPORTED_TAG.to_owned()];
    view.notes = "Imported from a report file. A report does not hold the target URL, the request limits or the \
                  per-request records, so this run has no charts over time and no latency distribution; synthetic \
                  prompt lengths are the measured means."
        .to_owned();
    Ok(view)
}

/// The spec as far as the report tells it.
fn spec_of(result: &RunResult, name: String) -> RunSpec {
    let all = reports(Some(result));
    let first = all.first().copied();
    let (load, sweep) = match result {
        RunResult::Single(r) => (r.load.clone(), Vec::new()),
        RunResult::Sweep(s) => {
            let values = s
                .steps
                .iter()
                .map(|r| match &r.load {
                    LoadSpec::Concurrency { concurrency } => f64::from(*concurrency),
                    LoadSpec::Rate { rate_rps, .. } => *rate_rps,
                })
                .collect();
            (first.map(|r| r.load.clone()).unwrap_or(LoadSpec::Concurrency { concurrency: 1 }), values)
        }
    };
    let preflight = match result {
        RunResult::Single(r) => r.preflight.clone(),
        RunResult::Sweep(s) => s.preflight.clone().or_else(|| first.and_then(|r| r.preflight.clone())),
    }
    .and_then(|v| serde_json::from_value::<PreflightReport>(v).ok());
    let per_request = |total: u64| {
        let done: u64 = all.iter().map(|r| r.requests_completed).sum();
        let mean = if done == 0 { 0 } else { (total as f64 / done as f64).round() as u32 };
        TokenRange::fixed(mean)
    };
    let output_mean = per_request(all.iter().map(|r| r.output_tokens).sum());
    let workload_info = first.map(|r| r.workload.clone()).unwrap_or_default();
    let workload = match workload_info.kind.as_str() {
        "jsonl" => WorkloadSpec::Jsonl { path: String::new(), output_tokens: output_mean.max },
        "sharegpt" => WorkloadSpec::ShareGpt { path: String::new(), output_tokens: output_mean.max },
        _ => WorkloadSpec::Synthetic {
            input_tokens: per_request(all.iter().map(|r| r.input_tokens).sum()),
            output_tokens: output_mean,
        },
    };
    RunSpec {
        name,
        target: String::new(),
        model: preflight.as_ref().map(|p| p.model.clone()).filter(|m| !m.is_empty()),
        endpoint: preflight.as_ref().map(|p| p.endpoint).unwrap_or(Endpoint::Auto),
        backend: Default::default(),
        api_key: None,
        stream: true,
        load,
        sweep,
        requests: None,
        duration_s: None,
        warmup_requests: first.map(|r| r.warmup_requests_excluded).unwrap_or(0),
        warmup_s: 0.0,
        workload,
        seed: Some(workload_info.seed),
        tokenizer: None,
        slo: first.map(|r| r.slo).unwrap_or_default(),
        request_timeout_s: 600.0,
        ready_timeout_s: 60.0,
        fail_fast_after: 20,
        max_error_rate: protocol::spec::DEFAULT_MAX_ERROR_RATE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_report() {
        assert!(matches!(parse_report_bytes(b"{not json"), Err(ImportError::Syntax(_))));
        assert!(matches!(parse_report_bytes(b"[1, 2]"), Err(ImportError::Shape(_))));
        let missing = parse_report_bytes(br#"{"started_at_ms": 1}"#).unwrap_err();
        assert!(missing.to_string().contains("missing field"), "{missing}");
        let empty = parse_report_bytes(
            br#"{"started_at_ms": 1, "steps": [], "best_step": null, "stopped": false, "verdict": null,
                "preflight": null}"#,
        )
        .unwrap_err();
        assert!(empty.to_string().contains("`steps` is empty"), "{empty}");
    }
}
