//! The page for unknown paths.

use leptos::prelude::*;

/// Any path no route matches.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http_status_not_found());
    }
    view! {
        <section data-testid="page-not-found">
            <h1>"Not found"</h1>
            <p class="lede">"No page lives at this address. " <a href=crate::paths::url("/runs")>"Back to the runs"</a> "."</p>
        </section>
    }
}

#[cfg(feature = "ssr")]
fn http_status_not_found() -> http::StatusCode {
    http::StatusCode::NOT_FOUND
}
