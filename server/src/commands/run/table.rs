//! The summary `tokenscope run` prints at the end: latency percentiles, throughput, errors and the verdict for one
//! run; one row per step for a sweep, the best step marked. Text from the target (error messages, verdicts quoting
//! them) reaches the terminal through [`visible`]: no escape sequence it sends can rewrite the terminal.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use protocol::report::{LatencyStats, RunReport, SweepReport};
use protocol::sweep;

use crate::engine::runner::describe;
use crate::engine::verdict::class_name;
use crate::export::text::visible;

/// The summary of one run.
pub fn render_report(r: &RunReport) -> String {
    let mut out = String::new();
    let mut lat = table(["latency (ms)", "mean", "p50", "p90", "p95", "p99", "min", "max", "n"]);
    let rows: [(&str, &LatencyStats); 6] = [
        ("TTFT", &r.ttft_ms),
        ("TPOT", &r.tpot_ms),
        ("ITL", &r.itl_ms),
        ("ITL per chunk", &r.itl_chunk_ms),
        ("E2E", &r.e2e_ms),
        ("scheduler lag", &r.scheduler_lag_ms),
    ];
    for (name, s) in rows.into_iter().filter(|(_, s)| s.count > 0) {
        let cells = [s.mean, s.p50, s.p90, s.p95, s.p99, s.min, s.max].map(ms);
        let mut row = vec![name.to_owned()];
        row.extend(cells);
        row.push(s.count.to_string());
        lat.add_row(row);
    }
    right_align(&mut lat, 1..9);
    out.push_str(&format!("{lat}\n"));

    let mut t = table(["", ""]);
    t.add_row(["load".to_owned(), describe(&r.load)]);
    t.add_row([
        "requests".to_owned(),
        format!(
            "{} completed, {} failed, {} warmup excluded{}",
            r.requests_completed,
            r.requests_failed,
            r.warmup_requests_excluded,
            if r.stopped { " (stopped)" } else { "" }
        ),
    ]);
    t.add_row(["duration".to_owned(), format!("{:.2} s (measured window)", r.duration_s)]);
    t.add_row([
        "output tokens/s".to_owned(),
        format!("{:.1} (first measured send → last completion)", r.output_tokens_per_s),
    ]);
    if let (Some(rate), Some(secs)) = (r.steady_output_tokens_per_s, r.steady_duration_s) {
        t.add_row(["  steady state".to_owned(), format!("{rate:.1} over {secs:.1} s at the target load")]);
    }
    t.add_row(["total tokens/s".to_owned(), format!("{:.1}", r.total_tokens_per_s)]);
    t.add_row(["requests/s".to_owned(), format!("{:.2}", r.requests_per_s)]);
    t.add_row(["tokens".to_owned(), format!("{} in, {} out", r.input_tokens, r.output_tokens)]);
    t.add_row(["prompt tokens from".to_owned(), source_text(&r.input_tokens_source)]);
    t.add_row([
        "output tokens from".to_owned(),
        format!(
            "{} (usage: {}, tokenizer: {}, chunks: {})",
            source_text(&r.output_tokens_source),
            r.token_source_usage,
            r.token_source_tokenizer,
            r.token_source_chunks
        ),
    ]);
    if let Some(o) = r.prompt_overhead_tokens {
        t.add_row([
            "prompt overhead".to_owned(),
            format!("{o:+.1} tokens per request (server's count − the prompt's)"),
        ]);
    }
    if let Some(ratio) = r.output_length_ratio {
        t.add_row([
            "output length".to_owned(),
            format!(
                "{:.1} % of requests got a different length than asked; received/asked {:.2}",
                r.output_length_mismatch_rate * 100.0,
                ratio
            ),
        ]);
    }
    if r.requests_failed > 0 {
        t.add_row(["error rate".to_owned(), format!("{:.1} %", r.error_rate * 100.0)]);
    }
    if r.requests_retried > 0 {
        t.add_row([
            "retried".to_owned(),
            format!(
                "{} requests sent again on a fresh connection: the server had closed their pooled connection unread",
                r.requests_retried
            ),
        ]);
    }
    if let Some(g) = r.goodput_rps {
        t.add_row(["goodput".to_owned(), format!("{g:.2} req/s within every SLO")]);
    }
    if let Some(met) = r.slo_met {
        t.add_row(["SLO (p99)".to_owned(), format!("{} — {}", if met { "met" } else { "MISSED" }, slo_text(r))]);
    }
    for (class, n) in &r.errors {
        t.add_row([format!("errors: {}", class_name(*class)), n.to_string()]);
    }
    for s in &r.error_samples {
        let status = s.status.map(|c| format!("HTTP {c}: ")).unwrap_or_default();
        t.add_row([format!("  e.g. {}", class_name(s.class)), format!("{status}{}", visible(&s.message))]);
    }
    if r.client_lag_ms.count > 0 {
        t.add_row([
            "client lag".to_owned(),
            format!(
                "p99 {:.2} ms, max {:.1} ms (the client runtime's own wake-up delay)",
                r.client_lag_ms.p99, r.client_lag_ms.max
            ),
        ]);
    }
    if let Some(reason) = &r.client_bound_reason {
        t.add_row(["CLIENT-BOUND".to_owned(), visible(reason).into_owned()]);
    }
    if let Some(g) = &r.gpu {
        t.add_row(["GPU".to_owned(), gpu_line(g)]);
    }
    let prompts = if r.workload.prompt_count == 0 {
        "a new prompt per request".to_owned()
    } else if r.workload.filtered_out > 0 {
        format!("{} prompts ({} left out by length)", r.workload.prompt_count, r.workload.filtered_out)
    } else {
        format!("{} prompts", r.workload.prompt_count)
    };
    t.add_row([
        "workload".to_owned(),
        format!(
            "{}, {prompts}, seed {} (--seed repeats it), sha256 {}",
            visible(&r.workload.kind),
            r.workload.seed,
            r.workload.prompt_set_sha256.get(..12).unwrap_or_default()
        ),
    ]);
    if !r.workload.tokenizer.is_empty() {
        let calibration = r
            .workload
            .calibration_max_error_tokens
            .map(|e| format!(" (calibrated: at most {e} tokens off)"))
            .unwrap_or_default();
        t.add_row(["prompt lengths by".to_owned(), format!("{}{calibration}", visible(&r.workload.tokenizer))]);
    }
    out.push_str(&format!("{t}\n"));
    if let Some(v) = &r.verdict {
        out.push_str(&format!("verdict: {}\n", visible(v)));
    }
    out
}

/// A token-count source as the table names it; `estimate` and `chunks` say that they are not exact.
fn source_text(source: &str) -> String {
    match source {
        "estimate" => "ESTIMATE (no tokenizer: give --tokenizer for exact counts)".to_owned(),
        "chunks" => "CHUNKS (no usage, no tokenizer: one token per chunk; give --tokenizer)".to_owned(),
        "" => "n/a".to_owned(),
        other => other.to_owned(),
    }
}

/// Energy and efficiency of the window on the selected GPUs, in one line.
fn gpu_line(g: &protocol::gpu::EnergySummary) -> String {
    let opt =
        |v: Option<f64>, unit: &str, d: usize| v.map(|x| format!("{x:.d$} {unit}")).unwrap_or_else(|| "n/a".into());
    let mut line = format!(
        "GPUs {:?}: energy {}, mean power {}, {} per output token, {} per J",
        g.gpu_indices,
        opt(g.energy_j, "J", 0),
        opt(g.mean_power_w, "W", 0),
        opt(g.j_per_output_token, "J", 3),
        opt(g.output_tokens_per_j, "tokens", 2),
    );
    if let Some(mbu) = g.est_mbu_percent {
        line.push_str(&format!(", est. MBU {mbu:.1} %"));
    }
    if let Some(mfu) = g.est_mfu_percent {
        line.push_str(&format!(", est. MFU {mfu:.1} %"));
    }
    if g.simulated {
        line.push_str(" (SIMULATED GPUs)");
    }
    line
}

/// The summary of a sweep: one row per step (the shared description of `protocol::sweep`), the best step, and a
/// warning under the table for each step too short or too small to trust.
pub fn render_sweep(s: &SweepReport) -> String {
    let mut t = table([
        "step",
        "load",
        "done",
        "failed",
        "out tok/s",
        "req/s",
        "TTFT p50",
        "TTFT p99",
        "TPOT p50",
        "ITL p50",
        "E2E p99",
        "SLO",
    ]);
    let rows = sweep::rows(s);
    let opt_ms = |v: Option<f64>| v.map(ms).unwrap_or_else(|| "—".into());
    for r in &rows {
        t.add_row([
            format!("{}{}", r.step, if r.best { " ★ best" } else { "" }),
            r.load.clone(),
            r.completed.to_string(),
            r.failed.to_string(),
            format!("{:.1}", r.output_tokens_per_s),
            format!("{:.2}", r.requests_per_s),
            opt_ms(r.ttft_p50_ms),
            opt_ms(r.ttft_p99_ms),
            opt_ms(r.tpot_p50_ms),
            opt_ms(r.itl_p50_ms),
            opt_ms(r.e2e_p99_ms),
            r.slo.as_str().to_owned(),
        ]);
    }
    right_align(&mut t, 2..11);
    let mut out = format!("latencies in ms\n{t}\n{}\n", sweep::best_line(s));
    for w in rows.iter().filter_map(|r| r.warning.as_deref()) {
        out.push_str(&format!("warning: {w}\n"));
    }
    if s.stopped {
        out.push_str("stopped before the last step\n");
    }
    if let Some(v) = &s.verdict {
        out.push_str(&format!("verdict: {}\n", visible(v)));
    }
    out
}

fn slo_text(r: &RunReport) -> String {
    let parts: Vec<String> = [("TTFT", r.slo.ttft_ms), ("TPOT", r.slo.tpot_ms), ("E2E", r.slo.e2e_ms)]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} ≤ {v} ms")))
        .collect();
    parts.join(", ")
}

fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    if header.iter().any(|h| !h.is_empty()) {
        t.set_header(header);
    }
    t
}

fn right_align(t: &mut Table, cols: std::ops::Range<usize>) {
    for i in cols {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Milliseconds with precision that suits the size.
fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use protocol::record::ErrorClass;
    use protocol::report::{ErrorSample, WorkloadInfo};
    use protocol::spec::{LoadSpec, Slo};

    use super::*;

    fn report() -> RunReport {
        let lat =
            LatencyStats { count: 4, mean: 12.5, p50: 12.0, p90: 15.0, p95: 15.0, p99: 15.0, min: 9.0, max: 15.0 };
        RunReport {
            started_at_ms: 0,
            load: LoadSpec::Concurrency { concurrency: 4 },
            requests_completed: 4,
            requests_failed: 1,
            warmup_requests_excluded: 2,
            duration_s: 2.0,
            output_tokens_per_s: 100.0,
            total_tokens_per_s: 150.0,
            requests_per_s: 2.0,
            goodput_rps: Some(1.5),
            input_tokens: 100,
            output_tokens: 200,
            ttft_ms: lat,
            tpot_ms: lat,
            itl_ms: lat,
            itl_chunk_ms: lat,
            e2e_ms: lat,
            scheduler_lag_ms: LatencyStats::default(),
            slo: Slo { ttft_ms: Some(10.0), ..Slo::default() },
            slo_met: Some(false),
            errors: BTreeMap::from([(ErrorClass::HttpStatus, 1)]),
            error_samples: vec![ErrorSample {
                class: ErrorClass::HttpStatus,
                status: Some(500),
                message: "boom".into(),
            }],
            token_source_usage: 4,
            workload: WorkloadInfo::default(),
            ..RunReport::default()
        }
    }

    #[test]
    fn a_report_shows_percentiles_throughput_errors_and_slo() {
        let text = render_report(&report());
        for want in ["TTFT", "E2E", "12.0", "100.0", "MISSED", "TTFT ≤ 10 ms", "HTTP 500: boom", "concurrency 4"] {
            assert!(text.contains(want), "missing {want} in\n{text}");
        }
        assert!(!text.contains("scheduler lag"), "{text}");
    }

    #[test]
    fn terminal_escapes_from_the_target_are_not_printed() {
        let mut r = report();
        r.error_samples[0].message = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[1Aok\u{202E}".into();
        r.verdict = Some("every request failed (\u{1b}[31mred\u{1b}[0m)".into());
        r.client_bound_reason = Some("lag\u{1b}[K".into());
        let text = render_report(&r);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202E}'), "{text:?}");
        assert!(
            text.contains("\\u{1b}[2J") && text.contains("verdict: every request failed (\\u{1b}[31mred"),
            "{text}"
        );
        let s = SweepReport {
            started_at_ms: 0,
            steps: vec![report()],
            best_step: None,
            stopped: false,
            verdict: Some("bad\u{1b}[2J".into()),
            preflight: None,
        };
        assert!(!render_sweep(&s).contains('\u{1b}'));
    }

    #[test]
    fn a_sweep_marks_its_best_step() {
        let mut b = report();
        b.slo_met = Some(true);
        b.load = LoadSpec::Concurrency { concurrency: 8 };
        let s = SweepReport {
            started_at_ms: 0,
            steps: vec![report(), b],
            best_step: Some(1),
            stopped: false,
            verdict: None,
            preflight: None,
        };
        let text = render_sweep(&s);
        assert!(text.contains("2 ★ best") && text.contains("best: concurrency 8"), "{text}");
        assert!(text.contains("ITL p50") && text.contains("missed") && text.contains("met"), "{text}");
        // Both steps lasted 2 s with 5 requests: each gets a warning that says what would fix it.
        let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning: step ")).collect();
        assert_eq!(warnings.len(), 2, "{text}");
        assert!(warnings[1].contains("step 2 (concurrency 8) lasted 2.0 s with 5 requests: too few to trust its p99"));
        assert!(warnings[1].contains("to at least 50 s"), "100 requests at 2 req/s: {text}");
        assert!(text.contains("(but see the warning on step 2"), "{text}");
    }
}
