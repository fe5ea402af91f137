use protocol::record::{ErrorClass, RequestError, TokenSource};

use super::*;

/// `n` latencies, ms, spread log-uniformly over 0.01 ms … 1 h (a fixed pseudo-random sequence).
fn log_uniform(n: usize) -> Vec<f64> {
    let (lo, hi) = (0.01f64.ln(), 3_600_000f64.ln());
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (lo + (hi - lo) * (x >> 11) as f64 / (1u64 << 53) as f64).exp()
        })
        .collect()
}

fn histogram(samples: &[f64]) -> LatencyHistogram {
    let mut h = LatencyHistogram::new();
    samples.iter().for_each(|&ms| h.record_ms(ms));
    h
}

/// The exact quantile `q` of sorted `v` (the value that `q` of the samples are at or below).
fn exact_quantile(v: &[f64], q: f64) -> f64 {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[test]
fn percentiles_and_cdf_stay_within_one_percent_from_10_us_to_an_hour() {
    let mut samples = log_uniform(200_000);
    let h = histogram(&samples);
    samples.sort_by(f64::total_cmp);
    assert_eq!(h.count(), 200_000);
    for q in [0.0001, 0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
        let (got, want) = (h.quantile_ms(q).unwrap(), exact_quantile(&samples, q));
        assert!((got - want).abs() <= want * 0.01, "q {q}: {got} ms against {want} ms");
    }
    // Each CDF point says `fraction` of the values are at or below `ms`: true of the exact values within 1 %.
    let cdf = h.cdf(200);
    assert!(cdf.len() <= 200 && cdf.len() > 150, "{} points", cdf.len());
    for p in &cdf {
        let at_or_below = |ms: f64| samples.partition_point(|&s| s <= ms) as f64 / samples.len() as f64;
        assert!(at_or_below(p.ms * 1.01) >= p.fraction - 1e-9, "{p:?}: {}", at_or_below(p.ms * 1.01));
        assert!(at_or_below(p.ms * 0.99) <= p.fraction + 1e-9, "{p:?}: {}", at_or_below(p.ms * 0.99));
    }
    assert!((cdf[0].ms - samples[0]).abs() <= samples[0] * 0.01, "{:?} vs {}", cdf[0], samples[0]);
    let last = cdf.last().unwrap();
    assert_eq!(last.fraction, 1.0);
    assert!((last.ms - samples[samples.len() - 1]).abs() <= last.ms * 0.01);
    assert!(cdf.windows(2).all(|w| w[0].ms < w[1].ms && w[0].fraction < w[1].fraction));
}

#[test]
fn cdf_points_are_capped_and_the_ends_kept() {
    assert!(LatencyHistogram::new().cdf(200).is_empty());
    assert!(histogram(&[5.0]).cdf(0).is_empty());
    let one = histogram(&[5.0]).cdf(200);
    assert_eq!(one.len(), 1);
    assert!((one[0].ms - 5.0).abs() < 0.005 && one[0].fraction == 1.0, "{one:?}");
    let many: Vec<f64> = (1..=100_000).map(|i| f64::from(i) * 0.01).collect();
    for max in [2, 3, 10, 200] {
        let cdf = histogram(&many).cdf(max);
        assert!(cdf.len() <= max, "{max}: {}", cdf.len());
        assert!((cdf[0].ms - 0.01).abs() < 1e-4, "{max}: {:?}", cdf[0]);
        assert_eq!(cdf.last().unwrap().fraction, 1.0);
    }
    assert!(histogram(&[f64::NAN, -1.0, f64::INFINITY]).cdf(10).is_empty(), "unusable values are skipped");
    let huge = histogram(&[1e12]);
    assert!((huge.quantile_ms(1.0).unwrap() - 86_400_000.0).abs() < 86_400.0, "beyond 24 h counts as 24 h");
}

#[test]
fn histograms_survive_their_encoding_and_merge_like_one() {
    let samples = log_uniform(10_000);
    let (a, b) = samples.split_at(3_000);
    let whole = histogram(&samples);
    let mut merged = LatencyHistogram::decode(&histogram(a).encode()).unwrap();
    merged.add(&LatencyHistogram::decode(&histogram(b).encode()).unwrap());
    assert_eq!(merged.count(), 10_000);
    assert_eq!(merged.cdf(200), whole.cdf(200));
    let bytes = whole.encode();
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    assert_eq!(LatencyHistogram::decode(&bytes).unwrap().cdf(200), whole.cdf(200));
    let mut grown = LatencyHistogram::decode(&histogram(&[1.0]).encode()).unwrap();
    grown.record_ms(60_000.0);
    assert_eq!(grown.count(), 2, "a decoded histogram still grows");
    assert!(LatencyHistogram::decode(b"not a histogram").is_err());
    assert_eq!(LatencyHistogram::decode(&LatencyHistogram::new().encode()).unwrap().count(), 0);
}

fn record(step: u32, warmup: bool, failed: bool, ms: f64) -> RequestRecord {
    RequestRecord {
        step,
        index: 0,
        t_send_ms: 0.0,
        scheduler_lag_ms: 0.0,
        ttft_ms: (!failed).then_some(ms),
        e2e_ms: (!failed).then_some(ms * 10.0),
        tpot_ms: (!failed).then_some(ms / 10.0),
        output_tokens: 11,
        input_tokens: 1,
        token_source: TokenSource::Usage,
        requested_tokens: 11,
        retried: false,
        warmup,
        error: failed.then(|| RequestError { class: ErrorClass::HttpStatus, status: Some(500), message: "x".into() }),
    }
}

#[test]
fn only_measured_successful_requests_count_and_every_step_is_listed() {
    let mut h = LatencyHistograms::default();
    assert!(h.rows().is_empty(), "nothing to store without requests");
    for r in [record(0, true, false, 1.0), record(0, false, false, 2.0), record(0, false, true, 3.0)] {
        h.add(&r);
    }
    (0..4).for_each(|i| h.add(&record(1, false, false, 10.0 + f64::from(i))));
    h.add(&record(2, false, true, 1.0));
    let steps: Vec<(u32, u64)> = h.steps().map(|(i, s)| (i, s.requests())).collect();
    assert_eq!(steps, [(0, 1), (1, 4), (2, 0)], "a step of failures is listed with no requests");
    let whole = h.whole();
    assert_eq!((whole.requests(), whole.tpot.count()), (5, 5));
    assert!((whole.e2e.quantile_ms(0.0).unwrap() - 20.0).abs() < 0.03);

    let rows = h.rows();
    assert_eq!(rows.len(), 4 * 3, "three steps and the whole run, three metrics each");
    let whole_rows: Vec<(Metric, u64)> =
        rows.iter().filter(|r| r.0 == WHOLE_RUN).map(|(_, m, n, _)| (*m, *n)).collect();
    assert_eq!(whole_rows, [(Metric::Ttft, 5), (Metric::Tpot, 5), (Metric::E2e, 5)]);
    assert!(Metric::ALL.into_iter().all(|m| Metric::from_name(m.name()) == Some(m)));
    assert_eq!(Metric::from_name("itl"), None);
}
