//! Compare: two to six archived runs side by side.

use leptos::prelude::*;

/// `/compare?runs=a,b,…`.
#[component]
pub fn ComparePage() -> impl IntoView {
    view! {
        <section data-testid="page-compare">
            <h1>"Compare"</h1>
            <p class="lede">
                "Two to six runs overlaid on a time axis relative to their start, with a summary table of deltas "
                "against a baseline you choose, latency distributions, throughput-versus-latency across sweep steps, "
                "and GPU utilization, power and energy per token for each run."
            </p>
            <div class="empty">
                <p>"Choose runs to compare from the " <a href="/runs">"Runs"</a> " page."</p>
            </div>
        </section>
    }
}
