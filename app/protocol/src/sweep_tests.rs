//! Tests of the shared sweep description: rows, the best line, the trust thresholds and the chart markers.

use std::collections::BTreeMap;

use super::*;
use crate::spec::{Arrival, Slo};

fn lat(p50: f64, p99: f64, count: u64) -> LatencyStats {
    LatencyStats { count, mean: p50, p50, p90: p99, p95: p99, p99, min: p50, max: p99 }
}

/// A trustworthy step: 30 s, 300 requests, 28 s of steady state.
fn step(concurrency: u32, tok_s: f64, slo_met: Option<bool>) -> RunReport {
    RunReport {
        load: LoadSpec::Concurrency { concurrency },
        requests_completed: 300,
        duration_s: 30.0,
        steady_duration_s: Some(28.0),
        output_tokens_per_s: tok_s,
        requests_per_s: 10.0,
        ttft_ms: lat(40.0, 120.0, 300),
        tpot_ms: lat(9.0, 12.0, 300),
        itl_ms: lat(8.5, 20.0, 300),
        e2e_ms: lat(900.0, 1300.0, 300),
        slo: Slo { ttft_ms: Some(100.0), ..Slo::default() },
        slo_met,
        ..RunReport::default()
    }
}

fn sweep(steps: Vec<RunReport>) -> SweepReport {
    let best_step = SweepReport::pick_best(&steps);
    SweepReport { started_at_ms: 0, steps, best_step, stopped: false, verdict: None, preflight: None }
}

#[test]
fn rows_carry_load_figures_slo_and_the_best_step() {
    let s = sweep(vec![step(1, 101.0, Some(true)), step(4, 380.0, Some(true)), step(16, 900.0, Some(false))]);
    let rows = rows(&s);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter().map(|r| r.load.as_str()).collect::<Vec<_>>(),
        ["concurrency 1", "concurrency 4", "concurrency 16"]
    );
    assert_eq!(rows.iter().map(|r| r.short_load.as_str()).collect::<Vec<_>>(), ["c=1", "c=4", "c=16"]);
    assert_eq!(rows.iter().map(|r| r.slo).collect::<Vec<_>>(), [SloMark::Met, SloMark::Met, SloMark::Missed]);
    assert_eq!(
        rows.iter().filter(|r| r.best).map(|r| r.step).collect::<Vec<_>>(),
        [2],
        "one ★: the fastest within the SLOs"
    );
    let r = &rows[1];
    assert_eq!((r.step, r.completed, r.failed), (2, 300, 0));
    assert_eq!(
        (r.ttft_p50_ms, r.ttft_p99_ms, r.tpot_p50_ms, r.itl_p50_ms, r.e2e_p99_ms),
        (Some(40.0), Some(120.0), Some(9.0), Some(8.5), Some(1300.0))
    );
    assert!(rows.iter().all(|r| r.warning.is_none()), "30 s and 300 requests are enough");
    assert_eq!(best_line(&s), "best: concurrency 4 — 380.0 output tok/s within the SLOs");
}

#[test]
fn no_best_step_and_no_slo_read_as_such() {
    let s = sweep(vec![step(1, 101.0, Some(false))]);
    assert_eq!(best_line(&s), "best: none (no step completed requests within the SLOs)");
    let mut r = step(2, 50.0, None);
    r.ttft_ms = LatencyStats::default();
    let rows = rows(&sweep(vec![r]));
    assert_eq!((rows[0].slo, rows[0].slo.as_str()), (SloMark::NotSet, "—"));
    assert_eq!(rows[0].ttft_p50_ms, None, "no samples: no figure rather than 0");
    assert!(rows[0].best);
    assert_eq!(best_line(&sweep(vec![step(2, 50.0, None)])), "best: concurrency 2 — 50.0 output tok/s");
}

#[test]
fn rate_loads_are_labelled() {
    let rate = LoadSpec::Rate { rate_rps: 4.0, arrival: Arrival::Poisson };
    assert_eq!((load_label(&rate), load_short(&rate)), ("rate 4/s".to_owned(), "4 rps".to_owned()));
    let half = LoadSpec::Rate { rate_rps: 2.5, arrival: Arrival::Constant };
    assert_eq!((load_label(&half), load_short(&half)), ("rate 2.5/s".to_owned(), "2.5 rps".to_owned()));
}

#[test]
fn a_short_small_step_is_flagged_with_its_fix() {
    // 2.5 s, 9 requests at 3.6 req/s: 100 requests take 28 s at that rate.
    let r = RunReport {
        requests_completed: 9,
        duration_s: 2.5,
        requests_per_s: 3.6,
        steady_duration_s: Some(1.5),
        ..step(16, 200.0, None)
    };
    let w = trust_warning(3, &r).unwrap();
    assert_eq!(
        w,
        "step 3 (concurrency 16) lasted 2.5 s with 9 requests: too few to trust its p99 and too short for a steady \
         state — raise the step duration (duration_s, --duration) to at least 28 s or the request count (requests, \
         --requests) to at least 101"
    );
}

#[test]
fn thresholds_are_at_100_requests_and_10_seconds() {
    let at = |completed: u64, duration_s: f64| RunReport {
        requests_completed: completed,
        duration_s,
        requests_per_s: completed as f64 / duration_s,
        steady_duration_s: Some(duration_s * 0.9),
        ..step(4, 100.0, None)
    };
    assert!(trust_warning(1, &at(100, 10.0)).is_none(), "100 requests over 10 s are enough");
    let few = trust_warning(1, &at(99, 20.0)).unwrap();
    assert!(few.contains("too few to trust its p99") && !few.contains("steady"), "{few}");
    assert!(few.ends_with("at least 21 s or the request count (requests, --requests) to at least 104"), "{few}");
    let short = trust_warning(1, &at(500, 9.9)).unwrap();
    assert!(short.contains("too short for a steady state") && !short.contains("p99"), "{short}");
    assert!(short.contains("at least 10 s"), "{short}");
    assert_eq!(trust_warning(1, &at(0, 1.0)), None, "nothing completed: the verdict speaks");
}

#[test]
fn a_step_mostly_ramping_is_flagged() {
    // 20 s measured, only 6 s at the target load: 14 s of ramp need a 28 s window to be under half of it.
    let r = RunReport { steady_duration_s: Some(6.0), duration_s: 20.0, ..step(64, 900.0, None) };
    let w = trust_warning(2, &r).unwrap();
    assert!(w.contains("at its target load for only 6.0 s of it"), "{w}");
    assert!(w.contains("at least 28 s"), "{w}");
    // A closed loop never filled (fewer requests than slots) had no steady state at all.
    let never = RunReport { steady_duration_s: None, requests_completed: 120, ..step(256, 900.0, None) };
    assert!(trust_warning(1, &never).unwrap().contains("only 0.0 s"));
    // A report from before `steady_duration_s` existed is not flagged for it.
    let old = RunReport { steady_duration_s: None, ..step(4, 900.0, None) };
    assert_eq!(trust_warning(1, &old), None);
}

#[test]
fn the_best_line_warns_when_the_best_step_is_untrusted() {
    let small = RunReport { requests_completed: 20, ..step(8, 500.0, Some(true)) };
    let s = sweep(vec![step(1, 100.0, Some(true)), small]);
    assert_eq!(s.best_step, Some(1));
    assert!(best_line(&s).ends_with("(but see the warning on step 2: its figures are not to be trusted)"));
}

fn window(step: u32, end_s: u64) -> WindowStats {
    WindowStats {
        step,
        t_end_ms: end_s as f64 * 1000.0,
        unix_ms: 10_000 + end_s * 1000,
        length_ms: 1000.0,
        output_tokens: 0.0,
        output_tokens_per_s: 0.0,
        requests_per_s: 0.0,
        ttft_p50_ms: None,
        ttft_p99_ms: None,
        itl_p50_ms: None,
        itl_p99_ms: None,
        e2e_p50_ms: None,
        e2e_p99_ms: None,
        in_flight: 0,
        completed_total: 0,
        failed_total: 0,
        errors: BTreeMap::new(),
    }
}

#[test]
fn markers_label_each_step_start_with_its_load() {
    let w: Vec<WindowStats> = (1..=3).map(|t| window(0, t)).chain((5..=7).map(|t| window(1, t))).collect();
    let loads = [LoadSpec::Concurrency { concurrency: 1 }, LoadSpec::Concurrency { concurrency: 4 }];
    assert_eq!(step_markers(&w, 10_000, &loads), vec![(0.0, "c=1".to_owned()), (4.0, "c=4".to_owned())]);
    // Loads unknown: numbered.
    assert_eq!(step_markers(&w, 10_000, &[])[1], (4.0, "step 2".to_owned()));
    // A single run has nothing to mark; a sweep's first step alone is marked.
    let single: Vec<WindowStats> = (1..=3).map(|t| window(0, t)).collect();
    assert!(step_markers(&single, 10_000, &loads[..1]).is_empty());
    assert_eq!(step_markers(&single, 10_000, &loads).len(), 1);
}

#[test]
fn step_loads_replace_the_value_of_the_load() {
    let spec: RunSpec = serde_json::from_value(serde_json::json!({
        "target": "http://x", "load": {"kind": "rate", "rate_rps": 1.0, "arrival": {"kind": "constant"}},
        "sweep": [2.0, 4.5],
        "workload": {"kind": "synthetic", "input_tokens": {"min": 4, "max": 4}, "output_tokens": {"min": 4, "max": 4}},
    }))
    .unwrap();
    let loads = step_loads(&spec);
    assert_eq!(loads.iter().map(load_short).collect::<Vec<_>>(), ["2 rps", "4.5 rps"]);
}
