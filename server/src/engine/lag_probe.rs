//! The client's own lag, measured while a step runs: a probe task asks the runtime to wake it every
//! [`PROBE_EVERY`] and records how late it woke. The request tasks share that runtime, so a late probe means late
//! sends (closed and open loops alike) and late reads of arriving chunks — latencies then describe the client too.
//! The open loop's scheduler lag measures the sending side separately (`RunReport::scheduler_lag_ms`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocol::report::LatencyStats;
use tokio_util::sync::CancellationToken;

use super::error::EngineError;
use super::metrics::{micros, Hist};

/// How often the probe asks to be woken.
pub const PROBE_EVERY: Duration = Duration::from_millis(10);
/// p99 wake-up lag above which a step is flagged client-bound, ms.
pub const CLIENT_BOUND_P99_MS: f64 = 20.0;
/// Mean wake-up lag above which a step is flagged client-bound, ms.
pub const CLIENT_BOUND_MEAN_MS: f64 = 5.0;

/// A running probe; [`LagProbe::finish`] stops it and summarises what it saw.
#[derive(Debug)]
pub struct LagProbe {
    hist: Arc<Mutex<Hist>>,
    stop: CancellationToken,
}

impl LagProbe {
    /// Starts probing on the current runtime.
    pub fn start() -> Result<Self, EngineError> {
        let hist = Arc::new(Mutex::new(Hist::new()?));
        let stop = CancellationToken::new();
        let (h, s) = (hist.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                // Wall time (not tokio's clock, which tests pause): how long the runtime really took.
                let asked = Instant::now() + PROBE_EVERY;
                tokio::select! {
                    () = tokio::time::sleep(PROBE_EVERY) => {}
                    () = s.cancelled() => return,
                }
                let late = micros(Instant::now().saturating_duration_since(asked));
                if let Ok(mut h) = h.lock() {
                    h.record_us(late);
                }
            }
        });
        Ok(LagProbe { hist, stop })
    }

    /// Stops the probe: the lag it measured, and why the step is client-bound when it is.
    pub fn finish(self) -> (LatencyStats, Option<String>) {
        self.stop.cancel();
        let stats = self.hist.lock().map(|h| h.stats()).unwrap_or_default();
        (stats, judge(&stats))
    }
}

/// The client-bound rule of the probe: p99 wake-up lag over 20 ms or mean over 5 ms.
pub fn judge(lag: &LatencyStats) -> Option<String> {
    if lag.count == 0 {
        return None;
    }
    let over = if lag.p99 > CLIENT_BOUND_P99_MS {
        format!("p99 {:.1} ms > {CLIENT_BOUND_P99_MS} ms", lag.p99)
    } else if lag.mean > CLIENT_BOUND_MEAN_MS {
        format!("mean {:.1} ms > {CLIENT_BOUND_MEAN_MS} ms", lag.mean)
    } else {
        return None;
    };
    Some(format!(
        "the client's runtime woke up late ({over}): sends and reads of arriving tokens were delayed by the client \
         itself, so latencies and ITL describe the client too; give it more CPU cores or lower the load"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_flags_high_lag_only() {
        let quiet = LatencyStats { count: 100, mean: 0.3, p99: 1.2, ..LatencyStats::default() };
        assert_eq!(judge(&quiet), None);
        let spiky = LatencyStats { count: 100, mean: 2.0, p99: 35.0, ..LatencyStats::default() };
        assert!(judge(&spiky).is_some_and(|r| r.contains("p99 35.0 ms")));
        let slow = LatencyStats { count: 100, mean: 8.0, p99: 15.0, ..LatencyStats::default() };
        assert!(judge(&slow).is_some_and(|r| r.contains("mean 8.0 ms")));
        assert_eq!(judge(&LatencyStats::default()), None);
    }

    /// A runtime blocked by a busy task wakes the probe late, and the probe says so.
    #[tokio::test(flavor = "current_thread")]
    async fn a_blocked_runtime_is_seen() {
        let probe = LagProbe::start().unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        for _ in 0..3 {
            // Blocks the only worker thread, as a saturated client's CPU-bound work would.
            std::thread::sleep(Duration::from_millis(60));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
        let (stats, why) = probe.finish();
        assert!(stats.count >= 2, "{stats:?}");
        assert!(stats.max >= 40.0, "{stats:?}");
        assert!(why.is_some());
    }
}
