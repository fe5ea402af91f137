//! Integration tests: the real application on port 0, driven over HTTP and WebSocket.

mod helpers;
mod shell;
