//! Uploading a dataset from the New run page: the file goes into the dataset folder (`serve --dataset-dir`) under
//! `uploads/`, named by its content, and the answer is the `workload.path` to run it with. The body streams to disk
//! under the dataset size cap (`--dataset-max-mb`), and the file is parsed before it is kept.
//!
//! The form also asks whether a path it was given names a file a run could read (`GET /api/datasets/check`), with
//! the checks `POST /api/runs` makes, so the error shows at the field and not on the run page.

use axum::{
    body::Body,
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    Json,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use protocol::api::DatasetUploaded;

use super::error::ApiError;
use crate::engine::dataset::{parse_jsonl, parse_sharegpt};
use crate::state::AppState;

/// Sub-folder of the dataset folder that uploads go to.
pub const UPLOADS: &str = "uploads";

/// Content types an upload may carry. Each needs a CORS preflight from another origin (unlike `text/plain`), so a
/// page elsewhere cannot upload through a visitor's browser.
const TYPES: [&str; 4] = ["application/octet-stream", "application/jsonl", "application/x-ndjson", "application/json"];

/// Query of `POST /api/datasets`.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The file's name as the user picked it (`prompts.jsonl`, `sharegpt.json`).
    pub name: String,
}

/// `POST /api/datasets?name=FILE`: the body is the file. `201` with its `workload.path`; 415 for another content
/// type, 413 over the size cap, 422 when it does not parse as JSON lines or ShareGPT (nothing is kept then).
pub async fn upload(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DatasetUploaded>), ApiError> {
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !TYPES.contains(&kind.as_str()) {
        return Err(ApiError::BadBody {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!("send the file as the body with `Content-Type: application/octet-stream` (got {kind:?})"),
        });
    }
    let (stem, ext) = file_name(&query.name).map_err(|m| ApiError::field("dataset upload", "name", m))?;
    let datasets = state.policy.datasets();
    let max = datasets.max_bytes();
    let folder = state.policy.dataset_dir().join(UPLOADS);
    tokio::fs::create_dir_all(&folder)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot create {} for uploads: {e}", folder.display())))?;
    let part = folder.join(format!(".upload-{}.part", crate::hub::new_run_id()));
    let written = receive(body, &part, max).await;
    let (bytes, hash) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
    };
    let name = format!("{stem}-{}.{ext}", &hash[..12]);
    let path = format!("{UPLOADS}/{name}");
    if let Err(e) = tokio::fs::rename(&part, folder.join(&name)).await {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(ApiError::internal(anyhow::anyhow!("cannot keep the upload: {e}")));
    }
    let checked = {
        let (datasets, path) = (datasets.clone(), path.clone());
        tokio::task::spawn_blocking(move || {
            let text = datasets.read(&path).map_err(|e| e.to_string())?;
            let prompts = if ext == "json" {
                parse_sharegpt(&text, &path, 128).map(|p| ("sharegpt", p.len()))
            } else {
                parse_jsonl(&text, &path, 128).map(|p| ("jsonl", p.len()))
            };
            prompts.map_err(|e| e.to_string())
        })
        .await
        .map_err(ApiError::internal)?
    };
    match checked {
        Ok((kind, prompts)) => Ok((
            StatusCode::CREATED,
            Json(DatasetUploaded { path, kind: kind.to_owned(), bytes, prompts: prompts as u64 }),
        )),
        Err(why) => {
            let _ = tokio::fs::remove_file(folder.join(&name)).await;
            let why = why.strip_prefix(path.as_str()).unwrap_or(&why);
            let shown: String = query.name.chars().take(80).collect();
            Err(ApiError::field("dataset upload", "file", format!("{shown}{why}")))
        }
    }
}

/// Query of `GET /api/datasets/check`.
#[derive(Debug, Deserialize)]
pub struct CheckQuery {
    /// The path as typed in the form's dataset field.
    #[serde(default)]
    pub path: String,
}

/// `200` answer of `GET /api/datasets/check`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DatasetChecked {
    /// The path, as given.
    pub path: String,
    /// The file's size, bytes.
    pub bytes: u64,
}

/// `GET /api/datasets/check?path=P`: whether a run could read `P` as its dataset — inside the dataset folder, a
/// regular file, under the size cap, as `POST /api/runs` checks. `200` with its size; else 422 on `workload.path`
/// saying what to do.
pub async fn check(
    State(state): State<AppState>,
    Query(query): Query<CheckQuery>,
) -> Result<Json<DatasetChecked>, ApiError> {
    let path = query.path.trim().to_owned();
    let refuse = |m: String| ApiError::field("dataset path", "workload.path", m);
    if path.is_empty() {
        return Err(refuse("give the path of a JSONL or ShareGPT file in the dataset folder, or upload one".into()));
    }
    if path.len() > protocol::validation::MAX_PATH_BYTES || path.contains('\0') {
        return Err(refuse("must be a path of at most 4096 bytes without NUL characters".into()));
    }
    let datasets = state.policy.datasets().clone();
    let checked = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let real = datasets.resolve(&path)?;
            std::fs::metadata(&real).map(|m| m.len()).map_err(|e| format!("cannot open {path:?}: {e}"))
        })
        .await
        .map_err(ApiError::internal)?
    };
    match checked {
        Ok(bytes) => Ok(Json(DatasetChecked { path, bytes })),
        Err(message) => Err(refuse(message)),
    }
}

/// Streams `body` into `part`, at most `max` bytes; its size and SHA-256 (hex).
async fn receive(body: Body, part: &std::path::Path, max: u64) -> Result<(u64, String), ApiError> {
    let mut file = tokio::fs::File::create(part)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot write {}: {e}", part.display())))?;
    let (mut bytes, mut hash) = (0u64, Sha256::new());
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadBody {
            status: StatusCode::BAD_REQUEST,
            message: format!("the upload broke off: {e}"),
        })?;
        bytes += chunk.len() as u64;
        if bytes > max {
            return Err(ApiError::BadBody {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!("the file is over the dataset limit of {} MiB (`serve --dataset-max-mb`)", max >> 20),
            });
        }
        hash.update(&chunk);
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    if bytes == 0 {
        return Err(ApiError::field("dataset upload", "file", "the file is empty"));
    }
    Ok((bytes, hex::encode(hash.finalize())))
}

/// The stem (letters, digits, `-`, `_`, `.`; others become `_`; at most 60 characters) and extension (`jsonl` or
/// `json`) of an uploaded file's name, or what is wrong with it.
fn file_name(name: &str) -> Result<(String, &'static str), String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = base.rsplit_once('.').unwrap_or((base, ""));
    let ext = match ext.to_ascii_lowercase().as_str() {
        "jsonl" | "ndjson" => "jsonl",
        "json" => "json",
        _ => return Err("upload a .jsonl file (JSON lines) or a .json file (ShareGPT)".into()),
    };
    let stem: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' })
        .take(60)
        .collect();
    let stem = stem.trim_matches('_');
    Ok((if stem.is_empty() { "dataset".to_owned() } else { stem.to_owned() }, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_safe_stems() {
        assert_eq!(file_name("prompts.jsonl"), Ok(("prompts".into(), "jsonl")));
        assert_eq!(file_name("../../etc/passwd.json"), Ok(("passwd".into(), "json")));
        assert_eq!(file_name("C:\\data\\my set.NDJSON"), Ok(("my_set".into(), "jsonl")));
        assert_eq!(file_name(".json"), Ok(("dataset".into(), "json")));
        assert_eq!(file_name("ünï.code.jsonl"), Ok(("n__code".into(), "jsonl")));
        assert!(file_name("evil.sh").is_err());
        assert!(file_name("noext").is_err());
    }
}
