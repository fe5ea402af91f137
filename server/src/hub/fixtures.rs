//! Test fixtures shared by the hub's unit tests.

use protocol::live_run::RunView;

/// A running run with id `id` against a dead port, `requests` requests of 1 token in and out, nothing done yet.
pub fn running_view(id: &str, requests: u64) -> RunView {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "spec": {
            "target": "http://127.0.0.1:9",
            "load": { "kind": "concurrency", "concurrency": 1 },
            "requests": requests,
            "workload": { "kind": "synthetic", "input_tokens": { "min": 1, "max": 1 },
                          "output_tokens": { "min": 1, "max": 1 } }
        },
        "status": "running", "started_unix_ms": 1, "progress": {
            "done": 0, "failed": 0, "total": null, "elapsed_s": 0.0, "planned_s": null, "eta_s": null,
            "in_flight": 0, "step": 0, "steps": 1, "output_tokens": 0
        },
        "preflight_states": [], "verdict": null, "error_samples": [], "result": null, "demo": false
    }))
    .expect("a valid RunView")
}
