//! Small labels shared by the run pages: the status badge and the tag chips.

use leptos::prelude::*;

use protocol::live_run::RunStatus;

/// CSS classes of a status badge.
pub fn status_class(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Completed => "badge badge-ok",
        RunStatus::Failed | RunStatus::Interrupted => "badge badge-bad",
        RunStatus::Stopped => "badge badge-warn",
        RunStatus::Preflight | RunStatus::Running => "badge badge-live",
    }
}

/// A run's tags as chips.
#[component]
pub fn TagChips(
    /// The tags.
    tags: Vec<String>,
) -> impl IntoView {
    tags.into_iter().map(|t| view! { <span class="tag tag-user">{t}</span> }).collect_view()
}
