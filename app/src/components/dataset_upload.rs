//! Uploading a dataset file from the New run page: `POST /api/datasets?name=FILE` puts it in the server's dataset
//! folder, and the form's path (and kind, JSON lines or ShareGPT) are set to run it.

use leptos::prelude::*;

/// A file picker under the dataset path; on a pick, uploads the file and fills `path` and `kind` in.
#[component]
pub fn DatasetUpload(
    /// The form's dataset path, set to the uploaded file's.
    path: RwSignal<String>,
    /// The form's workload kind (`jsonl` / `sharegpt`), set to what the file parsed as.
    kind: RwSignal<String>,
) -> impl IntoView {
    let message = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let on_pick = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            let name = file.name();
            busy.set(true);
            message.set(Some((true, format!("uploading {name}…"))));
            leptos::task::spawn_local(async move {
                let url = format!("/api/datasets?name={}", url_encode(&name));
                match crate::api::post_file::<protocol::api::DatasetUploaded>(&url, &file).await {
                    Ok(up) => {
                        path.set(up.path.clone());
                        kind.set(up.kind.clone());
                        let kib = up.bytes.div_ceil(1024);
                        message.set(Some((true, format!("uploaded {name}: {} prompts, {kib} KiB", up.prompts))));
                    }
                    Err(e) => {
                        let fields: Vec<String> = e.fields().iter().map(|f| f.message.clone()).collect();
                        let why = if fields.is_empty() { e.message() } else { fields.join("; ") };
                        message.set(Some((false, format!("not uploaded — {why}"))));
                    }
                }
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, path, kind, busy);
    };
    // The status takes the label's line, so the picker stays aligned with the fields beside it.
    view! {
        <label class="field upload">
            {move || match message.get() {
                None => view! { <span>"…or upload a file (.jsonl, ShareGPT .json)"</span> }.into_any(),
                Some((ok, m)) => {
                    let class = if ok { "upload-status" } else { "upload-status field-error" };
                    let title = m.clone();
                    view! { <span class=class data-testid="dataset-upload-message" title=title>{m}</span> }
                        .into_any()
                }
            }}
            <input
                type="file"
                accept=".jsonl,.ndjson,.json"
                data-testid="dataset-upload"
                prop:disabled=move || busy.get()
                on:change=on_pick
            />
        </label>
    }
}

/// `encodeURIComponent` for a query value (the file name, a dataset path).
#[cfg(feature = "hydrate")]
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
