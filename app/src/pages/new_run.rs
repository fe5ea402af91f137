//! New run: point tokenscope at an inference server and start a benchmark.

use leptos::prelude::*;

/// `/runs/new`.
#[component]
pub fn NewRunPage() -> impl IntoView {
    view! {
        <section data-testid="page-new-run">
            <h1>"New run"</h1>
            <p class="lede">
                "Point tokenscope at an OpenAI-compatible server (vLLM, SGLang, LMDeploy/TurboMind, TensorRT-LLM, TGI, "
                "llama.cpp, Ollama), check that it is ready, choose the load and the workload, and start. The run "
                "opens live: tokens/s, latency and GPU telemetry on one clock."
            </p>
            <div class="empty">
                <p>"This page will hold the run form: target URL with a readiness check, backend preset, load pattern "
                "(fixed concurrency or a Poisson, constant or bursty rate), workload, limits and SLOs."</p>
            </div>
        </section>
    }
}
