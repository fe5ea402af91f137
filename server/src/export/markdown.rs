//! `summary.md`: a run as a Markdown table (one row per sweep step) to paste into a pull request or an issue.
//! Every string from a user or a target (name, target, model, verdict, id…) goes through [`cell`]: it shows as
//! itself, never as HTML, a link, an image or a broken table; a target URL is shown without its credentials.

use std::fmt::Write;

use protocol::archive::{display_name, format_utc};
use protocol::live_run::{RunResult, RunView};
use protocol::report::{RunReport, SweepReport};
use protocol::sweep::{self, SloMark, SweepRow};

use super::text;

/// A string from a user or a target as inline Markdown text (see [`text::inline`]), safe in a table cell too.
fn cell(s: &str) -> String {
    text::inline(s)
}

/// One table row: a sweep step (marked ★ when it is the best) or the run.
fn row(out: &mut String, row: &SweepRow, r: &RunReport) {
    let latency = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
    let goodput = r.goodput_rps.map(|g| format!("{g:.2}")).unwrap_or_else(|| "—".into());
    let energy = r
        .gpu
        .as_ref()
        .and_then(|g| g.j_per_output_token.map(|j| format!("{j:.3}{}", if g.simulated { " (simulated)" } else { "" })))
        .unwrap_or_else(|| "—".into());
    let slo = match row.slo {
        SloMark::Met => "met",
        SloMark::Missed => "**missed**",
        SloMark::NotSet => "—",
    };
    let _ = writeln!(
        out,
        "| {}{} | {:.1} | {:.2} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
        row.load,
        if row.best { " ★" } else { "" },
        row.output_tokens_per_s,
        row.requests_per_s,
        latency(row.ttft_p50_ms),
        latency(row.ttft_p99_ms),
        latency(row.tpot_p50_ms),
        latency(row.itl_p50_ms),
        latency(row.e2e_p99_ms),
        row.completed,
        row.failed,
        slo,
        goodput,
        energy,
    );
}

/// The summary of `run`: a heading, one line of context, the table, and the verdict when there is one.
pub fn summary(run: &RunView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### tokenscope: {}\n", cell(&display_name(&run.spec.name, &run.id)));
    let model = run.spec.model.as_deref().unwrap_or("auto");
    let _ = write!(
        out,
        "{} · started {} · target {} · model {}",
        protocol::archive::Outcome::status_line(run),
        format_utc(run.started_unix_ms),
        cell(&protocol::spec::redact_target(&run.spec.target)),
        cell(model)
    );
    if run.demo {
        out.push_str(" · built-in demo target");
    }
    out.push_str("\n\n");
    out.push_str(
        "| load | output tok/s | req/s | TTFT p50 (ms) | TTFT p99 (ms) | TPOT p50 (ms) | ITL p50 (ms) | E2E p99 (ms) \
         | ok / failed | SLO (p99) | goodput (req/s) | GPU J / output token |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|\n");
    let mut warnings = Vec::new();
    match &run.result {
        Some(RunResult::Single(r)) => {
            let one = SweepReport {
                started_at_ms: r.started_at_ms,
                steps: vec![r.as_ref().clone()],
                best_step: None,
                stopped: false,
                verdict: None,
                preflight: None,
            };
            row(&mut out, &sweep::rows(&one)[0], r);
        }
        Some(RunResult::Sweep(s)) => {
            for (step, r) in sweep::rows(s).iter().zip(&s.steps) {
                row(&mut out, step, r);
                warnings.extend(step.warning.clone());
            }
            let _ = writeln!(out, "\n{}", cell(&sweep::best_line(s)).replacen("best:", "**Best:**", 1));
        }
        None => out.push_str("| (no result: the run ended before its load produced one) |||||||||||\n"),
    }
    for w in &warnings {
        let _ = writeln!(out, "\n⚠ {}", cell(w));
    }
    if let Some(v) = &run.verdict {
        let _ = writeln!(out, "\n**Verdict:** {}", cell(v));
    }
    if let Some(r) = protocol::archive::headline(run.result.as_ref()) {
        if let Some(why) = &r.client_bound_reason {
            let _ = writeln!(out, "\n**Client-bound:** {}", cell(why));
        }
        if let (Some(rate), Some(secs)) = (r.steady_output_tokens_per_s, r.steady_duration_s) {
            let _ = writeln!(out, "\nSteady state: {rate:.1} output tok/s over {secs:.1} s at the target load.");
        }
        let _ = writeln!(
            out,
            "\nToken counts: prompts from {}, outputs from {}{}.",
            cell(&r.input_tokens_source),
            cell(&r.output_tokens_source),
            if r.input_tokens_source == "estimate" || r.output_tokens_source == "chunks" {
                " — **not exact**: give the model's tokenizer (`--tokenizer`)"
            } else {
                ""
            }
        );
    }
    if matches!(run.result, Some(RunResult::Sweep(_))) {
        out.push_str("\n★ the step with the highest output tok/s that meets every SLO.\n");
    }
    let _ = writeln!(
        out,
        "\n<sub>run {} · tokenscope {} · TTFT, TPOT, ITL and E2E as defined in docs/metrics.md; warmup excluded</sub>",
        cell(&run.id),
        env!("CARGO_PKG_VERSION")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_cells() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    fn view(name: &str, target: &str, model: &str, verdict: &str) -> RunView {
        let spec: protocol::spec::RunSpec = serde_json::from_value(serde_json::json!({
            "name": name, "target": target, "model": model,
            "load": {"kind": "concurrency", "concurrency": 1},
            "workload": {"kind": "synthetic", "input_tokens": {"min": 4, "max": 4},
                         "output_tokens": {"min": 4, "max": 4}},
        }))
        .unwrap();
        let mut v = RunView::starting("run1".into(), spec, 0, false);
        v.verdict = Some(verdict.into());
        v
    }

    #[test]
    fn user_and_target_text_cannot_inject_markup() {
        let md = summary(&view(
            "<script>alert(1)</script>|x\0y",
            "http://user:hunter2@127.0.0.1:8000",
            "<img src=x onerror=alert(1)>",
            "every request got HTTP 500 ([click](javascript:alert(1)) evil\u{202E}txt.exe)",
        ));
        assert!(!md.contains("<script") && !md.contains("<img"), "{md}");
        assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\|x\\\\u{0}y"), "{md}");
        assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
        assert!(!md.contains('\0') && !md.contains('\u{202E}'), "{md}");
        assert!(md.contains("evil\\\\u{202e}txt.exe"), "{md}");
        assert!(md.contains("\\[click\\](javascript"), "{md}");
        assert!(md.contains("target http://127.0.0.1:8000 ·") && !md.contains("hunter2"), "{md}");
    }

    fn step(concurrency: u32, completed: u64, duration_s: f64, tok_s: f64, slo_met: bool) -> RunReport {
        let lat = protocol::report::LatencyStats { count: completed, p50: 40.0, p99: 120.0, ..Default::default() };
        RunReport {
            load: protocol::spec::LoadSpec::Concurrency { concurrency },
            requests_completed: completed,
            duration_s,
            steady_duration_s: Some(duration_s * 0.9),
            requests_per_s: completed as f64 / duration_s,
            output_tokens_per_s: tok_s,
            ttft_ms: lat,
            tpot_ms: lat,
            itl_ms: lat,
            e2e_ms: lat,
            slo_met: Some(slo_met),
            ..RunReport::default()
        }
    }

    #[test]
    fn a_sweep_has_one_row_per_step_with_its_slo_the_best_and_the_warnings() {
        let steps =
            vec![step(1, 300, 30.0, 101.0, true), step(4, 400, 30.0, 380.0, true), step(16, 9, 2.5, 900.0, false)];
        let mut v = view("sweep", "http://127.0.0.1:8000", "m", "x");
        v.verdict = None;
        v.result = Some(RunResult::Sweep(SweepReport {
            started_at_ms: 0,
            best_step: SweepReport::pick_best(&steps),
            steps,
            stopped: false,
            verdict: None,
            preflight: None,
        }));
        let md = summary(&v);
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| concurrency")).collect();
        assert_eq!(rows.len(), 3, "{md}");
        assert!(rows[0].contains("| met |") && rows[2].contains("| **missed** |"), "{md}");
        assert!(rows[1].starts_with("| concurrency 4 ★ |") && !rows[0].contains('★'), "{md}");
        assert!(md.contains("| SLO (p99) |"), "{md}");
        let cols = |l: &str| l.matches('|').count();
        assert!(rows.iter().all(|r| cols(r) == cols(md.lines().find(|l| l.starts_with("| load")).unwrap())), "{md}");
        assert!(md.contains("**Best:** concurrency 4 — 380.0 output tok/s within the SLOs"), "{md}");
        let warnings: Vec<&str> = md.lines().filter(|l| l.starts_with("⚠ ")).collect();
        assert_eq!(warnings.len(), 1, "{md}");
        assert!(warnings[0].contains("step 3 (concurrency 16) lasted 2.5 s with 9 requests: too few to trust its p99"));
        assert!(warnings[0].contains("duration\\_s"), "Markdown-escaped: {md}");
    }
}
