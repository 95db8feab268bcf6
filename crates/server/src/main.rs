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
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Read here, before the settings: logging starts first, so that a
    // setting that does not parse is reported in the format asked for.
    match std::env::var("POLITMASTER_LOG_FORMAT").as_deref() {
        // One JSON object a line, with the request's span (its id) on
        // every line logged while serving it: for log collectors.
        Ok("json") => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            logs.init();
            eprintln!("error: POLITMASTER_LOG_FORMAT must be `text` or `json`, not `{other}`");
            return std::process::ExitCode::FAILURE;
        }
    }
    match politmaster::cli::run(politmaster::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
