//! The `politmaster` command line: `serve` (the default), `migrate`,
//! `seed --demo`, `token create|revoke`, `import-feed`, `schema [--check]`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use domain::Role;

use crate::seed;
use crate::settings::{Config, Settings};
use crate::startup::{Application, Bus, open_newsroom};

#[derive(Parser, Debug)]
#[command(
    name = "politmaster",
    version,
    about = "The GraphQL backend of a political news site"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the API (the default). Each setting is a flag here or its
    /// environment variable (the README's configuration table).
    Serve(Box<Config>),
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Seed content into the database.
    Seed {
        /// Add the demo newsroom (authors, articles, live blogs, breaking news).
        #[arg(long)]
        demo: bool,
        /// Add the benchmark newsroom: a generated year of articles, authors,
        /// tags and live blogs (sizes below). Items whose slug exists are skipped.
        #[arg(long)]
        bench: bool,
        #[command(flatten)]
        sizes: BenchSizeArgs,
    },
    /// Manage API tokens for the editorial desk.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import other publishers' stories from RSS or Atom feeds, as
    /// articles crediting them. An item imported before (by its GUID or its
    /// link) is skipped; one that cannot be imported is reported, and the
    /// rest go on. Fails when any feed or item failed.
    ImportFeed {
        /// Feed URLs or files; without any, the feeds of the feeds file.
        #[arg(value_name = "SOURCE")]
        sources: Vec<String>,
        /// The feeds file (TOML): publishers, sections and keyword rules.
        #[arg(long, env = "POLITMASTER_FEEDS", value_name = "FILE")]
        config: Option<PathBuf>,
        /// The section of items that no rule places (instead of the file's
        /// `default_section`).
        #[arg(long, value_name = "SLUG")]
        section: Option<String>,
        /// Publish the stories; without it, they wait as drafts for the desk
        /// (unless the feeds file says `publish = true`).
        #[arg(long)]
        publish: bool,
    },
    /// Print the GraphQL schema (SDL).
    Schema {
        /// Fail if the checked-in schema file differs from the code.
        #[arg(long)]
        check: bool,
        /// The schema file for --check.
        #[arg(long, default_value = "schema.graphql")]
        path: PathBuf,
    },
}

/// The sizes of `seed --bench`; the defaults are the benchmarks' data set.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct BenchSizeArgs {
    /// Articles to generate (5% stay drafts).
    #[arg(long, default_value_t = 20_000)]
    pub articles: usize,
    /// Authors, 1 to 3 of them on each article.
    #[arg(long, default_value_t = 200)]
    pub authors: usize,
    /// Tags, 2 to 5 of them on each article.
    #[arg(long, default_value_t = 500)]
    pub tags: usize,
    /// Live blogs.
    #[arg(long, default_value_t = 10)]
    pub live_blogs: usize,
    /// Entries of each live blog.
    #[arg(long, default_value_t = 1_000)]
    pub entries_per_blog: usize,
}

impl From<BenchSizeArgs> for seed::BenchSizes {
    fn from(args: BenchSizeArgs) -> Self {
        seed::BenchSizes {
            articles: args.articles,
            authors: args.authors,
            tags: args.tags,
            live_blogs: args.live_blogs,
            entries_per_blog: args.entries_per_blog,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print it once; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        /// editor or admin
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// How long the token works, e.g. `12h`, `30d` (units: s, m, h,
        /// d); without it, until revoked. Sockets opened with it close
        /// when it expires.
        #[arg(long, value_parser = parse_lifetime)]
        expires_in: Option<chrono::Duration>,
    },
    /// Revoke every token with this name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

/// A lifetime such as `90m`, `12h` or `30d`.
fn parse_lifetime(raw: &str) -> Result<chrono::Duration, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("needs a unit: s, m, h or d (as in `12h`)")?;
    let (amount, unit) = raw.split_at(split);
    let amount: i64 = amount
        .parse()
        .map_err(|_| format!("`{raw}` does not start with a whole number"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    amount
        .checked_mul(seconds_per_unit)
        .filter(|&seconds| seconds > 0 && seconds <= 10 * 365 * 86_400)
        .map(chrono::Duration::seconds)
        .ok_or_else(|| format!("`{raw}` must be more than nothing and at most ten years"))
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).map_err(|_| "must be `editor` or `admin`".to_owned())
}

impl Cli {
    /// The settings `serve` runs with: its flags, or else the environment.
    pub fn config(&self) -> anyhow::Result<Config> {
        match &self.command {
            Some(Command::Serve(config)) => Ok(Config::clone(config)),
            _ => Config::from_env(),
        }
    }
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let app = Application::build(Settings::from_config(config)?).await?;
    app.run_until_stopped(shutdown_signal()).await
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(&Config::from_env()?).await,
        Some(Command::Serve(config)) => serve(&config).await,
        Some(Command::Migrate) => {
            open_newsroom(&Settings::from_env()?, Bus::Local).await?;
            println!("database is up to date");
            Ok(())
        }
        Some(Command::Seed { demo, bench, sizes }) => {
            let settings = Settings::from_env()?;
            let newsroom = open_newsroom(&settings, Bus::Configured).await?;
            if bench {
                let started = std::time::Instant::now();
                let on_sqlite = settings.database_url.starts_with("sqlite:");
                let report = seed::bench(&newsroom, sizes.into(), on_sqlite).await?;
                println!(
                    "seeded {} authors, {} articles ({} drafts), {} live blogs with {} entries in {:.1} s",
                    report.authors,
                    report.articles,
                    report.drafts,
                    report.live_blogs,
                    report.live_entries,
                    started.elapsed().as_secs_f64()
                );
            }
            if demo {
                let report = seed::demo(&newsroom).await?;
                println!(
                    "seeded {} authors, {} articles, {} live blogs with {} entries, {} breaking news",
                    report.authors,
                    report.articles,
                    report.live_blogs,
                    report.live_entries,
                    report.breaking_news
                );
            } else if !bench {
                println!("sections are in place; pass --demo or --bench for content");
            }
            Ok(())
        }
        Some(Command::Token { command }) => {
            let newsroom = open_newsroom(&Settings::from_env()?, Bus::Local).await?;
            match command {
                TokenCommand::Create {
                    name,
                    role,
                    expires_in,
                } => {
                    let mut random = [0u8; 32];
                    getrandom::fill(&mut random)
                        .map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
                    let expires_at = expires_in.map(|lifetime| domain::clock::now() + lifetime);
                    let token = newsroom
                        .issue_token(&name, role, expires_at, random)
                        .await?;
                    let until = expires_at.map_or_else(
                        || "until revoked".to_owned(),
                        |at| format!("until {}", at.to_rfc3339()),
                    );
                    eprintln!(
                        "token `{}` ({}, {until}) created; it is shown only this once:",
                        token.name, token.role
                    );
                    println!("{}", token.secret);
                }
                TokenCommand::Revoke { name } => {
                    let revoked = newsroom.revoke_tokens(&name).await?;
                    if revoked == 0 {
                        bail!("no active token named `{name}`");
                    }
                    println!("revoked {revoked} token(s) named `{name}`");
                }
            }
            Ok(())
        }
        Some(Command::ImportFeed {
            sources,
            config,
            section,
            publish,
        }) => import_feeds(sources, config, section, publish).await,
        Some(Command::Schema { check, path }) => {
            let sdl = api::schema_sdl();
            if !check {
                print!("{sdl}");
                return Ok(());
            }
            let on_disk = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if on_disk != sdl {
                bail!(
                    "{} is stale: regenerate it with `politmaster schema > {}`",
                    path.display(),
                    path.display()
                );
            }
            println!("{} is up to date", path.display());
            Ok(())
        }
    }
}

async fn import_feeds(
    sources: Vec<String>,
    config: Option<PathBuf>,
    section: Option<String>,
    publish: bool,
) -> anyhow::Result<()> {
    let mut feeds = match &config {
        Some(path) => syndication::FeedsConfig::read(path)?,
        None => syndication::FeedsConfig::default(),
    };
    if section.is_some() {
        feeds.default_section = section;
    }
    let sources: Vec<String> = if sources.is_empty() {
        feeds.feeds.iter().map(|feed| feed.source.clone()).collect()
    } else {
        let here = std::env::current_dir().unwrap_or_default();
        sources
            .iter()
            .map(|source| syndication::config::resolve_source(source, &here))
            .collect()
    };
    if sources.is_empty() {
        bail!("name a feed (a URL or a file), or a feeds file with --config");
    }
    let settings = Settings::from_env()?;
    // The configured bus, so that serving nodes hear of what is published.
    let newsroom = open_newsroom(&settings, Bus::Configured).await?;
    let importer = crate::feeds::importer(
        &newsroom,
        &feeds,
        publish || feeds.publish,
        &settings.public_url,
    )
    .await?;
    let (mut imported, mut already, mut failed, mut unreadable) = (0, 0, 0, 0);
    for source in &sources {
        let report = importer.import(source).await;
        print!("{report}");
        imported += report.imported();
        already += report.already_imported();
        failed += report.failed();
        unreadable += usize::from(report.problem.is_some());
    }
    println!(
        "{} feed(s): {imported} imported, {already} already imported, {failed} failed{}",
        sources.len(),
        if unreadable > 0 {
            format!(", {unreadable} feed(s) unreadable")
        } else {
            String::new()
        }
    );
    if failed > 0 || unreadable > 0 {
        bail!("not everything could be imported (see above)");
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what orchestrators send) both stop the server gracefully.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_lifetime("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_lifetime(" 30d "), Ok(chrono::Duration::days(30)));
        for bad in ["", "12", "h", "0h", "-1h", "1w", "99999999999999d", "1.5h"] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
