//! The badge in the top bar that shows whether the page holds its live WebSocket to the server.

use leptos::prelude::*;

/// State of a reconnecting WebSocket, as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketState {
    /// Before the first attempt (server render and the moment before hydration).
    Idle,
    /// Opening the socket.
    Connecting,
    /// Open, frames flowing.
    Connected,
    /// Closed; the next attempt follows after this many milliseconds.
    Reconnecting {
        /// Back-off before the next attempt, in milliseconds.
        retry_in_ms: u32,
    },
}

impl SocketState {
    /// The words the badge shows.
    pub fn label(self) -> String {
        match self {
            SocketState::Idle => "offline".into(),
            SocketState::Connecting => "connecting…".into(),
            SocketState::Connected => "connected".into(),
            SocketState::Reconnecting { retry_in_ms } => {
                format!("reconnecting in {:.1} s", f64::from(retry_in_ms) / 1000.0)
            }
        }
    }

    /// CSS modifier class of the badge.
    pub fn class(self) -> &'static str {
        match self {
            SocketState::Connected => "badge badge-ok",
            SocketState::Idle | SocketState::Connecting => "badge badge-wait",
            SocketState::Reconnecting { .. } => "badge badge-warn",
        }
    }
}

/// Connects to the server-wide live socket once hydrated and shows its state.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let (state, set_state) = signal(SocketState::Idle);
    let (version, set_version) = signal(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use protocol::{LiveFrame, LIVE_WS_PATH};
        super::socket::ReconnectingSocket::open(
            LIVE_WS_PATH,
            move |text: String| {
                if let Ok(LiveFrame::Hello { version, .. }) = protocol::decode::from_str::<LiveFrame>(&text) {
                    set_version.set(version);
                }
            },
            move |s| set_state.set(s),
        );
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (set_version, set_state);
    view! {
        <span class=move || state.get().class() data-testid="connection" title=move || format!("live link to tokenscope {}", version.get())>
            <span class="dot"></span>
            {move || state.get().label()}
        </span>
    }
}
