//! `politmaster-bench`: politmaster's own benchmark tool. `fanout`: how long
//! a live-blog entry takes to reach N WebSocket subscribers; `floor`: the
//! same traffic over plain TCP, the machine's floor for it; `query`: the
//! read path's throughput and latency; `suite`: all of it on fresh
//! databases, written to docs/BENCHMARKS.md (see README.md).

mod fanout;
mod feed;
mod floor;
mod graphql;
mod load;
mod logs;
mod procfs;
mod query;
mod query_report;
mod report;
mod round;
mod server;
mod suite;
mod tracker;
mod ws;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "politmaster-bench",
    version,
    about = "Benchmarks for the politmaster server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Time one live-blog entry's delivery to N WebSocket subscribers.
    Fanout(fanout::Args),
    /// Time the same traffic over plain loopback TCP, with no server in the
    /// way: the machine's floor for `fanout`.
    Floor(floor::Args),
    /// Requests per second and latency of the read path at a fixed
    /// concurrency: feed, article, live blog, search.
    Query(query::Args),
    /// The whole suite on fresh databases (PostgreSQL, then SQLite):
    /// seeding, queries at each concurrency, fan-out; writes a Markdown report.
    Suite(suite::Args),
    /// Print a synthetic RSS feed, for timing `politmaster import-feed`.
    Feed(feed::Args),
    /// The reading side of `floor`, which runs it in a child process.
    #[command(hide = true)]
    FloorReader(floor::ReaderArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let bench = async {
        match cli.command {
            Command::Fanout(args) => fanout::run(args).await,
            Command::Floor(args) => tokio::task::spawn_blocking(move || floor::run(args)).await?,
            Command::Query(args) => query::run(args).await,
            Command::Suite(args) => suite::run(args).await,
            Command::FloorReader(args) => floor::read(args).await,
            Command::Feed(args) => feed::run(args),
        }
    };
    // On ctrl-c the bench future is dropped, and with it the spawned
    // server's guard, which kills the server.
    let result = tokio::select! {
        result = bench => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
