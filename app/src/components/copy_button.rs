//! A button that copies a text for a chat or a pull request: through the Clipboard API where the page may use it,
//! else through a hidden, selected textarea and `document.execCommand('copy')` — a pod's proxy often serves plain
//! http, which is not a secure context and has no `navigator.clipboard` — and where both fail, the text in a
//! selected field to copy by hand. "Copied" shows for a few seconds.
//!
//! [`RunCopyButtons`] are a run page's two: its one-line summary and its `summary.md` export.

use leptos::prelude::*;

use protocol::archive::one_line_summary;
use protocol::live_run::RunView;

/// What the last copy came to (changed only in the browser).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
enum CopyState {
    /// Nothing to show.
    Idle,
    /// On the clipboard.
    Done,
    /// No way to copy: the text, selected, to copy by hand.
    Manual(String),
}

/// A button copying `text` (disabled while it is `None`), with "Copied" beside it (`{testid}-done`) or, where the
/// browser allows no copying, the text in a selected field (`{testid}-field`).
#[component]
pub fn CopyButton(
    /// The button's words.
    label: &'static str,
    /// `data-testid` of the button.
    testid: &'static str,
    /// What to copy; `None` while there is nothing yet.
    #[prop(into)]
    text: Signal<Option<String>>,
    /// Tooltip.
    #[prop(default = "")]
    title: &'static str,
) -> impl IntoView {
    let state = RwSignal::new(CopyState::Idle);
    let click = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(t) = text.get_untracked() {
            browser::copy(t, testid, state);
        }
    };
    view! {
        <span class="copy-button">
            <button
                class="btn btn-small"
                type="button"
                data-testid=testid
                title=title
                disabled=move || text.with(Option::is_none)
                on:click=click
            >
                {label}
            </button>
            {move || match state.get() {
                CopyState::Idle => ().into_any(),
                CopyState::Done => {
                    view! { <span class="copied" role="status" data-testid=format!("{testid}-done")>"Copied"</span> }
                        .into_any()
                }
                CopyState::Manual(t) => view! {
                    <span class="copy-manual">
                        <textarea class="copy-field mono" readonly rows="3" prop:value=t data-testid=format!("{testid}-field")></textarea>
                        <span class="muted" role="status">"Press Ctrl+C (⌘C) to copy"</span>
                    </span>
                }
                .into_any(),
            }}
        </span>
    }
}

/// A run page's "Copy summary" (the one-line summary) and "Copy Markdown" (its `summary.md`), once it has ended.
#[component]
pub fn RunCopyButtons(
    /// The run, once the server has said what it is.
    view: RwSignal<Option<RunView>>,
) -> impl IntoView {
    let ended = move || view.with(|v| v.as_ref().filter(|v| !v.status.is_live()).map(|v| v.id.clone()));
    let summary =
        Signal::derive(move || view.with(|v| v.as_ref().filter(|v| !v.status.is_live()).map(one_line_summary)));
    let markdown = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |fetched: Option<Option<String>>| {
        let id = ended();
        if let Some(id) = id.clone().filter(|id| fetched.flatten().as_ref() != Some(id)) {
            leptos::task::spawn_local(async move {
                if let Some(md) = browser::get_text(&format!("/api/runs/{id}/export/summary.md")).await {
                    markdown.set(Some(md));
                }
            });
        }
        id
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = ended;
    view! {
        <CopyButton label="Copy summary" testid="copy-summary" text=summary title="One line for a chat (once the run has ended)" />
        <CopyButton label="Copy Markdown" testid="copy-markdown" text=markdown title="The summary table as Markdown, for a pull request" />
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::js_sys::{Function, Promise, Reflect};

    use super::CopyState;

    /// Calls `target.method(args…)`; `None` when it is not a function or throws.
    fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
        let f: Function = Reflect::get(target, &method.into()).ok()?.dyn_into().ok()?;
        let args: web_sys::js_sys::Array = args.iter().collect();
        f.apply(target, &args).ok()
    }

    /// `navigator.clipboard.writeText(text)`, or `None` where there is no Clipboard API (an insecure context).
    fn clipboard_write(text: &str) -> Option<Promise> {
        let window = web_sys::window()?;
        let navigator = Reflect::get(&window, &"navigator".into()).ok()?;
        let clipboard = Reflect::get(&navigator, &"clipboard".into()).ok()?;
        if clipboard.is_undefined() || clipboard.is_null() {
            return None;
        }
        call(&clipboard, "writeText", &[JsValue::from_str(text)])?.dyn_into().ok()
    }

    /// Copies `text` from a hidden textarea with `document.execCommand('copy')`; false when the browser refuses.
    fn exec_copy(text: &str) -> bool {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return false };
        let (Some(body), Ok(area)) = (doc.body(), doc.create_element("textarea")) else { return false };
        let _ = Reflect::set(&area, &"value".into(), &JsValue::from_str(text));
        let _ = area.set_attribute("readonly", "");
        let _ = area.set_attribute("aria-hidden", "true");
        // Out of sight but laid out: an element with display: none cannot be selected.
        let _ = area.set_attribute("style", "position: fixed; top: 0; left: -9999px; opacity: 0");
        let focused = doc.active_element();
        if body.append_child(&area).is_err() {
            return false;
        }
        call(&area, "focus", &[]);
        call(&area, "select", &[]);
        let copied = call(&doc, "execCommand", &[JsValue::from_str("copy")]).and_then(|v| v.as_bool()).unwrap_or(false);
        let _ = body.remove_child(&area);
        if let Some(el) = focused {
            call(&el, "focus", &[]);
        }
        copied
    }

    /// Copies `text` and shows the outcome in `state`.
    pub fn copy(text: String, testid: &'static str, state: RwSignal<CopyState>) {
        match clipboard_write(&text) {
            Some(promise) => leptos::task::spawn_local(async move {
                let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() || exec_copy(&text);
                finish(ok, text, testid, state);
            }),
            None => {
                let ok = exec_copy(&text);
                finish(ok, text, testid, state);
            }
        }
    }

    fn finish(ok: bool, text: String, testid: &'static str, state: RwSignal<CopyState>) {
        if ok {
            state.set(CopyState::Done);
            set_timeout(
                move || {
                    if state.get_untracked() == CopyState::Done {
                        state.set(CopyState::Idle);
                    }
                },
                std::time::Duration::from_secs(3),
            );
            return;
        }
        state.set(CopyState::Manual(text));
        // Select the field once it is drawn, so that Ctrl+C copies it.
        request_animation_frame(move || {
            let field = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector(&format!("[data-testid=\"{testid}-field\"]")).ok().flatten());
            if let Some(field) = field {
                call(&field, "focus", &[]);
                call(&field, "select", &[]);
            }
        });
    }

    /// `GET path` as text (a Markdown export); `None` on any failure.
    pub async fn get_text(path: &str) -> Option<String> {
        let resp = gloo_net::http::Request::get(&crate::paths::url(path)).send().await.ok()?;
        if !resp.ok() {
            return None;
        }
        resp.text().await.ok()
    }
}
