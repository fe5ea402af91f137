//! What the sampler is asked to do (rate, GPU selection, demo mode), its validation, and the errors a caller can fix.

use std::time::Duration;

/// Fast-tier interval when none is given: 4 samples a second.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);
/// Shortest fast-tier interval: 20 samples a second.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// Longest fast-tier interval: 1 sample a second.
pub const MAX_INTERVAL: Duration = Duration::from_secs(1);
/// Most simulated GPUs `--simulate-gpu` accepts.
pub const MAX_SIMULATED_GPUS: u32 = 64;

/// A telemetry setting that cannot work; the message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// The fast-tier interval is outside 50 ms–1 s.
    #[error("GPU sampling interval {given_ms} ms is out of range: use 50ms to 1s (1 to 20 samples per second)")]
    BadInterval {
        /// The interval given, ms.
        given_ms: u128,
    },
    /// `--simulate-gpu` outside 1..=64.
    #[error("--simulate-gpu {given}: give 1 to {MAX_SIMULATED_GPUS} GPUs")]
    BadSimulatedCount {
        /// The count given.
        given: u32,
    },
    /// `--gpus` names an index this machine does not have.
    #[error("--gpus {index}: this machine has {count} GPU(s) (indices 0 to {last})", last = count.saturating_sub(1))]
    NoSuchGpu {
        /// The index asked for.
        index: u32,
        /// How many GPUs there are.
        count: usize,
    },
    /// `--gpus` was given but empty.
    #[error("--gpus is empty: list GPU indices, e.g. --gpus 0,1")]
    EmptySelection,
}

/// How to run the sampler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// Fast-tier interval (utilization, memory, power, temperature, clocks, throttle reasons).
    pub interval: Duration,
    /// NVML indices to sample; `None` = every GPU.
    pub gpus: Option<Vec<u32>>,
    /// Run the demo source with this many simulated GPUs instead of NVML.
    pub simulate_gpus: Option<u32>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig { interval: DEFAULT_INTERVAL, gpus: None, simulate_gpus: None }
    }
}

impl TelemetryConfig {
    /// Checks the rate, the simulated count and that a GPU selection is not empty.
    pub fn validate(&self) -> Result<(), TelemetryError> {
        check_interval(self.interval)?;
        if let Some(n) = self.simulate_gpus {
            if n == 0 || n > MAX_SIMULATED_GPUS {
                return Err(TelemetryError::BadSimulatedCount { given: n });
            }
        }
        if self.gpus.as_ref().is_some_and(|g| g.is_empty()) {
            return Err(TelemetryError::EmptySelection);
        }
        Ok(())
    }
}

/// Accepts intervals of 50 ms to 1 s.
pub fn check_interval(interval: Duration) -> Result<(), TelemetryError> {
    if (MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
        Ok(())
    } else {
        Err(TelemetryError::BadInterval { given_ms: interval.as_millis() })
    }
}

/// clap value parser for `--interval` / `--gpu-interval`: a humantime duration (`250ms`, `1s`) of 50 ms to 1 s.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (write e.g. 250ms or 1s)"))?;
    check_interval(d).map_err(|e| e.to_string())?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_1_to_20_hz_pass_and_others_say_why() {
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("50ms"), Ok(MIN_INTERVAL));
        assert_eq!(parse_interval("1s"), Ok(MAX_INTERVAL));
        let err = parse_interval("10ms").unwrap_err();
        assert!(err.contains("50ms to 1s") && err.contains("20 samples"), "{err}");
        assert!(parse_interval("2s").is_err());
        assert!(parse_interval("fast").unwrap_err().contains("250ms"));
    }

    #[test]
    fn config_checks_counts_and_selection() {
        let ok = TelemetryConfig::default();
        assert!(ok.validate().is_ok());
        let zero = TelemetryConfig { simulate_gpus: Some(0), ..ok.clone() };
        assert_eq!(zero.validate(), Err(TelemetryError::BadSimulatedCount { given: 0 }));
        let empty = TelemetryConfig { gpus: Some(vec![]), ..ok.clone() };
        assert_eq!(empty.validate(), Err(TelemetryError::EmptySelection));
        let fast = TelemetryConfig { interval: Duration::from_millis(20), ..ok };
        assert!(fast.validate().unwrap_err().to_string().contains("20 ms"));
        let missing = TelemetryError::NoSuchGpu { index: 3, count: 2 }.to_string();
        assert!(missing.contains("2 GPU(s)") && missing.contains("0 to 1"), "{missing}");
    }
}
