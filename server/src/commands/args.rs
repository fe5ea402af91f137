//! Option groups shared by several subcommands, flattened into each (`#[command(flatten)]`): each default and
//! environment variable is stated once.

use clap::Args;

use crate::telemetry::TelemetryConfig;

/// The default run archive of `serve`, `run` and `import`.
pub const DEFAULT_DB: &str = "sqlite://tokenscope.db";

/// `--db`: the run archive.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Run archive, shared by `serve`, `run` and `import`: `sqlite://FILE` (created when missing) or
    /// `postgres://USER:PASS@HOST:PORT/DB` (the database must exist; tables are created).
    #[arg(long, default_value = DEFAULT_DB, env = "TOKENSCOPE_DB")]
    pub db: String,
}

impl Default for DbArgs {
    fn default() -> Self {
        DbArgs { db: DEFAULT_DB.to_owned() }
    }
}

/// `--simulate-gpu` and `--gpus`: which GPUs telemetry reads.
#[derive(Debug, Clone, Default, Args)]
pub struct TelemetryArgs {
    /// Demo mode: N simulated GPUs instead of NVML, labelled simulated everywhere they appear.
    #[arg(long, value_name = "N", env = "TOKENSCOPE_SIMULATE_GPU")]
    pub simulate_gpu: Option<u32>,
    /// Only these GPUs, by NVML index as nvidia-smi numbers them (not CUDA_VISIBLE_DEVICES), e.g. 0,1 (default:
    /// all). For `run` they are also the GPUs whose energy counts towards J/token (default there: those holding
    /// processes during the run, else all).
    #[arg(long, value_delimiter = ',', value_name = "LIST", env = "TOKENSCOPE_GPUS")]
    pub gpus: Option<Vec<u32>>,
}

impl TelemetryArgs {
    /// The telemetry configuration these options ask for, sampling every `interval`.
    pub fn config(&self, interval: std::time::Duration) -> TelemetryConfig {
        TelemetryConfig { interval, gpus: self.gpus.clone(), simulate_gpus: self.simulate_gpu }
    }
}
