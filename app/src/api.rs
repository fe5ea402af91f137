//! Calls from the browser to tokenscope's JSON API (browser only).
//!
//! Every function takes an app path (`/api/runs`) and adds the base path itself ([`crate::paths::url`]).

use serde::{de::DeserializeOwned, Serialize};

use protocol::api::ApiErrorBody;

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer (server down, network).
    Network(String),
    /// The server answered with an error status.
    Server {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: ApiErrorBody,
    },
}

impl ApiError {
    /// One line for the user.
    pub fn message(&self) -> String {
        match self {
            ApiError::Network(m) => format!("could not reach tokenscope: {m}"),
            ApiError::Server { status, body } => format!("{} (HTTP {status})", body.error),
        }
    }

    /// The per-field problems, if any.
    pub fn fields(&self) -> Vec<protocol::spec::FieldError> {
        match self {
            ApiError::Server { body, .. } => body.fields.clone(),
            ApiError::Network(_) => Vec::new(),
        }
    }
}

async fn answer<R: DeserializeOwned>(resp: gloo_net::http::Response) -> Result<R, ApiError> {
    let status = resp.status();
    if (200..300).contains(&status) {
        // Through a `serde_json::Value`, as every decoder of the bundle does (`protocol::decode`: one copy of each
        // type's deserializer in the WebAssembly instead of one per input type).
        let text = resp.text().await.map_err(|e| ApiError::Network(e.to_string()))?;
        return protocol::decode::from_str::<R>(&text).map_err(|e| ApiError::Network(e.to_string()));
    }
    let text = resp.text().await.unwrap_or_default();
    let body = protocol::decode::from_str::<ApiErrorBody>(&text)
        .unwrap_or_else(|_| ApiErrorBody { error: text.chars().take(300).collect(), fields: Vec::new() });
    Err(ApiError::Server { status, body })
}

/// `POST path` with a JSON body; the JSON answer or the error.
pub async fn post_json<B: Serialize, R: DeserializeOwned>(path: &str, body: &B) -> Result<R, ApiError> {
    let req = gloo_net::http::Request::post(&crate::paths::url(path))
        .json(body)
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let resp = req.send().await.map_err(|e| ApiError::Network(e.to_string()))?;
    answer(resp).await
}

/// `POST path` with a file as the body (`application/octet-stream`); the JSON answer or the error.
pub async fn post_file<R: DeserializeOwned>(path: &str, file: &web_sys::File) -> Result<R, ApiError> {
    let req = gloo_net::http::Request::post(&crate::paths::url(path))
        .header("content-type", "application/octet-stream")
        .body(wasm_bindgen::JsValue::from(file.clone()))
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let resp = req.send().await.map_err(|e| ApiError::Network(e.to_string()))?;
    answer(resp).await
}

/// `GET path`; the JSON answer or the error.
pub async fn get_json<R: DeserializeOwned>(path: &str) -> Result<R, ApiError> {
    let resp = gloo_net::http::Request::get(&crate::paths::url(path))
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    answer(resp).await
}

/// `PATCH path` with a JSON body; the JSON answer or the error.
pub async fn patch_json<B: Serialize, R: DeserializeOwned>(path: &str, body: &B) -> Result<R, ApiError> {
    let req = gloo_net::http::Request::patch(&crate::paths::url(path))
        .json(body)
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let resp = req.send().await.map_err(|e| ApiError::Network(e.to_string()))?;
    answer(resp).await
}

/// `DELETE path`; `Ok` on any 2xx (the body, if any, is ignored).
pub async fn delete(path: &str) -> Result<(), ApiError> {
    let resp = gloo_net::http::Request::delete(&crate::paths::url(path))
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if (200..300).contains(&resp.status()) {
        return Ok(());
    }
    answer::<serde_json::Value>(resp).await.map(|_| ())
}
