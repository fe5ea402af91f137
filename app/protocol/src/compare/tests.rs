use super::summary::{figure, markdown, md_inline, one_line, signed_pct, step_outcome};
use super::*;
use crate::archive::Outcome;
use crate::report::LatencyStats;
use crate::spec::{Arrival, RunSpec};

/// A step: its load, output tok/s, TTFT p99 (ms) and SLO result.
type Step = (LoadSpec, f64, f64, Option<bool>);

fn c(n: u32) -> LoadSpec {
    LoadSpec::Concurrency { concurrency: n }
}

fn rate(r: f64) -> LoadSpec {
    LoadSpec::Rate { rate_rps: r, arrival: Arrival::Poisson }
}

fn report((load, tok_s, p99, slo_met): Step) -> RunReport {
    RunReport {
        started_at_ms: 1,
        load,
        requests_completed: 10,
        output_tokens_per_s: tok_s,
        ttft_ms: LatencyStats { count: 10, p50: p99 / 2.0, p99, ..LatencyStats::default() },
        slo_met,
        ..RunReport::default()
    }
}

fn spec(name: &str) -> RunSpec {
    serde_json::from_value(serde_json::json!({
        "name": name, "target": "http://127.0.0.1:8000", "load": { "kind": "concurrency", "concurrency": 1 },
        "workload": { "kind": "synthetic", "input_tokens": { "min": 1, "max": 1 }, "output_tokens": { "min": 1, "max": 1 } }
    }))
    .unwrap()
}

fn sweep(name: &str, steps: &[Step]) -> RunView {
    let steps: Vec<RunReport> = steps.iter().cloned().map(report).collect();
    let best_step = SweepReport::pick_best(&steps);
    let result = RunResult::Sweep(SweepReport {
        started_at_ms: 1,
        steps,
        best_step,
        stopped: false,
        verdict: None,
        preflight: None,
    });
    RunView::ended(format!("{name}-id-0123456789abcdef"), spec(name), result, Vec::new())
}

fn single(name: &str, step: Step) -> RunView {
    RunView::ended(
        format!("{name}-id-0123456789abcdef"),
        spec(name),
        RunResult::Single(Box::new(report(step))),
        Vec::new(),
    )
}

fn choose(runs: &[RunView]) -> (Choice, String) {
    let refs: Vec<&RunView> = runs.iter().collect();
    let choice = default_choice(&refs);
    let text = basis_text(&refs, &choice);
    (choice, text)
}

#[test]
fn levels_are_named_and_matched() {
    assert_eq!(Level::of(&c(4)).label(), "concurrency 4");
    assert_eq!(Level::of(&rate(8.0)).label(), "rate 8/s");
    assert_eq!(Level::of(&rate(2.5)).short(), "2.5 rps");
    assert_eq!(Level::of(&c(16)).short(), "c=16");
    assert!(Level::Rate(0.1 + 0.2).same(Level::Rate(0.3)));
    assert!(!Level::Rate(4.0).same(Level::Concurrency(4)));
}

#[test]
fn a_shared_load_is_compared_at_the_same_load() {
    // The case of the issue: A's best is c=16 at 7.8 s TTFT, B's is c=1; they share c=4.
    let a = sweep("A", &[(c(1), 30.0, 100.0, None), (c(4), 110.0, 300.0, None), (c(16), 400.0, 7800.0, None)]);
    let b = sweep("B", &[(c(4), 120.0, 250.0, None), (c(8), 200.0, 600.0, None)]);
    let (choice, text) = choose(&[a, b]);
    assert_eq!(choice.steps, vec![1, 0]);
    assert_eq!(choice.basis, Basis::Shared { level: Level::Concurrency(4), reason: SharedReason::Highest });
    assert_eq!(text, "Compared at concurrency 4 (both runs have it).");
}

#[test]
fn the_highest_shared_load_that_meets_the_slos_wins() {
    let a = sweep("A", &[(c(4), 100.0, 200.0, Some(true)), (c(8), 180.0, 900.0, Some(false))]);
    let b = sweep("B", &[(c(4), 120.0, 150.0, Some(true)), (c(8), 210.0, 400.0, Some(true))]);
    let c3 = sweep("C", &[(c(4), 90.0, 150.0, Some(true)), (c(8), 150.0, 400.0, Some(true))]);
    let (choice, text) = choose(&[a.clone(), b.clone(), c3]);
    assert_eq!(choice.steps, vec![0, 0, 0]);
    assert_eq!(choice.basis, Basis::Shared { level: Level::Concurrency(4), reason: SharedReason::HighestFit });
    assert!(text.starts_with("Compared at concurrency 4 (all 3 runs have it; at a higher load"), "{text}");

    // No shared load where both meet their SLOs: the highest shared load, said so.
    let a = sweep("A", &[(c(4), 100.0, 200.0, Some(false)), (c(8), 180.0, 900.0, Some(false))]);
    let (choice, text) = choose(&[a, b]);
    assert_eq!(choice.steps, vec![1, 1]);
    assert_eq!(choice.basis, Basis::Shared { level: Level::Concurrency(8), reason: SharedReason::NoneFit });
    assert!(text.contains("at no load they share does every run meet its SLOs"), "{text}");
}

#[test]
fn without_a_shared_load_each_run_is_at_its_best_under_the_slo() {
    let a = single("A", (c(4), 100.0, 200.0, Some(true)));
    let b = sweep(
        "B",
        &[
            (rate(4.0), 80.0, 100.0, Some(true)),
            (rate(8.0), 150.0, 300.0, Some(true)),
            (rate(16.0), 190.0, 2000.0, Some(false)),
        ],
    );
    let (choice, text) = choose(&[a, b]);
    assert_eq!(choice.steps, vec![0, 1]);
    assert_eq!(choice.basis, Basis::PerRun(vec![Pick::Whole, Pick::BestUnderSlo]));
    assert_eq!(
        text,
        "The runs share no load: A at concurrency 4 (its only load); B at its best step under the SLO (rate 8/s)."
    );
}

#[test]
fn without_an_slo_the_fastest_step_stands_in_and_the_basis_says_so() {
    let a = sweep("A", &[(c(1), 30.0, 100.0, None), (c(16), 400.0, 7800.0, None)]);
    let b = sweep("B", &[(c(2), 50.0, 120.0, None), (c(8), 300.0, 900.0, None)]);
    let (choice, text) = choose(&[a, b]);
    assert_eq!(choice.steps, vec![1, 1]);
    assert_eq!(choice.basis, Basis::PerRun(vec![Pick::Fastest, Pick::Fastest]));
    assert!(text.contains("A at its highest-throughput step (concurrency 16)"), "{text}");
    assert!(text.contains("No SLO set for A, B"), "{text}");
    assert!(text.contains("set an SLO to compare at equal latency"), "{text}");

    // An SLO no step meets: the fastest step, said so.
    let missed = sweep("M", &[(c(2), 50.0, 120.0, Some(false)), (c(8), 300.0, 900.0, Some(false))]);
    let one = single("S", (c(3), 10.0, 10.0, None));
    let (choice, text) = choose(&[missed, one]);
    assert_eq!(choice.steps, vec![1, 0]);
    assert!(text.contains("M at its highest-throughput step (concurrency 8): no step meets its SLO"), "{text}");
}

#[test]
fn single_runs_at_one_load_share_it() {
    let (choice, text) = choose(&[single("A", (c(4), 1.0, 1.0, None)), single("B", (c(4), 2.0, 1.0, None))]);
    assert_eq!(choice.steps, vec![0, 0]);
    assert_eq!(text, "Compared at concurrency 4 (both runs have it).");
}

#[test]
fn a_run_without_a_result_is_named() {
    let mut live = single("L", (c(4), 1.0, 1.0, None));
    live.result = None;
    let (choice, text) = choose(&[single("A", (c(4), 1.0, 1.0, None)), live]);
    assert_eq!(choice.basis, Basis::PerRun(vec![Pick::Whole, Pick::NoResult]));
    assert!(text.ends_with("L has no result."), "{text}");
}

#[test]
fn asked_steps_override_the_default_where_they_exist() {
    let a = sweep("A", &[(c(1), 30.0, 100.0, None), (c(4), 110.0, 300.0, None)]);
    let b = sweep("B", &[(c(4), 120.0, 250.0, None), (c(8), 200.0, 600.0, None)]);
    let refs = [&a, &b];
    assert_eq!(parse_steps("1, x,7"), vec![Some(1), None, Some(7)]);
    assert!(parse_steps(" ").is_empty());
    assert_eq!(steps_param(&[2, 0]), "2,0");
    // The default asked for is the default, with its reason.
    assert_eq!(resolve(&refs, &parse_steps("1,0")), default_choice(&refs));
    // B's step 7 does not exist: B stays at its default.
    let chosen = resolve(&refs, &parse_steps("0,7"));
    assert_eq!(chosen, Choice { steps: vec![0, 0], basis: Basis::Chosen });
    assert_eq!(
        basis_text(&refs, &chosen),
        "Compared at the steps chosen: A at concurrency 1, B at concurrency 4 — not the same load, so the latencies \
         are not like for like."
    );
    let a2 = sweep("A", &[(c(8), 30.0, 100.0, None), (c(4), 110.0, 300.0, None)]);
    let same = resolve(&[&a2, &b], &[Some(1), Some(0)]);
    assert_eq!(same.basis, Basis::Chosen, "the default is concurrency 8, the highest shared load");
    assert_eq!(basis_text(&[&a2, &b], &same), "Compared at concurrency 4 (the steps chosen).");
}

#[test]
fn step_lists_mark_the_best_step() {
    let with_slo = sweep("A", &[(c(1), 30.0, 100.0, Some(true)), (c(4), 110.0, 300.0, Some(true))]);
    let labels: Vec<String> = step_options(&with_slo).into_iter().map(|o| o.label).collect();
    assert_eq!(labels, ["concurrency 1", "concurrency 4 · best under SLO"]);
    let without = sweep("B", &[(c(1), 30.0, 100.0, None), (c(4), 20.0, 300.0, None)]);
    let labels: Vec<String> = step_options(&without).into_iter().map(|o| o.label).collect();
    assert_eq!(labels, ["concurrency 1 · most tok/s", "concurrency 4"]);
    let one = single("S", (rate(2.5), 1.0, 1.0, None));
    assert_eq!(step_options(&one)[0].label, "whole run · rate 2.5/s");
}

#[test]
fn figures_and_changes_read_well() {
    assert_eq!(figure(1004.4), "1004");
    assert_eq!(figure(157.3), "157");
    assert_eq!(figure(12.34), "12.3");
    assert_eq!(figure(1.256), "1.26");
    assert_eq!(figure(0.4561), "0.456");
    assert_eq!(figure(0.0), "0");
    assert_eq!(signed_pct(12.3), "+12 %");
    assert_eq!(signed_pct(-30.0), "−30 %");
    assert_eq!(signed_pct(4.24), "+4.2 %");
    assert_eq!(signed_pct(0.01), "±0 %");
}

#[test]
fn the_comparison_in_one_line() {
    let a = sweep("A", &[(c(4), 100.0, 200.0, None), (c(8), 180.0, 900.0, None)]);
    let b = sweep("B", &[(c(4), 112.0, 140.0, None)]);
    assert_eq!(one_line(&[&a, &b], &[0, 0], 0), "B vs A at c=4: +12 % tok/s, TTFT p99 −30 %");
    assert_eq!(one_line(&[&a, &b], &[1, 0], 1), "A (c=8) vs B (c=4): +61 % tok/s, TTFT p99 +543 %");
}

#[test]
fn the_comparison_as_markdown() {
    let a = sweep("A | x", &[(c(4), 100.0, 200.0, Some(true))]);
    let b = sweep("B", &[(c(4), 112.0, 140.0, Some(false))]);
    let md = markdown(&[&a, &b], &[0, 0], 0, "Compared at concurrency 4 (both runs have it).");
    assert!(md.starts_with("### tokenscope: A \\| x vs B\n\nCompared at concurrency 4"), "{md}");
    assert!(md.contains("| A \\| x (baseline) | concurrency 4 | SLO met | 100 |"), "{md}");
    assert!(md.contains("| B | concurrency 4 | SLO missed | 112 (+12 %) |"), "{md}");
    assert!(md.contains("| 140 (−30 %) |"), "{md}");
    assert!(md.trim_end().ends_with("in output tok/s)."), "{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), 4);
}

#[test]
fn markdown_text_shows_as_itself() {
    assert_eq!(md_inline("# a*b_[c](d) <i>"), "\\# a\\*b\\_\\[c\\](d) &lt;i&gt;");
    assert_eq!(md_inline("x\ny|z"), "x y\\|z");
    assert_eq!(md_inline("a\u{202E}b"), "a\\u{202e}b");
    assert_eq!(md_inline("a-b"), "a-b");
}

#[test]
fn a_step_outcome_is_the_steps_own() {
    let a = sweep("A", &[(c(4), 100.0, 200.0, Some(true)), (c(8), 180.0, 900.0, Some(false))]);
    assert_eq!(step_outcome(&a, 0), Outcome::SloMet);
    assert_eq!(step_outcome(&a, 1), Outcome::SloMissed);
    assert_eq!(Outcome::of(&a), Outcome::SloMet);
}
