use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Without `RUST_LOG`: `info`, but not actix-http's connection errors. Any
/// client causes those at will (a malformed request line or header is
/// answered 400, then logged at ERROR), so they would flood the log and
/// bury real errors; `RUST_LOG=info,actix_http=trace` shows them again.
const DEFAULT_LOG_FILTER: &str = "info,actix_http::h1::dispatcher=off";

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)))
        // Colours only for a terminal, not into files and journals.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        // A log that cannot be written (a full disk, a log reader gone) is
        // lost, not reported with eprintln!, which would panic the request,
        // or the signal handler, that logged.
        .log_internal_errors(false)
        .init();
    let cli = realmgate::cli::Cli::parse();
    match realmgate::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!: with stderr closed it would panic instead of failing.
            let _ = writeln!(std::io::stderr(), "error: {}", realmgate::error::ErrorChain(&error));
            ExitCode::FAILURE
        }
    }
}
