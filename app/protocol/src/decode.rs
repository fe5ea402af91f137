//! Hand-written `Deserialize` support for the tagged and untagged enums of the wire format.
//!
//! serde's derived impls for `#[serde(tag = …)]`, `untagged` and `flatten` buffer the input in serde's private
//! `Content` type and deserialize every nested type a second (and third) time from it. In the browser bundle those
//! extra copies of every report, view and sample type were 8 % of the WebAssembly (docs/performance.md). These
//! impls read the input once into a [`serde_json::Value`], dispatch on the tag themselves and deserialize each field
//! from its `Value`, which the browser's API client uses anyway ([`from_str`]): one copy per type. The JSON on the
//! wire is unchanged (the round-trip tests beside each type check it).

use serde::de::{DeserializeOwned, Error};
use serde_json::{Map, Value};

/// A JSON object, or `E` naming what was expected.
pub fn object<E: Error>(v: Value, what: &str) -> Result<Map<String, Value>, E> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(E::custom(format!("invalid type: {}, expected {what}", kind(&other)))),
    }
}

/// Removes the string tag `key` from `obj`.
pub fn tag<E: Error>(obj: &mut Map<String, Value>, key: &'static str) -> Result<String, E> {
    match obj.remove(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(E::custom(format!("invalid type for `{key}`: {}, expected a string", kind(&other)))),
        None => Err(E::missing_field(key)),
    }
}

/// Removes and deserializes field `key`; an absent field reads as `null` (so `Option`s are `None`) and is reported
/// as missing when `null` is not a value of `T`.
pub fn field<T: DeserializeOwned, E: Error>(obj: &mut Map<String, Value>, key: &'static str) -> Result<T, E> {
    match obj.remove(key) {
        Some(v) => T::deserialize(v).map_err(|e| E::custom(format_args!("{key}: {e}"))),
        None => T::deserialize(Value::Null).map_err(|_| E::missing_field(key)),
    }
}

/// Deserializes `T` from the rest of an object (a newtype variant's fields beside the tag).
pub fn rest<T: DeserializeOwned, E: Error>(obj: Map<String, Value>) -> Result<T, E> {
    T::deserialize(Value::Object(obj)).map_err(E::custom)
}

/// The unknown-variant error for tag value `got`.
pub fn unknown<E: Error>(got: &str, expected: &'static [&'static str]) -> E {
    E::unknown_variant(got, expected)
}

/// `T` from JSON text, through a [`Value`] (the one deserializer the browser bundle instantiates).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::from_str::<Value>(text)?)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde::{de::DeserializeOwned, Serialize};
    use serde_json::{json, Value};

    use crate::gpu::{GpuSnapshot, GpuWsFrame, TelemetryStatus};
    use crate::live::LiveFrame;
    use crate::live_run::{RunResult, RunStatus, RunWsFrame};
    use crate::report::{RunReport, SweepReport};

    /// `v` read and written back unchanged (the hand-written impls read what the derived `Serialize` writes).
    fn round_trip<T: Serialize + DeserializeOwned + std::fmt::Debug + PartialEq>(v: &T) {
        let text = serde_json::to_string(v).unwrap();
        let back: T = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, v, "{text}");
        let via_value: T = super::from_str(&text).unwrap();
        assert_eq!(&via_value, v);
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::from_str::<Value>(&text).unwrap());
    }

    #[test]
    fn tagged_frames_round_trip() {
        round_trip(&RunWsFrame::Preflight { state: "waiting".into() });
        round_trip(&RunWsFrame::Storage { error: None });
        round_trip(&RunWsFrame::Storage { error: Some("disk full".into()) });
        round_trip(&RunWsFrame::Gpu { samples: vec![] });
        round_trip(&LiveFrame::Heartbeat { server_time_ms: 7 });
        round_trip(&GpuWsFrame::Samples { samples: vec![] });
        round_trip(&TelemetryStatus::Unavailable { reason: "no NVML".into() });
        round_trip(&TelemetryStatus::Simulated { gpus: vec![] });
        round_trip(&GpuSnapshot {
            status: TelemetryStatus::Unavailable { reason: "none".into() },
            server_time_ms: 3,
            samples: vec![],
        });
        round_trip(&RunResult::Single(Box::default()));
        round_trip(&RunResult::Sweep(SweepReport {
            started_at_ms: 1,
            steps: vec![RunReport::default()],
            best_step: Some(0),
            stopped: false,
            verdict: None,
            preflight: None,
        }));
        let d = crate::archive::LatencyDistribution {
            cdf: crate::archive::LatencyCdf { requests: 3, ttft: vec![], e2e: vec![] },
            step: Some(1),
            steps: vec![],
        };
        round_trip(&d);
        use crate::preflight::{CheckFrame, Fix};
        round_trip(&Fix::ReadyTimeout { seconds: 120 });
        round_trip(&Fix::Model { model: "m".into() });
        round_trip(&Fix::Endpoint { endpoint: crate::spec::Endpoint::Completions });
        round_trip(&CheckFrame::State { state: "ready".into() });
        round_trip(&CheckFrame::Failed {
            error: "no".into(),
            fields: vec![],
            fixes: vec![Fix::ReadyTimeout { seconds: 9 }],
        });
        let f: CheckFrame = serde_json::from_value(json!({"type": "failed", "error": "x"})).unwrap();
        assert_eq!(
            f,
            CheckFrame::Failed { error: "x".into(), fields: vec![], fixes: vec![] },
            "absent lists read as empty"
        );
        let p: RunWsFrame = serde_json::from_value(json!({"type": "progress", "status": "running",
            "progress": serde_json::to_value(crate::live_run::Progress::default()).unwrap()}))
        .unwrap();
        assert!(matches!(p, RunWsFrame::Progress { status: RunStatus::Running, .. }));
    }

    #[test]
    fn bad_frames_say_what_is_wrong() {
        let e = serde_json::from_value::<RunWsFrame>(json!({"type": "nope"})).unwrap_err().to_string();
        assert!(e.contains("unknown variant `nope`"), "{e}");
        let e = serde_json::from_value::<RunWsFrame>(json!({"state": "x"})).unwrap_err().to_string();
        assert!(e.contains("missing field `type`"), "{e}");
        let e = serde_json::from_value::<RunWsFrame>(json!({"type": "preflight"})).unwrap_err().to_string();
        assert!(e.contains("missing field `state`"), "{e}");
        let e = serde_json::from_value::<LiveFrame>(json!([1])).unwrap_err().to_string();
        assert!(e.contains("expected a live frame"), "{e}");
        let e = serde_json::from_value::<TelemetryStatus>(json!({"status": "available", "gpus": 3}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gpus"), "{e}");
    }
}
