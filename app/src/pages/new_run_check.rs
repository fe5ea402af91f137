//! The New run form's Check, live: a socket to `/ws/preflight` carries each step and, while the server is not
//! ready, a status line updated at least every second ("waiting for 127.0.0.1:9 — connection refused (attempt 3,
//! 4 s of 30 s)") with a Cancel; the result is the report, or the failure in the form's words with a one-click
//! button for each fix (set the field, check again).

use leptos::prelude::*;

use protocol::preflight::{CheckFrame, Fix, PreflightReport};

/// Where a Check stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckState {
    /// Not asked yet.
    Idle,
    /// In progress: the latest status line.
    Running(String),
    /// The target passed.
    Passed(Box<PreflightReport>),
    /// The target (or the request) failed: the message, and the fixes to offer.
    Failed(String, Vec<Fix>),
    /// The user cancelled.
    Cancelled,
}

impl CheckState {
    /// Whether a Check is in progress.
    pub fn running(&self) -> bool {
        matches!(self, CheckState::Running(_))
    }
}

/// The state after `frame`; `host` is the target's `host:port` for the waiting line.
pub fn apply(state: &CheckState, frame: CheckFrame, host: &str) -> CheckState {
    match frame {
        _ if !state.running() => state.clone(),
        CheckFrame::State { state } => CheckState::Running(state),
        CheckFrame::Waiting { progress } => CheckState::Running(progress.line(host)),
        CheckFrame::Passed { report } => CheckState::Passed(report),
        CheckFrame::Failed { error, fixes, .. } => CheckState::Failed(error, fixes),
    }
}

/// A Check's socket and the handlers it calls (browser only).
#[cfg(feature = "hydrate")]
struct Socket {
    ws: web_sys::WebSocket,
    _handlers: Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
}

#[cfg(feature = "hydrate")]
impl Socket {
    fn close(self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onopen(None);
        let _ = self.ws.close();
    }
}

/// Runs Checks one at a time and holds where the latest stands.
#[derive(Clone, Copy)]
pub struct Checker {
    /// Where the latest Check stands.
    pub state: RwSignal<CheckState>,
    #[cfg(feature = "hydrate")]
    socket: StoredValue<Option<Socket>, LocalStorage>,
}

impl Checker {
    /// No Check yet; the socket of one in progress is closed when the page goes.
    pub fn new() -> Self {
        let checker = Checker {
            state: RwSignal::new(CheckState::Idle),
            #[cfg(feature = "hydrate")]
            socket: StoredValue::new_local(None),
        };
        on_cleanup(move || checker.drop_socket());
        checker
    }

    fn drop_socket(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(Some(s)) = self.socket.try_update_value(Option::take) {
            s.close();
        }
    }

    /// Starts a Check of the target fields in `body` (a `POST /api/preflight` body), replacing any in progress.
    pub fn start(&self, body: serde_json::Value) {
        self.drop_socket();
        let host = protocol::preflight::target_host(body.get("target").and_then(|t| t.as_str()).unwrap_or(""));
        self.state.set(CheckState::Running(format!("checking {host}…")));
        #[cfg(feature = "hydrate")]
        {
            let socket = open(self.state, body.to_string(), host);
            if socket.is_none() {
                let why = "could not open a connection to tokenscope for the check; reload the page and try again";
                self.state.set(CheckState::Failed(why.into(), Vec::new()));
            }
            self.socket.set_value(socket);
        }
    }

    /// Stops the Check in progress: its socket closes and the server stops checking.
    pub fn cancel(&self) {
        self.drop_socket();
        if self.state.get_untracked().running() {
            self.state.set(CheckState::Cancelled);
        }
    }
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "hydrate")]
fn open(state: RwSignal<CheckState>, body: String, host: String) -> Option<Socket> {
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{MessageEvent, WebSocket};
    let url = crate::components::socket::ws_url("/ws/preflight")?;
    let ws = WebSocket::new(&url).ok()?;
    let on_open = {
        let ws = ws.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let _ = ws.send_with_str(&body);
        })
    };
    let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        let Some(text) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) else { return };
        let Ok(frame) = protocol::decode::from_str::<CheckFrame>(&text) else { return };
        let next = apply(&state.get_untracked(), frame, &host);
        state.set(next);
    });
    let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if state.get_untracked().running() {
            let why = "the check was cut off: the connection to tokenscope closed before an answer; try again";
            state.set(CheckState::Failed(why.into(), Vec::new()));
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Socket { ws, _handlers: vec![on_open, on_message, on_close] })
}

/// One button per fix; `on_fix` applies it to the form and checks again.
fn fix_buttons(fixes: Vec<Fix>, on_fix: Callback<Fix>) -> impl IntoView {
    fixes
        .into_iter()
        .map(|fix| {
            let label = fix.button();
            let title = fix.words(protocol::preflight::Surface::Form);
            view! {
                <button type="button" class="btn fix-button" data-testid="fix-button" title=title
                    on:click=move |_| on_fix.run(fix.clone())>
                    {label}
                </button>
            }
        })
        .collect_view()
}

/// The live status line with its Cancel while a Check runs, then the result.
#[component]
pub fn CheckPanel(
    /// The Check.
    checker: Checker,
    /// Applies a fix to the form and checks again.
    on_fix: Callback<Fix>,
) -> impl IntoView {
    move || {
        match checker.state.get() {
        CheckState::Idle => ().into_any(),
        CheckState::Running(line) => view! {
            <p class="check-status" data-state="wait" data-testid="check-status" role="status" aria-live="polite">
                <span>{line}</span>
                <button type="button" class="btn btn-small" data-testid="check-cancel" on:click=move |_| checker.cancel()>
                    "Cancel"
                </button>
            </p>
        }
        .into_any(),
        CheckState::Cancelled => view! {
            <p class="check-status" data-testid="check-status" role="status">
                "Check cancelled: nothing more is sent to the target."
            </p>
        }
        .into_any(),
        CheckState::Failed(error, fixes) => view! {
            <div class="check-result" data-testid="preflight-failed">
                <p class="field-error" data-testid="preflight-error" style="white-space: pre-wrap; overflow-wrap: anywhere">
                    {error}
                </p>
                <p>{fix_buttons(fixes, on_fix)}</p>
            </div>
        }
        .into_any(),
        CheckState::Passed(report) => view! { <PreflightCard report=*report on_fix /> }.into_any(),
    }
    }
}

/// What preflight found, as the Check button shows it, with its notes and their fixes.
#[component]
fn PreflightCard(report: PreflightReport, on_fix: Callback<Fix>) -> impl IntoView {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let list = |v: Vec<String>| v.join(", ");
    let endpoints: Vec<String> =
        report.endpoints_working.iter().map(|e| protocol::preflight::endpoint_path(*e).to_owned()).collect();
    let notes = report.notes.clone();
    let states = report.states.len();
    view! {
        <dl class="kv preflight" data-testid="preflight">
            <dt>"Ready"</dt>
            <dd>{yes(report.ready)} {format!(" (after {:.1} s)", report.waited_s)}</dd>
            <dt>"Model"</dt>
            <dd>{report.model.clone()} {format!(" (listed: {})", list(report.models.clone()))}</dd>
            <dt>"Endpoint"</dt>
            <dd>{protocol::preflight::endpoint_path(report.endpoint)} {format!(" (working: {})", list(endpoints))}</dd>
            <dt>"Usage reported"</dt>
            <dd>{yes(report.usage_reported)}</dd>
            <dt>"Output length honoured"</dt>
            <dd>
                {yes(report.output_length_honoured)}
                {format!(" ({} of {} tokens)", report.output_length_received, report.output_length_requested)}
            </dd>
        </dl>
        <Show when=move || !notes.is_empty()>
            <ul class="notes" data-testid="preflight-notes">
                {report.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
            </ul>
        </Show>
        <p>{fix_buttons(report.fixes.clone(), on_fix)}</p>
        <details class="preflight-log">
            <summary>{format!("Steps ({states})")}</summary>
            <ul>{report.states.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::preflight::WaitProgress;

    #[test]
    fn frames_move_a_running_check_and_nothing_else() {
        let running = CheckState::Running("checking…".into());
        let waiting = CheckFrame::Waiting {
            progress: WaitProgress { attempt: 2, elapsed_s: 1.5, timeout_s: 30.0, reason: "connection refused".into() },
        };
        assert_eq!(
            apply(&running, waiting.clone(), "127.0.0.1:9"),
            CheckState::Running("waiting for 127.0.0.1:9 — connection refused (attempt 2, 1 s of 30 s)".into())
        );
        let failed = CheckFrame::Failed { error: "e".into(), fields: vec![], fixes: vec![] };
        assert_eq!(apply(&running, failed, "h"), CheckState::Failed("e".into(), vec![]));
        assert_eq!(apply(&CheckState::Cancelled, waiting, "h"), CheckState::Cancelled, "a cancelled check stays so");
    }
}
