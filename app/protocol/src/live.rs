//! The server-wide status channel and the health document.

use serde::{Deserialize, Serialize};

/// Path of the server-wide WebSocket every page connects to.
pub const LIVE_WS_PATH: &str = "/ws/live";

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `"ok"` while the server serves requests.
    pub status: String,
    /// tokenscope's version (the crate version).
    pub version: String,
    /// Seconds since the server started.
    pub uptime_s: f64,
}

/// A frame on the server-wide WebSocket ([`LIVE_WS_PATH`]), JSON text, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveFrame {
    /// First frame after the handshake.
    Hello {
        /// tokenscope's version.
        version: String,
        /// Server wall clock, milliseconds since the Unix epoch: the clock every chart shares.
        server_time_ms: u64,
    },
    /// Sent every few seconds so proxies keep the socket open and the browser can tell it is alive.
    Heartbeat {
        /// Server wall clock, milliseconds since the Unix epoch.
        server_time_ms: u64,
    },
}

// Tagged by `type` on the wire (see `decode` for why this is not derived).
impl<'de> Deserialize<'de> for LiveFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::decode::{field, object, tag, unknown};
        let mut o = object(serde_json::Value::deserialize(d)?, "a live frame")?;
        Ok(match tag(&mut o, "type")?.as_str() {
            "hello" => LiveFrame::Hello {
                version: field(&mut o, "version")?,
                server_time_ms: field(&mut o, "server_time_ms")?,
            },
            "heartbeat" => LiveFrame::Heartbeat { server_time_ms: field(&mut o, "server_time_ms")? },
            other => return Err(unknown(other, &["hello", "heartbeat"])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let f = LiveFrame::Hello { version: "1.2.3".into(), server_time_ms: 5 };
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(s, r#"{"type":"hello","version":"1.2.3","server_time_ms":5}"#);
        assert_eq!(serde_json::from_str::<LiveFrame>(&s).unwrap(), f);
    }
}
