//! The share bar of the Run and Compare pages: "Copy link" (the page's permalink, or for a share-link viewer the
//! share link that opens it), and for the owner "Create read-only link" with the list of this page's links, each
//! revocable. Also the read-only view: the page shell marks the `<body>` of a share-link viewer with `viewer`, and
//! the stylesheet hides every `owner-only` element under it (navigation, Stop, share creation) from the first paint.

use leptos::prelude::*;

use protocol::archive::format_utc;
use protocol::share::{Role, SessionInfo, ShareView};

/// Class of the page's `<body>`: `viewer` when the server let this request in on share links alone (it then puts
/// a viewer [`SessionInfo`] in the request's extensions), else empty.
pub fn body_class() -> &'static str {
    #[cfg(feature = "ssr")]
    {
        let viewer = use_context::<http::request::Parts>()
            .is_some_and(|p| p.extensions.get::<SessionInfo>().is_some_and(|s| s.role == Role::Viewer));
        if viewer {
            return "viewer";
        }
    }
    ""
}

/// What a copy attempt ended in (set only in the browser).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
enum Copy {
    /// Nothing yet.
    Idle,
    /// On the clipboard.
    Done,
    /// No clipboard (e.g. plain http): the text is shown selected in a field to copy by hand.
    Manual(String),
}

/// The share bar. `kind` is `run` or `compare`; `runs` the runs the page shows.
#[component]
pub fn SharePanel(
    /// `run` or `compare`.
    kind: &'static str,
    /// The runs of the page, in its order.
    #[prop(into)]
    runs: Signal<Vec<String>>,
) -> impl IntoView {
    let session = RwSignal::new(None::<SessionInfo>);
    let links = RwSignal::new(Vec::<ShareView>::new());
    let page_copy = RwSignal::new(Copy::Idle);
    // The link just made: (id, full address).
    let new_link = RwSignal::new(None::<(String, String)>);
    let new_copy = RwSignal::new(Copy::Idle);
    let label = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let owner = move || session.with(|s| s.as_ref().is_some_and(|s| s.role == Role::Owner));
    #[cfg(not(feature = "hydrate"))]
    let _ = runs;

    #[cfg(feature = "hydrate")]
    {
        leptos::task::spawn_local(async move {
            if let Ok(s) = crate::api::get_json::<SessionInfo>("/api/session").await {
                session.set(Some(s));
            }
        });
        Effect::new(move |_| {
            let runs = runs.get();
            if owner() && !runs.is_empty() {
                browser::reload(kind, runs, links, error);
            }
        });
    }

    let copy_page = move |_| {
        #[cfg(feature = "hydrate")]
        {
            // A viewer's own address opens nothing for others: they copy the share link that opens this page.
            let held = session.with(|s| {
                s.as_ref()
                    .filter(|s| s.role == Role::Viewer)
                    .and_then(|s| s.shares.iter().find(|v| v.covers_exactly(kind, &runs.get_untracked())).cloned())
            });
            let text = held.map_or_else(browser::page_url, |v| browser::full_url(&v.path));
            browser::copy(text, page_copy);
        }
    };
    let create = move |_| {
        busy.set(true);
        error.set(None);
        #[cfg(feature = "hydrate")]
        {
            let label = label.get_untracked().trim().to_owned();
            let body =
                protocol::share::CreateShare { kind: kind.to_owned(), runs: runs.get_untracked(), label: Some(label) };
            leptos::task::spawn_local(async move {
                match crate::api::post_json::<_, ShareView>("/api/shares", &body).await {
                    Ok(view) => {
                        new_link.set(Some((view.id.clone(), browser::full_url(&view.path))));
                        new_copy.set(Copy::Idle);
                        links.update(|l| l.insert(0, view));
                    }
                    Err(e) => error.set(Some(e.message())),
                }
                busy.set(false);
            });
        }
    };

    let what = if kind == protocol::share::KIND_RUN { "this run" } else { "this comparison" };
    view! {
        <div class="share-bar" data-testid="share-bar">
            <button
                class="btn btn-small"
                type="button"
                data-testid="copy-link"
                title="Copy this page's address"
                on:click=copy_page
            >
                "Copy link"
            </button>
            <CopyResult state=page_copy testid="copy-link" />
            <Show when=owner>
                <span class="share-create owner-only">
                    <input
                        class="share-label"
                        type="text"
                        maxlength="200"
                        placeholder="label (optional)"
                        aria-label="Label of the read-only link"
                        data-testid="share-label"
                        bind:value=label
                    />
                    <button
                        class="btn btn-small btn-primary"
                        type="button"
                        data-testid="share-create"
                        disabled=move || busy.get()
                        on:click=create
                    >
                        "Create read-only link"
                    </button>
                </span>
            </Show>
            {move || error.get().map(|e| view! { <span class="form-message" data-testid="share-error">{e}</span> })}
        </div>
        <Show when=move || owner() && (new_link.with(Option::is_some) || links.with(|l| !l.is_empty()))>
            <div class="share-panel owner-only" data-testid="share-panel">
                {move || {
                    new_link
                        .get()
                        .map(|(_, url)| {
                            let copy_url = url.clone();
                            let copy_new = move |_| {
                                #[cfg(feature = "hydrate")]
                                browser::copy(copy_url.clone(), new_copy);
                                #[cfg(not(feature = "hydrate"))]
                                let _ = &copy_url;
                            };
                            view! {
                                <p class="muted">
                                    {format!(
                                        "Anyone with this link can view {what}, read-only, until you revoke it:",
                                    )}
                                </p>
                                <div class="share-new">
                                    <input
                                        class="copy-field mono"
                                        type="text"
                                        readonly
                                        prop:value=url
                                        data-testid="share-url"
                                    />
                                    <button class="btn btn-small" type="button" data-testid="share-copy" on:click=copy_new>
                                        "Copy"
                                    </button>
                                    <CopyResult state=new_copy testid="share-copy" />
                                </div>
                            }
                        })
                }}
                <h3>"Read-only links"</h3>
                <ul class="share-list" data-testid="share-list">
                    <For
                        each=move || links.get()
                        key=|v| (v.id.clone(), v.revoked_unix_ms)
                        children=move |link| view! { <ShareItem link links new_link error /> }
                    />
                </ul>
            </div>
        </Show>
    }
}

/// One link of the owner's list, with Revoke (after a confirmation) while it works.
#[component]
fn ShareItem(
    link: ShareView,
    links: RwSignal<Vec<ShareView>>,
    new_link: RwSignal<Option<(String, String)>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let active = link.active();
    #[cfg(feature = "hydrate")]
    let url = browser::full_url(&link.path);
    #[cfg(not(feature = "hydrate"))]
    let url = link.path.clone();
    let when = match link.revoked_unix_ms {
        Some(t) => format!("made {} · revoked {}", format_utc(link.created_unix_ms), format_utc(t)),
        None => format!("made {}", format_utc(link.created_unix_ms)),
    };
    let id = link.id.clone();
    let revoke = move |_| {
        #[cfg(feature = "hydrate")]
        browser::revoke(id.clone(), links, new_link, error);
        #[cfg(not(feature = "hydrate"))]
        let _ = (&id, links, new_link, error);
    };
    view! {
        <li class="share-item" class:revoked=!active data-testid="share-item">
            <code class="share-link mono">{url}</code>
            {(!link.label.is_empty()).then(|| view! { <span class="share-item-label">{link.label.clone()}</span> })}
            <span class="muted">{when}</span>
            {if active {
                view! {
                    <button class="btn btn-small btn-danger" type="button" data-testid="share-revoke" on:click=revoke>
                        "Revoke"
                    </button>
                }
                    .into_any()
            } else {
                view! { <span class="tag tag-revoked" data-testid="share-revoked">"revoked"</span> }.into_any()
            }}
        </li>
    }
}

/// "Copied", or the text in a selected field to copy by hand.
#[component]
fn CopyResult(state: RwSignal<Copy>, testid: &'static str) -> impl IntoView {
    move || match state.get() {
        Copy::Idle => ().into_any(),
        Copy::Done => {
            view! { <span class="copied" role="status" data-testid=format!("{testid}-done")>"Copied"</span> }.into_any()
        }
        Copy::Manual(text) => view! {
            <span class="copy-manual">
                <input
                    class="copy-field mono"
                    type="text"
                    readonly
                    prop:value=text
                    data-testid=format!("{testid}-field")
                    on:focus=move |ev| {
                        #[cfg(feature = "hydrate")]
                        browser::select_target(&ev);
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    }
                />
                <span class="muted" role="status">"Press Ctrl+C (⌘C) to copy"</span>
            </span>
        }
        .into_any(),
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::js_sys::{Function, Promise, Reflect};

    use super::Copy;
    use protocol::share::ShareView;

    /// This page's address.
    pub fn page_url() -> String {
        web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default()
    }

    /// The full address of an app path: origin + base path + path.
    pub fn full_url(path: &str) -> String {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        format!("{origin}{}", crate::paths::url(path))
    }

    /// `navigator.clipboard.writeText(text)`; `Err` where there is no clipboard (insecure context) or it refuses.
    async fn write_clipboard(text: &str) -> Result<(), JsValue> {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let navigator = Reflect::get(&window, &"navigator".into())?;
        let clipboard = Reflect::get(&navigator, &"clipboard".into())?;
        if clipboard.is_undefined() || clipboard.is_null() {
            return Err(JsValue::NULL);
        }
        let write: Function = Reflect::get(&clipboard, &"writeText".into())?.dyn_into()?;
        let promise: Promise = write.call1(&clipboard, &JsValue::from_str(text))?.dyn_into()?;
        wasm_bindgen_futures::JsFuture::from(promise).await.map(|_| ())
    }

    /// Copies `text`; shows "Copied" for a few seconds, or the text in a field to copy by hand.
    pub fn copy(text: String, state: RwSignal<Copy>) {
        leptos::task::spawn_local(async move {
            if write_clipboard(&text).await.is_ok() {
                state.set(Copy::Done);
                set_timeout(
                    move || {
                        if state.get_untracked() == Copy::Done {
                            state.set(Copy::Idle);
                        }
                    },
                    std::time::Duration::from_secs(3),
                );
            } else {
                state.set(Copy::Manual(text));
                // Select the field once it is drawn, so that Ctrl+C copies it.
                request_animation_frame(|| {
                    let field = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.query_selector(".copy-manual input").ok().flatten());
                    if let Some(field) = field {
                        select(&field);
                    }
                });
            }
        });
    }

    fn select(el: &JsValue) {
        for method in ["focus", "select"] {
            if let Ok(f) = Reflect::get(el, &method.into()).and_then(|f| f.dyn_into::<Function>()) {
                let _ = f.call0(el);
            }
        }
    }

    /// Selects the text of the field an event came from.
    pub fn select_target(ev: &web_sys::FocusEvent) {
        if let Some(target) = ev.target() {
            if let Ok(f) = Reflect::get(&target, &"select".into()).and_then(|f| f.dyn_into::<Function>()) {
                let _ = f.call0(&target);
            }
        }
    }

    /// The links of this page (`kind` over exactly `runs`), newest first.
    pub fn reload(
        kind: &'static str,
        runs: Vec<String>,
        links: RwSignal<Vec<ShareView>>,
        error: RwSignal<Option<String>>,
    ) {
        let Some(first) = runs.first().cloned() else { return };
        leptos::task::spawn_local(async move {
            match crate::api::get_json::<Vec<ShareView>>(&format!("/api/shares?run={first}")).await {
                Ok(all) => links.set(all.into_iter().filter(|v| v.covers_exactly(kind, &runs)).collect()),
                Err(e) => error.set(Some(e.message())),
            }
        });
    }

    /// Asks, then revokes the link and marks it revoked in the list.
    pub fn revoke(
        id: String,
        links: RwSignal<Vec<ShareView>>,
        new_link: RwSignal<Option<(String, String)>>,
        error: RwSignal<Option<String>>,
    ) {
        let sure = web_sys::window().is_some_and(|w| {
            w.confirm_with_message(
                "Revoke this read-only link? Whoever holds it loses access at once; this cannot be undone.",
            )
            .unwrap_or(false)
        });
        if !sure {
            return;
        }
        leptos::task::spawn_local(async move {
            let path = format!("/api/shares/{id}");
            match crate::api::delete(&path).await {
                Ok(()) => {
                    // The "anyone with this link" box no longer holds for a revoked link.
                    if new_link.with_untracked(|n| n.as_ref().is_some_and(|(n, _)| *n == id)) {
                        new_link.set(None);
                    }
                    let now = web_sys::js_sys::Date::now() as u64;
                    links.update(|l| {
                        for v in l.iter_mut().filter(|v| v.id == id && v.revoked_unix_ms.is_none()) {
                            v.revoked_unix_ms = Some(now);
                        }
                    });
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    }
}
