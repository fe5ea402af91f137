//! A run's latency distributions as mergeable HDR histograms: TTFT, TPOT and end-to-end latency of its measured
//! (not warmup), successful requests, one histogram per metric and sweep step. The archive keeps them in their V2
//! encoding (a few kilobytes each, whatever the number of requests) next to the whole run's, merged from the steps;
//! a CDF or a percentile is read from them in time independent of the request count.
//!
//! Resolution: values in nanoseconds with 3 significant digits — exact below 2 048 ns, within 1 part in 1 024
//! (0.1 %) above — so from 0.01 ms to 1 h (and beyond, up to [`MAX_NS`]) a percentile or a CDF point is within 0.1 %
//! of the exact one, well inside the 1 % the pages promise.
//!
//! ITL is not among them: the request records carry each request's TTFT, TPOT and E2E, not its inter-token gaps
//! (the run report keeps the ITL percentiles the engine measured).

use std::collections::BTreeMap;

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

use protocol::archive::CdfPoint;
use protocol::event::RequestRecord;

/// Significant decimal digits every histogram keeps.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// Longest latency kept, ns (24 h); a longer value is kept as 24 h.
pub const MAX_NS: u64 = 86_400 * 1_000_000_000;
/// The `step` of the whole run's rows.
pub const WHOLE_RUN: i64 = -1;

/// A latency metric whose distribution the archive keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Time to first token.
    Ttft,
    /// Time per output token (requests with at least 2 output tokens).
    Tpot,
    /// End-to-end latency.
    E2e,
}

impl Metric {
    /// Every metric, in storage order.
    pub const ALL: [Metric; 3] = [Metric::Ttft, Metric::Tpot, Metric::E2e];

    /// The name in the archive's `metric` column.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Ttft => "ttft",
            Metric::Tpot => "tpot",
            Metric::E2e => "e2e",
        }
    }

    /// The metric named `name` in the archive.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One latency distribution: nanosecond values, [`SIGNIFICANT_DIGITS`] digits, growing to the largest value seen.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram<u64>);

/// A stored histogram that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("a stored latency histogram does not decode: {0}")]
pub struct DecodeError(String);

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        // `Histogram::new` fails only for more than 5 significant digits.
        LatencyHistogram(Histogram::new(SIGNIFICANT_DIGITS).unwrap_or_else(|_| unreachable!("3 digits are valid")))
    }

    /// Records one latency, ms (negative and non-finite values are skipped; beyond 24 h counts as 24 h).
    pub fn record_ms(&mut self, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        let ns = (ms * 1e6).round().min(MAX_NS as f64) as u64;
        // `record` grows the histogram to the value (`saturating_record` would clamp it to the current range).
        if self.0.record(ns).is_err() {
            self.0.saturating_record(ns);
        }
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Adds every value of `other`.
    pub fn add(&mut self, other: &LatencyHistogram) {
        // Both grow as needed (`Histogram::new` resizes itself): adding cannot run out of range.
        let _ = self.0.add(&other.0);
    }

    /// The value at quantile `q` (0..=1), ms, as the highest value of its bucket; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| ns_to_ms(self.0.highest_equivalent(self.0.value_at_quantile(q))))
    }

    /// The V2 encoding (HdrHistogram's portable format, uncompressed).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing to a `Vec` cannot fail, nor can a histogram of `u64` counts.
        let _ = V2Serializer::new().serialize(&self.0, &mut bytes);
        bytes
    }

    /// A histogram from its V2 encoding (deflated or not).
    pub fn decode(mut bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut h: Histogram<u64> =
            Deserializer::new().deserialize(&mut bytes).map_err(|e| DecodeError(format!("{e:?}")))?;
        h.auto(true);
        Ok(LatencyHistogram(h))
    }

    /// The CDF in at most `max_points` points: one per bucket where the fraction of values at or below it has
    /// grown by at least `1 / (max_points − 1)` since the last point, plus the first and the last bucket. Each
    /// point's `ms` is the highest value of its bucket (so `fraction` of the values are at or below it). Takes time
    /// proportional to the number of buckets, not of values.
    pub fn cdf(&self, max_points: usize) -> Vec<CdfPoint> {
        let n = self.count();
        if n == 0 || max_points == 0 {
            return Vec::new();
        }
        let steps = max_points.max(2) - 1;
        let mut out = Vec::with_capacity(max_points.min(1024));
        let (mut seen, mut next) = (0u64, 0usize);
        for v in self.0.iter_recorded() {
            seen += v.count_since_last_iteration();
            let fraction = seen as f64 / n as f64;
            if out.is_empty() || seen == n || fraction * steps as f64 >= next as f64 {
                let ms = ns_to_ms(self.0.highest_equivalent(v.value_iterated_to()));
                out.push(CdfPoint { ms, fraction });
                next = (fraction * steps as f64).floor() as usize + 1;
            }
        }
        out
    }
}

fn ns_to_ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The distributions of one step (or of the whole run): one histogram per [`Metric`].
#[derive(Debug, Clone, Default)]
pub struct StepHistograms {
    /// Time to first token.
    pub ttft: LatencyHistogram,
    /// Time per output token.
    pub tpot: LatencyHistogram,
    /// End-to-end latency.
    pub e2e: LatencyHistogram,
}

impl StepHistograms {
    /// The histogram of `metric`.
    pub fn get(&self, metric: Metric) -> &LatencyHistogram {
        match metric {
            Metric::Ttft => &self.ttft,
            Metric::Tpot => &self.tpot,
            Metric::E2e => &self.e2e,
        }
    }

    fn get_mut(&mut self, metric: Metric) -> &mut LatencyHistogram {
        match metric {
            Metric::Ttft => &mut self.ttft,
            Metric::Tpot => &mut self.tpot,
            Metric::E2e => &mut self.e2e,
        }
    }

    /// Measured, successful requests counted (every one has a TTFT and an E2E).
    pub fn requests(&self) -> u64 {
        self.ttft.count().max(self.e2e.count())
    }

    /// Adds every value of `other`.
    pub fn add(&mut self, other: &StepHistograms) {
        for m in Metric::ALL {
            self.get_mut(m).add(other.get(m));
        }
    }
}

/// A run's latency distributions being built, per sweep step, one request record at a time.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistograms {
    steps: BTreeMap<u32, StepHistograms>,
}

/// One archive row: step ([`WHOLE_RUN`] for the whole run), metric, values recorded, V2 encoding.
pub type HistogramRow = (i64, Metric, u64, Vec<u8>);

impl LatencyHistograms {
    /// Takes in one request: its step is listed (whatever the request's fate) and, when it was measured and
    /// succeeded, its TTFT, TPOT and E2E are recorded.
    pub fn add(&mut self, r: &RequestRecord) {
        self.add_values(r.step, !r.warmup && r.error.is_none(), [r.ttft_ms, r.tpot_ms, r.e2e_ms]);
    }

    /// [`add`](Self::add) from a request's columns: `[ttft, tpot, e2e]` in ms.
    pub fn add_values(&mut self, step: u32, measured_ok: bool, values: [Option<f64>; 3]) {
        let hists = self.steps.entry(step).or_default();
        if !measured_ok {
            return;
        }
        for (m, v) in Metric::ALL.into_iter().zip(values) {
            if let Some(ms) = v {
                hists.get_mut(m).record_ms(ms);
            }
        }
    }

    /// True when no request was taken in.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Every step with a request, in order.
    pub fn steps(&self) -> impl Iterator<Item = (u32, &StepHistograms)> {
        self.steps.iter().map(|(i, h)| (*i, h))
    }

    /// The whole run: every step merged.
    pub fn whole(&self) -> StepHistograms {
        let mut all = StepHistograms::default();
        self.steps.values().for_each(|s| all.add(s));
        all
    }

    /// The archive's rows: each step's histograms, then the whole run's (empty when no request was taken in).
    pub fn rows(&self) -> Vec<HistogramRow> {
        if self.is_empty() {
            return Vec::new();
        }
        let whole = self.whole();
        let scopes = self.steps.iter().map(|(i, h)| (i64::from(*i), h)).chain([(WHOLE_RUN, &whole)]);
        scopes
            .flat_map(|(step, h)| Metric::ALL.into_iter().map(move |m| (step, m, h.get(m).count(), h.get(m).encode())))
            .collect()
    }
}

#[cfg(test)]
#[path = "histograms_tests.rs"]
mod tests;
