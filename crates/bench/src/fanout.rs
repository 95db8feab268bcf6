//! `fanout`: how long one live-blog entry takes to reach N subscribers.
//!
//! N WebSocket subscribers of one live blog, then, round by round, one
//! entry posted over HTTP; the clock runs from just before the POST (t0)
//! until each subscriber's socket delivers the entry. The headline is the
//! time to the last subscriber: that is when the whole audience has it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::graphql::Api;
use crate::logs;
use crate::procfs::{CpuSample, check_fd_limit, peak_rss_bytes};
use crate::report::Report;
use crate::round::RoundResult;
use crate::server::SpawnedServer;
use crate::tracker::Tracker;
use crate::ws::{Incoming, Protocol, Socket};

/// What each subscriber asks for: what a live-blog widget would.
const SUBSCRIPTION: &str = "subscription($id: ID!, $after: String) { liveBlog(id: $id, after: $after) \
    { __typename cursor ... on LiveEntryPosted { entry { id bodyText postedAt } } } }";

/// How long a round waits for every subscriber.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

/// The pause before each post, so that rounds do not overlap with the
/// previous round's tail (or with the last subscriptions being set up).
const SETTLE: Duration = Duration::from_secs(1);

#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many WebSocket subscribers to open.
    #[arg(long)]
    subscribers: usize,
    /// The politmaster binary to spawn [default: `politmaster` next to this binary].
    #[arg(long, conflicts_with = "server_url")]
    server_bin: Option<std::path::PathBuf>,
    /// Bench a server that is already running (e.g. `http://127.0.0.1:8080`)
    /// instead of spawning one; needs --token.
    #[arg(long, requires = "token")]
    server_url: Option<String>,
    /// An editor token for --server-url (`politmaster token create --role editor`).
    #[arg(long, env = "POLITMASTER_BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The GraphQL-over-WebSocket protocol the subscribers speak.
    #[arg(long, value_enum, default_value_t = Protocol::Transport)]
    protocol: Protocol,
    /// How many measured entries to post (after one warm-up entry). The
    /// median of fewer is at the mercy of one noisy round.
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// How many sockets may be opening at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Print the figures as JSON on stdout (the text report goes to stderr).
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.subscribers == 0 || args.connect_concurrency == 0 {
        bail!("--subscribers and --connect-concurrency must be at least 1");
    }
    check_fd_limit(args.subscribers)?;
    let http = reqwest::Client::new();

    // Held until the end of this function: dropping it kills the server.
    let mut spawned = None;
    let (addr, token, server) = match &args.server_url {
        Some(url) => {
            let addr = resolve(url).await?;
            let token = args.token.clone().context("--server-url needs --token")?;
            (addr, token, format!("{url} (already running)"))
        }
        None => {
            eprintln!("starting the server…");
            let started = SpawnedServer::start(args.server_bin.clone(), &http).await?;
            let described = format!(
                "spawned {} (pid {}), SQLite, in-process bus",
                started.binary.display(),
                started.pid()
            );
            let server = spawned.insert(started);
            (server.addr, server.token.clone(), described)
        }
    };

    let api = Api::new(http, format!("http://{addr}/graphql"), token);
    let blog = api.create_live_blog().await?;
    let cursor = api.cursor(&blog).await?;

    let tracker = Arc::new(Tracker::new(args.subscribers));
    let variables = Arc::new(json!({ "id": blog, "after": cursor }));
    eprintln!(
        "opening {} {} subscribers…",
        args.subscribers,
        args.protocol.subprotocol()
    );
    let (open_time, tasks) = open_subscribers(&args, addr, variables, &tracker).await?;
    eprintln!("opened in {:.2} s", open_time.as_secs_f64());

    // The warm-up round proves every subscription is live: neither protocol
    // acknowledges a subscription, and one set up late would still get the
    // entry (replayed from the log), only slower, skewing round 1.
    let poster = Poster {
        api: &api,
        blog: &blog,
        tracker: &tracker,
        run_id: uuid::Uuid::new_v4().simple().to_string(),
        subscribers: args.subscribers,
        server_pid: spawned.as_ref().map(SpawnedServer::pid),
    };
    let mut rounds = Vec::new();
    // A failed post (the server died, say) still gets the report of the
    // rounds before it, with the dropped subscribers that tell why.
    let mut failure = None;
    for number in std::iter::once(None).chain((1..=args.rounds).map(Some)) {
        tokio::time::sleep(SETTLE).await;
        match poster.round(number).await {
            Ok(result) => {
                eprintln!(
                    "round {}: {}/{} received",
                    result.label(),
                    result.received,
                    result.expected
                );
                rounds.push(result);
            }
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }

    // Taken before the teardown, which ends every subscription.
    let report = Report {
        server,
        protocol: args.protocol.subprotocol(),
        subscribers: args.subscribers,
        connect_concurrency: args.connect_concurrency,
        open_time,
        rounds,
        dropped: tracker.ended_reasons(),
        server_log: spawned
            .as_ref()
            .map(|server| logs::kinds(&server.log_lines())),
        round_timeout: ROUND_TIMEOUT,
        client_peak_rss: peak_rss_bytes(None),
        server_peak_rss: spawned
            .as_ref()
            .and_then(|server| peak_rss_bytes(Some(server.pid()))),
    };
    for task in tasks {
        task.abort();
    }
    if args.json {
        eprint!("{}", report.text());
        println!("{:#}", report.json());
    } else {
        print!("{}", report.text());
    }
    match failure {
        Some(error) => {
            Err(error.context("the run stopped early; the report covers the rounds before"))
        }
        None => Ok(()),
    }
}

/// Posts the rounds' entries.
struct Poster<'a> {
    api: &'a Api,
    blog: &'a str,
    tracker: &'a Tracker,
    run_id: String,
    subscribers: usize,
    server_pid: Option<u32>,
}

impl Poster<'_> {
    /// Posts one entry and waits for the subscribers to receive it.
    async fn round(&self, number: Option<u32>) -> anyhow::Result<RoundResult> {
        let label = number.map_or_else(|| "warmup".to_owned(), |n| n.to_string());
        // Unique per run and round, and plain text so that `bodyText` is the
        // same string: subscribers recognise the round's entry by it, since
        // its id is only known once the POST returns, possibly after the
        // event.
        let marker = format!("bench-{}-round-{label}", self.run_id);
        let cpu = CpuSample::take(self.server_pid);
        let t0 = self.tracker.start_round(marker.clone());
        let posted = self.api.post_entry(self.blog, &marker).await;
        let post = t0.elapsed();
        if let Err(error) = posted {
            self.tracker.finish_round(Instant::now()).await;
            return Err(error);
        }
        let latencies = self.tracker.finish_round(t0 + ROUND_TIMEOUT).await;
        let cpu = CpuSample::take(self.server_pid).since(cpu);
        Ok(RoundResult::new(
            number,
            post,
            &latencies,
            self.subscribers,
            cpu,
        ))
    }
}

/// Opens every subscriber, at most `connect_concurrency` at a time, each in
/// its own task that then keeps reading its socket. Returns how long the
/// opening took and the tasks. Fails unless all of them opened: a run with
/// fewer subscribers than asked for would report the wrong thing.
async fn open_subscribers(
    args: &Args,
    addr: SocketAddr,
    variables: Arc<Value>,
    tracker: &Arc<Tracker>,
) -> anyhow::Result<(Duration, Vec<JoinHandle<()>>)> {
    let n = args.subscribers;
    let limit = Arc::new(Semaphore::new(args.connect_concurrency));
    let (opened, mut outcomes) = mpsc::unbounded_channel::<Result<(), String>>();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    let progress = (n / 10).max(1);
    let mut done = 0;
    let mut failures = Vec::new();
    for _ in 0..n {
        let permit = Arc::clone(&limit).acquire_owned().await?;
        let opened = opened.clone();
        let variables = Arc::clone(&variables);
        let tracker = Arc::clone(tracker);
        let protocol = args.protocol;
        tasks.push(tokio::spawn(async move {
            let socket = open_one(addr, protocol, &variables).await;
            drop(permit);
            match socket {
                Ok(socket) => {
                    let _ = opened.send(Ok(()));
                    drop(opened);
                    listen(socket, &tracker).await;
                }
                Err(error) => {
                    let _ = opened.send(Err(format!("{error:#}")));
                }
            }
        }));
        // Drain as we go, so that progress shows during a long opening.
        while let Ok(outcome) = outcomes.try_recv() {
            done += 1;
            record_outcome(outcome, &mut failures, done, progress, n);
        }
    }
    drop(opened);
    while let Some(outcome) = outcomes.recv().await {
        done += 1;
        record_outcome(outcome, &mut failures, done, progress, n);
    }
    // Fewer outcomes than tasks means a task panicked: not opened either.
    let opened_count = done - failures.len();
    if opened_count < n {
        failures.sort();
        failures.dedup();
        failures.truncate(5);
        bail!(
            "{} of {n} subscribers could not be opened; errors seen:\n  {}",
            n - opened_count,
            failures.join("\n  ")
        );
    }
    Ok((start.elapsed(), tasks))
}

fn record_outcome(
    outcome: Result<(), String>,
    failures: &mut Vec<String>,
    done: usize,
    every: usize,
    n: usize,
) {
    if let Err(error) = outcome {
        failures.push(error);
    }
    if done.is_multiple_of(every) {
        eprintln!("  {done}/{n}");
    }
}

async fn open_one(
    addr: SocketAddr,
    protocol: Protocol,
    variables: &Value,
) -> anyhow::Result<Socket> {
    let mut socket = Socket::open(addr, protocol).await?;
    socket.subscribe(SUBSCRIPTION, variables.clone()).await?;
    Ok(socket)
}

/// Reads one subscriber's socket until it ends, recording the arrival of
/// each posted entry. A subscriber that ends during the run is a dropped
/// subscriber, reported with its reason.
async fn listen(mut socket: Socket, tracker: &Tracker) {
    let reason = loop {
        match socket.next(|text, at| tracker.record_raw(text, at)).await {
            Ok(Incoming::Recognised) => {}
            Ok(Incoming::Result { payload, at }) => {
                if let Some(errors) = payload.get("errors").filter(|e| !e.is_null()) {
                    break format!("error result: {}", describe(errors));
                }
                let event = &payload["data"]["liveBlog"];
                if event["__typename"] == "LiveEntryPosted"
                    && let Some(text) = event["entry"]["bodyText"].as_str()
                {
                    tracker.record(text, at);
                }
            }
            Ok(Incoming::Error(errors)) => break format!("error: {}", describe(&errors)),
            Ok(Incoming::Complete) => break "completed by the server".to_owned(),
            Ok(Incoming::Closed(None)) => break "socket closed".to_owned(),
            Ok(Incoming::Closed(Some((code, reason)))) => break format!("closed {code}: {reason}"),
            Ok(Incoming::Other(message)) => break format!("unexpected message: {message}"),
            // The outermost message only (this is a grouping key).
            Err(error) => break error.to_string(),
        }
    };
    tracker.ended(reason);
}

/// The first error's code and message, to group dropped subscribers by.
fn describe(errors: &Value) -> String {
    let first = errors.get(0).unwrap_or(errors);
    let code = first["extensions"]["code"].as_str().unwrap_or("no code");
    let message = first["message"].as_str().unwrap_or_default();
    format!("{code}: {message}")
}

/// The socket address of `--server-url`. Plain `http://` only: the bench
/// speaks `ws://`, with no TLS.
pub async fn resolve(url: &str) -> anyhow::Result<SocketAddr> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--server-url {url}"))?;
    if parsed.scheme() != "http" {
        bail!("--server-url must be http:// (the bench speaks plain ws://)");
    }
    let host = parsed.host_str().context("--server-url has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .with_context(|| format!("{host} does not resolve"))
}
