//! Backend detection: preflight with `--backend auto` names each server the mock can play, from the endpoints and
//! `owned_by` that server exposes; the run then uses that server's preset. `auto` is the default everywhere.

use protocol::spec::{Backend, RunSpec};
use server::engine::preflight::{preflight, target_config};
use server::mock::{Identity, MockConfig};

use crate::helpers::{fast, spawn_mock, spec};

/// A spec for `base` with the backend left to detection.
fn auto(base: &str) -> RunSpec {
    RunSpec { backend: Backend::Auto, ..spec(base) }
}

#[tokio::test]
async fn each_identity_is_detected_and_its_preset_used() {
    let cases = [
        (Identity::Mock, Backend::Mock, "GET /version: \"server\": \"tokenscope-mock\""),
        (Identity::Vllm, Backend::Vllm, "/v1/models owned_by \"vllm\""),
        (Identity::Sglang, Backend::Sglang, "/v1/models owned_by \"sglang\""),
        (Identity::Tgi, Backend::Tgi, "GET /info: \"router\": \"text-generation-router\""),
        (Identity::LlamaCpp, Backend::LlamaCpp, "/v1/models owned_by \"llamacpp\""),
        (Identity::Ollama, Backend::Ollama, "GET /api/version"),
        (Identity::Lmdeploy, Backend::Lmdeploy, "/v1/models owned_by \"lmdeploy\""),
        (Identity::Trtllm, Backend::Trtllm, "/v1/models owned_by \"tensorrt_llm\""),
    ];
    for (identity, backend, deciding) in cases {
        let base = spawn_mock(MockConfig { identity, ..fast() }).await;
        let (lines, mut on_state) = crate::helpers::recorder();
        let report = preflight(&auto(&base), &mut on_state).await.unwrap();
        assert_eq!(report.backend_detected, Some(backend), "{identity:?}: {:?}", report.backend_evidence);
        assert_eq!(report.backend, backend, "{identity:?}");
        assert!(report.backend_evidence[0].starts_with(deciding), "{identity:?}: {:?}", report.backend_evidence);
        assert_eq!(target_config(&auto(&base), &report).backend, backend, "{identity:?}: the run uses the preset");
        let detected = lines.lock().unwrap().iter().any(|l| l.starts_with("backend: ") && l.contains("detected"));
        assert!(detected, "{identity:?}: {:?}", lines.lock().unwrap());
        assert!(report.output_length_honoured && report.notes.is_empty(), "{identity:?}: {:?}", report.notes);
    }
}

#[tokio::test]
async fn sglang_is_known_by_its_endpoints_and_trtllm_by_its_owner_over_version() {
    let base = spawn_mock(MockConfig { identity: Identity::Sglang, ..fast() }).await;
    let report = preflight(&auto(&base), &mut |_| {}).await.unwrap();
    assert!(report.backend_evidence.iter().any(|e| e == "GET /get_model_info: model_path and is_generation → sglang"));

    let base = spawn_mock(MockConfig { identity: Identity::Trtllm, ..fast() }).await;
    let report = preflight(&auto(&base), &mut |_| {}).await.unwrap();
    assert_eq!(report.backend, Backend::Trtllm);
    assert!(report.backend_evidence.iter().any(|e| e.starts_with("GET /version") && e.ends_with("→ vllm")));
}

#[tokio::test]
async fn an_unrecognised_server_is_generic_with_a_note() {
    let base = spawn_mock(MockConfig { identity: Identity::Generic, ..fast() }).await;
    let (lines, mut on_state) = crate::helpers::recorder();
    let report = preflight(&auto(&base), &mut on_state).await.unwrap();
    assert_eq!((report.backend, report.backend_detected), (Backend::Generic, None));
    assert!(report.backend_evidence.is_empty());
    assert!(report.notes.iter().any(|n| n.contains("could not tell") && n.contains("--backend")), "{:?}", report.notes);
    assert!(lines.lock().unwrap().iter().any(|l| l == "backend: generic (not recognised)"));
}

#[tokio::test]
async fn a_given_backend_is_kept_and_a_mismatch_noted() {
    let base = spawn_mock(MockConfig { identity: Identity::LlamaCpp, ..fast() }).await;
    let mut s = spec(&base);
    s.backend = Backend::Vllm;
    let report = preflight(&s, &mut |_| {}).await.unwrap();
    assert_eq!((report.backend, report.backend_detected), (Backend::Vllm, Some(Backend::LlamaCpp)));
    assert_eq!(target_config(&s, &report).backend, Backend::Vllm, "what the user asked for is used");
    assert!(report.notes.iter().any(|n| n.contains("try --backend llama-cpp")), "{:?}", report.notes);

    // vLLM and trtllm-serve take the same fields: no note.
    let base = spawn_mock(MockConfig { identity: Identity::Trtllm, ..fast() }).await;
    s.target = base;
    let report = preflight(&s, &mut |_| {}).await.unwrap();
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

#[test]
fn auto_is_the_default_backend() {
    let spec: RunSpec = serde_json::from_value(serde_json::json!({
        "target": "http://127.0.0.1:8000",
        "load": {"kind": "concurrency", "concurrency": 1},
        "workload": {"kind": "synthetic", "input_tokens": {"min": 4, "max": 4}, "output_tokens": {"min": 8, "max": 8}},
    }))
    .unwrap();
    assert_eq!(spec.backend, Backend::Auto);
    assert_eq!(serde_json::to_value(Backend::Auto).unwrap(), "auto");
    assert_eq!(Backend::default(), Backend::Auto);
}

#[test]
fn tokenscope_run_defaults_to_auto() {
    use clap::Parser;
    use server::cli::{Cli, Command};
    let cli = Cli::try_parse_from(["tokenscope", "run", "--target", "http://127.0.0.1:8000"]).unwrap();
    let Some(Command::Run(args)) = cli.command else { panic!("not a run") };
    assert_eq!(args.backend, Backend::Auto);
}
