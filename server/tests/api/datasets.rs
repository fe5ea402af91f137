//! Datasets on the dashboard: only regular files inside the dataset folder (`serve --dataset-dir`), refused at
//! once otherwise with the same answer whether an outside path exists or not; a FIFO or a device never blocks a
//! run; and the upload that puts a file there from the browser.

use serde_json::{json, Value};

use crate::helpers::{spawn_demo_app, TestApp};

fn dataset_spec(target: &str, kind: &str, path: &str) -> Value {
    json!({
        "name": "dataset test",
        "target": target,
        "load": { "kind": "concurrency", "concurrency": 1 },
        "workload": { "kind": kind, "path": path, "output_tokens": 4 },
        "ready_timeout_s": 10.0
    })
}

async fn refused(app: &TestApp, path: &str) -> String {
    let target = app.demo_target().await;
    let resp = app.post_json("/api/runs", &dataset_spec(&target, "jsonl", path)).await;
    assert_eq!(resp.status(), 422, "{path}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "workload.path", "{body}");
    body["fields"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_dataset_in_the_folder_runs_and_nothing_outside_it_is_opened() {
    let app = spawn_demo_app().await;
    std::fs::write(app.dir().join("two.jsonl"), "{\"prompt\": \"hello\"}\n{\"prompt\": \"there\"}\n").unwrap();
    let target = app.demo_target().await;
    let id = app.start_run(&dataset_spec(&target, "jsonl", "two.jsonl")).await;
    let done = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(done.progress.done, 2, "{done:#?}");

    let secret = tempfile::tempdir().unwrap();
    std::fs::write(
        secret.path().join("secret.jsonl"),
        "{\"prompt\": \"a json string line that is secret: hunter2\"}\n",
    )
    .unwrap();
    let outside = refused(&app, &secret.path().join("secret.jsonl").display().to_string()).await;
    let missing = refused(&app, &secret.path().join("nothing.jsonl").display().to_string()).await;
    assert_eq!(outside, missing, "an outside path answers the same whether it exists or not");
    assert!(!outside.contains("hunter2"), "{outside}");
    assert_eq!(refused(&app, "/etc/shadow").await, refused(&app, "/etc/nothing-here").await);
    assert!(refused(&app, "../two.jsonl").await.contains("dataset folder"));
    assert!(refused(&app, "/dev/zero").await.contains("dataset folder"));
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_in_the_folder_is_refused_at_once() {
    let app = spawn_demo_app().await;
    let fifo = app.dir().join("fifo.jsonl");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let started = std::time::Instant::now();
    let message = refused(&app, "fifo.jsonl").await;
    assert!(message.contains("not a regular file"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The server is still free for the next run.
    let resp = app.post_json("/api/runs", &dataset_spec(&app.demo_target().await, "jsonl", "fifo.jsonl")).await;
    assert_eq!(resp.status(), 422);
}

async fn upload(app: &TestApp, name: &str, content_type: &str, body: &'static str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/datasets?name={name}", app.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_uploaded_dataset_lands_in_the_folder_and_runs() {
    let app = spawn_demo_app().await;
    let resp =
        upload(&app, "my%20prompts.jsonl", "application/octet-stream", "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n")
            .await;
    assert_eq!(resp.status(), 201);
    let up: Value = resp.json().await.unwrap();
    let path = up["path"].as_str().unwrap();
    assert!(path.starts_with("uploads/my_prompts-") && path.ends_with(".jsonl"), "{up}");
    assert_eq!((up["kind"].as_str(), up["prompts"].as_u64()), (Some("jsonl"), Some(2)));
    assert!(app.dir().join(path).is_file());
    let id = app.start_run(&dataset_spec(&app.demo_target().await, "jsonl", path)).await;
    let done = app.wait_run(&id, "its end", |v| !v.status.is_live()).await;
    assert_eq!(done.progress.done, 2, "{done:#?}");

    let sharegpt =
        "[{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}, {\"from\": \"gpt\", \"value\": \"yo\"}]}]";
    let up: Value = upload(&app, "sg.json", "application/json", sharegpt).await.json().await.unwrap();
    assert_eq!((up["kind"].as_str(), up["prompts"].as_u64()), (Some("sharegpt"), Some(1)), "{up}");
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing() {
    let app = spawn_demo_app().await;
    assert_eq!(upload(&app, "a.jsonl", "text/plain", "{\"prompt\": \"a\"}\n").await.status(), 415);
    assert_eq!(upload(&app, "a.sh", "application/octet-stream", "echo hi").await.status(), 422);
    let resp = upload(&app, "bad.jsonl", "application/octet-stream", "{\"prompt\": \"a\"}\nnot json\n").await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "file", "{body}");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains(":2:"), "names the line: {body}");
    assert_eq!(upload(&app, "empty.jsonl", "application/octet-stream", "").await.status(), 422);
    let kept: Vec<_> = std::fs::read_dir(app.dir().join("uploads")).unwrap().collect();
    assert!(kept.is_empty(), "{kept:?}");
}
