//! What preflight notes about a target that passed: which backend it looks like, whether it reports usage and
//! honours the output length — with advice in the words of whoever asked ([`Surface`]) and, where one setting
//! would fix it, that [`Fix`] for the form's buttons.

use protocol::preflight::{backend_cli_name, backend_label, Fix, PreflightReport, Setting, Surface};
use protocol::spec::Backend;

use super::super::presets::preset;
use super::super::target::{RequestResult, TokenSource};
use super::detect;

/// The backends whose presets force an exact length, as `surface` lists them.
fn forcing_presets(surface: Surface) -> String {
    const FORCING: [Backend; 6] =
        [Backend::Vllm, Backend::Sglang, Backend::Lmdeploy, Backend::Trtllm, Backend::LlamaCpp, Backend::Ollama];
    let name = |b: Backend| match surface {
        Surface::Cli => backend_cli_name(b),
        Surface::Form => backend_label(b),
    };
    FORCING.map(name).join(", ")
}

/// "pass --backend (vllm, …)" / "choose the server's Backend preset (vLLM, …)".
fn pass_backend(surface: Surface) -> String {
    match surface {
        Surface::Cli => format!("pass --backend ({})", forcing_presets(surface)),
        Surface::Form => format!("choose the server's Backend preset ({})", forcing_presets(surface)),
    }
}

/// "try --backend x" on the CLI, "set Backend preset to X" on the form.
fn try_fix(fix: &Fix, surface: Surface) -> String {
    match surface {
        Surface::Cli => format!("try {}", fix.words(surface)),
        Surface::Form => fix.words(surface),
    }
}

/// Notes what detection found when it matters (nothing recognised for `auto`; a given backend that does not match
/// the server) and returns the state line.
pub(super) fn note_backend(given: Backend, report: &mut PreflightReport, surface: Surface) -> String {
    let used = detect::cli_name(report.backend);
    let first = report.backend_evidence.first().cloned().unwrap_or_default();
    match (given, report.backend_detected) {
        (Backend::Auto, Some(_)) => format!("backend: {used} (detected: {first})"),
        (Backend::Auto, None) => {
            report.notes.push(format!(
                "could not tell which server this is (nothing in /v1/models owned_by, /version, /get_model_info, \
                 /info, /props or /api/version looked like vLLM, SGLang, TGI, llama.cpp, Ollama, LMDeploy or \
                 trtllm-serve): requests carry plain OpenAI fields only; {} to force exact output lengths",
                pass_backend(surface)
            ));
            "backend: generic (not recognised)".into()
        }
        (given, Some(seen)) if preset(seen) != preset(given) => {
            let fix = Fix::Backend { backend: seen };
            let seen = detect::cli_name(seen);
            let given_words = match surface {
                Surface::Cli => format!("--backend {used} was given"),
                Surface::Form => format!("the Backend preset is {}", backend_label(report.backend)),
            };
            report.notes.push(format!(
                "{given_words}, but the server looks like {seen} ({first}): its length fields may be ignored or \
                 rejected; {} (or auto)",
                try_fix(&fix, surface)
            ));
            report.fixes.push(fix);
            format!("backend: {used} (given; the server looks like {seen})")
        }
        _ => format!("backend: {used} (given)"),
    }
}

/// Fills the usage and length facts from the check request (`finished`: it ran to its end), with advice when the
/// server generated fewer tokens than asked: its end-of-sequence token was not suppressed.
pub(super) fn record_check(report: &mut PreflightReport, check: &RequestResult, finished: bool, surface: Surface) {
    let asked = report.output_length_requested;
    report.usage_reported = check.token_source == TokenSource::Usage;
    report.output_length_received = check.output_tokens;
    report.output_length_honoured = finished && check.output_tokens == asked;
    if !report.usage_reported {
        report.notes.push(
            "the server sent no `usage`: output tokens are counted as content chunks, which undercounts when a \
             chunk carries several tokens"
                .into(),
        );
    }
    if !finished || report.output_length_honoured {
        return;
    }
    let got = check.output_tokens;
    if got > asked {
        report.notes.push(format!(
            "asked for {asked} output tokens, got {got}: the server does not stop at max_tokens; output lengths \
             will differ from what the run asks"
        ));
        return;
    }
    let used = report.backend;
    let name = detect::cli_name(used);
    let setting = Setting::Backend.name(surface);
    let advice = match report.backend_detected {
        Some(seen) if preset(seen) != preset(used) => {
            let fix = Fix::Backend { backend: seen };
            let advice = format!("the server looks like {}: {}", detect::cli_name(seen), try_fix(&fix, surface));
            report.fixes.push(fix);
            advice
        }
        _ if used == Backend::Tgi => "TGI's OpenAI API cannot force a length: outputs end at the model's end of \
             sequence and will differ between runs; compare runs by tokens per second, not by request count"
            .into(),
        _ if preset(used).forces_length() => {
            let right = match surface {
                Surface::Cli => format!("is --backend {name} right"),
                Surface::Form => format!("is the {setting} {} right", backend_label(used)),
            };
            format!(
                "although the {name} preset sends its length fields (ignore_eos, min_tokens…): {right}, and does \
                 the server honour them? (vLLM, SGLang: ignore_eos and min_tokens; llama.cpp: ignore_eos; otherwise \
                 start the server so that it ignores EOS)"
            )
        }
        _ => format!(
            "{} so requests carry the server's ignore_eos / min_tokens fields, or start the server so that it \
             ignores EOS; otherwise outputs will be shorter than asked and differ between runs and backends",
            pass_backend(surface)
        ),
    };
    report.notes.push(format!(
        "asked for {asked} output tokens, got {got}: the server stopped at its end-of-sequence token (EOS not \
         suppressed); {advice}"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::spec::Endpoint;

    fn report(backend: Backend, detected: Option<Backend>, asked: u32) -> PreflightReport {
        PreflightReport {
            ready: true,
            waited_s: 0.0,
            states: vec![],
            health_status: Some(200),
            models: vec!["m".into()],
            model: "m".into(),
            endpoint: Endpoint::Completions,
            endpoints_working: vec![Endpoint::Completions],
            backend,
            backend_detected: detected,
            backend_evidence: detected.map(|b| format!("x → {}", detect::cli_name(b))).into_iter().collect(),
            usage_reported: false,
            output_length_requested: asked,
            output_length_received: 0,
            output_length_honoured: false,
            notes: vec![],
            fixes: vec![],
        }
    }

    fn check(tokens: u32) -> RequestResult {
        let at = std::time::Instant::now();
        RequestResult {
            index: 0,
            sent_at: at,
            chunks: vec![],
            done_at: at,
            output_tokens: tokens,
            token_source: TokenSource::Usage,
            prompt_tokens: Some(9),
            retried: false,
            error: None,
        }
    }

    #[test]
    fn the_backend_line_and_notes_say_what_detection_found() {
        let cli = Surface::Cli;
        let mut r = report(Backend::Vllm, Some(Backend::Vllm), 8);
        assert_eq!(note_backend(Backend::Auto, &mut r, cli), "backend: vllm (detected: x → vllm)");
        assert!(r.notes.is_empty());
        let mut r = report(Backend::Generic, None, 8);
        assert_eq!(note_backend(Backend::Auto, &mut r, cli), "backend: generic (not recognised)");
        assert!(r.notes[0].contains("pass --backend"), "{:?}", r.notes);
        let mut r = report(Backend::Sglang, Some(Backend::LlamaCpp), 8);
        assert_eq!(
            note_backend(Backend::Sglang, &mut r, cli),
            "backend: sglang (given; the server looks like llama-cpp)"
        );
        assert!(r.notes[0].contains("try --backend llama-cpp"), "{:?}", r.notes);
        assert_eq!(r.fixes, [Fix::Backend { backend: Backend::LlamaCpp }]);
        let mut r = report(Backend::Sglang, Some(Backend::LlamaCpp), 8);
        note_backend(Backend::Sglang, &mut r, Surface::Form);
        assert!(r.notes[0].contains("rejected; set Backend preset to llama.cpp server (or auto)"), "{:?}", r.notes);
        assert!(!r.notes[0].contains("--"), "{:?}", r.notes);
        let mut r = report(Backend::Trtllm, Some(Backend::Vllm), 8);
        assert_eq!(note_backend(Backend::Trtllm, &mut r, cli), "backend: trtllm (given)", "same fields: no note");
        assert!(r.notes.is_empty());
    }

    #[test]
    fn short_outputs_are_noted_with_the_fix() {
        let note = |mut r: PreflightReport, got: u32, surface| {
            record_check(&mut r, &check(got), true, surface);
            assert!(!r.output_length_honoured);
            r.notes.pop().unwrap_or_default()
        };
        let cli = Surface::Cli;
        let n = note(report(Backend::Generic, None, 64), 10, cli);
        assert!(n.starts_with("asked for 64 output tokens, got 10") && n.contains("pass --backend"), "{n}");
        let n = note(report(Backend::Generic, None, 64), 10, Surface::Form);
        assert!(n.contains("choose the server's Backend preset (vLLM,") && !n.contains("--"), "{n}");
        let n = note(report(Backend::Vllm, Some(Backend::Vllm), 64), 10, cli);
        assert!(n.contains("although the vllm preset"), "{n}");
        let n = note(report(Backend::Ollama, Some(Backend::Lmdeploy), 64), 10, cli);
        assert!(n.contains("try --backend lmdeploy"), "{n}");
        let n = note(report(Backend::Tgi, Some(Backend::Tgi), 64), 10, cli);
        assert!(n.contains("TGI's OpenAI API cannot force a length"), "{n}");
        let n = note(report(Backend::Generic, None, 64), 70, cli);
        assert!(n.contains("does not stop at max_tokens"), "{n}");

        let mut r = report(Backend::Mock, Some(Backend::Mock), 64);
        record_check(&mut r, &check(64), true, cli);
        assert!(r.output_length_honoured && r.usage_reported && r.notes.is_empty(), "{:?}", r.notes);
        let mut r = report(Backend::Mock, Some(Backend::Mock), 64);
        record_check(&mut r, &check(10), false, cli);
        assert!(!r.output_length_honoured && r.notes.is_empty(), "an unfinished check is noted by the caller");
    }
}
