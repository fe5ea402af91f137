//! GPU: live telemetry of every GPU on this machine, with or without a run.

use leptos::prelude::*;

/// `/gpu`.
#[component]
pub fn GpuPage() -> impl IntoView {
    view! {
        <section data-testid="page-gpu">
            <h1>"GPU"</h1>
            <p class="lede">
                "Live telemetry of every GPU on this machine, read through NVML: utilization and GPM SM-activity, "
                "memory, power and energy, temperature and clocks, and the processes holding GPU memory."
            </p>
        </section>
    }
}
