//! Editing an ended run's notes and tags on its page (owners only): `PATCH /api/runs/{id}` with the changed fields;
//! the page takes the archive's answer, and a refusal (422 per field) is shown as it came.

use leptos::prelude::*;

use protocol::live_run::RunView;

/// Tags as typed ("a, b,,c ") → `["a", "b", "c"]`: split on commas, trimmed, empties and repeats dropped.
pub fn parse_tags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// An "Edit notes and tags" button that opens a small form under it.
#[component]
pub fn MetaEditor(
    /// The run whose notes and tags are edited; updated with the archive's answer on save.
    view: RwSignal<Option<RunView>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let notes = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let start = move |_| {
        if let Some(v) = view.get_untracked() {
            notes.set(v.notes.clone());
            tags.set(v.tags.join(", "));
        }
        message.set(None);
        open.set(true);
    };
    let save = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use protocol::archive::RunPatch;
            let Some(id) = view.with_untracked(|v| v.as_ref().map(|v| v.id.clone())) else { return };
            let patch = RunPatch {
                name: None,
                notes: Some(notes.get_untracked()),
                tags: Some(parse_tags(&tags.get_untracked())),
            };
            saving.set(true);
            leptos::task::spawn_local(async move {
                match crate::api::patch_json::<_, RunView>(&format!("/api/runs/{id}"), &patch).await {
                    Ok(updated) => {
                        view.update(|v| {
                            if let Some(v) = v.as_mut() {
                                v.notes = updated.notes;
                                v.tags = updated.tags;
                            }
                        });
                        open.set(false);
                    }
                    Err(e) => {
                        let fields: Vec<String> =
                            e.fields().iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
                        let why = if fields.is_empty() { e.message() } else { fields.join("; ") };
                        message.set(Some(format!("Not saved — {why}")));
                    }
                }
                saving.set(false);
            });
        }
    };
    view! {
        <div class="meta-editor owner-only">
            <Show
                when=move || open.get()
                fallback=move || {
                    view! {
                        <button class="btn btn-small" data-testid="edit-meta" on:click=start>
                            "Edit notes and tags"
                        </button>
                    }
                }
            >
                <label class="field">
                    <span>"Notes"</span>
                    <textarea
                        rows="3"
                        data-testid="notes-input"
                        prop:value=move || notes.get()
                        on:input=move |ev| notes.set(event_target_value(&ev))
                    ></textarea>
                </label>
                <label class="field">
                    <span>"Tags, separated by commas"</span>
                    <input
                        data-testid="tags-input"
                        prop:value=move || tags.get()
                        on:input=move |ev| tags.set(event_target_value(&ev))
                    />
                </label>
                <div class="row">
                    <button
                        class="btn btn-small btn-primary"
                        data-testid="meta-save"
                        disabled=move || saving.get()
                        on:click=save
                    >
                        "Save"
                    </button>
                    <button class="btn btn-small" on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                </div>
                {move || message.get().map(|m| view! { <p class="form-message" data-testid="meta-message">{m}</p> })}
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tags;

    #[test]
    fn tags_are_split_trimmed_and_unique() {
        assert_eq!(parse_tags(" a, b,,c ,a"), ["a", "b", "c"]);
        assert!(parse_tags(" , ").is_empty());
    }
}
