//! `tokenscope import FILE`: puts a report written by `tokenscope run --json` (or downloaded as `export.json`)
//! into the archive, so that runs made elsewhere can be listed and compared on the dashboard.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::args::DbArgs;
use crate::import::{imported_view, parse_report_bytes};
use crate::store::Store;

/// Options of `tokenscope import`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  tokenscope run --target URL --concurrency 8 --json report.json --no-save\n  \
                        tokenscope import report.json --name \"vLLM c=8 on the pod\"")]
pub struct ImportArgs {
    /// A report as `tokenscope run --json FILE` writes it (a run's, or a sweep's with `steps`).
    pub file: PathBuf,
    /// Name of the run in the archive.
    #[arg(long)]
    pub name: Option<String>,
    /// The archive to add the run to.
    #[command(flatten)]
    pub db: DbArgs,
}

/// Reads, checks and archives the report; prints the new run's id. Exit status 2 when the file is not a report.
pub async fn main(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let view = parse_report_bytes(&bytes)
        .and_then(|result| imported_view(&result, args.name.as_deref()))
        .with_context(|| format!("{} cannot be imported", args.file.display()))?;
    let store = Store::connect(&args.db.db).await?;
    store.save_run_with_meta(&view).await?;
    println!("{}", view.id);
    eprintln!(
        "imported {} as run {} (tagged imported) into {}",
        args.file.display(),
        view.id,
        crate::store::redact_url(&args.db.db)
    );
    Ok(ExitCode::SUCCESS)
}
