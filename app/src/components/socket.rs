//! A browser WebSocket that reconnects with exponential back-off (browser only).
//!
//! The URL follows the page: `ws://` under `http://`, `wss://` under `https://`, same host and port, under the base
//! path (`serve --base-path`), so it works behind a pod's HTTPS proxy and a path-prefixed one.

use std::{cell::RefCell, rc::Rc, time::Duration};

use leptos::prelude::set_timeout;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::connection::SocketState;

const FIRST_RETRY_MS: u32 = 500;
const MAX_RETRY_MS: u32 = 10_000;

struct Inner {
    path: String,
    on_text: Box<dyn Fn(String)>,
    on_state: Box<dyn Fn(SocketState)>,
    retry_ms: u32,
    closed: bool,
    socket: Option<WebSocket>,
    // Kept alive as long as the socket that calls them.
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

/// Handle to a self-reconnecting socket; it lives as long as the page.
#[derive(Clone)]
pub struct ReconnectingSocket(Rc<RefCell<Inner>>);

/// `ws(s)://host{base}{path}` for the page's own origin; `path` is an app path (`/ws/live`).
pub fn ws_url(path: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    Some(crate::paths::ws_url_for(&location.protocol().ok()?, &location.host().ok()?, &crate::paths::url(path)))
}

impl ReconnectingSocket {
    /// Opens the socket at `path`; `on_text` gets every text frame, `on_state` every state change.
    pub fn open(path: &str, on_text: impl Fn(String) + 'static, on_state: impl Fn(SocketState) + 'static) -> Self {
        let me = ReconnectingSocket(Rc::new(RefCell::new(Inner {
            path: path.to_owned(),
            on_text: Box::new(on_text),
            on_state: Box::new(on_state),
            retry_ms: FIRST_RETRY_MS,
            closed: false,
            socket: None,
            handlers: Vec::new(),
        })));
        me.connect();
        me
    }

    /// Closes the socket for good (the page is going away): no more frames, no reconnects.
    pub fn close(&self) {
        let mut inner = self.0.borrow_mut();
        inner.closed = true;
        if let Some(ws) = inner.socket.take() {
            ws.set_onclose(None);
            ws.set_onmessage(None);
            let _ = ws.close();
        }
        inner.handlers.clear();
    }

    fn connect(&self) {
        if self.0.borrow().closed {
            return;
        }
        let url = ws_url(&self.0.borrow().path);
        (self.0.borrow().on_state)(SocketState::Connecting);
        match url.map(|u| WebSocket::new(&u)) {
            Some(Ok(ws)) => self.attach(ws),
            _ => self.schedule_retry(),
        }
    }

    fn attach(&self, ws: WebSocket) {
        let on_open = {
            let me = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                let mut inner = me.0.borrow_mut();
                inner.retry_ms = FIRST_RETRY_MS;
                (inner.on_state)(SocketState::Connected);
            })
        };
        let on_message = {
            let me = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                if let Some(text) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                    (me.0.borrow().on_text)(text);
                }
            })
        };
        let on_close = {
            let me = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                let _ = e.dyn_ref::<CloseEvent>();
                me.schedule_retry();
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.0.borrow_mut();
        if let Some(old) = inner.socket.replace(ws) {
            old.set_onclose(None);
            let _ = old.close();
        }
        inner.handlers = vec![on_open, on_message, on_close];
    }

    fn schedule_retry(&self) {
        let delay = {
            let mut inner = self.0.borrow_mut();
            if inner.closed {
                return;
            }
            let delay = inner.retry_ms;
            inner.retry_ms = (inner.retry_ms * 2).min(MAX_RETRY_MS);
            (inner.on_state)(SocketState::Reconnecting { retry_in_ms: delay });
            delay
        };
        let me = self.clone();
        set_timeout(move || me.connect(), Duration::from_millis(u64::from(delay)));
    }
}
