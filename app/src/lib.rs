//! tokenscope's browser UI (Leptos, server-rendered and hydrated). The wire types it shares with the server are the
//! `protocol` crate (re-exported here as `app::protocol`).
//!
//! Built twice: with `ssr` into the `tokenscope` binary, which renders pages, and with `hydrate` into the
//! WebAssembly bundle, which makes them live in the browser.
// The New run form's view type nests deeper than the default 128 query depth allows in release builds.
#![recursion_limit = "256"]

#[cfg(feature = "hydrate")]
pub mod api;
pub mod components;
pub mod pages;
pub mod paths;
pub mod theme;
pub use protocol;
#[cfg(feature = "ssr")]
pub mod ssr_data;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path, SsrMode,
};

use components::connection::ConnectionBadge;
use pages::{
    compare::ComparePage, gpu::GpuPage, new_run::NewRunPage, not_found::NotFound, run::RunPage, runs::RunsPage,
};

/// The HTML document around the app: head, hydration scripts and the body the app renders into.
///
/// The base path (`serve --base-path`, from the [`paths::BasePath`] context) goes into a `<meta>` the hydrated app
/// reads, and in front of the hydration scripts' `/pkg/…` and the icon.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let base = paths::base();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name=paths::META_NAME content=base.clone() />
                <meta name="color-scheme" content="dark light" />
                // Sets `data-theme` on <html> before anything is painted (no flash of the other theme).
                <script inner_html=theme::HEAD_SCRIPT></script>
                <link rel="icon" type="image/svg+xml" href=paths::url("/favicon.svg") />
                // In the shell rather than through leptos_meta's <Stylesheet>/<Title> in `App`: they need no
                // hydration, and components that render nothing do not survive `erase_components` (the browser
                // bundle's cfg, .cargo/config.toml), whose `AnyView` then looks for a marker the server never wrote.
                <link id="tokenscope-css" rel="stylesheet" href=paths::url("/pkg/tokenscope.css") />
                <title>"tokenscope"</title>
                <AutoReload options=options.clone() />
                <HydrationScripts options root=base />
                <MetaTags />
            </head>
            // `viewer` for a share-link viewer: the stylesheet hides what they may not use (`share_panel`).
            <body class=components::share_panel::body_class()>
                <App />
            </body>
        </html>
    }
}

/// The navigation entries of the layout, in order: (href, label).
pub const NAV: [(&str, &str); 4] =
    [("/runs", "Runs"), ("/runs/new", "New run"), ("/gpu", "GPU"), ("/compare", "Compare")];

/// The whole application: layout with navigation, the live-connection badge and the routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    theme::provide();
    // The router matches and navigates under the base path; `<A href>` does not add it, hence `paths::url`.
    let base = paths::base();
    view! {
        <Router base=base>
            <header class="topbar">
                <a class="brand owner-only" href=paths::url("/") data-testid="brand">
                    "tokenscope"
                </a>
                <span class="brand viewer-only">"tokenscope"</span>
                <span class="badge badge-viewer viewer-only" data-testid="read-only-badge">
                    "Read-only shared view"
                </span>
                <nav class="nav owner-only" data-testid="nav">
                    {NAV
                        .iter()
                        .map(|(href, label)| {
                            view! {
                                <A href=paths::url(href) exact=true attr:data-testid=format!("nav-{}", label.to_lowercase().replace(' ', "-"))>
                                    {*label}
                                </A>
                            }
                        })
                        .collect_view()}
                </nav>
                <theme::ThemeSwitch />
                <ConnectionBadge />
            </header>
            <main class="page">
                <Routes fallback=NotFound>
                    // The archive's rows are in the HTML itself (real links), so these wait for their data.
                    <Route path=path!("/") view=RunsPage ssr=SsrMode::Async />
                    <Route path=path!("/runs") view=RunsPage ssr=SsrMode::Async />
                    <Route path=path!("/runs/new") view=NewRunPage />
                    <Route path=path!("/runs/:id") view=RunPage />
                    <Route path=path!("/gpu") view=GpuPage />
                    <Route path=path!("/compare") view=ComparePage />
                </Routes>
            </main>
        </Router>
    }
}

/// The WebAssembly entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
