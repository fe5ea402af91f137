//! Whole runs and sweeps against the in-process [`DummyTarget`] on tokio's paused clock.

use protocol::record::ErrorClass;
use protocol::spec::{Endpoint, Slo, TokenRange};

use super::*;
use crate::engine::dummy::DummyTarget;

fn spec() -> RunSpec {
    RunSpec {
        name: String::new(),
        target: "http://127.0.0.1:9".into(),
        model: None,
        endpoint: Endpoint::Chat,
        backend: Default::default(),
        api_key: None,
        stream: true,
        load: LoadSpec::Concurrency { concurrency: 2 },
        sweep: vec![],
        requests: Some(10),
        duration_s: None,
        warmup_requests: 0,
        warmup_s: 0.0,
        workload: WorkloadSpec::Synthetic { input_tokens: TokenRange::fixed(4), output_tokens: TokenRange::fixed(5) },
        seed: Some(3),
        tokenizer: None,
        slo: Slo::default(),
        request_timeout_s: 60.0,
        ready_timeout_s: 60.0,
        fail_fast_after: 4,
        max_error_rate: 0.1,
    }
}

async fn go(spec: &RunSpec, target: DummyTarget) -> (RunOutcome, Vec<RunEvent>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = run(spec, Arc::new(target), tx, CancellationToken::new()).await.unwrap();
    let mut events = vec![];
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (out, events)
}

#[tokio::test(start_paused = true)]
async fn a_single_run_reports_and_finishes() {
    let s = Slo { ttft_ms: Some(50.0), ..Slo::default() };
    let (out, events) = go(&RunSpec { slo: s, ..spec() }, DummyTarget::new()).await;
    let RunOutcome::Single(r) = out else { panic!("single run expected") };
    assert_eq!(r.requests_completed, 10);
    assert_eq!(r.workload.kind, "synthetic");
    assert_eq!(r.workload.seed, 3);
    assert_eq!((r.slo_met, r.client_bound), (Some(true), false));
    assert!(r.goodput_rps.unwrap() > 0.0 && (r.goodput_rps.unwrap() - r.requests_per_s).abs() < 1e-9);
    assert!(matches!(events.last(), Some(RunEvent::Finished { steps: 1, stopped: false, verdict: None, .. })));
    assert!(events.iter().any(|e| matches!(e, RunEvent::StepFinished { step: 0, .. })));
}

#[tokio::test(start_paused = true)]
async fn a_sweep_marks_the_best_step_within_slo() {
    // Constant latency: more concurrency, more throughput.
    let (out, _) = go(&RunSpec { sweep: vec![1.0, 2.0, 4.0], requests: Some(8), ..spec() }, DummyTarget::new()).await;
    let RunOutcome::Sweep(s) = out else { panic!("sweep expected") };
    assert_eq!(s.steps.len(), 3);
    assert_eq!(s.steps[2].load, LoadSpec::Concurrency { concurrency: 4 });
    assert_eq!(s.best_step, Some(2));
    assert!(s.steps[2].output_tokens_per_s > s.steps[0].output_tokens_per_s);
    // A step that misses its SLO is not "best".
    let mut steps = s.steps.clone();
    steps[2].slo_met = Some(false);
    assert_eq!(SweepReport::pick_best(&steps), Some(1));
}

#[tokio::test(start_paused = true)]
async fn a_failing_step_ends_the_sweep() {
    let target = DummyTarget { error: Some((ErrorClass::Connect, None)), ..DummyTarget::new() };
    let (out, events) = go(&RunSpec { sweep: vec![1.0, 2.0], ..spec() }, target).await;
    let RunOutcome::Sweep(s) = out else { panic!("sweep expected") };
    assert_eq!(s.steps.len(), 1);
    assert_eq!(s.best_step, None);
    let v = s.verdict.unwrap();
    assert!(v.starts_with("step 1 (concurrency 1)") && v.contains("refused every connection"), "{v}");
    assert!(matches!(events.last(), Some(RunEvent::Finished { verdict: Some(_), .. })));
}

#[tokio::test(start_paused = true)]
async fn fewer_failures_than_the_early_stop_still_explain() {
    let target = DummyTarget { error: Some((ErrorClass::Timeout, None)), ..DummyTarget::new() };
    let (out, _) = go(&RunSpec { requests: Some(2), fail_fast_after: 20, ..spec() }, target).await;
    let RunOutcome::Single(r) = out else { panic!("single run expected") };
    assert!(r.failed());
    assert!(r.verdict.unwrap().contains("--request-timeout"));
}

#[tokio::test(start_paused = true)]
async fn a_dataset_bounds_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    std::fs::write(&path, "{\"prompt\": \"a b\"}\n{\"prompt\": \"c\", \"max_tokens\": 2}\n{\"prompt\": \"d\"}\n")
        .unwrap();
    let workload = WorkloadSpec::Jsonl { path: path.display().to_string(), output_tokens: 3 };
    let (out, _) = go(&RunSpec { workload, requests: None, ..spec() }, DummyTarget::new()).await;
    let RunOutcome::Single(r) = out else { panic!("single run expected") };
    assert_eq!((r.requests_completed, r.output_tokens), (3, 8));
    assert_eq!((r.workload.kind.as_str(), r.workload.prompt_count), ("jsonl", 3));
}

#[tokio::test]
async fn an_invalid_spec_or_a_bad_dataset_is_an_error() {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let t: Arc<dyn Target> = Arc::new(DummyTarget::new());
    let bad = RunSpec { load: LoadSpec::Concurrency { concurrency: 0 }, ..spec() };
    let e = run(&bad, t.clone(), tx.clone(), CancellationToken::new()).await.unwrap_err();
    assert!(e.to_string().contains("load.concurrency"), "{e}");
    let missing =
        RunSpec { workload: WorkloadSpec::ShareGpt { path: "/nope.json".into(), output_tokens: 8 }, ..spec() };
    let e = run(&missing, t, tx, CancellationToken::new()).await.unwrap_err();
    assert!(e.to_string().contains("/nope.json"), "{e}");
}

/// Records every prompt it is sent, then answers like the dummy target.
struct Recording {
    inner: DummyTarget,
    seen: std::sync::Mutex<Vec<String>>,
}

impl crate::engine::target::Target for Recording {
    fn execute<'a>(
        &'a self,
        prompt: &'a crate::engine::target::Prompt,
        tap: &'a dyn crate::engine::target::ChunkTap,
    ) -> futures::future::BoxFuture<'a, crate::engine::target::RequestResult> {
        if let crate::engine::target::PromptBody::Text(t) = &prompt.body {
            self.seen.lock().unwrap().push(t.clone());
        }
        self.inner.execute(prompt, tap)
    }
}

/// No prompt is sent twice in a run: warmup and every sweep step take the next prompts of one sequence.
#[tokio::test(start_paused = true)]
async fn sweep_steps_and_warmup_never_repeat_a_prompt() {
    let target = Arc::new(Recording { inner: DummyTarget::new(), seen: Default::default() });
    let spec = RunSpec { sweep: vec![1.0, 2.0, 4.0], warmup_requests: 3, requests: Some(12), ..spec() };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let out = run(&spec, target.clone(), tx, CancellationToken::new()).await.unwrap();
    let RunOutcome::Sweep(s) = out else { panic!("sweep expected") };
    assert_eq!(s.steps.len(), 3);
    let seen = target.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3 * (3 + 12), "every request, warmup included, was sent");
    let distinct: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "a prompt was sent twice");
}
