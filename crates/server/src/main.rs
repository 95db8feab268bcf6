use clap::Parser;
use tracing_subscriber::EnvFilter;

// Serving a request allocates and frees thousands of small values (the
// GraphQL value tree, its JSON); measured on the read benchmarks, mimalloc
// takes a tenth of the server's CPU that glibc's allocator did.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // sqlx logs every statement at info; that is noise in production.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match politmaster::cli::run(politmaster::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
