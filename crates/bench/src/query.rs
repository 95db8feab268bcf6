//! `query`: requests per second and latency of the read path, at a fixed
//! concurrency, for the pages every reader loads: a section's feed, an
//! article, a live blog and a search.
//!
//! The server is one started elsewhere (`--server-url`), or one this
//! command starts on a seeded database (`--database-url`). The documents
//! ask what a front end asks; their arguments rotate over what the
//! database holds (every section, a thousand published articles spread
//! over the year, every live blog, a dozen searches), discovered through
//! the API before the run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::load::{self, LoadResult, PreparedRequest};
use crate::procfs::{CpuSample, CpuUse, anon_rss_bytes, peak_rss_bytes, rss_bytes};
use crate::query_report::{QueryReport, Row};
use crate::server::{ServerOptions, SpawnedServer};

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A section's 20 newest articles with section, authors and tags.
    Feed,
    /// One article by slug, with its body.
    Article,
    /// A live blog with its 50 newest entries and their authors.
    LiveBlog,
    /// A full-text search, 10 hits with snippets.
    Search,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::Feed,
        Scenario::Article,
        Scenario::LiveBlog,
        Scenario::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Feed => "feed",
            Scenario::Article => "article",
            Scenario::LiveBlog => "live blog",
            Scenario::Search => "search",
        }
    }

    pub fn document(self) -> &'static str {
        match self {
            Scenario::Feed => FEED,
            Scenario::Article => ARTICLE,
            Scenario::LiveBlog => LIVE_BLOG,
            Scenario::Search => SEARCH,
        }
    }

    fn variables(self, targets: &Targets) -> Vec<Value> {
        match self {
            Scenario::Feed => targets
                .sections
                .iter()
                .map(|s| json!({ "section": s }))
                .collect(),
            Scenario::Article => targets
                .articles
                .iter()
                .map(|s| json!({ "slug": s }))
                .collect(),
            Scenario::LiveBlog => targets
                .live_blogs
                .iter()
                .map(|s| json!({ "slug": s }))
                .collect(),
            Scenario::Search => SEARCHES.iter().map(|q| json!({ "q": q })).collect(),
        }
    }
}

const FEED: &str = "query Feed($section: String!) { section(slug: $section) { name \
    articles(first: 20) { edges { cursor node { id slug headline standfirst kind publishedAt \
    readingTimeMinutes breaking section { name slug } authors { name slug } tags { name slug } } } \
    pageInfo { hasNextPage endCursor } } } }";

const ARTICLE: &str = "query Article($slug: String!) { article(slug: $slug) { id slug headline \
    standfirst body kind publishedAt updatedAt wordCount readingTimeMinutes \
    section { name slug } authors { name slug title } tags { name slug } \
    source { name url readMore } } }";

const LIVE_BLOG: &str = "query LiveBlog($slug: String!) { liveBlog(slug: $slug) { id title \
    summary status startedAt cursor entries(first: 50) { edges { node { id body postedAt \
    keyEvent pinned author { name slug } } } pageInfo { hasNextPage endCursor } } } }";

const SEARCH: &str = "query Search($q: String!) { search(query: $q, first: 10) { edges { rank \
    snippet node { slug headline publishedAt section { name } } } } }";

/// Topics of the benchmark newsroom: each is the subject of about one
/// article in twenty, and turns up in passing in others.
const SEARCHES: [&str; 12] = [
    "pension reform",
    "nuclear power",
    "trade tariffs",
    "migration",
    "housing",
    "sanctions",
    "judicial reform",
    "farm subsidies",
    "minimum wage",
    "climate targets",
    "digital services",
    "border security",
];

/// How many article slugs the `article` scenario rotates over.
const ARTICLE_SAMPLE: usize = 1_000;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Which pages to load [default: all].
    #[arg(long = "scenario", value_enum)]
    pub scenarios: Vec<Scenario>,
    /// Connections sending requests at once; several run one after another
    /// (`--concurrency 32,128`).
    #[arg(long, value_delimiter = ',', default_value = "32")]
    pub concurrency: Vec<usize>,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Runs of each scenario and concurrency; the report gives the median.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// A server that is already running (`http://127.0.0.1:8080`).
    #[arg(long, conflicts_with = "database_url")]
    pub server_url: Option<String>,
    /// The pid of the --server-url server, for its CPU and memory.
    #[arg(long, requires = "server_url")]
    pub server_pid: Option<u32>,
    /// Start `politmaster serve` on this seeded database
    /// (`politmaster seed --bench`).
    #[arg(long)]
    pub database_url: Option<String>,
    /// The politmaster binary to start [default: next to this binary].
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// More environment for the started server (`NAME=value`, repeatable).
    #[arg(long = "server-env", value_parser = parse_env)]
    pub server_env: Vec<(String, String)>,
    /// Send queries as `GET /graphql?query=…&variables=…` instead of POST
    /// (what HTTP caches and CDNs can cache).
    #[arg(long)]
    pub get: bool,
    /// Print the figures as JSON on stdout (the text report goes to stderr).
    #[arg(long)]
    pub json: bool,
}

fn parse_env(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{raw}` is not NAME=value"))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let report = measure(&args).await?;
    if args.json {
        eprint!("{}", report.text());
        println!("{:#}", report.json());
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// Runs every scenario at every concurrency, `repeats` times.
pub async fn measure(args: &Args) -> anyhow::Result<QueryReport> {
    if args.concurrency.contains(&0) || args.repeats == 0 || args.duration == 0 {
        bail!("--concurrency, --repeats and --duration must be at least 1");
    }
    let http = reqwest::Client::new();
    let mut spawned = None;
    let (addr, server_pid, server) = match (&args.server_url, &args.database_url) {
        (Some(url), _) => (
            crate::fanout::resolve(url).await?,
            args.server_pid,
            format!("{url} (already running)"),
        ),
        (None, Some(database_url)) => {
            let options = ServerOptions {
                binary: args.server_bin.clone(),
                database_url: Some(database_url.clone()),
                env: args.server_env.clone(),
            };
            let started = spawned.insert(SpawnedServer::start_with(options, &http).await?);
            let described = format!(
                "spawned {} (pid {})",
                started.binary.display(),
                started.pid()
            );
            (started.addr, Some(started.pid()), described)
        }
        (None, None) => bail!(
            "pass --server-url, or --database-url of a database seeded with \
             `politmaster seed --bench`"
        ),
    };
    let targets = Targets::discover(&http, addr).await?;
    let scenarios = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let mut rows = Vec::new();
    for &scenario in &scenarios {
        let requests = prepare(scenario, &targets, addr, args.get)?;
        for &concurrency in &args.concurrency {
            for repeat in 1..=args.repeats {
                eprintln!(
                    "{} at c={concurrency}, run {repeat}/{}…",
                    scenario.name(),
                    args.repeats
                );
                let run = run_load(addr, requests.clone(), concurrency, args, server_pid).await?;
                rows.push(Row {
                    scenario,
                    concurrency,
                    result: run.0,
                    cpu: run.1,
                    server_rss: server_pid.and_then(rss_bytes),
                });
            }
        }
    }
    Ok(QueryReport {
        server,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
        rows,
        server_peak_rss: server_pid.and_then(|pid| peak_rss_bytes(Some(pid))),
        server_anon_rss: server_pid.and_then(anon_rss_bytes),
    })
}

/// One load run on a thread of its own with a single-threaded runtime, so
/// that the client never takes more than one core from the server.
async fn run_load(
    addr: SocketAddr,
    requests: Vec<PreparedRequest>,
    concurrency: usize,
    args: &Args,
    server_pid: Option<u32>,
) -> anyhow::Result<(LoadResult, CpuUse)> {
    let warmup = Duration::from_secs(args.warmup);
    let duration = Duration::from_secs(args.duration);
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut started = None;
            let result = load::run(addr, &requests, concurrency, warmup, duration, || {
                started = Some(CpuSample::take(server_pid));
            })
            .await?;
            let cpu = started.map(|s| CpuSample::take(server_pid).since(s));
            anyhow::Ok((result, cpu.unwrap_or_default()))
        })
    });
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the load thread panicked"))?
}

/// The requests of a scenario, one per set of arguments.
pub fn prepare(
    scenario: Scenario,
    targets: &Targets,
    addr: SocketAddr,
    get: bool,
) -> anyhow::Result<Vec<PreparedRequest>> {
    let variables = scenario.variables(targets);
    if variables.is_empty() {
        bail!(
            "the server has nothing for the {} scenario: seed it with `politmaster seed --bench`",
            scenario.name()
        );
    }
    let host = addr.to_string();
    variables
        .into_iter()
        .map(|variables| {
            if get {
                let url = reqwest::Url::parse_with_params(
                    &format!("http://{host}/graphql"),
                    [
                        ("query", scenario.document().to_owned()),
                        ("variables", variables.to_string()),
                    ],
                )?;
                let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
                Ok(PreparedRequest::get(&host, &path, &[]))
            } else {
                let body = json!({ "query": scenario.document(), "variables": variables });
                Ok(PreparedRequest::post_json(
                    &host,
                    "/graphql",
                    &body.to_string(),
                    &[],
                ))
            }
        })
        .collect()
}

/// What the server holds, for the scenarios' arguments.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub sections: Vec<String>,
    pub articles: Vec<String>,
    pub live_blogs: Vec<String>,
}

impl Targets {
    pub async fn discover(http: &reqwest::Client, addr: SocketAddr) -> anyhow::Result<Self> {
        let endpoint = format!("http://{addr}/graphql");
        let sections = graphql(http, &endpoint, "{ sections { slug } }", json!({})).await?;
        let sections = strings(&sections["sections"], "slug");
        let blogs = graphql(
            http,
            &endpoint,
            "{ liveBlogs(first: 100) { edges { node { slug } } } }",
            json!({}),
        )
        .await?;
        let live_blogs = edges(&blogs["liveBlogs"], "slug");
        // Every published slug, newest first, then an even sample of them:
        // the scenario reads articles from the whole year, as readers
        // arriving from search engines do.
        let mut all = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = graphql(
                http,
                &endpoint,
                "query($after: String) { articles(first: 100, after: $after) { \
                 edges { node { slug } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await?;
            all.extend(edges(&page["articles"], "slug"));
            let info = &page["articles"]["pageInfo"];
            if info["hasNextPage"] != true {
                break;
            }
            after = info["endCursor"].clone();
        }
        let step = all.len().div_ceil(ARTICLE_SAMPLE).max(1);
        let articles = all.into_iter().step_by(step).collect();
        Ok(Targets {
            sections,
            articles,
            live_blogs,
        })
    }
}

async fn graphql(
    http: &reqwest::Client,
    endpoint: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut body: Value = http
        .post(endpoint)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .with_context(|| format!("POST {endpoint}"))?
        .json()
        .await?;
    if let Some(errors) = body.get("errors") {
        bail!("{query}: {errors}");
    }
    Ok(body["data"].take())
}

fn strings(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect()
}

fn edges(connection: &Value, field: &str) -> Vec<String> {
    connection["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| edge["node"][field].as_str().map(str::to_owned))
        .collect()
}
