//! `tokenscope`: the command-line entry point. Parses the CLI, sets up logging and hands over to a subcommand.

use clap::Parser;
use server::cli::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    server::logging::init(cli.verbose);
    let result = match cli.command_or_serve() {
        Command::Serve(args) => server::commands::serve::main(args).await,
        Command::Run(args) => server::commands::run::main(args).await,
        Command::Mock(args) => server::commands::mock::main(args).await,
        Command::Gpu(args) => server::commands::gpu::main(args).await,
        Command::Import(args) => server::commands::import::main(args).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
