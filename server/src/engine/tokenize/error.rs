//! The errors of tokenizer loading and of server-side token counting.

use std::path::PathBuf;

/// What to do when no tokenizer can be had, appended to the messages that need it.
pub const TOKENIZER_FIX: &str = "give --tokenizer DIR (a folder holding tokenizer.json) or a tokenizer.json path";

/// Why a tokenizer could not be loaded, or a text not counted. Every message names the `tokenizer` setting and
/// the path, model or URL concerned.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The setting is empty.
    #[error("tokenizer: the value is empty; {}", TOKENIZER_FIX)]
    Empty,
    /// The path does not exist and does not look like a Hugging Face model id.
    #[error(
        "tokenizer: {} does not exist, and is not a Hugging Face model id (org/name) either; {}",
        path.display(),
        TOKENIZER_FIX
    )]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The path exists but cannot be read.
    #[error("tokenizer: cannot read {}: {source}", path.display())]
    Unreadable {
        /// The path that could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A folder without `tokenizer.json` in it.
    #[error("tokenizer: the folder {} holds no tokenizer.json; {}", dir.display(), TOKENIZER_FIX)]
    NoTokenizerJson {
        /// The folder.
        dir: PathBuf,
    },
    /// The file is not a tokenizer the `tokenizers` library can load.
    #[error("tokenizer: {} is not a valid tokenizer.json: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the `tokenizers` library said.
        reason: String,
    },
    /// A model id that is neither in the local Hugging Face cache nor downloadable.
    #[error("tokenizer: cannot get the tokenizer of model {model}: {reason}. Tried: {tried}. {}", TOKENIZER_FIX)]
    Hub {
        /// The model id.
        model: String,
        /// What was tried, in order.
        tried: String,
        /// Why the last step failed, with what to do about it where known.
        reason: String,
    },
    /// The tokenizer failed to encode a text.
    #[error("tokenizer {name}: cannot encode: {reason}")]
    Encode {
        /// The tokenizer's name.
        name: String,
        /// What the `tokenizers` library said.
        reason: String,
    },
    /// The tokenizer failed to decode ids.
    #[error("tokenizer {name}: cannot decode: {reason}")]
    Decode {
        /// The tokenizer's name.
        name: String,
        /// What the `tokenizers` library said.
        reason: String,
    },
    /// The server's tokenize endpoint failed or answered something unexpected.
    #[error("server tokenizer {url}: {reason}")]
    Server {
        /// The endpoint.
        url: String,
        /// What went wrong.
        reason: String,
    },
}
