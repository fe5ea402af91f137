//! The Runs page's table: filter as you type, tick runs to compare, rename in place, delete after a confirmation.

use leptos::prelude::*;

use super::badges::{status_class, TagChips};
use protocol::archive::{format_utc, Outcome, RunSummary, MAX_COMPARE, MIN_COMPARE};

/// The Compare page's URL for `ids` (under the base path).
pub fn compare_href(ids: &[String]) -> String {
    crate::paths::url(&format!("/compare?runs={}", ids.join(",")))
}

/// `v` with `digits` decimals, or an em dash when absent.
pub fn num(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "—".into())
}

/// Client-side state of the table.
#[derive(Clone, Copy)]
struct TableState {
    rows: RwSignal<Vec<RunSummary>>,
    query: RwSignal<String>,
    selected: RwSignal<Vec<String>>,
    editing: RwSignal<Option<String>>,
    draft: RwSignal<String>,
    message: RwSignal<Option<String>>,
}

/// The archive's runs as a table, starting from `initial` (newest first).
#[component]
pub fn RunsTable(
    /// The rows as the server read them.
    initial: Vec<RunSummary>,
) -> impl IntoView {
    let st = TableState {
        rows: RwSignal::new(initial),
        query: RwSignal::new(String::new()),
        selected: RwSignal::new(Vec::new()),
        editing: RwSignal::new(None),
        draft: RwSignal::new(String::new()),
        message: RwSignal::new(None),
    };
    let visible = move || {
        let q = st.query.get().trim().to_lowercase();
        st.rows.get().into_iter().filter(|r| r.matches(&q)).collect::<Vec<_>>()
    };
    let count = move || {
        let (shown, total) = (visible().len(), st.rows.with(Vec::len));
        if shown == total {
            format!("{total} runs")
        } else {
            format!("{shown} of {total} runs")
        }
    };
    view! {
        <div class="runs-toolbar">
            <input
                type="search"
                class="search"
                placeholder="Filter by name, target, backend, model, status or tag"
                data-testid="runs-search"
                prop:value=move || st.query.get()
                on:input=move |ev| st.query.set(event_target_value(&ev))
            />
            <span class="muted" data-testid="runs-count">{count}</span>
            <CompareButton selected=st.selected />
        </div>
        {move || st.message.get().map(|m| view! { <p class="form-message" data-testid="runs-message">{m}</p> })}
        <div class="table-scroll">
        <table class="table runs-table" data-testid="runs-table">
            <thead>
                <tr>
                    <th></th>
                    <th>"Name"</th>
                    <th>"Status"</th>
                    <th title="SLO met or missed, errors, client-bound (the client could not keep the schedule), stopped, interrupted">
                        "Outcome"
                    </th>
                    <th title="the backend preset asked for, or the one preflight detected for auto">"Backend"</th>
                    <th>"Target"</th>
                    <th>"Model"</th>
                    <th>"Load"</th>
                    <th class="num" title="output tokens per second">"tok/s"</th>
                    <th class="num">"TTFT p50/p99 ms"</th>
                    <th class="num">"ok / failed"</th>
                    <th>"Started (UTC)"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{move || visible().into_iter().map(|r| row(st, r)).collect_view()}</tbody>
        </table>
        </div>
    }
}

/// "Compare selected": a link to the Compare page once 2 to 6 runs are ticked.
#[component]
fn CompareButton(selected: RwSignal<Vec<String>>) -> impl IntoView {
    move || {
        let ids = selected.get();
        if (MIN_COMPARE..=MAX_COMPARE).contains(&ids.len()) {
            let label = format!("Compare selected ({})", ids.len());
            view! {
                <a class="btn btn-primary" data-testid="compare-selected" href=compare_href(&ids)>
                    {label}
                </a>
            }
            .into_any()
        } else {
            let hint = if ids.len() > MAX_COMPARE {
                format!("Compare takes at most {MAX_COMPARE} runs")
            } else {
                format!("Tick {MIN_COMPARE} to {MAX_COMPARE} runs to compare them")
            };
            view! {
                <button class="btn" data-testid="compare-selected" disabled=true>
                    "Compare selected"
                </button>
                <span class="muted">{hint}</span>
            }
            .into_any()
        }
    }
}

fn row(st: TableState, r: RunSummary) -> impl IntoView {
    let id = r.id.clone();
    let checked = {
        let id = id.clone();
        move || st.selected.with(|s| s.contains(&id))
    };
    let toggle = {
        let id = id.clone();
        move |ev| {
            let on = event_target_checked(&ev);
            st.selected.update(|s| {
                s.retain(|x| x != &id);
                if on {
                    s.push(id.clone());
                }
            });
        }
    };
    let start_rename = {
        let (id, name) = (id.clone(), r.name.clone());
        move |_| {
            st.draft.set(name.clone());
            st.editing.set(Some(id.clone()));
        }
    };
    let ttft = format!("{} / {}", num(r.ttft_p50_ms, 1), num(r.ttft_p99_ms, 1));
    let model = r.model.clone().unwrap_or_else(|| "—".into());
    // An imported report may not name its target.
    let target = if r.target.trim().is_empty() { "—".to_owned() } else { target_text(&r.target) };
    let (backend, detected) = r.backend_shown();
    let backend_title = if detected {
        format!("{backend}, detected by preflight (the run asked for auto)")
    } else if backend == "auto" {
        "auto: preflight had not detected the backend".to_owned()
    } else {
        format!("{backend}, as asked")
    };
    view! {
        <tr data-testid="run-row" data-id=id.clone()>
            <td>
                <input
                    type="checkbox"
                    data-testid="run-select"
                    aria-label=format!("select {}", r.title())
                    prop:checked=checked
                    on:change=toggle
                />
            </td>
            <td class="name">{name_cell(st, &r)}</td>
            <td>
                <span class=status_class(r.status) data-testid="run-row-status">{r.status.as_str()}</span>
            </td>
            <td class="outcome">{outcome_badge(r.outcome)}</td>
            <td class="backend" data-testid="run-row-backend" title=backend_title>
                {backend}
                {detected.then(|| view! { <span class="muted">" (detected)"</span> })}
            </td>
            <td class="mono target" data-testid="run-row-target" title=r.target.clone()>{target}</td>
            <td>{model}</td>
            <td>{r.load.clone()}</td>
            <td class="num">{num(r.output_tokens_per_s, 1)}</td>
            <td class="num">{ttft}</td>
            <td class="num">{format!("{} / {}", r.requests_ok, r.requests_failed)}</td>
            <td class="muted">{format_utc(r.started_unix_ms).trim_end_matches(" UTC").to_owned()}</td>
            <td class="actions">
                <button class="btn btn-small" data-testid="run-rename" on:click=start_rename>
                    "Rename"
                </button>
                <button class="btn btn-small btn-danger" data-testid="run-delete" on:click=delete_handler(st, &r)>
                    "Delete"
                </button>
            </td>
        </tr>
    }
}

/// The name: a link to the run with its tags, or the rename editor while renaming.
fn name_cell(st: TableState, r: &RunSummary) -> impl IntoView {
    let (id, title, tags, demo) = (r.id.clone(), r.title(), r.tags.clone(), r.demo);
    move || {
        if st.editing.get().as_deref() == Some(id.as_str()) {
            let save = save_handler(st, id.clone());
            let on_key = {
                let save = save.clone();
                move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                    "Enter" => save(),
                    "Escape" => st.editing.set(None),
                    _ => {}
                }
            };
            view! {
                <input
                    class="inline-input"
                    data-testid="rename-input"
                    aria-label="new name"
                    prop:value=move || st.draft.get()
                    on:input=move |ev| st.draft.set(event_target_value(&ev))
                    on:keydown=on_key
                />
                <button class="btn btn-small btn-primary" data-testid="rename-save" on:click=move |_| save()>
                    "Save"
                </button>
                <button class="btn btn-small" on:click=move |_| st.editing.set(None)>
                    "Cancel"
                </button>
            }
            .into_any()
        } else {
            view! {
                <a href=crate::paths::url(&format!("/runs/{id}")) data-testid="run-link">
                    {title.clone()}
                </a>
                <TagChips tags=tags.clone() />
                {demo.then(|| view! { <span class="tag tag-sim">"demo"</span> })}
            }
            .into_any()
        }
    }
}

/// Sends the draft name; on success the row takes the archive's answer.
fn save_handler(st: TableState, id: String) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        #[cfg(feature = "hydrate")]
        {
            use protocol::archive::RunPatch;
            use protocol::live_run::RunView;
            let (id, name) = (id.clone(), st.draft.get_untracked());
            leptos::task::spawn_local(async move {
                let patch = RunPatch { name: Some(name), ..RunPatch::default() };
                match crate::api::patch_json::<_, RunView>(&format!("/api/runs/{id}"), &patch).await {
                    Ok(view) => {
                        st.rows.update(|rows| {
                            if let Some(r) = rows.iter_mut().find(|r| r.id == id) {
                                r.name = view.spec.name;
                            }
                        });
                        st.editing.set(None);
                        st.message.set(None);
                    }
                    Err(e) => st.message.set(Some(format!("Could not rename the run: {}", e.message()))),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&id, st);
    }
}

/// Asks for a confirmation, then deletes the run and drops its row.
fn delete_handler(st: TableState, r: &RunSummary) -> impl Fn(leptos::ev::MouseEvent) + Clone + 'static {
    let (id, title) = (r.id.clone(), r.title());
    move |_| {
        #[cfg(feature = "hydrate")]
        {
            let question = format!("Delete “{title}” and everything recorded with it? This cannot be undone.");
            if !window().confirm_with_message(&question).unwrap_or(false) {
                return;
            }
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match crate::api::delete(&format!("/api/runs/{id}")).await {
                    Ok(()) => {
                        st.rows.update(|rows| rows.retain(|r| r.id != id));
                        st.selected.update(|s| s.retain(|x| x != &id));
                        st.message.set(None);
                    }
                    Err(e) => st.message.set(Some(format!("Could not delete the run: {}", e.message()))),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&id, &title, st);
    }
}
/// The outcome badge of a row: SLO met or missed, errors, client-bound, stopped, interrupted, live; a plain completed
/// run without SLOs says so in muted words.
fn outcome_badge(outcome: Outcome) -> impl IntoView {
    let (class, title) = match outcome {
        Outcome::Completed => ("badge", "completed by its limits; no SLO was set to judge it by"),
        Outcome::SloMet => ("badge badge-ok", "every SLO set was met (a sweep: at its best step)"),
        Outcome::SloMissed => ("badge badge-bad", "an SLO set was missed (a sweep: at every step)"),
        Outcome::ClientBound => ("badge badge-warn", "the client could not keep the schedule: the figures describe it"),
        Outcome::Errors => ("badge badge-bad", "failed: the run page says why"),
        Outcome::Stopped => ("badge badge-warn", "stopped by hand; the completed requests are kept"),
        Outcome::Interrupted => ("badge badge-bad", "tokenscope stopped while it ran"),
        Outcome::Live => ("badge badge-live", "running now"),
    };
    let label = if outcome == Outcome::Completed { "no SLO" } else { outcome.label() };
    view! {
        <span class=class title=title data-testid="run-row-outcome" data-outcome=outcome.label()>
            {label}
        </span>
    }
}

/// A target as the Runs list shows it: host, port and path without the scheme, the credentials or a trailing `/`
/// (`http://u:p@127.0.0.1:8000/` → `127.0.0.1:8000`). The port always shows: a URL that names none gets its
/// scheme's default (`https://pod-8000.proxy.runpod.net` → `pod-8000.proxy.runpod.net:443`). The cell's title has
/// the whole (redacted) URL.
pub fn target_text(url: &str) -> String {
    let url = protocol::spec::redact_target(url.trim());
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, url.as_ref()),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let has_port = match authority.rfind(']') {
        // `[v6]` or `[v6]:port`
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    let default_port = match scheme.as_deref() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    };
    let authority = match default_port {
        Some(port) if !has_port && !authority.is_empty() => format!("{authority}:{port}"),
        _ => authority.to_owned(),
    };
    format!("{authority}{}", path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::target_text;

    #[test]
    fn targets_keep_host_port_and_path() {
        assert_eq!(target_text("http://127.0.0.1:8000/"), "127.0.0.1:8000");
        assert_eq!(target_text("http://gpu-box:8000/v1"), "gpu-box:8000/v1");
        assert_eq!(target_text("HTTP://gpu-box:80"), "gpu-box:80", "a default port written stays");
    }

    #[test]
    fn a_port_left_out_is_the_schemes_default() {
        assert_eq!(target_text("https://abc-8000.proxy.runpod.net"), "abc-8000.proxy.runpod.net:443");
        assert_eq!(target_text("http://gpu-box/v1/"), "gpu-box:80/v1");
        assert_eq!(target_text("http://[::1]/"), "[::1]:80");
        assert_eq!(target_text("http://[::1]:9000"), "[::1]:9000");
        assert_eq!(target_text("gpu-box:8000"), "gpu-box:8000", "no scheme: as written");
    }

    #[test]
    fn credentials_never_show() {
        assert_eq!(target_text("http://user:pw@10.0.0.5:8000/v1"), "10.0.0.5:8000/v1");
        assert_eq!(target_text("https://token@pod.example"), "pod.example:443");
    }
}
