//! Strict request bodies and bounded run specs, over HTTP: unknown fields and type errors are 422s that name the
//! field (and never repeat the value sent), every RunSpec field has a ceiling, names refuse control and bidi
//! characters, and a target's `user:password@` is never served back.

use serde_json::{json, Value};

use protocol::live_run::RunStatus;

use crate::helpers::{demo_spec, spawn_app, spawn_demo_app, TestApp};

/// A spec that would start (on a port nothing listens on), to break one field at a time.
fn spec() -> Value {
    demo_spec("http://127.0.0.1:9", 2, Some(4), None)
}

/// Sends `body` to `path` and asserts a 422; returns the answer and its `(field, message)` pairs.
async fn refused(app: &TestApp, path: &str, body: &Value) -> (Value, Vec<(String, String)>) {
    let resp = app.post_json(path, body).await;
    refused_answer(resp).await
}

async fn refused_answer(resp: reqwest::Response) -> (Value, Vec<(String, String)>) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 422, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let fields = answer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["message"].as_str().unwrap().to_owned()))
        .collect();
    (answer, fields)
}

fn named<'a>(fields: &'a [(String, String)], field: &str) -> &'a str {
    &fields.iter().find(|(f, _)| f == field).unwrap_or_else(|| panic!("no {field} in {fields:?}")).1
}

#[tokio::test]
async fn strict_unknown_fields_are_listed_with_the_name_meant() {
    let app = spawn_app().await;
    let mut body = spec();
    body["duraton_s"] = json!(3);
    body["load"] = json!({"kind": "concurrency", "concurency": 1});
    let (answer, fields) = refused(&app, "/api/runs", &body).await;
    assert!(answer["error"].as_str().unwrap().starts_with("invalid run spec"), "{answer}");
    assert_eq!(
        named(&fields, "duraton_s"),
        "unknown field: check its spelling (did you mean `duration_s`?) or remove it"
    );
    assert!(named(&fields, "load.concurency").contains("did you mean `concurrency`?"), "{fields:?}");
    assert!(named(&fields, "load.concurrency").contains("missing"), "the field meant is missing: {fields:?}");

    // With the load right, every unknown field is listed and nothing starts.
    let mut body = spec();
    body["duraton_s"] = json!(3);
    body["workload"]["output_tokens"]["mx"] = json!(9);
    body["slo"] = json!({"ttft": 100});
    let (_, fields) = refused(&app, "/api/runs", &body).await;
    let listed: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(listed, ["duraton_s", "slo.ttft", "workload.output_tokens.mx"]);
    assert!(named(&fields, "slo.ttft").contains("`ttft_ms`"));
    let runs: Vec<Value> = app.get_json("/api/runs").await;
    assert!(runs.is_empty(), "a refused spec starts nothing");

    // The write-only API key is a known field.
    let mut body = spec();
    body["api_kye"] = json!("sk-x");
    let (_, fields) = refused(&app, "/api/runs", &body).await;
    assert!(named(&fields, "api_kye").contains("`api_key`"));
}

#[tokio::test]
async fn strict_type_errors_name_the_path_and_not_the_value() {
    let app = spawn_app().await;
    let secret = "sk-live-do-not-echo-41c7";
    let mut body = spec();
    body["load"]["concurrency"] = json!(secret);
    let resp = app.post_json("/api/runs", &body).await;
    let text = resp.text().await.unwrap();
    assert!(!text.contains(secret), "the value sent is not echoed: {text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["fields"][0]["field"], "load.concurrency", "{answer}");
    assert_eq!(answer["fields"][0]["message"], "expected a whole number (u32), not a string");

    let mut body = spec();
    body["workload"]["input_tokens"]["min"] = json!(secret);
    let (answer, fields) = refused(&app, "/api/runs", &body).await;
    assert_eq!(fields[0].0, "workload.input_tokens.min");
    assert!(!answer.to_string().contains(secret));

    let mut body = spec();
    body["load"]["kind"] = json!(secret);
    let (answer, fields) = refused(&app, "/api/runs", &body).await;
    assert_eq!(fields[0], ("load.kind".to_owned(), "unknown value: expected `concurrency` or `rate`".to_owned()));
    assert!(!answer.to_string().contains(secret));
}

#[tokio::test]
async fn strict_every_json_route_refuses_unknown_fields() {
    let app = spawn_app().await;
    let (_, fields) = refused(&app, "/api/preflight", &json!({"target": "http://127.0.0.1:9", "modle": "m"})).await;
    assert!(named(&fields, "modle").contains("`model`"), "{fields:?}");
    let (_, fields) = refused(&app, "/api/shares", &json!({"kind": "run", "runs": [], "lable": "x"})).await;
    assert!(named(&fields, "lable").contains("`label`"), "{fields:?}");
    let resp = app
        .http
        .patch(format!("{}/api/runs/AAAAAAAAAAAAAAAAAAAAAA", app.base))
        .json(&json!({"name": "x", "tag": ["a"]}))
        .send()
        .await
        .unwrap();
    let (_, fields) = refused_answer(resp).await;
    assert!(named(&fields, "tag").contains("`tags`"), "{fields:?}");
}

#[tokio::test]
async fn strict_run_spec_fields_have_ceilings() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/load", json!({"kind": "rate", "rate_rps": 1e12, "arrival": {"kind": "poisson"}}), "load.rate_rps"),
        (
            "/load",
            json!({"kind": "rate", "rate_rps": 2, "arrival": {"kind": "gamma", "burstiness": 1e-9}}),
            "load.arrival.burstiness",
        ),
        ("/sweep", json!((1..=200).collect::<Vec<u32>>()), "sweep"),
        ("/model", json!("m".repeat(10_000)), "model"),
        ("/name", json!("evil\u{202E}gnp.exe"), "name"),
        ("/name", json!("nul\u{0}name"), "name"),
        ("/target", json!("http://127.0.0.1:9/?x=1"), "target"),
        ("/target", json!("http://127.0.0.1:9/#top"), "target"),
        ("/requests", json!(1_000_000_000u64), "requests"),
        ("/request_timeout_s", json!(1e9), "request_timeout_s"),
    ];
    for (pointer, value, field) in cases {
        let mut body = spec();
        match body.pointer_mut(pointer) {
            Some(v) => *v = value,
            None => body[&pointer[1..]] = value,
        }
        let (_, fields) = refused(&app, "/api/runs", &body).await;
        assert_eq!(fields.len(), 1, "{pointer}: {fields:?}");
        assert_eq!(fields[0].0, field, "{pointer}: {fields:?}");
        match pointer {
            "/name" => assert!(fields[0].1.contains("U+202E") || fields[0].1.contains("U+0000"), "{fields:?}"),
            "/target" => assert!(fields[0].1.contains("no query (?) or fragment (#)"), "{fields:?}"),
            _ => assert!(fields[0].1.contains("e.g."), "{pointer}: the message gives an example: {fields:?}"),
        }
    }
    // Renaming an archived run refuses the same characters.
    let resp = app
        .http
        .patch(format!("{}/api/runs/AAAAAAAAAAAAAAAAAAAAAA", app.base))
        .json(&json!({"name": "a\u{2066}b", "tags": ["ok", "t\u{0}"]}))
        .send()
        .await
        .unwrap();
    let (_, fields) = refused_answer(resp).await;
    assert!(named(&fields, "name").contains("U+2066"), "{fields:?}");
    assert!(named(&fields, "tags").contains("U+0000"), "{fields:?}");
}

#[tokio::test]
async fn strict_target_credentials_are_never_served_back() {
    let app = spawn_demo_app().await;
    let demo = app.demo_target().await;
    let with_userinfo = demo.replacen("http://", "http://user:pw-5e3a9@", 1);
    let id = app.start_run(&demo_spec(&with_userinfo, 1, Some(2), None)).await;
    let live: Value = app.get_json(&format!("/api/runs/{id}")).await;
    assert_eq!(live["spec"]["target"], demo.as_str(), "the live view shows the target without its userinfo");
    let done = app.wait_run(&id, "ended", |v| !v.status.is_live()).await;
    assert_eq!(done.status, RunStatus::Completed, "the run itself still reached the target: {done:#?}");
    let secret = "pw-5e3a9";
    let view: Value = app.get_json(&format!("/api/runs/{id}")).await;
    assert_eq!(view["spec"]["target"], demo.as_str(), "{view}");
    let runs: Vec<Value> = app.get_json("/api/runs").await;
    assert_eq!(runs[0]["spec"]["target"], demo.as_str());
    let rows: Vec<Value> = app.get_json("/api/runs/summaries").await;
    assert_eq!(rows[0]["target"], demo.as_str());
    assert!(!rows[0].to_string().contains(secret));
}
