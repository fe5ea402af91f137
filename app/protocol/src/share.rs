//! Share links on the wire: the body that makes one (`POST /api/shares`), a link as the API shows it, and who the
//! browser is (`GET /api/session`). A share link `/s/{id}` gives whoever holds it read-only access to one run
//! (`run`) or to a comparison of runs (`compare`) until the owner revokes it.

use serde::{Deserialize, Serialize};

use super::archive::{MAX_COMPARE, MIN_COMPARE};
use super::spec::FieldError;

/// Longest label accepted, characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// What a link opens: one run.
pub const KIND_RUN: &str = "run";
/// What a link opens: a comparison of runs.
pub const KIND_COMPARE: &str = "compare";

/// The run ids of `?runs=a,b,…`: split on commas, trimmed, empty and repeated ones dropped.
pub fn parse_ids(param: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in param.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}
/// Where a share link opens, before its id: `/s/{id}`.
pub const SHARE_PREFIX: &str = "/s/";

/// Body of `POST /api/shares`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CreateShare {
    /// `run` or `compare`.
    #[serde(default)]
    pub kind: String,
    /// The run ids: one for `run`, two to six for `compare` (in the comparison's order).
    #[serde(default)]
    pub runs: Vec<String>,
    /// A note for the owner's list ("for Alice", "weekly sync").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl CreateShare {
    /// The request with the kind, ids and label trimmed.
    pub fn normalized(mut self) -> Self {
        self.kind = self.kind.trim().to_ascii_lowercase();
        self.runs = self.runs.iter().map(|r| r.trim().to_owned()).collect();
        self.label = self.label.map(|l| l.trim().to_owned());
        self
    }

    /// What is wrong with the request, per field (empty when a link can be made).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| errors.push(FieldError { field: field.into(), message });
        let n = self.runs.len();
        match self.kind.as_str() {
            KIND_RUN if n != 1 => fail("runs", format!("a `run` link opens exactly one run; {n} are given")),
            KIND_COMPARE if !(MIN_COMPARE..=MAX_COMPARE).contains(&n) => {
                fail("runs", format!("a `compare` link opens {MIN_COMPARE} to {MAX_COMPARE} runs; {n} are given"))
            }
            KIND_RUN | KIND_COMPARE => {}
            other => fail("kind", format!("must be `run` or `compare`, not {other:?}")),
        }
        for (i, id) in self.runs.iter().enumerate() {
            if !looks_like_run_id(id) {
                fail("runs", format!("{id:?} is not a run id (the last part of a run's address, /runs/ID)"));
            } else if self.runs[..i].contains(id) {
                fail("runs", format!("run {id} is listed twice"));
            }
        }
        if self.label.as_ref().is_some_and(|l| l.chars().count() > MAX_LABEL_CHARS) {
            fail("label", format!("at most {MAX_LABEL_CHARS} characters"));
        }
        errors
    }
}

/// True when `s` could be a run id (10 to 64 letters, digits, `-` or `_`): the server's `looks_like_id`.
pub fn looks_like_run_id(s: &str) -> bool {
    (10..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A share link as `POST/GET/DELETE /api/shares` and `GET /api/session` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareView {
    /// The unguessable id in the link.
    pub id: String,
    /// `run` or `compare`.
    pub kind: String,
    /// The runs it opens, in order.
    pub runs: Vec<String>,
    /// The owner's note; empty when none.
    pub label: String,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// When it was revoked; `None` while the link works.
    pub revoked_unix_ms: Option<u64>,
    /// The link's app path, `/s/{id}` (the UI adds the origin and the base path).
    pub path: String,
}

impl ShareView {
    /// The app path of a share id: `/s/{id}`.
    pub fn path_of(id: &str) -> String {
        format!("{SHARE_PREFIX}{id}")
    }

    /// True until the link is revoked.
    pub fn active(&self) -> bool {
        self.revoked_unix_ms.is_none()
    }

    /// The page the link opens: `/runs/{id}` or `/compare?runs=a,b`.
    pub fn target(&self) -> String {
        target_of(&self.kind, &self.runs)
    }

    /// True when this link opens exactly `kind` over `runs` (same runs, any order for a comparison).
    pub fn covers_exactly(&self, kind: &str, runs: &[String]) -> bool {
        if self.kind != kind || self.runs.len() != runs.len() {
            return false;
        }
        runs.iter().all(|r| self.runs.contains(r))
    }
}

/// The page a share of `kind` over `runs` opens: `/runs/{id}` or `/compare?runs=a,b`.
pub fn target_of(kind: &str, runs: &[String]) -> String {
    if kind == KIND_RUN {
        format!("/runs/{}", runs.first().map(String::as_str).unwrap_or_default())
    } else {
        format!("/compare?runs={}", runs.join(","))
    }
}

/// Who the browser is to this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Holds the access token (or the server is open): may do everything.
    Owner,
    /// Holds only share links: may read what they open.
    Viewer,
}

/// `GET /api/session`. The server also puts it in the request's extensions when it admits a share-link viewer,
/// so that the page shell can render the read-only view from the first paint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Owner or viewer.
    pub role: Role,
    /// For a viewer: the working share links the browser holds, newest first. Empty for the owner.
    pub shares: Vec<ShareView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "BBBBBBBBBBBBBBBBBBBBBB";

    fn req(kind: &str, runs: &[&str], label: Option<&str>) -> CreateShare {
        CreateShare {
            kind: kind.into(),
            runs: runs.iter().map(|r| (*r).to_owned()).collect(),
            label: label.map(str::to_owned),
        }
        .normalized()
    }

    fn fields(r: &CreateShare) -> Vec<String> {
        r.validate().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn good_requests_pass() {
        assert!(req("run", &[A], None).validate().is_empty());
        assert!(req(" Compare ", &[A, B], Some("  for Alice ")).validate().is_empty());
        assert_eq!(req("run", &[A], Some("  x ")).label.as_deref(), Some("x"));
    }

    #[test]
    fn the_kind_must_be_known() {
        let errs = req("dashboard", &[A], None).validate();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "kind");
        assert!(errs[0].message.contains("`run` or `compare`"), "{}", errs[0].message);
        assert_eq!(fields(&req("", &[A], None)), ["kind"]);
    }

    #[test]
    fn run_counts_per_kind() {
        assert_eq!(fields(&req("run", &[], None)), ["runs"]);
        assert_eq!(fields(&req("run", &[A, B], None)), ["runs"]);
        assert_eq!(fields(&req("compare", &[A], None)), ["runs"]);
        let seven: Vec<String> = (0..7).map(|i| format!("run-id-000{i}")).collect();
        let seven: Vec<&str> = seven.iter().map(String::as_str).collect();
        let errs = req("compare", &seven, None).validate();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("2 to 6"), "{}", errs[0].message);
    }

    #[test]
    fn ids_must_look_like_run_ids_and_not_repeat() {
        assert_eq!(fields(&req("run", &["../etc/passwd"], None)), ["runs"]);
        assert_eq!(fields(&req("compare", &[A, "short"], None)), ["runs"]);
        let errs = req("compare", &[A, A], None).validate();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("twice"), "{}", errs[0].message);
    }

    #[test]
    fn the_label_has_a_limit() {
        let long = "x".repeat(MAX_LABEL_CHARS + 1);
        assert_eq!(fields(&req("run", &[A], Some(&long))), ["label"]);
        let ok = "é".repeat(MAX_LABEL_CHARS);
        assert!(req("run", &[A], Some(&ok)).validate().is_empty());
    }

    #[test]
    fn missing_fields_are_validation_errors_not_parse_errors() {
        let r: CreateShare = serde_json::from_str("{}").unwrap();
        assert_eq!(fields(&r.normalized()), ["kind"]);
        let r: CreateShare = serde_json::from_str(r#"{"kind":"run"}"#).unwrap();
        assert_eq!(fields(&r), ["runs"]);
    }

    #[test]
    fn targets_and_coverage() {
        let v = ShareView {
            id: "s".into(),
            kind: KIND_COMPARE.into(),
            runs: vec![A.into(), B.into()],
            label: String::new(),
            created_unix_ms: 1,
            revoked_unix_ms: None,
            path: ShareView::path_of("s"),
        };
        assert_eq!(v.path, "/s/s");
        assert_eq!(v.target(), format!("/compare?runs={A},{B}"));
        assert!(v.covers_exactly(KIND_COMPARE, &[B.into(), A.into()]));
        assert!(!v.covers_exactly(KIND_COMPARE, &[A.into()]));
        assert!(!v.covers_exactly(KIND_RUN, &[A.into(), B.into()]));
        assert_eq!(target_of(KIND_RUN, &[A.into()]), format!("/runs/{A}"));
        let s = serde_json::to_string(&SessionInfo { role: Role::Viewer, shares: vec![] }).unwrap();
        assert_eq!(s, r#"{"role":"viewer","shares":[]}"#);
    }
}
