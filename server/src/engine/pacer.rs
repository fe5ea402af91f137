//! Waking the open-loop dispatcher at each scheduled arrival. tokio's timer fires on 1 ms ticks, which alone is
//! 5 % of the gap between arrivals at 50 req/s; a dedicated thread sleeping on the OS timer (tens of µs late) and
//! handing each due instant to the dispatcher keeps the scheduler lag far below that at almost no CPU cost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::scheduler::Schedule;

/// Which clock wakes the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArrivalClock {
    /// A pacer thread on the OS timer (precise; real time only).
    #[default]
    Thread,
    /// tokio's timer (1 ms granularity; follows tokio's paused clock, which makes tests exact).
    Tokio,
}

/// The due instants of a schedule, in order.
// One `Arrivals` exists per open-loop step, so the size difference of its variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Arrivals {
    /// Sent by the pacer thread as each falls due.
    Thread {
        /// Due instants.
        rx: UnboundedReceiver<Instant>,
        /// Stops the thread when dropped.
        _stop: StopOnDrop,
    },
    /// Slept for on tokio's timer.
    Tokio {
        /// The schedule.
        schedule: Schedule,
        /// Start of the schedule.
        t0: Instant,
        /// The arrival being waited for (kept across cancelled waits).
        pending: Option<Instant>,
    },
}

impl Arrivals {
    /// The arrivals of `schedule` from `t0` on `clock`; an error when the pacer thread cannot be started.
    pub fn start(schedule: Schedule, t0: Instant, clock: ArrivalClock) -> std::io::Result<Self> {
        match clock {
            ArrivalClock::Tokio => Ok(Arrivals::Tokio { schedule, t0, pending: None }),
            ArrivalClock::Thread => {
                let (tx, rx) = unbounded_channel();
                let stop = Arc::new(AtomicBool::new(false));
                let flag = stop.clone();
                let handle = std::thread::Builder::new().name("tokenscope-pacer".into()).spawn(move || {
                    for offset in schedule {
                        let Some(at) = Duration::try_from_secs_f64(offset).ok().and_then(|d| t0.checked_add(d)) else {
                            return;
                        };
                        loop {
                            if flag.load(Ordering::Relaxed) {
                                return;
                            }
                            let now = Instant::now();
                            if now >= at {
                                break;
                            }
                            std::thread::park_timeout(at - now);
                        }
                        if tx.send(at).is_err() {
                            return;
                        }
                    }
                })?;
                Ok(Arrivals::Thread { rx, _stop: StopOnDrop { stop, thread: handle.thread().clone() } })
            }
        }
    }

    /// Waits for the next arrival and returns its scheduled instant; `None` when the schedule ends. Cancel-safe.
    pub async fn next(&mut self) -> Option<Instant> {
        match self {
            Arrivals::Thread { rx, .. } => rx.recv().await,
            Arrivals::Tokio { schedule, t0, pending } => {
                let at = match *pending {
                    Some(at) => at,
                    None => {
                        let at = t0.checked_add(Duration::try_from_secs_f64(schedule.next()?).ok()?)?;
                        *pending = Some(at);
                        at
                    }
                };
                tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                *pending = None;
                Some(at)
            }
        }
    }
}

/// Tells the pacer thread to exit (and wakes it) when dropped.
pub struct StopOnDrop {
    stop: Arc<AtomicBool>,
    thread: Thread,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.unpark();
    }
}

#[cfg(test)]
mod tests {
    use protocol::spec::Arrival;

    use super::*;
    use crate::engine::scheduler::ArrivalProcess;

    #[tokio::test]
    async fn the_pacer_thread_delivers_each_arrival_in_order_and_not_early() {
        let schedule = Schedule::new(ArrivalProcess::new(1000.0, Arrival::Constant).unwrap(), 0);
        let t0 = Instant::now();
        let mut arrivals = Arrivals::start(schedule, t0, ArrivalClock::Thread).unwrap();
        for i in 0..5u32 {
            let at = arrivals.next().await.unwrap();
            assert_eq!(at, t0 + Duration::from_millis(u64::from(i)));
            assert!(Instant::now() >= at);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let schedule = Schedule::new(ArrivalProcess::new(2.0, Arrival::Constant).unwrap(), 0);
        let t0 = crate::engine::metrics::now();
        let mut arrivals = Arrivals::start(schedule, t0, ArrivalClock::Tokio).unwrap();
        assert_eq!(arrivals.next().await, Some(t0));
        assert_eq!(arrivals.next().await, Some(t0 + Duration::from_millis(500)));
        assert_eq!(crate::engine::metrics::now(), t0 + Duration::from_millis(500));
    }
}
