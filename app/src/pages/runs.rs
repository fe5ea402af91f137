//! Runs: the archive of every benchmark run, newest first. Rendered on the server with its rows (real links to each
//! run), then live in the browser: filter, rename, delete, and pick runs to compare.

use leptos::prelude::*;

use crate::components::runs_table::RunsTable;
use protocol::archive::RunSummary;

/// The rows, or why they could not be read.
type RowsResult = Result<Vec<RunSummary>, String>;

#[cfg(feature = "ssr")]
type Ctx = Option<crate::ssr_data::RunsSource>;
/// In the browser the rows come from the JSON API: nothing to carry.
#[cfg(not(feature = "ssr"))]
#[derive(Clone, Copy)]
struct Ctx;

#[cfg(feature = "ssr")]
fn context() -> Ctx {
    use_context()
}

#[cfg(not(feature = "ssr"))]
fn context() -> Ctx {
    Ctx
}

/// On the server: the archive itself.
#[cfg(feature = "ssr")]
fn fetch_rows(source: &Ctx) -> impl std::future::Future<Output = RowsResult> + Send + 'static {
    let source = source.clone();
    async move {
        match source {
            Some(s) => s.list().await,
            None => Err("the archive is not available while rendering this page".into()),
        }
    }
}

/// In the browser (after a client-side navigation): the JSON API.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn fetch_rows(_: &Ctx) -> impl std::future::Future<Output = RowsResult> + Send + 'static {
    send_wrapper::SendWrapper::new(async {
        crate::api::get_json::<Vec<RunSummary>>("/api/runs/summaries").await.map_err(|e| e.message())
    })
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn fetch_rows(_: &Ctx) -> impl std::future::Future<Output = RowsResult> + Send + 'static {
    std::future::ready(Err("built without the ssr or hydrate feature".into()))
}

/// `/` and `/runs`.
#[component]
pub fn RunsPage() -> impl IntoView {
    let source = context();
    let rows = Resource::new(|| (), move |_| fetch_rows(&source));
    view! {
        <section data-testid="page-runs">
            <h1>"Runs"</h1>
            <p class="lede">
                "Every benchmark run, from the dashboard or from " <code>"tokenscope run"</code>
                ", newest first. Open one to see its charts rebuilt from the archive; tick two to six to compare them."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Reading the archive…"</p> }>
                {move || {
                    rows.get()
                        .map(|r| match r {
                            Ok(list) if list.is_empty() => view! { <Empty /> }.into_any(),
                            Ok(list) => view! { <RunsTable initial=list /> }.into_any(),
                            Err(e) => {
                                view! {
                                    <p class="form-message" data-testid="runs-error">
                                        {format!("Could not read the archive: {e}")}
                                    </p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn Empty() -> impl IntoView {
    view! {
        <div class="empty" data-testid="runs-empty">
            <p>"No runs are archived yet."</p>
            <p>
                "Start one from " <a href=crate::paths::url("/runs/new")>"New run"</a> " or from a terminal with "
                <code>"tokenscope run --target http://127.0.0.1:8000"</code> "."
            </p>
        </div>
    }
}
