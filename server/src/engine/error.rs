//! The engine's errors: what stops a run before or outside the measurement. Failed requests are not errors here;
//! they are measured and counted by class in the report.

use protocol::spec::FieldError;

/// Why the engine could not run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The spec did not pass [`protocol::spec::RunSpec::validate`].
    #[error("invalid run spec: {}", join(.0))]
    InvalidSpec(Vec<FieldError>),
    /// The prompts could not be built or read.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// An arrival process could not be built from the load.
    #[error("arrival process: {0}")]
    Arrival(String),
    /// The task loading the workload died.
    #[error("loading the workload was interrupted: {0}")]
    Interrupted(String),
    /// The pacer thread of an open loop could not be started.
    #[error("cannot start the pacer thread: {0}")]
    Pacer(#[source] std::io::Error),
    /// A latency histogram could not be created.
    #[error("histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
}

/// Why a workload could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The dataset file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The path cannot be a dataset here: outside the dataset folder, not a regular file, too large.
    #[error("{path}: {message}")]
    Refused {
        /// The path as given.
        path: String,
        /// Why, and what to do instead.
        message: String,
    },
    /// A line or entry of the dataset is not what the format expects.
    #[error("{path}:{line}: {message}")]
    Bad {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The dataset held no usable prompt.
    #[error("{path}: no prompts found ({expected})")]
    Empty {
        /// The file.
        path: String,
        /// The format that was expected.
        expected: &'static str,
    },
}

fn join(errs: &[FieldError]) -> String {
    errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}
