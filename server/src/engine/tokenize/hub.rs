//! The Hugging Face hub side of tokenizer loading: where the local cache is, whether we may go online, and the
//! one-time download of a model's `tokenizer.json` into that cache (the standard layout, shared with Python's
//! `huggingface_hub`, so a model fetched by either is found by both).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hf_hub::api::sync::{ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};

use super::error::TokenizerError;

/// The file fetched from a model repository.
pub(super) const TOKENIZER_FILE: &str = "tokenizer.json";

/// The default hub address.
const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How long a download may take, metadata and file together.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the Hugging Face cache is and whether and how to reach the hub, read from the environment the way
/// Python's `huggingface_hub` reads it.
#[derive(Clone)]
pub struct HubConfig {
    /// The hub cache folder (`HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    pub cache_dir: PathBuf,
    /// No network access (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE` set to 1/true/yes/on).
    pub offline: bool,
    /// Access token for gated or private models (`HF_TOKEN`, else the `token` file `huggingface-cli login`
    /// writes).
    pub token: Option<String>,
    /// Hub address (`HF_ENDPOINT`, else <https://huggingface.co>).
    pub endpoint: String,
    /// Limit on one download.
    pub timeout: Duration,
}

impl fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubConfig")
            .field("cache_dir", &self.cache_dir)
            .field("offline", &self.offline)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HubConfig {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the settings through `get` (an environment lookup; tests pass their own). The token file, if any,
    /// is read here.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        let hf_home = get("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| get("HOME").map(|home| Path::new(&home).join(".cache")))
                .unwrap_or_else(|| PathBuf::from(".cache"))
                .join("huggingface")
        });
        let cache_dir = get("HF_HUB_CACHE")
            .or_else(|| get("HUGGINGFACE_HUB_CACHE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"].iter().any(|key| get(key).is_some_and(|v| truthy(&v)));
        let token = get("HF_TOKEN").or_else(|| get("HUGGING_FACE_HUB_TOKEN")).or_else(|| {
            let path = get("HF_TOKEN_PATH").map(PathBuf::from).unwrap_or_else(|| hf_home.join("token"));
            std::fs::read_to_string(path).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
        });
        let endpoint = get("HF_ENDPOINT")
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        Self { cache_dir, offline, token, endpoint, timeout: DEFAULT_TIMEOUT }
    }

    /// A configuration with its cache at `cache_dir`, offline, no token: for tests and for callers that must not
    /// touch the network.
    pub fn offline_at(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            offline: true,
            token: None,
            endpoint: DEFAULT_ENDPOINT.to_string(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The cache folder of one model repository.
    pub(super) fn repo_dir(&self, model: &str) -> PathBuf {
        self.cache_dir.join(Repo::new(model.to_string(), RepoType::Model).folder_name())
    }
}

/// `huggingface_hub`'s reading of a boolean environment variable.
fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Whether `spec` has the form of a Hugging Face model id, `org/name`: exactly one `/`, both sides non-empty,
/// made of ASCII letters, digits, `-`, `_` and `.`, neither side `.` or `..`, and not ending in `.json`.
pub fn is_model_id(spec: &str) -> bool {
    let mut parts = spec.split('/');
    let (Some(org), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    part_ok(org) && part_ok(name) && !name.to_ascii_lowercase().ends_with(".json")
}

/// The cached `tokenizer.json` of `model`: the `main` snapshot if there is one, else the most recently written
/// snapshot that has the file.
pub(super) fn cached(hub: &HubConfig, model: &str) -> Option<PathBuf> {
    if let Some(path) = Cache::new(hub.cache_dir.clone()).model(model.to_string()).get(TOKENIZER_FILE) {
        return Some(path);
    }
    newest_snapshot_file(&hub.repo_dir(model))
}

/// In a cache repository folder (`models--org--name`), the `tokenizer.json` of its newest snapshot.
pub(super) fn newest_snapshot_file(repo_dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(repo_dir.join("snapshots")).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(TOKENIZER_FILE))
        .filter(|path| path.is_file())
        .max_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
}

/// Downloads `model`'s `tokenizer.json` into the cache (once: a cached copy is used as is) and returns its path.
/// `tried` is what was tried before, for the error message. The download is blocking (hf-hub's ureq client) and
/// runs on tokio's blocking pool, abandoned past [`HubConfig::timeout`].
pub(super) async fn download(hub: &HubConfig, model: &str, tried: &str) -> Result<PathBuf, TokenizerError> {
    let fail = |reason: String| TokenizerError::Hub {
        model: model.to_string(),
        tried: format!("{tried}; download from {}", hub.endpoint),
        reason,
    };
    let api = ApiBuilder::from_cache(Cache::new(hub.cache_dir.clone()))
        .with_progress(false)
        .with_token(hub.token.clone())
        .with_endpoint(hub.endpoint.clone())
        .with_user_agent("tokenscope", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| fail(format!("cannot set up the hub client: {e}")))?;
    tracing::info!(model, endpoint = %hub.endpoint, cache = %hub.cache_dir.display(), "downloading tokenizer.json");
    let repo = api.model(model.to_string());
    let task = tokio::task::spawn_blocking(move || repo.get(TOKENIZER_FILE));
    match tokio::time::timeout(hub.timeout, task).await {
        Ok(Ok(Ok(path))) => Ok(path),
        Ok(Ok(Err(e))) => Err(fail(explain(&e, hub))),
        Ok(Err(e)) => Err(fail(format!("the download task failed: {e}"))),
        Err(_) => Err(fail(format!("no answer within {} s (offline?)", hub.timeout.as_secs()))),
    }
}

/// A hub error, with what to do about it.
fn explain(error: &ApiError, hub: &HubConfig) -> String {
    let ApiError::RequestError(e) = error else {
        return error.to_string();
    };
    match e.as_ref() {
        ureq::Error::StatusCode(401 | 403) => {
            let token = if hub.token.is_some() { "the token given was refused" } else { "no token was given" };
            format!(
                "the model is gated or private ({token}): accept its license on the model's page, then set \
                 HF_TOKEN or run `huggingface-cli login`"
            )
        }
        ureq::Error::StatusCode(404) => "no such model on the hub, or it has no tokenizer.json".to_string(),
        ureq::Error::StatusCode(status) => format!("the hub answered HTTP {status}"),
        ureq::Error::Io(_) | ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => {
            format!("cannot reach {} ({e}; offline? set HF_HUB_OFFLINE=1 to stop trying)", hub.endpoint)
        }
        other => other.to_string(),
    }
}
