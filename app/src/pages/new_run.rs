//! New run: point tokenscope at an inference server, check it, choose load and workload, start.

use leptos::prelude::*;

use super::new_run_check::{CheckPanel, Checker};
use super::new_run_form::Form;
use crate::components::dataset_upload::DatasetUpload;
use protocol::preflight::Fix;
use protocol::spec::FieldError;

/// The message for `field`, if any, shown beside its input.
fn field_msg(errors: RwSignal<Vec<FieldError>>, field: &'static str) -> impl IntoView {
    move || {
        errors.with(|e| {
            e.iter()
                .filter(|e| e.field == field || e.field.starts_with(&format!("{field}.")))
                .map(|e| view! { <span class="field-error" data-testid=format!("error-{field}")>{e.message.clone()}</span> })
                .collect_view()
        })
    }
}

/// A labelled text input bound to `value`, with its error.
fn input(
    label: &'static str,
    field: &'static str,
    value: RwSignal<String>,
    placeholder: &'static str,
    errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type="text"
                name=field
                data-testid=format!("input-{field}")
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {field_msg(errors, field)}
        </label>
    }
}

/// A labelled select bound to `value`.
fn select(
    label: &'static str,
    field: &'static str,
    value: RwSignal<String>,
    options: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select name=field data-testid=format!("input-{field}") on:change=move |ev| value.set(event_target_value(&ev))>
                {options
                    .iter()
                    .map(|(v, l)| view! { <option value=*v selected=move || value.get() == *v prop:selected=move || value.get() == *v>{*l}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

const BACKENDS: &[(&str, &str)] = &[
    ("auto", "auto (detect)"),
    ("generic", "Generic OpenAI"),
    ("vllm", "vLLM"),
    ("sglang", "SGLang"),
    ("lmdeploy", "LMDeploy / TurboMind"),
    ("trtllm", "TensorRT-LLM (trtllm-serve)"),
    ("tgi", "TGI"),
    ("llama_cpp", "llama.cpp server"),
    ("ollama", "Ollama"),
    ("mock", "tokenscope mock"),
];
const ENDPOINTS: &[(&str, &str)] =
    &[("auto", "auto (preflight finds it)"), ("chat", "/v1/chat/completions"), ("completions", "/v1/completions")];
const LOADS: &[(&str, &str)] =
    &[("concurrency", "Fixed concurrency (closed loop)"), ("rate", "Request rate (open loop)")];
const ARRIVALS: &[(&str, &str)] = &[("poisson", "Poisson"), ("constant", "Constant"), ("gamma", "Gamma (bursty)")];
const WORKLOADS: &[(&str, &str)] =
    &[("synthetic", "Synthetic prompts"), ("jsonl", "JSONL file"), ("sharegpt", "ShareGPT JSON file")];

/// `/runs/new`.
#[component]
pub fn NewRunPage() -> impl IntoView {
    let f = Form::new();
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let demo = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        if let Ok(v) = crate::api::get_json::<serde_json::Value>("/api/demo").await {
            let target = v.get("target").and_then(|t| t.as_str()).map(str::to_owned);
            if let Some(t) = &target {
                if f.target.get_untracked().is_empty() {
                    f.target.set(t.clone());
                    f.backend.set("mock".into());
                }
            }
            demo.set(target);
        }
    });
    // The "tokenscope mock" preset belongs to the demo target: typing another URL puts it back to auto-detection.
    Effect::new(move |_| {
        let typed = f.target.get();
        let is_demo = demo.get_untracked().is_some_and(|d| d == typed.trim().trim_end_matches('/'));
        if !is_demo && f.backend.get_untracked() == "mock" {
            f.backend.set("auto".into());
        }
    });
    let use_demo = move |_| {
        if let Some(t) = demo.get() {
            f.target.set(t);
            f.backend.set("mock".into());
            f.name.set("demo run".into());
        }
    };
    let checker = Checker::new();
    let check = move || {
        // A ready timeout out of range is shown at its field rather than waited.
        let ready = super::new_run_form::ready_timeout(&f.ready_timeout.get_untracked());
        errors.update(|v| v.retain(|e| e.field != "ready_timeout_s"));
        let ready = match ready {
            Ok(seconds) => seconds,
            Err(e) => return errors.update(|v| v.push(e)),
        };
        checker.start(serde_json::json!({
            "target": f.target.get_untracked(), "model": f.model.get_untracked(),
            "endpoint": f.endpoint.get_untracked(), "backend": f.backend.get_untracked(),
            "api_key": f.api_key.get_untracked(), "ready_timeout_s": ready,
        }));
    };
    // A one-click fix: set the field it names, then check again.
    let on_fix = Callback::new(move |fix: Fix| {
        match fix {
            Fix::Endpoint { endpoint } => f.endpoint.set(protocol::preflight::endpoint_name(endpoint).to_owned()),
            Fix::Model { model } => f.model.set(model),
            Fix::Backend { backend } => {
                let name = serde_json::to_value(backend).ok().and_then(|v| v.as_str().map(str::to_owned));
                f.backend.set(name.unwrap_or_else(|| "auto".into()));
            }
            Fix::ReadyTimeout { seconds } => f.ready_timeout.set(seconds.to_string()),
        }
        check();
    });
    // The dataset path, checked on the server when its field loses focus: `None` until checked, then the error.
    let dataset_error = RwSignal::new(None::<String>);
    // A new path (typed, or set by an upload) is unchecked again.
    Effect::new(move |_| {
        f.dataset.track();
        dataset_error.set(None);
    });
    let check_dataset = move || {
        let path = f.dataset.get_untracked().trim().to_owned();
        if path.is_empty() {
            dataset_error.set(None);
        }
        #[cfg(feature = "hydrate")]
        if !path.is_empty() {
            leptos::task::spawn_local(async move {
                let url = format!("/api/datasets/check?path={}", crate::components::dataset_upload::url_encode(&path));
                let error = match crate::api::get_json::<serde_json::Value>(&url).await {
                    Ok(_) => None,
                    Err(e) => Some(e.fields().first().map(|f| f.message.clone()).unwrap_or_else(|| e.message())),
                };
                // Only if the field still holds what was checked.
                if f.dataset.get_untracked().trim() == path {
                    dataset_error.set(error.map(|m| format!("Dataset path: {m}")));
                }
            });
        }
    };
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        message.set(None);
        if f.workload_kind.get_untracked() != "synthetic" && dataset_error.get_untracked().is_some() {
            message.set(Some("Fix the dataset path first: the run could not read it.".into()));
            return;
        }
        match f.to_spec() {
            Err(e) => {
                message.set(Some("Fix the fields marked below.".into()));
                errors.set(e);
            }
            Ok(spec) => {
                errors.set(Vec::new());
                busy.set(true);
                #[cfg(feature = "hydrate")]
                leptos::task::spawn_local(async move {
                    use protocol::api::RunCreated;
                    // The request form of the spec: with the API key and the target's `user:password@`, which a
                    // serialized spec leaves out.
                    let body = spec.to_request_json();
                    match crate::api::post_json::<_, RunCreated>("/api/runs", &body).await {
                        Ok(created) => {
                            // The router adds the base path to what it navigates to: give it the app path.
                            let navigate = leptos_router::hooks::use_navigate();
                            navigate(&format!("/runs/{}", created.id), Default::default());
                        }
                        Err(e) => {
                            errors.set(e.fields());
                            message.set(Some(e.message()));
                        }
                    }
                    busy.set(false);
                });
                #[cfg(not(feature = "hydrate"))]
                let _ = spec;
            }
        }
    };
    let is_rate = move || f.load_kind.get() == "rate";
    let is_dataset = move || f.workload_kind.get() != "synthetic";
    view! {
        <section data-testid="page-new-run">
            <h1>"New run"</h1>
            <p class="lede">
                "Point tokenscope at an OpenAI-compatible server (vLLM, SGLang, LMDeploy/TurboMind, TensorRT-LLM, TGI, "
                "llama.cpp, Ollama), check that it is ready, choose the load and the workload, and start. The run "
                "opens live: tokens/s, latency and GPU telemetry on one clock."
            </p>
            <form class="run-form" on:submit=start data-testid="run-form">
                <fieldset>
                    <legend>"Target"</legend>
                    <div class="row">
                        {input("Server URL", "target", f.target, "http://127.0.0.1:8000", errors)}
                        <button type="button" class="btn" data-testid="check" on:click=move |_| check()
                            disabled=move || checker.state.with(|s| s.running())>
                            "Check"
                        </button>
                        <Show when=move || demo.get().is_some()>
                            <button type="button" class="btn btn-demo" data-testid="use-demo" on:click=use_demo>
                                "Use the built-in demo target"
                            </button>
                        </Show>
                    </div>
                    <CheckPanel checker on_fix />
                    <div class="row">
                        {select("Backend preset", "backend", f.backend, BACKENDS)}
                        {select("Endpoint", "endpoint", f.endpoint, ENDPOINTS)}
                        {input("Model (empty: discover)", "model", f.model, "auto", errors)}
                        <label class="field">
                            <span>"API key (optional)"</span>
                            <input type="password" name="api_key" autocomplete="off"
                                prop:value=move || f.api_key.get() on:input=move |ev| f.api_key.set(event_target_value(&ev)) />
                        </label>
                        <label class="field">
                            <span>"Ready timeout (s)"</span>
                            <input
                                type="text"
                                inputmode="numeric"
                                name="ready_timeout_s"
                                data-testid="ready-timeout"
                                title="How long Check and Start wait for the server to finish loading (1 to 600 s)"
                                prop:value=move || f.ready_timeout.get()
                                on:input=move |ev| f.ready_timeout.set(event_target_value(&ev))
                            />
                            {field_msg(errors, "ready_timeout_s")}
                        </label>
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"Load"</legend>
                    <div class="row">
                        {select("Pattern", "load.kind", f.load_kind, LOADS)}
                        <Show when=move || !is_rate()>{input("Concurrency", "load.concurrency", f.concurrency, "8", errors)}</Show>
                        <Show when=is_rate>
                            {input("Rate (req/s)", "load.rate_rps", f.rate, "4", errors)}
                            {select("Arrivals", "load.arrival", f.arrival, ARRIVALS)}
                            <Show when=move || f.arrival.get() == "gamma">
                                {input("Burstiness", "load.arrival.burstiness", f.burstiness, "1", errors)}
                            </Show>
                        </Show>
                        {input("Sweep (comma-separated, optional)", "sweep", f.sweep, "1,8,32,128", errors)}
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"Workload"</legend>
                    <div class="row">
                        {select("Prompts", "workload.kind", f.workload_kind, WORKLOADS)}
                        <Show when=move || !is_dataset()>
                            {input("Input tokens (N or MIN..MAX)", "workload.input_tokens", f.input_tokens, "256", errors)}
                        </Show>
                        <Show when=is_dataset>
                            <label class="field">
                                <span>"Dataset path (in the server's dataset folder)"</span>
                                <input
                                    type="text"
                                    name="workload.path"
                                    data-testid="input-workload.path"
                                    placeholder="prompts.jsonl"
                                    prop:value=move || f.dataset.get()
                                    on:input=move |ev| f.dataset.set(event_target_value(&ev))
                                    on:blur=move |_| check_dataset()
                                />
                                {move || dataset_error.get().map(|m| view! { <span class="dataset-error" data-testid="dataset-error">{m}</span> })}
                                {field_msg(errors, "workload.path")}
                            </label>
                            <DatasetUpload path=f.dataset kind=f.workload_kind />
                        </Show>
                        {input("Output tokens (N or MIN..MAX)", "workload.output_tokens", f.output_tokens, "128", errors)}
                        {input("Seed", "seed", f.seed, "random", errors)}
                        {input(
                            "Tokenizer (path or HF id; optional)",
                            "tokenizer",
                            f.tokenizer,
                            "empty: the server's /tokenize",
                            errors,
                        )}
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"Limits and SLOs"</legend>
                    <div class="row">
                        {input("Requests", "requests", f.requests, "200", errors)}
                        {input("Duration (s)", "duration_s", f.duration, "60", errors)}
                        {input("Warmup requests", "warmup_requests", f.warmup, "0", errors)}
                        {input("SLO TTFT (ms)", "slo.ttft_ms", f.slo_ttft, "", errors)}
                        {input("SLO TPOT (ms)", "slo.tpot_ms", f.slo_tpot, "", errors)}
                        {input("SLO E2E (ms)", "slo.e2e_ms", f.slo_e2e, "", errors)}
                    </div>
                </fieldset>
                <div class="row">
                    {input("Name (optional)", "name", f.name, "vLLM on H200, c=8", errors)}
                    <button
                        type="submit"
                        class="btn btn-primary"
                        data-testid="start"
                        disabled=move || busy.get() || (is_dataset() && dataset_error.with(Option::is_some))
                    >
                        "Start"
                    </button>
                </div>
                {move || message.get().map(|m| view! { <p class="form-message" data-testid="form-message">{m}</p> })}
                {field_msg(errors, "load")}
                {field_msg(errors, "warmup_s")}
                {field_msg(errors, "request_timeout_s")}
            </form>
        </section>
    }
}
