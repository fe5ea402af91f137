//! What `tokenscope run` records beside the load: GPU telemetry for energy per token, and the archive entry that
//! puts CLI runs beside dashboard runs.

use clap::Args;

use app::protocol::live_run::{Progress, RunResult, RunView};
use app::protocol::spec::RunSpec;

use crate::hub::new_run_id;
use crate::store::{SeriesBatch, Store};
use crate::telemetry::{run_energy::ModelSize, Telemetry, TelemetryConfig, DEFAULT_INTERVAL};

/// Options of `tokenscope run` about telemetry and the archive.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// Run archive to save the run in, shared with `tokenscope serve` (sqlite://FILE or
    /// postgres://USER:PASS@HOST:PORT/DB).
    #[arg(long, default_value = "sqlite://tokenscope.db", env = "TOKENSCOPE_DB")]
    pub db: String,
    /// Do not save the run in the archive.
    #[arg(long)]
    pub no_save: bool,
    /// Simulate N GPUs instead of reading NVML (a demo: marked simulated in the report).
    #[arg(long, value_name = "N")]
    pub simulate_gpu: Option<u32>,
    /// GPUs whose energy counts towards J/token, e.g. 0,1 (default: those holding processes during the run,
    /// else all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub gpus: Option<Vec<u32>>,
    /// The served model's parameter count, e.g. 8e9 or 8B, for estimated MBU/MFU (BF16 weights assumed).
    #[arg(long, value_name = "N", value_parser = parse_params)]
    pub model_params: Option<f64>,
}

/// `8e9`, `8000000000`, `8B`, `70b`, `1.5B`, `500M` → parameters.
pub fn parse_params(v: &str) -> Result<f64, String> {
    let t = v.trim();
    let (num, mult) = match t.chars().last() {
        Some('B' | 'b') => (&t[..t.len() - 1], 1e9),
        Some('M' | 'm') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n * mult >= 1e6 => Ok(n * mult),
        _ => Err(format!("{v:?} is not a parameter count; write e.g. 8B, 70B or 8e9")),
    }
}

impl RecordArgs {
    /// The model size for MBU/MFU, when given.
    pub fn model(&self) -> Option<ModelSize> {
        self.model_params.map(|params| ModelSize { params, bytes_per_param: 2.0 })
    }

    /// Starts GPU telemetry for the run (NVML, simulated, or unavailable — never an error for a missing GPU).
    pub async fn telemetry(&self) -> anyhow::Result<Telemetry> {
        let config =
            TelemetryConfig { interval: DEFAULT_INTERVAL, gpus: self.gpus.clone(), simulate_gpus: self.simulate_gpu };
        Ok(tokio::task::spawn_blocking(move || Telemetry::start(&config)).await??)
    }

    /// Saves the finished run with its windows, requests and GPU samples in the archive unless `--no-save`;
    /// returns its id.
    pub async fn save(
        &self,
        spec: &RunSpec,
        result: &RunResult,
        preflight_states: Vec<String>,
        series: &SeriesBatch,
    ) -> anyhow::Result<Option<String>> {
        if self.no_save {
            return Ok(None);
        }
        let store = Store::connect(&self.db).await?;
        let view = archived_view(spec, result, preflight_states);
        store.save_run_with_series(&view, series).await?;
        Ok(Some(view.id))
    }
}

/// The archive's view of a finished CLI run.
pub fn archived_view(spec: &RunSpec, result: &RunResult, preflight_states: Vec<String>) -> RunView {
    let (started, verdict, reports) = match result {
        RunResult::Single(r) => (r.started_at_ms, r.verdict.clone(), vec![r.as_ref()]),
        RunResult::Sweep(s) => (s.started_at_ms, s.verdict.clone(), s.steps.iter().collect()),
    };
    let completed: u64 = reports.iter().map(|r| r.requests_completed).sum();
    let failed: u64 = reports.iter().map(|r| r.requests_failed).sum();
    let status = result.status();
    let progress = Progress {
        done: completed + failed,
        failed,
        elapsed_s: reports.iter().map(|r| r.duration_s).sum(),
        steps: reports.len() as u32,
        output_tokens: reports.iter().map(|r| r.output_tokens).sum(),
        ..Progress::default()
    };
    let error_samples = reports.iter().flat_map(|r| r.error_samples.iter().cloned()).collect();
    RunView {
        id: new_run_id(),
        spec: spec.clone(),
        status,
        started_unix_ms: started,
        progress,
        preflight_states,
        verdict,
        error_samples,
        result: Some(result.clone()),
        demo: false,
        notes: String::new(),
        tags: Vec::new(),
        storage_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_parse_with_suffixes() {
        assert_eq!(parse_params("8B"), Ok(8e9));
        assert_eq!(parse_params("1.5b"), Ok(1.5e9));
        assert_eq!(parse_params("500M"), Ok(5e8));
        assert_eq!(parse_params("7e9"), Ok(7e9));
        assert!(parse_params("lots").unwrap_err().contains("8B"));
        assert!(parse_params("12").is_err());
    }
}
