//! Bodies of the JSON API's answers that are not domain types: errors and creation receipts.

use serde::{Deserialize, Serialize};

use super::spec::FieldError;

/// The body of every non-2xx answer of `/api/*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// One sentence for people: what went wrong and what to do.
    pub error: String,
    /// Per-field problems (422), shown beside the form fields; empty otherwise.
    #[serde(default)]
    pub fields: Vec<FieldError>,
}

/// `201` answer of `POST /api/datasets`: where the uploaded file now is, for the run spec's `workload.path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetUploaded {
    /// Path relative to the server's dataset folder (`uploads/NAME-HASH.jsonl`).
    pub path: String,
    /// `jsonl` or `sharegpt`: the workload kind the file parses as.
    pub kind: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Prompts found in it.
    pub prompts: u64,
}

/// `201` answer of `POST /api/runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCreated {
    /// The run's unguessable id.
    pub id: String,
    /// Path of its live page, relative to the dashboard root (`runs/{id}`).
    pub url: String,
}
