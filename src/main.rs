use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> ExitCode {
    // OpenSSL initialised first by us, without its exit-time cleanup: libpq
    // would otherwise register that cleanup, and when the process exits
    // (after a start-up error, say) while a pool thread is still opening a
    // TLS connection to PostgreSQL, the thread uses freed OpenSSL state and
    // the process dies with SIGSEGV instead of its exit code (seen in 7 of
    // 60 failed starts).
    openssl::init();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = realmgate::cli::Cli::parse();
    match realmgate::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", realmgate::error::ErrorChain(&error));
            ExitCode::FAILURE
        }
    }
}
