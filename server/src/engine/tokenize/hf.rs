//! A local Hugging Face tokenizer ([`HfTokenizer`]) and its loading from what `--tokenizer` names: a
//! `tokenizer.json` path, a folder holding one, or a model id found in the Hugging Face cache or downloaded
//! there once.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::error::TokenizerError;
use super::hub::{self, HubConfig, TOKENIZER_FILE};

/// Largest `tokenizer.json` read (real ones are at most a few tens of MB).
const MAX_FILE_BYTES: u64 = 256 << 20;

/// A loaded Hugging Face tokenizer. Cheap to clone (shared), `Send + Sync`. Padding and truncation settings of
/// the file are turned off at load, so counts are never capped.
#[derive(Clone)]
pub struct HfTokenizer {
    inner: Arc<Inner>,
}

struct Inner {
    tokenizer: tokenizers::Tokenizer,
    name: String,
    path: PathBuf,
    /// Whether an encode failure was already logged (counted texts fail alike; one warning is enough).
    warned: AtomicBool,
}

impl fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("name", &self.inner.name)
            .field("path", &self.inner.path)
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

impl HfTokenizer {
    /// Loads a `tokenizer.json` file; `name` is what reports show (the `--tokenizer` value).
    pub fn from_file(path: &Path, name: &str) -> Result<Self, TokenizerError> {
        let unreadable = |source| TokenizerError::Unreadable { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(TokenizerError::Invalid {
                path: path.to_path_buf(),
                reason: format!("{} bytes, more than a tokenizer.json can be", meta.len()),
            });
        }
        let bytes = std::fs::read(path).map_err(unreadable)?;
        Self::from_bytes(&bytes, path, name)
    }

    /// Loads a tokenizer from the bytes of a `tokenizer.json`; `path` is for messages, `name` for reports.
    pub fn from_bytes(bytes: &[u8], path: &Path, name: &str) -> Result<Self, TokenizerError> {
        let invalid = |reason: String| TokenizerError::Invalid { path: path.to_path_buf(), reason };
        // The library should only return errors, but a malformed file must never take the process down.
        let parsed = catch_unwind(AssertUnwindSafe(|| tokenizers::Tokenizer::from_bytes(bytes)))
            .map_err(|_| invalid("the tokenizers library panicked while reading it".to_string()))?;
        let mut tokenizer = parsed.map_err(|e| invalid(e.to_string()))?;
        // Only single-text encode/decode are used, which never touch rayon; this keeps the library from
        // starting its global thread pool (one thread per core) should anyone call a batch method on `inner()`.
        tokenizers::parallelism::set_parallelism(false);
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| invalid(format!("cannot turn truncation off: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                tokenizer,
                name: name.to_string(),
                path: path.to_path_buf(),
                warned: AtomicBool::new(false),
            }),
        })
    }

    /// What reports call this tokenizer: the `--tokenizer` value it was loaded from.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The `tokenizer.json` it was read from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.tokenizer.get_vocab_size(true)
    }

    /// Number of tokens of `text`, no special tokens added (BOS and the like are the server's business). A text
    /// the tokenizer cannot encode counts 0, with one warning logged.
    pub fn count(&self, text: &str) -> u32 {
        match self.encode_ids(text) {
            Ok(ids) => u32::try_from(ids.len()).unwrap_or(u32::MAX),
            Err(e) => {
                if !self.inner.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "token count failed; counting 0");
                }
                0
            }
        }
    }

    /// The ids of `text`, no special tokens added.
    pub fn encode_ids(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.inner
            .tokenizer
            .encode_fast(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|e| TokenizerError::Encode { name: self.inner.name.clone(), reason: e.to_string() })
    }

    /// The text of `ids`, special tokens kept (so that encode then decode keeps a text's length).
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        self.inner
            .tokenizer
            .decode(ids, false)
            .map_err(|e| TokenizerError::Decode { name: self.inner.name.clone(), reason: e.to_string() })
    }

    /// The pieces the normalizer and the pre-tokenizer cut `text` into, before the model tokenizes each piece on
    /// its own (special and added tokens are pieces of their own).
    pub(super) fn pre_tokens(&self, text: &str) -> Result<Vec<String>, TokenizerError> {
        use tokenizers::{OffsetReferential, OffsetType, PreTokenizer};
        let tokenizer = &self.inner.tokenizer;
        let mut pieces = tokenizer.get_added_vocabulary().extract_and_normalize(tokenizer.get_normalizer(), text);
        if let Some(pre_tokenizer) = tokenizer.get_pre_tokenizer() {
            pre_tokenizer
                .pre_tokenize(&mut pieces)
                .map_err(|e| TokenizerError::Encode { name: self.inner.name.clone(), reason: e.to_string() })?;
        }
        Ok(pieces
            .get_splits(OffsetReferential::Normalized, OffsetType::None)
            .into_iter()
            .map(|(piece, _, _)| piece.to_string())
            .collect())
    }

    /// The model's vocabulary (added tokens left out), if the model is BPE.
    pub(super) fn bpe_vocab(&self) -> Option<Vec<String>> {
        match self.inner.tokenizer.get_model() {
            tokenizers::ModelWrapper::BPE(_) => Some(self.inner.tokenizer.get_vocab(false).into_keys().collect()),
            _ => None,
        }
    }

    /// The wrapped `tokenizers` tokenizer, for what this type does not offer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner.tokenizer
    }
}

/// Where a `--tokenizer` value leads, before any download.
#[derive(Debug)]
enum Resolved {
    /// A `tokenizer.json` to read.
    File(PathBuf),
    /// A model id not in the cache; `tried` says where it was looked for.
    Download { model: String, tried: String },
}

/// Loads the tokenizer `spec` names, reading the environment for the Hugging Face cache and offline mode
/// ([`HubConfig::from_env`]). `spec` is a `tokenizer.json` path, a folder holding `tokenizer.json` (a model
/// folder, or a cache folder `models--org--name`), or a model id `org/name` that is not an existing path: looked
/// up in the local cache, else downloaded into it once (unless offline). File parsing runs off the async threads.
pub async fn load_tokenizer(spec: &str) -> Result<HfTokenizer, TokenizerError> {
    load_tokenizer_with(spec, &HubConfig::from_env()).await
}

/// [`load_tokenizer`] with an explicit hub configuration.
pub async fn load_tokenizer_with(spec: &str, hub: &HubConfig) -> Result<HfTokenizer, TokenizerError> {
    let name = spec.trim().to_string();
    let path = match resolve(spec, hub)? {
        Resolved::File(path) => path,
        Resolved::Download { model, tried } => {
            if hub.offline {
                return Err(offline_error(model, tried));
            }
            hub::download(hub, &model, &tried).await?
        }
    };
    let shown = path.clone();
    tokio::task::spawn_blocking(move || HfTokenizer::from_file(&path, &name))
        .await
        .map_err(|e| TokenizerError::Invalid { path: shown, reason: format!("the loading task failed: {e}") })?
}

/// Loads the tokenizer `spec` names without any network access: paths, and model ids already in the cache of
/// `hub`. Blocking (file I/O and parsing).
pub fn load_tokenizer_offline(spec: &str, hub: &HubConfig) -> Result<HfTokenizer, TokenizerError> {
    match resolve(spec, hub)? {
        Resolved::File(path) => HfTokenizer::from_file(&path, spec.trim()),
        Resolved::Download { model, tried } => Err(offline_error(model, tried)),
    }
}

/// Checks, without reading or downloading anything, that `spec` can name a tokenizer: an existing file, a folder
/// holding `tokenizer.json`, or a model id (cached, or downloadable unless offline). For refusing a bad field at
/// once (the dashboard's `POST /api/runs`) rather than when the run starts.
pub fn precheck(spec: &str) -> Result<(), TokenizerError> {
    let hub = HubConfig::from_env();
    match resolve(spec, &hub)? {
        Resolved::File(_) => Ok(()),
        Resolved::Download { model, tried } if hub.offline => Err(offline_error(model, tried)),
        Resolved::Download { .. } => Ok(()),
    }
}

fn offline_error(model: String, tried: String) -> TokenizerError {
    TokenizerError::Hub {
        model,
        tried,
        reason: "not in the local Hugging Face cache, and offline (HF_HUB_OFFLINE) so not downloaded".to_string(),
    }
}

/// Decides what `spec` is: a file, a folder, a cached model, or a model to download.
fn resolve(spec: &str, hub: &HubConfig) -> Result<Resolved, TokenizerError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(TokenizerError::Empty);
    }
    let path = expand_home(spec);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            let file = path.join(TOKENIZER_FILE);
            if std::fs::symlink_metadata(&file).is_ok() {
                // Exists (maybe unreadable, maybe not a file): reading it will say what is wrong.
                Ok(Resolved::File(file))
            } else if let Some(file) = hub::newest_snapshot_file(&path) {
                Ok(Resolved::File(file))
            } else {
                Err(TokenizerError::NoTokenizerJson { dir: path })
            }
        }
        Ok(_) => Ok(Resolved::File(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !hub::is_model_id(spec) {
                return Err(TokenizerError::NotFound { path });
            }
            let repo_dir = hub.repo_dir(spec);
            match hub::cached(hub, spec) {
                Some(file) => Ok(Resolved::File(file)),
                None => Ok(Resolved::Download {
                    model: spec.to_string(),
                    tried: format!(
                        "local path {} (absent); Hugging Face cache {} (no tokenizer.json)",
                        path.display(),
                        repo_dir.display()
                    ),
                }),
            }
        }
        Err(source) => Err(TokenizerError::Unreadable { path, source }),
    }
}

/// `~/x` as `$HOME/x`; anything else as is.
fn expand_home(spec: &str) -> PathBuf {
    match (spec.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(spec),
    }
}
