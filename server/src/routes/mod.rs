//! HTTP and WebSocket routes, one module per area.

pub mod health;
pub mod live;
