//! Abuse of the API: every route with a body or a path/query parameter gets malformed JSON, wrong types, missing
//! fields, bodies over the 2 MiB limit, wrong content types, unknown and hostile run ids (path traversal, NUL,
//! non-UTF-8, 5000 characters, SQL) and huge query strings. Each answer must be a 4xx — a JSON `ApiErrorBody`
//! naming the field where there is one — never a 5xx, a hang or a panic, and the server must still answer
//! `/api/health` afterwards. `-- --nocapture` prints how many inputs were tried.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// One hostile request and what must come back.
struct Case {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    /// Acceptable statuses.
    status: &'static [u16],
    /// The body must be an `ApiErrorBody` whose text (message + field names) contains this, when given.
    mentions: Option<&'static str>,
    /// The answer comes from the HTTP layer below the app (hyper), so it need not be JSON.
    below_app: bool,
}

fn case(method: Method, path: impl Into<String>, ctype: Option<&'static str>, body: impl Into<Vec<u8>>) -> Case {
    Case {
        method,
        path: path.into(),
        content_type: ctype,
        body: body.into(),
        status: &[400, 422],
        mentions: None,
        below_app: false,
    }
}

impl Case {
    fn status(mut self, s: &'static [u16]) -> Self {
        self.status = s;
        self
    }
    fn mentions(mut self, m: &'static str) -> Self {
        self.mentions = Some(m);
        self
    }
    fn below_app(mut self) -> Self {
        self.below_app = true;
        self
    }
}

const JSON: Option<&str> = Some("application/json");

/// A valid run spec, to break one field at a time.
fn good_spec() -> Value {
    json!({
        "target": "http://127.0.0.1:9",
        "load": { "kind": "concurrency", "concurrency": 2 },
        "requests": 4,
        "workload": { "kind": "synthetic", "input_tokens": { "min": 8, "max": 8 },
                      "output_tokens": { "min": 8, "max": 8 } }
    })
}

fn with(mut v: Value, pointer: &str, new: Value) -> Vec<u8> {
    *v.pointer_mut(pointer).unwrap() = new;
    serde_json::to_vec(&v).unwrap()
}

fn without(mut v: Value, key: &str) -> Vec<u8> {
    v.as_object_mut().unwrap().remove(key);
    serde_json::to_vec(&v).unwrap()
}

/// Bodies that are not JSON of any kind, for every JSON route.
fn not_json() -> Vec<(Vec<u8>, &'static [u16])> {
    vec![
        (b"{".to_vec(), &[400]),
        (b"".to_vec(), &[400]),
        (b"{\"target\": }".to_vec(), &[400]),
        (b"\xff\xfe\x00garbage".to_vec(), &[400]),
        (b"{\"a\":1}{\"b\":2}".to_vec(), &[400, 422]),
        ("[".repeat(100_000).into_bytes(), &[400, 422]),
        ("{\"a\":".repeat(100_000).into_bytes(), &[400, 422]),
        (b"null".to_vec(), &[400, 422]),
        (b"[]".to_vec(), &[400, 422]),
        (b"42".to_vec(), &[400, 422]),
        (b"\"a string\"".to_vec(), &[400, 422]),
    ]
}

/// Run ids no run has: unknown, traversal, NUL, non-UTF-8, SQL, very long, odd characters.
fn hostile_ids() -> Vec<(String, &'static [u16])> {
    vec![
        ("AAAAAAAAAAAAAAAAAAAAAA".into(), &[404]),
        ("nope".into(), &[404]),
        ("..%2F..%2F..%2Fetc%2Fpasswd".into(), &[404]),
        ("%2e%2e".into(), &[404]),
        ("..".into(), &[404]),
        ("%00".into(), &[404]),
        ("a%00b%00c%00d%00e%00f".into(), &[404]),
        ("%FF%FE%FD".into(), &[400, 404]),
        ("x'%20OR%20'1'%3D'1".into(), &[404]),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(), &[404]),
        ("A".repeat(5000), &[404]),
        ("%E2%80%AE%F0%9F%92%A9".into(), &[404]),
    ]
}

/// Every hostile input this file tries, by route.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let spec = good_spec();
    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(3 << 20)).into_bytes();

    // POST /api/runs
    for (body, status) in not_json() {
        out.push(case(Method::POST, "/api/runs", JSON, body).status(status));
    }
    out.push(case(Method::POST, "/api/runs", JSON, big.clone()).status(&[413]).mentions("2 MiB"));
    out.push(case(Method::POST, "/api/runs", Some("text/plain"), serde_json::to_vec(&spec).unwrap()).status(&[415]));
    out.push(case(Method::POST, "/api/runs", None, serde_json::to_vec(&spec).unwrap()).status(&[415]));
    out.push(case(Method::POST, "/api/runs", Some("application/x-www-form-urlencoded"), "target=x").status(&[415]));
    for key in ["target", "load", "workload"] {
        let m = match key {
            "target" => "target",
            "load" => "load",
            _ => "workload",
        };
        out.push(case(Method::POST, "/api/runs", JSON, without(spec.clone(), key)).status(&[422]).mentions(m));
    }
    let typed: &[(&str, Value, &'static str)] = &[
        ("/target", json!(5), "target"),
        ("/target", json!(null), "target"),
        ("/target", json!("file:///etc/passwd"), "target"),
        ("/target", json!("not a url"), "target"),
        ("/target", json!("http://"), "target"),
        // Errors name the field by its path (`load.concurrency`), which mentions the enum field too.
        ("/load/concurrency", json!(-1), "load"),
        ("/load/concurrency", json!(0), "concurrency"),
        ("/load/concurrency", json!("4"), "load"),
        ("/load/concurrency", json!(4_000_000_000u64), "load"),
        ("/load/kind", json!("chaos"), "load"),
        ("/requests", json!(0), "requests"),
        ("/requests", json!(-5), "requests"),
        ("/requests", json!(true), "requests"),
        ("/workload/kind", json!("telepathy"), "workload"),
        ("/workload/input_tokens", json!({"min": 9, "max": 3}), "input_tokens"),
        ("/workload/input_tokens/min", json!(1.5), "workload"),
        ("/workload/output_tokens", json!("lots"), "workload"),
    ];
    for (pointer, value, mentions) in typed {
        out.push(case(Method::POST, "/api/runs", JSON, with(spec.clone(), pointer, value.clone())).mentions(mentions));
    }
    let raw = serde_json::to_string(&spec).unwrap();
    for (from, to) in
        [("\"concurrency\":2", "\"concurrency\":1e400"), ("\"requests\":4", "\"requests\":99999999999999999999999")]
    {
        out.push(case(Method::POST, "/api/runs", JSON, raw.replace(from, to)).mentions(if from.contains("conc") {
            "load"
        } else {
            "requests"
        }));
    }
    let fields: &[(&str, Value, &'static str)] = &[
        ("duration_s", json!(-1.0), "duration_s"),
        ("duration_s", json!("NaN"), "duration_s"),
        ("request_timeout_s", json!(0), "request_timeout_s"),
        ("ready_timeout_s", json!(-3), "ready_timeout_s"),
        ("warmup_s", json!(-1), "warmup_s"),
        ("sweep", json!([0, -1]), "sweep"),
        ("sweep", json!("1,2"), "sweep"),
        ("slo", json!({"ttft_ms": -5}), "slo"),
        ("stream", json!("yes"), "stream"),
        ("endpoint", json!("/v1/../admin"), "endpoint"),
        ("backend", json!("skynet"), "backend"),
        ("seed", json!(-1), "seed"),
    ];
    for (key, value, mentions) in fields {
        let mut s = spec.clone();
        s[*key] = value.clone();
        out.push(case(Method::POST, "/api/runs", JSON, serde_json::to_vec(&s).unwrap()).mentions(mentions));
    }

    // POST /api/preflight
    for (body, status) in not_json() {
        out.push(case(Method::POST, "/api/preflight", JSON, body).status(status));
    }
    out.push(case(Method::POST, "/api/preflight", JSON, big.clone()).status(&[413]).mentions("2 MiB"));
    out.push(case(Method::POST, "/api/preflight", Some("text/plain"), "{\"target\":\"x\"}").status(&[415]));
    out.push(case(Method::POST, "/api/preflight", JSON, "{}").status(&[422]).mentions("target"));
    out.push(case(Method::POST, "/api/preflight", JSON, "{\"target\": 7}").status(&[422]).mentions("target"));
    out.push(case(Method::POST, "/api/preflight", JSON, "{\"target\": \"gopher://x\"}").mentions("target"));
    for t in ["-1", "0", "601", "1e999", "\"soon\""] {
        let body = format!("{{\"target\": \"http://127.0.0.1:9\", \"ready_timeout_s\": {t}}}");
        out.push(case(Method::POST, "/api/preflight", JSON, body).mentions("ready_timeout_s"));
    }

    // POST /api/runs/import (the body is read as bytes: any content type)
    for (body, status) in not_json() {
        out.push(case(Method::POST, "/api/runs/import", JSON, body).status(status));
    }
    out.push(case(Method::POST, "/api/runs/import", JSON, big.clone()).status(&[413]).mentions("2 MiB"));
    for body in ["{}", "{\"report\": 5}", "{\"report\": {}, \"name\": 5}", "{\"steps\": \"x\"}", "{\"report\": null}"] {
        out.push(case(Method::POST, "/api/runs/import", JSON, body).status(&[422]));
    }
    out.push(case(Method::POST, "/api/runs/import?name=a&name=b", JSON, "{}").status(&[400, 422]));
    out.push(case(Method::POST, "/api/runs/import?name=%FF", JSON, "{}").status(&[400, 422]));
    out.push(case(Method::POST, format!("/api/runs/import?name={}", "n".repeat(20_000)), JSON, "{}").status(&[422]));
    out.push(
        case(Method::POST, format!("/api/runs/import?name={}", "n".repeat(100_000)), JSON, "{}")
            .status(&[400, 414, 431])
            .below_app(),
    );

    // Routes with a run id.
    let patch = serde_json::to_vec(&json!({"name": "x"})).unwrap();
    for (id, status) in hostile_ids() {
        for suffix in [
            "",
            "/series",
            "/latency",
            "/export.json",
            "/export/requests.csv",
            "/export/telemetry.csv",
            "/export/summary.md",
            "/export/charts.png",
        ] {
            out.push(case(Method::GET, format!("/api/runs/{id}{suffix}"), None, "").status(status));
        }
        out.push(case(Method::POST, format!("/api/runs/{id}/stop"), None, "").status(status));
        out.push(case(Method::DELETE, format!("/api/runs/{id}"), None, "").status(status));
        out.push(case(Method::PATCH, format!("/api/runs/{id}"), JSON, patch.clone()).status(status));
    }
    // PATCH bodies (a valid-looking unknown id: the body is checked first).
    let run = "/api/runs/AAAAAAAAAAAAAAAAAAAAAA";
    for (body, status) in not_json() {
        out.push(case(Method::PATCH, run, JSON, body).status(status));
    }
    out.push(case(Method::PATCH, run, JSON, big).status(&[413]).mentions("2 MiB"));
    out.push(case(Method::PATCH, run, Some("text/plain"), patch.clone()).status(&[415]));
    out.push(case(Method::PATCH, run, JSON, "{}").status(&[422]).mentions("name"));
    out.push(case(Method::PATCH, run, JSON, "{\"tags\": \"x\"}").status(&[422]).mentions("tags"));
    out.push(case(Method::PATCH, run, JSON, "{\"name\": 5}").status(&[422]).mentions("name"));
    let long_name = serde_json::to_vec(&json!({"name": "n".repeat(100_000)})).unwrap();
    out.push(case(Method::PATCH, run, JSON, long_name).status(&[422]).mentions("name"));
    let many_tags = serde_json::to_vec(&json!({"tags": (0..10_000).map(|i| format!("t{i}")).collect::<Vec<_>>()}));
    out.push(case(Method::PATCH, run, JSON, many_tags.unwrap()).status(&[422]).mentions("tags"));

    // Huge query strings on plain GET routes: ignored (200) up to what hyper accepts, refused by it beyond.
    for path in ["/api/runs", "/api/runs/summaries", "/api/health", "/api/demo"] {
        out.push(case(Method::GET, format!("{path}?q={}", "x".repeat(30_000)), None, "").status(&[200]).below_app());
        out.push(
            case(Method::GET, format!("{path}?q={}", "x".repeat(200_000)), None, "")
                .status(&[400, 414, 431])
                .below_app(),
        );
    }
    // The run WebSocket without an upgrade, and with hostile ids.
    for (id, _) in hostile_ids() {
        out.push(case(Method::GET, format!("/ws/runs/{id}"), None, "").status(&[400, 404, 405, 426]).below_app());
    }
    // Methods a route does not have.
    for (method, path) in [
        (Method::PUT, "/api/runs"),
        (Method::DELETE, "/api/runs"),
        (Method::GET, "/api/preflight"),
        (Method::GET, "/api/runs/import"),
        (Method::PUT, "/api/runs/AAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        out.push(case(method, path, None, "").status(&[405]).below_app());
    }
    out
}

async fn check(app: &TestApp, c: &Case) -> Result<(), String> {
    let mut req = app.http.request(c.method.clone(), format!("{}{}", app.base, c.path)).body(c.body.clone());
    if let Some(ct) = c.content_type {
        req = req.header("content-type", ct);
    }
    let short = |p: &str| p.chars().take(90).collect::<String>();
    let resp = match tokio::time::timeout(std::time::Duration::from_secs(30), req.send()).await {
        Err(_) => return Err(format!("{} {}: no answer in 30 s", c.method, short(&c.path))),
        // A refused oversized request may be answered and the connection closed while the body is still
        // being sent; hyper's own refusals can do the same. That is not a server failure.
        Ok(Err(e)) if c.below_app || c.status.contains(&413) => {
            let _ = e;
            return Ok(());
        }
        Ok(Err(e)) => return Err(format!("{} {}: {e}", c.method, short(&c.path))),
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = resp.text().await.unwrap_or_default();
    let what = format!("{} {} → {status} {ctype}: {}", c.method, short(&c.path), short(&text));
    if !c.status.contains(&status) {
        return Err(format!("expected one of {:?}: {what}", c.status));
    }
    if status >= 500 {
        return Err(format!("server error: {what}"));
    }
    if c.below_app || status < 400 {
        return Ok(());
    }
    let body: Value = serde_json::from_str(&text).map_err(|_| format!("not a JSON error body: {what}"))?;
    let Some(error) = body["error"].as_str() else { return Err(format!("no `error` text: {what}")) };
    if let Some(m) = c.mentions {
        let fields: Vec<&str> =
            body["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str()).collect();
        if !error.contains(m) && !fields.iter().any(|f| f.contains(m)) {
            return Err(format!("the error does not name `{m}`: {what}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn hostile_inputs_on_every_route_get_a_4xx_json_error_and_the_server_stays_up() {
    let app = spawn_app().await;
    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        if let Err(e) = check(&app, c).await {
            failures.push(e);
        }
    }
    let health = app.http.get(format!("{}/api/health", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server still answers after the abuse");
    assert!(failures.is_empty(), "{} of {} inputs misbehaved:\n{}", failures.len(), cases.len(), failures.join("\n"));
    eprintln!("FIGURES abuse: {} hostile inputs on the API, 0 × 5xx, server healthy after", cases.len());
}
