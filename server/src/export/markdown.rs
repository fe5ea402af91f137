//! `summary.md`: a run as a Markdown table (one row per sweep step) to paste into a pull request or an issue.
//! Every string from a user or a target (name, target, model, verdict, id…) goes through [`cell`]: it shows as
//! itself, never as HTML, a link, an image or a broken table; a target URL is shown without its credentials.

use std::fmt::Write;

use protocol::archive::{display_name, format_utc};
use protocol::live_run::{RunResult, RunView};
use protocol::report::RunReport;
use protocol::spec::LoadSpec;

use super::text;

/// A string from a user or a target as inline Markdown text (see [`text::inline`]), safe in a table cell too.
fn cell(s: &str) -> String {
    text::inline(s)
}

fn load(l: &LoadSpec) -> String {
    match l {
        LoadSpec::Concurrency { concurrency } => format!("concurrency {concurrency}"),
        LoadSpec::Rate { rate_rps, .. } => format!("rate {rate_rps}/s"),
    }
}

fn row(out: &mut String, r: &RunReport, best: bool) {
    let latency = |count: u64, v: f64| if count > 0 { format!("{v:.1}") } else { "—".into() };
    let goodput = r.goodput_rps.map(|g| format!("{g:.2}")).unwrap_or_else(|| "—".into());
    let energy = r
        .gpu
        .as_ref()
        .and_then(|g| g.j_per_output_token.map(|j| format!("{j:.3}{}", if g.simulated { " (simulated)" } else { "" })))
        .unwrap_or_else(|| "—".into());
    let _ = writeln!(
        out,
        "| {}{} | {:.1} | {:.2} | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
        load(&r.load),
        if best { " ★" } else { "" },
        r.output_tokens_per_s,
        r.requests_per_s,
        latency(r.ttft_ms.count, r.ttft_ms.p50),
        latency(r.ttft_ms.count, r.ttft_ms.p99),
        latency(r.tpot_ms.count, r.tpot_ms.p50),
        latency(r.itl_ms.count, r.itl_ms.p50),
        latency(r.e2e_ms.count, r.e2e_ms.p99),
        r.requests_completed,
        r.requests_failed,
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
         | ok / failed | goodput (req/s) | GPU J / output token |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    match &run.result {
        Some(RunResult::Single(r)) => row(&mut out, r, false),
        Some(RunResult::Sweep(s)) => {
            for (i, r) in s.steps.iter().enumerate() {
                row(&mut out, r, s.best_step == Some(i));
            }
        }
        None => out.push_str("| (no result: the run ended before its load produced one) ||||||||||\n"),
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
}
