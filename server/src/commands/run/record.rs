//! What `tokenscope run` records beside the load: GPU telemetry for energy per token, and the archive entry that
//! puts CLI runs beside dashboard runs.

use clap::Args;

use protocol::live_run::{RunResult, RunView};
use protocol::spec::RunSpec;

use crate::commands::args::{DbArgs, TelemetryArgs};
use crate::hub::new_run_id;
use crate::store::{SeriesBatch, Store};
use crate::telemetry::{run_energy::ModelSize, Telemetry, DEFAULT_INTERVAL};

/// Options of `tokenscope run` about telemetry and the archive.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The archive to save the run in.
    #[command(flatten)]
    pub db: DbArgs,
    /// Do not save the run in the archive.
    #[arg(long)]
    pub no_save: bool,
    /// Which GPUs are read, and count towards J/token (`--gpus`, `--simulate-gpu`).
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
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
    pub async fn start_telemetry(&self) -> anyhow::Result<Telemetry> {
        let config = self.telemetry.config(DEFAULT_INTERVAL);
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
        let store = Store::connect(&self.db.db).await?;
        let view = RunView::ended(new_run_id(), spec.clone(), result.clone(), preflight_states);
        store.save_run_with_series(&view, series).await?;
        Ok(Some(view.id))
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
