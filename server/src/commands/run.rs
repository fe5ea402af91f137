//! `tokenscope run`: benchmark an OpenAI-compatible server from the terminal. Options → validated spec →
//! preflight (waits for the server, picks model and endpoint) → the engine with a progress bar → a summary table,
//! `--json FILE`, and an exit status scripts can trust (0 ok, 1 failed or SLO missed, 2 bad options, 130 Ctrl-C).

mod args;
mod progress;
pub mod record;
mod series;
mod table;

use std::process::ExitCode;

use protocol::archive::RunSeries;
use protocol::event::RunEvent;
use protocol::live_run::RunResult;
use protocol::live_run::RunView;
use protocol::spec::{FieldError, RunSpec};
use tokio_util::sync::CancellationToken;

pub use args::{cli_flag, ArrivalArg, RunArgs, Warmup};
pub use table::{render_report, render_sweep};

use series::SeriesTap;

use crate::engine::dataset::DatasetAccess;
use crate::engine::workload::Workload;
use crate::export::png;
use crate::session::{self, EnergyScope, Outcome};
use crate::store::redact_url;
use crate::telemetry::Telemetry;

/// Exit status: the run failed (nothing succeeded, early stop) or an SLO was missed.
const EXIT_FAILED: u8 = 1;
/// Exit status: bad options.
const EXIT_USAGE: u8 = 2;
/// Exit status: interrupted by Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// Runs `tokenscope run`.
pub async fn main(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut spec = match args.to_spec() {
        Ok(spec) => spec,
        Err(errs) => return Ok(usage_errors(&errs)),
    };
    if let Err(e) = Workload::check_dataset(&spec, &DatasetAccess::local()) {
        eprintln!("error: --dataset: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let code = run_to_end(&mut spec, &args, cancel).await;
    ctrl_c.abort();
    code
}

/// What the terminal shows of the session: preflight states and notes on stderr (unless `--quiet`).
struct Terminal {
    quiet: bool,
}

impl session::Observer for Terminal {
    fn preflight_state(&mut self, state: &str) {
        if !self.quiet {
            eprintln!("preflight: {state}");
        }
    }

    fn load_starting(&mut self, _started_unix_ms: u64, _spec: &RunSpec, notes: &[String]) {
        if !self.quiet {
            for note in notes {
                eprintln!("note: {note}");
            }
        }
    }

    fn note(&mut self, note: &str) {
        if !self.quiet {
            eprintln!("note: {note}");
        }
    }
}

async fn run_to_end(spec: &mut RunSpec, args: &RunArgs, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let quiet = args.quiet;
    let telemetry = args.record.start_telemetry().await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let rx = feed_sim_load(rx, &telemetry);
    // The archive and --png both want the windows, requests and GPU samples.
    let (rx, tap) = if args.record.no_save && args.png.is_none() {
        (rx, None)
    } else {
        let (rx, tap) = SeriesTap::start(rx, &telemetry);
        (rx, Some(tap))
    };
    let bar = tokio::spawn(progress::follow(rx, progress::Plan::new(spec, quiet)));
    let energy =
        EnergyScope { gpus: args.record.telemetry.gpus.clone().unwrap_or_default(), model: args.record.model() };
    let outcome =
        session::run(spec, &telemetry, &energy, &DatasetAccess::local(), &mut Terminal { quiet }, tx, cancel).await;
    let _ = bar.await;
    let (result, pf) = match outcome {
        Outcome::Finished { result, preflight } => (result, preflight),
        Outcome::StoppedInPreflight => {
            eprintln!("interrupted during preflight: no load was sent");
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        Outcome::PreflightFailed(e) => {
            eprintln!("error: preflight: {e}");
            return Ok(ExitCode::from(EXIT_FAILED));
        }
        Outcome::Invalid(errs) => return Ok(usage_errors(&errs)),
        Outcome::BadTarget(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        Outcome::Failed(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_FAILED));
        }
    };
    let series = match tap {
        Some(tap) => tap.finish().await,
        None => Default::default(),
    };
    let (text, verdict, code) = match &result {
        RunResult::Single(r) => {
            let code = if r.stopped {
                EXIT_INTERRUPTED
            } else if r.failed() {
                EXIT_FAILED
            } else {
                0
            };
            (render_report(r), r.verdict.clone(), code)
        }
        RunResult::Sweep(s) => {
            let code = if s.stopped {
                EXIT_INTERRUPTED
            } else if s.verdict.is_some() || s.best_step.is_none() {
                EXIT_FAILED
            } else {
                0
            };
            (render_sweep(s), s.verdict.clone(), code)
        }
    };
    telemetry.stop();
    let json = serde_json::to_vec_pretty(&result)?;
    if quiet {
        if let Some(v) = verdict {
            eprintln!("verdict: {v}");
        }
    } else {
        print!("{text}");
    }
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, json) {
            eprintln!("error: cannot write --json {}: {e}", path.display());
            return Ok(ExitCode::from(EXIT_FAILED));
        }
        if !quiet {
            eprintln!("report written to {}", path.display());
        }
    }
    let saved = match args.record.save(spec, &result, pf.states.clone(), &series).await {
        Ok(id) => id,
        Err(e) => {
            eprintln!("warning: the run was not saved to the archive {}: {e:#}", redact_url(&args.record.db.db));
            None
        }
    };
    if let (Some(id), false) = (&saved, quiet) {
        eprintln!("saved to the archive {} as run {id}", redact_url(&args.record.db.db));
    }
    if let Some(path) = &args.png {
        // The image names the archived run's id, or none when the run was not saved.
        let view = RunView::ended(saved.unwrap_or_default(), spec.clone(), result, pf.states.clone());
        if let Err(e) = write_png(path, view, series).await {
            eprintln!("error: cannot write --png {}: {e:#}", path.display());
            return Ok(ExitCode::from(EXIT_FAILED));
        }
        if !quiet {
            eprintln!("charts written to {}", path.display());
        }
    }
    Ok(ExitCode::from(code))
}

/// Draws the run's charts (off the async workers) and writes them to `path`.
async fn write_png(path: &std::path::Path, view: RunView, series: crate::store::SeriesBatch) -> anyhow::Result<()> {
    let latency = png::latency_of(&series.requests);
    let series = RunSeries { telemetry: series.telemetry, windows: series.windows, gpu: series.gpu };
    let bytes = tokio::task::spawn_blocking(move || png::render(&view, &series, &latency)).await??;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Passes the engine's events on to the progress bar, letting simulated GPUs (if any) follow the load.
fn feed_sim_load(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<RunEvent>,
    telemetry: &Telemetry,
) -> tokio::sync::mpsc::UnboundedReceiver<RunEvent> {
    let Some(load) = telemetry.sim_load() else { return rx };
    let (tx, out) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let RunEvent::Window(w) = &ev {
                load.set_in_flight(w.in_flight);
                load.set_tokens_per_s(w.output_tokens_per_s);
            }
            if tx.send(ev).is_err() {
                break;
            }
        }
        load.set_in_flight(0);
        load.set_tokens_per_s(0.0);
    });
    out
}

/// Prints each problem under the flag that sets it and returns the usage exit status.
fn usage_errors(errs: &[FieldError]) -> ExitCode {
    for e in errs {
        match cli_flag(&e.field) {
            Some(flag) => eprintln!("error: {flag}: {}", e.message),
            None => eprintln!("error: {}: {}", e.field, e.message),
        }
    }
    eprintln!("\nFor more information, try 'tokenscope run --help'.");
    ExitCode::from(EXIT_USAGE)
}
