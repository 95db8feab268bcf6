//! `suite`: every benchmark, on fresh databases, into one Markdown report
//! (docs/BENCHMARKS.md): the read path on PostgreSQL and on SQLite, each
//! seeded with `politmaster seed --bench`, with the response cache off
//! and on, at each concurrency; then the live fan-out. One command
//! reproduces the report from a fresh clone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::query::{self, Scenario};
use crate::query_report::{QueryReport, Summary, mib, ms};
use crate::server::{seed_bench, server_binary};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A PostgreSQL URL whose user may create databases; the suite creates
    /// one of its own there and drops it afterwards.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Leave PostgreSQL out.
    #[arg(long)]
    skip_postgres: bool,
    /// Leave SQLite out.
    #[arg(long)]
    skip_sqlite: bool,
    /// Leave the fan-out out.
    #[arg(long)]
    skip_fanout: bool,
    /// Where the report goes.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    output: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "32,128")]
    concurrency: Vec<usize>,
    /// Seconds of load before each measured window.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Seconds measured per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Runs of each scenario and concurrency (the report gives the median).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Fan-out subscribers.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Fan-out rounds.
    #[arg(long, default_value_t = 12)]
    fanout_rounds: u32,
    /// The politmaster binary [default: next to this binary].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Flags for `politmaster seed --bench` (`--seed-arg=--articles=2000`),
    /// for a quicker, smaller run; the report then says so.
    #[arg(long = "seed-arg", allow_hyphen_values = true)]
    seed_args: Vec<String>,
}

/// A server configuration measured on each database.
struct Configuration {
    name: &'static str,
    env: Vec<(String, String)>,
}

fn configurations() -> Vec<Configuration> {
    vec![
        Configuration {
            name: "cold path",
            env: vec![("POLITMASTER_RESPONSE_CACHE_MB".into(), "0".into())],
        },
        Configuration {
            name: "response cache",
            env: Vec::new(),
        },
    ]
}

/// The read-path figures of one database and configuration.
struct Measured {
    backend: &'static str,
    configuration: &'static str,
    seeded: String,
    report: QueryReport,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let binary = server_binary(args.server_bin.clone())?;
    let started = Instant::now();
    let mut measured = Vec::new();
    let mut backends: Vec<&'static str> = Vec::new();
    if !args.skip_postgres {
        backends.push("PostgreSQL");
    }
    if !args.skip_sqlite {
        backends.push("SQLite");
    }
    for backend in backends {
        let database = match backend {
            "PostgreSQL" => FreshDatabase::postgres(&args.postgres_url)?,
            _ => FreshDatabase::sqlite()?,
        };
        eprintln!("seeding {backend} ({})…", database.url_for_logs());
        let seed_started = Instant::now();
        let seeded = seed_bench(&binary, &database.url, &args.seed_args)?;
        eprintln!(
            "{seeded} (the command took {:.0} s)",
            seed_started.elapsed().as_secs_f64()
        );
        for configuration in configurations() {
            let query_args = query::Args {
                scenarios: Scenario::ALL.to_vec(),
                concurrency: args.concurrency.clone(),
                warmup: args.warmup,
                duration: args.duration,
                repeats: args.repeats,
                server_url: None,
                server_pid: None,
                database_url: Some(database.url.clone()),
                server_bin: Some(binary.clone()),
                server_env: configuration.env.clone(),
                get: false,
                json: false,
            };
            let report = query::measure(&query_args).await?;
            eprint!("{}", report.text());
            measured.push(Measured {
                backend,
                configuration: configuration.name,
                seeded: seeded.clone(),
                report,
            });
        }
    }
    let fanout = if args.skip_fanout {
        None
    } else {
        Some(run_fanout(&args, &binary)?)
    };
    let markdown = render(&args, &measured, fanout.as_ref(), started.elapsed());
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.output, markdown)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// A database of the suite's own, dropped (PostgreSQL) or deleted (SQLite)
/// when the suite is done with it, whatever happens.
struct FreshDatabase {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres { admin_url: String, name: String },
    Sqlite { dir: PathBuf },
}

impl FreshDatabase {
    fn postgres(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("politmaster_bench_{}", uuid::Uuid::new_v4().simple());
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        // Configured as a deployment whose data sits on SSD or in memory
        // (the usual production setting, see README): with the default of
        // 4, the planner prices index lookups as if on spinning disks.
        psql(
            admin_url,
            &format!("ALTER DATABASE {name} SET random_page_cost = {RANDOM_PAGE_COST}"),
        )?;
        let mut url = reqwest::Url::parse(admin_url).context("--postgres-url")?;
        url.set_path(&format!("/{name}"));
        Ok(FreshDatabase {
            url: url.to_string(),
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    fn sqlite() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "politmaster-bench-suite-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(FreshDatabase {
            url: format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
            cleanup: Cleanup::Sqlite { dir },
        })
    }

    fn url_for_logs(&self) -> &str {
        &self.url
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Postgres { admin_url, name } => {
                if let Err(error) = psql(admin_url, &format!("DROP DATABASE {name} WITH (FORCE)")) {
                    eprintln!("warning: could not drop {name}: {error:#}");
                }
            }
            Cleanup::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// `random_page_cost` of the suite's PostgreSQL database.
const RANDOM_PAGE_COST: f64 = 1.1;

/// One statement through `psql`, which every PostgreSQL installation has:
/// the bench needs no database driver of its own for two statements.
fn psql(url: &str, statement: &str) -> anyhow::Result<String> {
    let output = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            statement,
        ])
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !output.status.success() {
        bail!(
            "psql `{statement}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The fan-out benchmark in a child process of this binary, read from its
/// JSON report.
fn run_fanout(args: &Args, binary: &Path) -> anyhow::Result<Value> {
    eprintln!("fan-out to {} subscribers…", args.subscribers);
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .args(["fanout", "--json", "--subscribers"])
        .arg(args.subscribers.to_string())
        .arg("--rounds")
        .arg(args.fanout_rounds.to_string())
        .arg("--server-bin")
        .arg(binary)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running the fan-out benchmark")?;
    if !output.status.success() {
        bail!("the fan-out benchmark failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).context("the fan-out benchmark's JSON")
}

/// The targets of the read path (issue 9): cache off, c=32, PostgreSQL.
const TARGETS: [(Scenario, f64, f64); 3] = [
    (Scenario::Feed, 1_500.0, 80.0),
    (Scenario::Article, 5_000.0, 40.0),
    (Scenario::LiveBlog, 2_500.0, 40.0),
];

fn render(
    args: &Args,
    measured: &[Measured],
    fanout: Option<&Value>,
    took: std::time::Duration,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `politmaster-bench suite` (see `crates/bench/README.md`) on {} at commit `{}`, \
         in {:.0} minutes. Do not edit by hand: run the suite again.\n",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default(),
        command_output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "?".into()),
        took.as_secs_f64() / 60.0
    );
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "{}", machine());
    if !args.skip_postgres {
        let version = psql(&args.postgres_url, "SHOW server_version").unwrap_or_default();
        let _ = writeln!(
            md,
            "- PostgreSQL {version}, local, over TCP without TLS, its configuration as installed but \
             `random_page_cost = {RANDOM_PAGE_COST}` on the benchmark database (data on SSD or in memory)"
        );
    }
    let _ = writeln!(
        md,
        "- the server, the database and the load generator share the machine; the load \
         generator runs on one thread (`srv`, `db+other` and `bench` below are the cores each \
         used)\n"
    );
    let _ = writeln!(md, "## Data\n");
    for m in measured.iter().filter(|m| m.configuration == "cold path") {
        let _ = writeln!(md, "- {}: {}", m.backend, m.seeded);
    }
    if !args.seed_args.is_empty() {
        let _ = writeln!(
            md,
            "- smaller than the specified data set: `seed --bench {}`",
            args.seed_args.join(" ")
        );
    }
    let _ = writeln!(
        md,
        "\n## Read path\n\nClosed loop: each connection sends its next request when the last \
         response is in. {} s warm-up, then {} s measured, {} runs; req/s is the median of the \
         runs and *spread* their range as a share of it (the noise); latencies are the median \
         of the runs' percentiles. Documents: `crates/bench/src/query.rs`.\n",
        args.warmup, args.duration, args.repeats
    );
    for m in measured {
        let _ = writeln!(md, "### {}, {}\n", m.backend, m.configuration);
        let _ = writeln!(
            md,
            "| scenario | c | req/s | spread | p50 | p95 | p99 | max | errors | srv | db+other | bench | response |"
        );
        let _ = writeln!(
            md,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for s in m.report.summaries() {
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} % | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.scenario.name(),
                s.concurrency,
                s.rps,
                s.spread_percent(),
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                ms(s.max),
                s.errors,
                cores(s.server_cores),
                cores(s.other_cores),
                cores(s.bench_cores),
                s.bytes_per_response
                    .map_or_else(|| "–".into(), |b| format!("{:.1} KB", b as f64 / 1000.0)),
            );
        }
        if let Some(peak) = m.report.server_peak_rss {
            let _ = writeln!(
                md,
                "\nServer peak resident memory: {}{}.",
                mib(peak),
                m.report.anon_note()
            );
            if m.backend == "SQLite" {
                let _ = writeln!(
                    md,
                    "\nOn SQLite the resident memory counts the memory-mapped database file, once per \
                     connection that touched a page of it: pages of the OS cache, shared and \
                     reclaimable, not the server's own."
                );
            }
        }
        let _ = writeln!(md);
    }
    render_targets(&mut md, measured);
    if let Some(fanout) = fanout {
        render_fanout(&mut md, fanout);
    }
    let _ = writeln!(
        md,
        "## Reproducing\n\n```sh\ncargo build --release -p politmaster -p politmaster-bench\n\
         target/release/politmaster-bench suite\n```\n\nIt needs a PostgreSQL that \
         `--postgres-url` (default `postgres://postgres@127.0.0.1:5432/postgres`) may create \
         databases on, and `psql`. Seeding takes a few minutes per database."
    );
    md
}

fn render_targets(md: &mut String, measured: &[Measured]) {
    let Some(pg) = measured
        .iter()
        .find(|m| m.backend == "PostgreSQL" && m.configuration == "cold path")
    else {
        return;
    };
    let _ = writeln!(
        md,
        "### Against the targets (PostgreSQL, cold path, c=32)\n\n\
         | scenario | target req/s | measured | target p99 | measured p99 | |\n\
         | --- | ---: | ---: | ---: | ---: | --- |"
    );
    let summaries = pg.report.summaries();
    for (scenario, rps, p99_ms) in TARGETS {
        let Some(s) = find(&summaries, scenario, 32) else {
            continue;
        };
        let p99 = s.p99.map_or(f64::INFINITY, |d| d.as_secs_f64() * 1000.0);
        let met = s.rps >= rps && p99 <= p99_ms;
        let _ = writeln!(
            md,
            "| {} | {rps:.0} | {:.0} | {p99_ms:.0} ms | {} | {} |",
            scenario.name(),
            s.rps,
            ms(s.p99),
            if met {
                "met".to_owned()
            } else {
                format!("missed ({:.0} % of the rate)", s.rps / rps * 100.0)
            }
        );
    }
    if let Some(lite) = measured
        .iter()
        .find(|m| m.backend == "SQLite" && m.configuration == "cold path")
    {
        let _ = writeln!(
            md,
            "\nSQLite against PostgreSQL, c=32 (target: at least as fast):\n"
        );
        let lite = lite.report.summaries();
        for scenario in Scenario::ALL {
            if let (Some(p), Some(l)) = (find(&summaries, scenario, 32), find(&lite, scenario, 32))
            {
                let _ = writeln!(
                    md,
                    "- {}: {:.0} req/s against {:.0} ({:+.0} %)",
                    scenario.name(),
                    l.rps,
                    p.rps,
                    (l.rps / p.rps - 1.0) * 100.0
                );
            }
        }
    }
    if let Some(cached) = measured
        .iter()
        .find(|m| m.backend == "PostgreSQL" && m.configuration == "response cache")
        && let Some(feed) = find(&cached.report.summaries(), Scenario::Feed, 32)
    {
        let _ = writeln!(
            md,
            "\nWith the response cache (target: feed at least 15,000 req/s): feed {:.0} req/s, {}.",
            feed.rps,
            if feed.rps >= 15_000.0 {
                "met".to_owned()
            } else {
                format!("missed ({:.0} % of the rate)", feed.rps / 15_000.0 * 100.0)
            }
        );
    }
    let _ = writeln!(md);
}

fn find(summaries: &[Summary], scenario: Scenario, concurrency: usize) -> Option<&Summary> {
    summaries
        .iter()
        .find(|s| s.scenario == scenario && s.concurrency == concurrency)
}

fn render_fanout(md: &mut String, fanout: &Value) {
    let figure = |key: &str, field: &str| {
        fanout[key][field]
            .as_f64()
            .map_or_else(|| "–".to_owned(), |v| format!("{v:.1} ms"))
    };
    let _ = writeln!(
        md,
        "## Live fan-out\n\n`politmaster-bench fanout`: {} WebSocket subscribers of one live \
         blog on a spawned server (SQLite, in-process bus), one entry posted per round, {} \
         rounds after a warm-up.\n\n\
         | time to last subscriber (median) | min | max | rounds without steal (median) | in every socket (median) | dropped |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: |\n\
         | {} | {} | {} | {} | {} | {} |\n",
        fanout["subscribers"],
        fanout["rounds"]
            .as_array()
            .map_or(0, |r| r.len().saturating_sub(1)),
        figure("time_to_last_subscriber_ms", "median"),
        figure("time_to_last_subscriber_ms", "min"),
        figure("time_to_last_subscriber_ms", "max"),
        figure("time_to_last_subscriber_without_steal_ms", "median"),
        figure("time_to_every_socket_ms", "median"),
        fanout["dropped_subscribers"]["count"],
    );
}

fn cores(c: Option<f64>) -> String {
    c.map_or_else(|| "–".to_owned(), |c| format!("{c:.2}"))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "- {model}, {cores} cores, {memory} of memory, Linux {}",
        kernel.trim()
    )
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
