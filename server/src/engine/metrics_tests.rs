//! Hand-computed cases for the per-request metrics and their summaries.

use super::*;

/// A successful result whose content chunks arrive at the given offsets (ms) after `t0`, sent at `t0`.
fn result(t0: Instant, chunk_ms: &[u64], output_tokens: u32) -> RequestResult {
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    RequestResult {
        index: 0,
        sent_at: t0,
        chunks: chunk_ms.iter().map(|&m| ContentChunk { at: at(m), bytes: 4 }).collect(),
        done_at: at(chunk_ms.last().copied().unwrap_or(0) + 1),
        output_tokens,
        token_source: TokenSource::Usage,
        prompt_tokens: Some(11),
        retried: false,
        error: None,
    }
}

fn gaps(chunk_ms: &[u64], out: u32) -> (Vec<u64>, Vec<(u64, u64)>) {
    let r = result(Instant::now(), chunk_ms, out);
    let (mut raw, mut token) = (vec![], vec![]);
    for_each_gap(&r.chunks, out, |c, t, k| {
        raw.push(c / 1000);
        token.push((t / 1000, k));
    });
    (raw, token)
}

#[test]
fn percentiles_of_one_to_a_hundred() {
    let mut h = Hist::new().unwrap();
    for us in 1..=100 {
        h.record_us(us);
    }
    let s = h.stats();
    assert_eq!(s.count, 100);
    assert_eq!((s.p50, s.p90, s.p95, s.p99), (0.050, 0.090, 0.095, 0.099));
    assert_eq!((s.min, s.max), (0.001, 0.100));
    assert!((s.mean - 0.0505).abs() < 1e-9, "{}", s.mean);
    assert_eq!(Hist::new().unwrap().stats(), LatencyStats::default());
}

#[test]
fn large_values_keep_three_significant_digits() {
    let mut h = Hist::new().unwrap();
    h.record_us(123_456_789);
    let p = h.quantile_ms(0.5).unwrap();
    assert!((p - 123_456.789).abs() / 123_456.789 < 1e-3, "{p}");
}

#[test]
fn one_token_per_chunk_gives_the_raw_gaps() {
    // chunks at 0, 10, 30, 60 ms; 4 tokens: one per chunk.
    let (raw, token) = gaps(&[0, 10, 30, 60], 4);
    assert_eq!(raw, [10, 20, 30]);
    assert_eq!(token, [(10, 1), (20, 1), (30, 1)]);
}

#[test]
fn multi_token_chunks_spread_their_gap() {
    // 7 tokens: the first chunk holds 1, the other 6 spread as 2 per later chunk.
    let (raw, token) = gaps(&[0, 10, 30, 60], 7);
    assert_eq!(raw, [10, 20, 30]);
    assert_eq!(token, [(5, 2), (10, 2), (15, 2)]);
    // 5 tokens: 4 over 3 chunks = 1, 1, 2 (the remainder goes to the last chunks).
    let (_, token) = gaps(&[0, 10, 30, 60], 5);
    assert_eq!(token, [(10, 1), (20, 1), (15, 2)]);
}

#[test]
fn fewer_tokens_than_chunks_carry_gaps_forward() {
    // 2 tokens over 4 chunks: one token gap, covering all 60 ms after the first chunk.
    let (raw, token) = gaps(&[0, 10, 30, 60], 2);
    assert_eq!(raw, [10, 20, 30]);
    assert_eq!(token, [(0, 0), (0, 0), (60, 1)]);
    // One chunk (non-streaming): no gaps at all.
    assert_eq!(gaps(&[5], 9), (vec![], vec![]));
}

#[test]
fn ttft_e2e_tpot_from_the_start() {
    let t0 = Instant::now();
    let r = result(t0, &[100, 110, 130, 160], 7);
    let m = Measured::new(&r, t0, None, 3);
    assert_eq!((m.ttft_us, m.e2e_us), (Some(100_000), Some(160_000)));
    // (160 − 100) / (7 − 1) = 10 ms.
    assert_eq!(m.tpot_us, Some(10_000));
    assert_eq!(m.input_tokens, 11);
    // Open loop: the clock starts at the scheduled time, 25 ms before the send.
    let scheduled = t0 - Duration::from_millis(25);
    let m = Measured::new(&r, scheduled, Some(25_000), 3);
    assert_eq!((m.ttft_us, m.e2e_us, m.tpot_us), (Some(125_000), Some(185_000), Some(10_000)));
}

#[test]
fn single_token_has_no_tpot_and_empty_success_is_stream_ended() {
    let t0 = Instant::now();
    let r = result(t0, &[50], 1);
    let m = Measured::new(&r, t0, None, 3);
    assert_eq!((m.ttft_us, m.e2e_us, m.tpot_us), (Some(50_000), Some(50_000), None));
    let mut empty = result(t0, &[], 0);
    empty.prompt_tokens = None;
    let m = Measured::new(&empty, t0, None, 3);
    assert_eq!(m.error.as_ref().map(|e| e.class), Some(ErrorClass::StreamEnded));
    assert_eq!(m.input_tokens, 3);
}

#[test]
fn accumulator_goodput_and_slo_at_p99() {
    let t0 = Instant::now();
    let slo = Slo { ttft_ms: Some(150.0), tpot_ms: None, e2e_ms: None };
    let mut acc = Accumulator::new(slo).unwrap();
    let fast = result(t0, &[100, 110, 130, 160], 7);
    let slow = result(t0, &[200, 260], 3);
    let mut failed = result(t0, &[], 0);
    failed.error = Some(RequestError { class: ErrorClass::Timeout, status: None, message: "late".into() });
    for r in [&fast, &slow, &failed] {
        acc.record(&Measured::new(r, t0, None, 3));
    }
    assert_eq!((acc.completed, acc.failed, acc.good), (2, 1, 1));
    assert_eq!((acc.output_tokens, acc.input_tokens, acc.token_source_usage), (10, 22, 2));
    // 1 request within every SLO over 2 s.
    assert_eq!(acc.goodput_rps(2.0), Some(0.5));
    // 3 significant digits: the top of the bucket that holds 200 ms.
    assert!((acc.ttft.stats().max - 200.0).abs() < 0.2, "{}", acc.ttft.stats().max);
    assert_eq!(acc.itl.count(), 6 + 2);
    assert_eq!(acc.itl_chunk.count(), 3 + 1);
    assert_eq!(acc.tpot.count(), 2);
    // p99 TTFT is 200 ms > 150 ms.
    assert_eq!(acc.slo_met(), Some(false));
    let mut ok = Accumulator::new(Slo { ttft_ms: Some(250.0), ..slo }).unwrap();
    ok.record(&Measured::new(&slow, t0, None, 3));
    assert_eq!(ok.slo_met(), Some(true));
    assert_eq!(Accumulator::new(Slo::default()).unwrap().slo_met(), None);
    assert_eq!(Accumulator::new(Slo::default()).unwrap().goodput_rps(1.0), None);
    assert_eq!(per_s(10, 0.0), 0.0);
}
