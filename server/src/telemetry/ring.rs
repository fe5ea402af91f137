//! The recent history per GPU (15 minutes by default) for late viewers: a bounded window of samples, evicted by
//! sample time (not the wall clock, so tests are exact), with a downsampled view for the WebSocket hello.

use std::collections::{BTreeMap, VecDeque};

use protocol::gpu::GpuSample;

/// How much history is kept: 15 minutes.
pub const KEEP_MS: u64 = 15 * 60 * 1_000;

/// Samples of the last [`Ring::keep_ms`] per GPU, oldest first.
#[derive(Debug, Clone)]
pub struct Ring {
    keep_ms: u64,
    per_gpu: BTreeMap<u32, VecDeque<GpuSample>>,
}

impl Default for Ring {
    fn default() -> Self {
        Ring::new(KEEP_MS)
    }
}

impl Ring {
    /// A ring keeping `keep_ms` of history per GPU.
    pub fn new(keep_ms: u64) -> Self {
        Ring { keep_ms, per_gpu: BTreeMap::new() }
    }

    /// How much history is kept, ms.
    pub fn keep_ms(&self) -> u64 {
        self.keep_ms
    }

    /// Adds one sample and drops that GPU's samples older than `keep_ms` before it.
    pub fn push(&mut self, sample: GpuSample) {
        let cutoff = sample.unix_ms.saturating_sub(self.keep_ms);
        let q = self.per_gpu.entry(sample.index).or_default();
        q.push_back(sample);
        while q.front().is_some_and(|s| s.unix_ms < cutoff) {
            q.pop_front();
        }
    }

    /// Adds a tick's samples.
    pub fn extend(&mut self, samples: impl IntoIterator<Item = GpuSample>) {
        for s in samples {
            self.push(s);
        }
    }

    /// Number of samples held (all GPUs).
    pub fn len(&self) -> usize {
        self.per_gpu.values().map(VecDeque::len).sum()
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest sample of each GPU, by GPU index.
    pub fn latest(&self) -> Vec<GpuSample> {
        self.per_gpu.values().filter_map(|q| q.back().cloned()).collect()
    }

    /// Every sample at or after `since_unix_ms`, ordered by time then GPU index.
    pub fn since(&self, since_unix_ms: u64) -> Vec<GpuSample> {
        let mut out: Vec<GpuSample> = self
            .per_gpu
            .values()
            .flat_map(|q| {
                let start = q.partition_point(|s| s.unix_ms < since_unix_ms);
                q.range(start..).cloned()
            })
            .collect();
        out.sort_by_key(|s| (s.unix_ms, s.index));
        out
    }

    /// At most `max_per_gpu` samples per GPU, evenly spread, always including the newest; ordered by time then
    /// GPU index.
    pub fn downsampled(&self, max_per_gpu: usize) -> Vec<GpuSample> {
        let mut out = Vec::new();
        for q in self.per_gpu.values() {
            out.extend(stride(q, max_per_gpu));
        }
        out.sort_by_key(|s| (s.unix_ms, s.index));
        out
    }
}

/// `max` samples evenly spread over the queue, ending with the newest (the whole queue when it is short).
fn stride(q: &VecDeque<GpuSample>, max: usize) -> Vec<GpuSample> {
    let n = q.len();
    if n <= max {
        return q.iter().cloned().collect();
    }
    // Index (k+1)·n/max − 1 for k in 0..max: strictly increasing because n > max, and the last is n − 1.
    (0..max).filter_map(|k| q.get((k + 1) * n / max - 1).cloned()).collect()
}

/// Keeps every `k`-th sample of each GPU so that no GPU has more than `max` (the last is always kept).
pub fn thin_per_gpu(samples: Vec<protocol::gpu::GpuSample>, max: usize) -> Vec<GpuSample> {
    let mut counts = std::collections::BTreeMap::<u32, usize>::new();
    for s in &samples {
        *counts.entry(s.index).or_default() += 1;
    }
    let mut seen = std::collections::BTreeMap::<u32, usize>::new();
    samples
        .into_iter()
        .filter(|s| {
            let n = counts[&s.index];
            let k = n.div_ceil(max.max(1));
            let i = seen.entry(s.index).or_default();
            *i += 1;
            k <= 1 || (*i - 1).is_multiple_of(k) || *i == n
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(index: u32, unix_ms: u64) -> GpuSample {
        GpuSample { index, unix_ms, ..Default::default() }
    }

    #[test]
    fn evicts_samples_older_than_15_minutes_per_gpu() {
        let mut ring = Ring::default();
        // 16 minutes at 4 Hz on GPU 0; GPU 1 stops after its first minute.
        for i in 0..(16 * 60 * 4) {
            ring.push(s(0, i * 250));
            if i < 240 {
                ring.push(s(1, i * 250));
            }
        }
        let newest = (16 * 60 * 4 - 1) * 250;
        let gpu0: Vec<_> = ring.since(0).into_iter().filter(|x| x.index == 0).collect();
        assert_eq!(gpu0.first().unwrap().unix_ms, newest - KEEP_MS, "exactly 15 min kept");
        assert_eq!(gpu0.len() as u64, KEEP_MS / 250 + 1);
        // GPU 1 is evicted by its own newest sample, not by GPU 0's clock.
        assert_eq!(ring.since(0).iter().filter(|x| x.index == 1).count(), 240);
        assert_eq!(ring.latest().iter().map(|x| x.unix_ms).collect::<Vec<_>>(), vec![newest, 239 * 250]);
    }

    #[test]
    fn since_filters_and_orders_by_time_then_gpu() {
        let mut ring = Ring::new(10_000);
        ring.extend([s(1, 100), s(0, 100), s(1, 200), s(0, 200), s(0, 300)]);
        let got: Vec<_> = ring.since(200).iter().map(|x| (x.unix_ms, x.index)).collect();
        assert_eq!(got, vec![(200, 0), (200, 1), (300, 0)]);
        assert_eq!(ring.len(), 5);
    }

    #[test]
    fn downsampling_caps_points_and_keeps_the_newest() {
        let mut ring = Ring::default();
        for i in 0..3_600 {
            ring.push(s(0, i * 250));
            ring.push(s(1, i * 250));
        }
        let d = ring.downsampled(600);
        let gpu0: Vec<_> = d.iter().filter(|x| x.index == 0).collect();
        assert_eq!(gpu0.len(), 600);
        assert_eq!(gpu0.last().unwrap().unix_ms, 3_599 * 250);
        assert!(gpu0.windows(2).all(|w| w[0].unix_ms < w[1].unix_ms));
        assert_eq!(ring.downsampled(10_000).len(), 7_200, "short histories come back whole");
    }
}
