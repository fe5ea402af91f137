//! Sub-millisecond deadlines for the mock's tokens. tokio's timer fires on 1 ms ticks and each wake-up lands up to
//! ~0.3 ms late, so 10 ms token gaps came out as a 10.2/9.2 ms saw-tooth; a client benchmarked against the mock
//! would then see the timer, not itself. One thread keeps every pending deadline in a heap and sleeps on a condvar
//! (futex, nanosecond timeouts) until the earliest.

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    future::Future,
    pin::Pin,
    sync::{Condvar, Mutex, OnceLock, PoisonError},
    task::{Context, Poll, Waker},
    time::Instant,
};

struct Entry {
    at: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

#[derive(Default)]
struct Timer {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    wake: Condvar,
}

impl Timer {
    fn global() -> &'static Timer {
        static TIMER: OnceLock<&'static Timer> = OnceLock::new();
        TIMER.get_or_init(|| {
            let timer: &'static Timer = Box::leak(Box::default());
            let spawned = std::thread::Builder::new().name("mock-timer".into()).spawn(move || timer.run());
            if let Err(e) = spawned {
                tracing::error!("cannot start the mock's timer thread: {e}");
            }
            timer
        })
    }

    fn add(&self, at: Instant, waker: Waker) {
        let mut g = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
        let earliest = g.0.peek().is_none_or(|Reverse(e)| at < e.at);
        g.1 += 1;
        let seq = g.1;
        g.0.push(Reverse(Entry { at, seq, waker }));
        drop(g);
        if earliest {
            self.wake.notify_one();
        }
    }

    fn run(&self) {
        let mut due = Vec::new();
        let mut g = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            while g.0.peek().is_some_and(|Reverse(e)| e.at <= now) {
                if let Some(Reverse(e)) = g.0.pop() {
                    due.push(e.waker);
                }
            }
            if !due.is_empty() {
                drop(g);
                due.drain(..).for_each(Waker::wake);
                g = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            g = match g.0.peek().map(|Reverse(e)| e.at) {
                Some(at) => self.wake.wait_timeout(g, at - now).unwrap_or_else(PoisonError::into_inner).0,
                None => self.wake.wait(g).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// A future ready at its deadline, woken by the precise timer thread.
#[derive(Debug)]
pub struct PreciseSleep {
    at: Instant,
}

impl PreciseSleep {
    /// Ready at `at`.
    pub fn until(at: Instant) -> Self {
        PreciseSleep { at }
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.at
    }

    /// Moves the deadline (for the next token).
    pub fn reset(&mut self, at: Instant) {
        self.at = at;
    }
}

impl Future for PreciseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        Timer::global().add(self.at, cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_at_or_after_each_deadline_in_order() {
        let t0 = Instant::now();
        let mut order = Vec::new();
        let mut tasks = Vec::new();
        for ms in [30u64, 10, 20] {
            tasks.push(tokio::spawn(async move {
                PreciseSleep::until(t0 + Duration::from_millis(ms)).await;
                (ms, Instant::now())
            }));
        }
        for t in tasks {
            let (ms, woke) = t.await.unwrap();
            assert!(woke >= t0 + Duration::from_millis(ms));
            order.push((woke, ms));
        }
        order.sort();
        assert_eq!(order.iter().map(|o| o.1).collect::<Vec<_>>(), vec![10, 20, 30]);
    }

    #[tokio::test]
    async fn a_past_deadline_is_ready_at_once() {
        PreciseSleep::until(Instant::now()).await;
    }
}
