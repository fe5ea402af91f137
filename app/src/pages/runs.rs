//! Runs: the archive of every benchmark run, newest first.

use leptos::prelude::*;

/// `/` and `/runs`.
#[component]
pub fn RunsPage() -> impl IntoView {
    view! {
        <section data-testid="page-runs">
            <h1>"Runs"</h1>
            <p class="lede">
                "Every benchmark run is archived here, newest first: name, target and backend, model, GPU, load, "
                "throughput and latency, and status. Open a run to see its charts rebuilt from the archive, or tick "
                "several to compare them."
            </p>
            <div class="empty" data-testid="runs-empty">
                <p>"No runs are archived yet."</p>
                <p>
                    "Start one from " <a href="/runs/new">"New run"</a>
                    " or from a terminal with " <code>"tokenscope run --target http://127.0.0.1:8000"</code> "."
                </p>
            </div>
        </section>
    }
}
