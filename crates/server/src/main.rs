use clap::Parser;
use politmaster::settings::LogFormat;
use tracing_subscriber::EnvFilter;

// Serving a request allocates and frees thousands of small values (the
// GraphQL value tree, its JSON); measured on the read benchmarks, mimalloc
// takes a tenth of the server's CPU that glibc's allocator did.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = politmaster::cli::Cli::parse();
    // sqlx logs every statement at info; that is noise in production.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Logging starts before anything else, so that even a setting that
    // does not parse is reported in the format asked for, when that one
    // parses.
    let format = cli.config().and_then(|config| config.log_format());
    match format {
        // One JSON object a line, with the request's span (its id) on
        // every line logged while serving it: for log collectors.
        Ok(LogFormat::Json) => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok(LogFormat::Text) => logs.init(),
        Err(error) => {
            logs.init();
            eprintln!("error: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    }
    match politmaster::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
