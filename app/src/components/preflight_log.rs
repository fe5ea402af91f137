//! A run's preflight log: each step of waiting for the server and checking it ("waiting: connection refused",
//! "waiting: /v1/models 503", "ready: 1 model", …). Open while the run is in preflight; afterwards — and on an ended
//! run — folded into "Waiting and checks (N)", so the history of how the server came up stays with the run.

use leptos::prelude::*;

use protocol::live_run::RunStatus;

/// The folded title: `Waiting and checks (N)`.
pub fn summary(steps: usize) -> String {
    format!("Waiting and checks ({steps})")
}

/// The preflight log of a run (nothing when it has no steps, e.g. an imported report).
#[component]
pub fn PreflightLog(
    /// The steps, in order.
    #[prop(into)]
    states: Signal<Vec<String>>,
    /// The run's status: open while in preflight, folded after.
    #[prop(into)]
    status: Signal<RunStatus>,
) -> impl IntoView {
    let items = move || states.get().into_iter().map(|s| view! { <li>{s}</li> }).collect_view();
    move || {
        let n = states.with(Vec::len);
        if n == 0 && status.get() != RunStatus::Preflight {
            return ().into_any();
        }
        if status.get() == RunStatus::Preflight {
            view! { <ul class="preflight-log" data-testid="preflight-log">{items}</ul> }.into_any()
        } else {
            view! {
                <details class="preflight-log" data-testid="preflight-log">
                    <summary data-testid="preflight-log-summary">{summary(n)}</summary>
                    <ul>{items}</ul>
                </details>
            }
            .into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folded_log_counts_its_steps() {
        assert_eq!(summary(3), "Waiting and checks (3)");
    }
}
