//! `summary.md`: a run as a Markdown table (one row per sweep step) to paste into a pull request or an issue.

use std::fmt::Write;

use protocol::archive::{display_name, format_utc};
use protocol::live_run::{RunResult, RunView};
use protocol::report::RunReport;
use protocol::spec::LoadSpec;

/// Escapes what would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
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
        "{} · started {} · target `{}` · model `{}`",
        run.status.as_str(),
        format_utc(run.started_unix_ms),
        cell(&run.spec.target),
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
            "\nToken counts: prompts from `{}`, outputs from `{}`{}.",
            r.input_tokens_source,
            r.output_tokens_source,
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
        "\n<sub>run `{}` · tokenscope {} · TTFT, TPOT, ITL and E2E as defined in docs/metrics.md; warmup excluded</sub>",
        run.id,
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
}
