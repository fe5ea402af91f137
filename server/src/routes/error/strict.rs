//! Reading a request body strictly, for [`super::ApiJson`]: every field the server does not know is an error that
//! names it (with the nearest known name), and a value of the wrong type is an error that names its field by path
//! (`load.concurrency`) and says what was expected without repeating what was sent (it may be a secret).
//!
//! Unknown fields are found by `serde_ignored` and error paths by `serde_path_to_error`, both wrapped around
//! serde_json's reader. Both see every field because the body types have no buffered parts: the tagged enums of
//! a run spec read through a flat struct (see `protocol::spec`), not through serde's buffered reading.

use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use protocol::archive::RunPatch;
use protocol::share::CreateShare;
use protocol::spec::{FieldError, RunSpec};
use protocol::validation::is_refused_char;

use super::ApiError;

/// A JSON body that configures something, which [`super::ApiJson`] reads strictly.
pub trait StrictBody: DeserializeOwned {
    /// What the body creates or changes, for the summary line of a 422 ("run spec", "share link"…).
    const RESOURCE: &'static str;
    /// Every field the body may have, by dotted path (`load.arrival.burstiness`), of every kind of its tagged parts:
    /// the names a misspelt field is compared with for a suggestion. (Which fields are unknown is serde's to say,
    /// not this list's: a name missing here costs only a suggestion. The tests check the run spec's list against
    /// what a spec of every kind writes.)
    const FIELDS: &'static [&'static str];
}

impl StrictBody for RunSpec {
    const RESOURCE: &'static str = "run spec";
    const FIELDS: &'static [&'static str] = &[
        "name",
        "target",
        "model",
        "endpoint",
        "backend",
        "api_key",
        "stream",
        "load",
        "load.kind",
        "load.concurrency",
        "load.rate_rps",
        "load.arrival",
        "load.arrival.kind",
        "load.arrival.burstiness",
        "sweep",
        "requests",
        "duration_s",
        "warmup_requests",
        "warmup_s",
        "workload",
        "workload.kind",
        "workload.input_tokens",
        "workload.input_tokens.min",
        "workload.input_tokens.max",
        "workload.output_tokens",
        "workload.output_tokens.min",
        "workload.output_tokens.max",
        "workload.path",
        "seed",
        "tokenizer",
        "slo",
        "slo.ttft_ms",
        "slo.tpot_ms",
        "slo.e2e_ms",
        "request_timeout_s",
        "ready_timeout_s",
        "fail_fast_after",
        "max_error_rate",
    ];
}

impl StrictBody for RunPatch {
    const RESOURCE: &'static str = "run details";
    const FIELDS: &'static [&'static str] = &["name", "notes", "tags"];
}

impl StrictBody for CreateShare {
    const RESOURCE: &'static str = "share link";
    const FIELDS: &'static [&'static str] = &["kind", "runs", "label"];
}

/// Most unknown fields one answer lists; a body with more gets these and a count of the rest.
pub const MAX_LISTED: usize = 20;
/// Longest field name shown, characters (a field name is whatever the client sent).
const MAX_SHOWN_KEY_CHARS: usize = 64;
/// Largest edit distance at which a known name is suggested for an unknown one.
const MAX_SUGGESTION_DISTANCE: usize = 2;
/// The `field` of a problem with the body as a whole.
const WHOLE_BODY: &str = "(body)";

/// One step of a path into the body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `bytes` as a `T`: 400 when it is not JSON (with the line and column), 422 when a value has the wrong type or a
/// required one is missing (one problem: serde stops at the first), 422 listing every unknown field when it
/// parses but holds fields `T` does not have. With a type error, the unknown fields met before it are listed too.
pub fn from_slice<T: StrictBody>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let mut unknown_count = 0usize;
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let parsed = {
        let mut note = |path: serde_ignored::Path<'_>| {
            unknown_count += 1;
            if unknown.len() < MAX_LISTED {
                let mut segs = Vec::new();
                ignored_path(&path, &mut segs);
                unknown.push(segs);
            }
        };
        serde_path_to_error::deserialize::<_, T>(serde_ignored::Deserializer::new(&mut json, &mut note))
    };
    let value = match parsed {
        Ok(value) => value,
        Err(e) if e.inner().is_data() => {
            let mut fields = vec![describe_error::<T>(error_path(e.path()), &e.inner().to_string())];
            fields.extend(unknown.iter().map(|p| unknown_field::<T>(p, &[])));
            more_unknown(&mut fields, unknown_count, unknown.len());
            return Err(ApiError::invalid(T::RESOURCE, fields));
        }
        Err(e) => {
            let at = render(&error_path(e.path()));
            return Err(not_json(if at == WHOLE_BODY {
                e.inner().to_string()
            } else {
                format!("{at}: {}", e.inner())
            }));
        }
    };
    json.end().map_err(|e| not_json(e.to_string()))?;
    if unknown.is_empty() {
        return Ok(value);
    }
    let mut fields: Vec<FieldError> = unknown.iter().map(|p| unknown_field::<T>(p, &[])).collect();
    more_unknown(&mut fields, unknown_count, unknown.len());
    Err(ApiError::invalid(T::RESOURCE, fields))
}

fn not_json(detail: String) -> ApiError {
    ApiError::BadBody { status: StatusCode::BAD_REQUEST, message: format!("the body is not valid JSON: {detail}") }
}

fn ignored_path(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
    use serde_ignored::Path as P;
    match path {
        P::Root => {}
        P::Seq { parent, index } => {
            ignored_path(parent, out);
            out.push(Seg::Index(*index));
        }
        P::Map { parent, key } => {
            ignored_path(parent, out);
            out.push(Seg::Key(key.clone()));
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => ignored_path(parent, out),
    }
}

fn error_path(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// `load.arrival.burstiness`, `sweep[3]`; keys as sent, cut to [`MAX_SHOWN_KEY_CHARS`] with control and
/// bidirectional characters replaced by U+FFFD (a key is whatever the client sent).
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let shown =
                    key.chars().take(MAX_SHOWN_KEY_CHARS).map(|c| if is_refused_char(c) { '\u{FFFD}' } else { c });
                out.extend(shown);
                if key.chars().count() > MAX_SHOWN_KEY_CHARS {
                    out.push('…');
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        WHOLE_BODY.to_owned()
    } else {
        out
    }
}

/// The field `path` names and the known names beside it: the entries of `T::FIELDS` under the same parent (list
/// indices aside), and `also`.
fn unknown_field<T: StrictBody>(path: &[Seg], also: &[&str]) -> FieldError {
    let name = match path.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "",
    };
    let parent: Vec<&str> = path[..path.len().saturating_sub(1)]
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    let parent = parent.join(".");
    let siblings = T::FIELDS.iter().filter_map(|f| match f.rsplit_once('.') {
        Some((p, last)) if p == parent => Some(last),
        None if parent.is_empty() => Some(*f),
        _ => None,
    });
    let candidates: Vec<&str> = siblings.chain(also.iter().copied()).collect();
    let message = match closest(name, &candidates) {
        Some(known) => format!("unknown field: check its spelling (did you mean `{known}`?) or remove it"),
        None => "unknown field: check its spelling or remove it".to_owned(),
    };
    FieldError { field: render(path), message }
}

fn more_unknown(fields: &mut Vec<FieldError>, count: usize, listed: usize) {
    if count > listed {
        fields.push(FieldError {
            field: WHOLE_BODY.to_owned(),
            message: format!("and {} more unknown fields", count - listed),
        });
    }
}

/// The candidate nearest to `name` (case aside) within [`MAX_SUGGESTION_DISTANCE`] edits, if any; a name without
/// its unit suffix (`ttft` for `ttft_ms`) counts as that near.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if name.chars().count() > MAX_SHOWN_KEY_CHARS {
        return None;
    }
    let name = name.to_lowercase();
    candidates
        .iter()
        .filter(|c| **c != name)
        .map(|c| {
            let lower = c.to_lowercase();
            let unit_left_out = lower.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with('_'));
            let d = edit_distance(&name, &lower);
            (if unit_left_out { d.min(MAX_SUGGESTION_DISTANCE) } else { d }, *c)
        })
        .filter(|(d, _)| *d <= MAX_SUGGESTION_DISTANCE)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// `raw` after `prefix`, split at the closing backtick: (the name, the rest).
fn named<'a>(raw: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    raw.strip_prefix(prefix)?.split_once('`')
}

/// The problem of a type error at `path`, from serde's message `raw`. Messages that name a field (`missing field
/// `x``, `unknown field `x``, `duplicate field `x``, and ``field `x`: …`` from the protocol's tagged enums) put it
/// on the path; the others are rewritten to say what was expected without the value sent.
fn describe_error<T: StrictBody>(mut path: Vec<Seg>, raw: &str) -> FieldError {
    let raw = strip_position(raw);
    let message = if let Some((name, _)) = named(raw, "missing field `") {
        path.push(Seg::Key(name.to_owned()));
        "required: this field is missing".to_owned()
    } else if let Some((name, rest)) = named(raw, "unknown field `") {
        path.push(Seg::Key(name.to_owned()));
        let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        return unknown_field::<T>(&path, &known);
    } else if let Some((name, _)) = named(raw, "duplicate field `") {
        path.push(Seg::Key(name.to_owned()));
        "given twice: keep one".to_owned()
    } else if let Some((name, rest)) = named(raw, "field `") {
        path.push(Seg::Key(name.to_owned()));
        rest.trim_start_matches(':').trim().to_owned()
    } else {
        safe_message(raw)
    };
    FieldError { field: render(&path), message }
}

/// serde_json's message without its ` at line L column C`.
fn strip_position(raw: &str) -> &str {
    match raw.rfind(" at line ") {
        Some(i) if raw[i + 9..].split(" column ").all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) => {
            &raw[..i]
        }
        _ => raw,
    }
}

/// A type error in words that do not repeat the value sent: `invalid type: string "secret", expected u32` →
/// `expected a whole number (u32), not a string`.
fn safe_message(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        return match rest.split_once(", expected ") {
            // The names expected are the type's own, not what was sent.
            Some((_, expected)) => format!("unknown value: expected {expected}"),
            None => "unknown value".to_owned(),
        };
    }
    let Some((head, expected)) = raw.split_once(", expected ") else { return without_quotes(raw) };
    let expected = friendly_expected(expected);
    if let Some(got) = head.strip_prefix("invalid type: ") {
        format!("expected {expected}, not {}", kind_of(got))
    } else if let Some(got) = head.strip_prefix("invalid value: ") {
        match kind_of(got) {
            "an integer" | "a number with a fraction" => format!("expected {expected}: the number is out of range"),
            _ => format!("expected {expected}: the value is not one"),
        }
    } else {
        format!("expected {expected}")
    }
}

/// What kind of value serde's `Unexpected` names (`string "secret"` → `a string`), without the value.
fn kind_of(got: &str) -> &'static str {
    let kind = got.split_once(['`', '"']).map_or(got, |(k, _)| k).trim();
    match kind {
        "string" => "a string",
        "integer" => "an integer",
        "floating point" => "a number with a fraction",
        "boolean" => "true or false",
        "null" | "unit value" => "null",
        "map" => "an object",
        "sequence" => "a list",
        "character" => "a character",
        _ => "that kind of value",
    }
}

/// serde's name of an expected type in words: `u32` → `a whole number (u32)`.
fn friendly_expected(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => format!("a whole number ({expected})"),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => format!("an integer ({expected})"),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "a list".to_owned(),
        e if e.starts_with("struct ") => "an object".to_owned(),
        // What a type expects is written by the type, not by the client.
        e => e.to_owned(),
    }
}

/// `text` with whatever is between double quotes or backticks replaced by `…`.
fn without_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match open {
            None if c == '"' || c == '`' => {
                open = Some(c);
                out.push(c);
                out.push('…');
            }
            None => out.push(c),
            Some(_) if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => {
                open = None;
                out.push(c);
            }
            Some(_) => {}
        }
    }
    if let Some(q) = open {
        out.push(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::spec::Endpoint;

    fn fields<T: StrictBody + std::fmt::Debug>(body: &str) -> Vec<(String, String)> {
        match from_slice::<T>(body.as_bytes()) {
            Err(ApiError::Invalid { fields, .. }) => fields.into_iter().map(|f| (f.field, f.message)).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    const SPEC: &str = r#""target": "http://127.0.0.1:9", "requests": 4,
        "workload": {"kind": "synthetic", "input_tokens": {"min": 8, "max": 8}, "output_tokens": {"min": 8, "max": 8}}"#;

    #[test]
    fn a_good_body_parses() {
        let spec: RunSpec = from_slice(
            format!(r#"{{{SPEC}, "api_key": "k", "load": {{"kind": "concurrency", "concurrency": 2}}}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(spec.api_key.as_deref(), Some("k"));
        assert_eq!(spec.endpoint, Endpoint::Auto);
    }

    #[test]
    fn unknown_fields_are_all_listed_with_a_suggestion() {
        let body = format!(
            r#"{{{SPEC}, "duraton_s": 3, "zzz": 1, "load": {{"kind": "rate", "rate_rps": 1, "arival": {{}},
                "arrival": {{"kind": "gamma", "burstiness": 1, "burstyness": 2}}}}, "api_kye": "x", "slo": {{"ttft": 1}}}}"#
        );
        let got = fields::<RunSpec>(&body);
        let by_field: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(by_field, ["duraton_s", "zzz", "load.arival", "load.arrival.burstyness", "api_kye", "slo.ttft"]);
        let says = |field: &str| got.iter().find(|(f, _)| f == field).unwrap().1.clone();
        assert_eq!(says("duraton_s"), "unknown field: check its spelling (did you mean `duration_s`?) or remove it");
        assert!(says("api_kye").contains("`api_key`"), "an unwritten field is suggested too");
        assert!(says("load.arival").contains("`arrival`"));
        assert!(says("load.arrival.burstyness").contains("`burstiness`"));
        assert!(says("slo.ttft").contains("`ttft_ms`"));
        assert_eq!(says("zzz"), "unknown field: check its spelling or remove it");
    }

    #[test]
    fn a_misspelt_required_field_is_listed_with_the_missing_one() {
        let body = format!(r#"{{{SPEC}, "duraton_s": 3, "load": {{"kind": "concurrency", "concurency": 1}}}}"#);
        let got = fields::<RunSpec>(&body);
        assert_eq!(got[0], ("load.concurrency".to_owned(), "required: this field is missing".to_owned()));
        assert!(got.iter().any(|(f, m)| f == "load.concurency" && m.contains("`concurrency`")), "{got:?}");
        assert!(got.iter().any(|(f, _)| f == "duraton_s"), "{got:?}");
    }

    #[test]
    fn type_errors_name_the_path_and_not_the_value() {
        let cases = [
            (
                r#""load": {"kind": "concurrency", "concurrency": "secret"}"#,
                "load.concurrency",
                "expected a whole number (u32), not a string",
            ),
            (
                r#""load": {"kind": "concurrency", "concurrency": -7}"#,
                "load.concurrency",
                "expected a whole number (u32): the number is out of range",
            ),
            (r#""load": {"kind": "secret"}"#, "load.kind", "unknown value: expected `concurrency` or `rate`"),
            (
                r#""load": {"kind": "rate", "rate_rps": 1, "arrival": {"kind": "gamma", "burstiness": "secret"}}"#,
                "load.arrival.burstiness",
                "expected a number, not a string",
            ),
            (
                r#""load": {"kind": "concurrency", "concurrency": 1, "rate_rps": 5}"#,
                "load.rate_rps",
                "applies to kind `rate` only, not `concurrency`: remove it or change `kind`",
            ),
            (
                r#""load": {"kind": "concurrency", "concurrency": 1}, "sweep": [1, "secret"]"#,
                "sweep[1]",
                "expected a number, not a string",
            ),
            (
                r#""load": {"kind": "concurrency", "concurrency": 1}, "endpoint": "secret""#,
                "endpoint",
                "unknown value: expected one of `auto`, `completions`, `chat`",
            ),
            (
                r#""load": {"kind": "concurrency", "concurrency": 1}, "stream": "secret""#,
                "stream",
                "expected true or false, not a string",
            ),
            (
                r#""load": {"kind": "concurrency", "concurrency": 1}, "requests": 1e12"#,
                "requests",
                "expected a whole number (u64), not a number with a fraction",
            ),
        ];
        for (load, field, message) in cases {
            let body = format!(
                r#"{{"target": "http://h:1", "workload": {{"kind": "synthetic", "input_tokens": {{"min": 1, "max": 1}}, "output_tokens": {{"min": 1, "max": 1}}}}, {load}}}"#
            );
            let got = fields::<RunSpec>(&body);
            assert_eq!(got, [(field.to_owned(), message.to_owned())], "{load}");
        }
        let got = fields::<RunSpec>(
            r#"{"target": "http://h:1", "load": {"kind": "concurrency", "concurrency": 1},
            "workload": {"kind": "synthetic", "input_tokens": {"min": "secret", "max": 1}, "output_tokens": {"min": 1, "max": 1}}}"#,
        );
        assert_eq!(got[0].0, "workload.input_tokens.min");
        let got = fields::<RunSpec>(r#"{"load": {"kind": "concurrency", "concurrency": 1}}"#);
        assert_eq!(got[0].0, "target", "{got:?}");
        let got = fields::<RunSpec>("42");
        assert_eq!(got, [(WHOLE_BODY.to_owned(), "expected an object, not an integer".to_owned())]);
    }

    /// Every dotted key path of `v`, list items under their list's name.
    fn key_paths(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    key_paths(child, &path, out);
                    out.insert(path);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| key_paths(i, prefix, out)),
            _ => {}
        }
    }

    #[test]
    fn the_run_spec_field_list_is_what_specs_of_every_kind_write() {
        use protocol::spec::{Arrival, LoadSpec, TokenRange, WorkloadSpec};
        let base: RunSpec = from_slice(
            format!(r#"{{{SPEC}, "api_key": "k", "load": {{"kind": "concurrency", "concurrency": 2}}}}"#).as_bytes(),
        )
        .unwrap();
        let mut written = std::collections::BTreeSet::from(["api_key".to_owned()]);
        let loads = [
            LoadSpec::Concurrency { concurrency: 1 },
            LoadSpec::Rate { rate_rps: 1.0, arrival: Arrival::Gamma { burstiness: 1.0 } },
        ];
        let workloads = [
            WorkloadSpec::Synthetic { input_tokens: TokenRange::fixed(1), output_tokens: TokenRange::fixed(1) },
            WorkloadSpec::Jsonl { path: "p".into(), output_tokens: 1 },
        ];
        for load in loads {
            for workload in workloads.clone() {
                let spec = RunSpec { load: load.clone(), workload, ..base.clone() };
                key_paths(&serde_json::to_value(spec).unwrap(), "", &mut written);
            }
        }
        let listed: std::collections::BTreeSet<String> = RunSpec::FIELDS.iter().map(|f| (*f).to_owned()).collect();
        assert_eq!(listed, written);
    }

    #[test]
    fn syntax_errors_stay_400_with_the_position() {
        for body in ["{", "{\"name\": }", "{\"name\": \"x\"} {}", "{\"name\": 1e400}"] {
            match from_slice::<RunPatch>(body.as_bytes()) {
                Err(ApiError::BadBody { status, message }) => {
                    assert_eq!(status, StatusCode::BAD_REQUEST);
                    assert!(message.contains("line 1 column"), "{message}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_are_shown_cut_and_without_control_characters() {
        let key = format!("evil\u{202E}{}", "k".repeat(100));
        let got = fields::<RunPatch>(&format!(r#"{{"name": "x", "{key}": 1}}"#));
        assert_eq!(got[0].0, format!("evil\u{FFFD}{}…", "k".repeat(MAX_SHOWN_KEY_CHARS - 5)));
    }

    #[test]
    fn thousands_of_unknown_fields_are_counted_not_listed() {
        let extra: Vec<String> = (0..500).map(|i| format!("\"x{i}\": 1")).collect();
        let got = fields::<RunPatch>(&format!(r#"{{"name": "x", {}}}"#, extra.join(",")));
        assert_eq!(got.len(), MAX_LISTED + 1);
        assert_eq!(got[MAX_LISTED], (WHOLE_BODY.to_owned(), "and 480 more unknown fields".to_owned()));
    }

    #[test]
    fn messages_without_the_value() {
        assert_eq!(without_quotes(r#"got "se\"cret" and `x`"#), "got \"…\" and `…`");
        assert_eq!(strip_position("expected value at line 1 column 5"), "expected value");
        assert_eq!(strip_position("a string at line one"), "a string at line one");
        assert_eq!(
            safe_message(r#"invalid type: string "sk-secret", expected a string"#),
            "expected a string, not a string"
        );
        assert!(!safe_message(r#"some custom "sk-secret" error"#).contains("secret"));
        assert_eq!(edit_distance("duraton_s", "duration_s"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("CONCURENCY", &["concurrency", "kind"]), Some("concurrency"));
    }
}
