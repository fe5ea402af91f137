//! Exports of an archived run: its requests and GPU telemetry as CSV, and a Markdown summary table to paste into a
//! pull request. Pure formatting: the routes read the archive and call these.

pub mod csv;
pub mod markdown;

/// A file name for an export of run `id`: `tokenscope-<id>-<what>`.
pub fn file_name(id: &str, what: &str) -> String {
    let safe: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    format!("tokenscope-{safe}-{what}")
}
