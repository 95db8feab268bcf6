//! The application as a value: built from settings, given its listener, run
//! until a shutdown future resolves. `main` and the end-to-end tests start it
//! the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

use domain::Newsroom;
use domain::ports::{EventBus, SharedValues};
use events::{LocalBus, RedisBus};
use persistence::Database;

use syndication::poll::Poller;

use crate::settings::{Settings, redact};
use crate::{feeds, seed};

/// Which event bus a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// The configured one: Redis when `REDIS_URL` is set, else in-process.
    Configured,
    /// In-process only, for commands that announce nothing to other nodes
    /// (migrations, tokens) and must work while Redis is down.
    Local,
}

/// Connects to the configured database and bus, brings the schema up to
/// date and seeds what start-up should seed.
pub async fn open_newsroom(settings: &Settings, bus: Bus) -> anyhow::Result<Newsroom> {
    Ok(open(settings, bus).await?.0)
}

/// [`open_newsroom`], and the values shared between nodes (Redis), if any.
async fn open(
    settings: &Settings,
    bus: Bus,
) -> anyhow::Result<(Newsroom, Option<Arc<dyn SharedValues>>)> {
    settings.prepare_storage()?;
    let database = Database::connect(&settings.database_url)
        .await
        .with_context(|| format!("cannot open database {}", redact(&settings.database_url)))?;
    database.migrate().await.context("migrations failed")?;
    let (bus, shared): (Arc<dyn EventBus>, Option<Arc<dyn SharedValues>>) =
        match (&settings.redis_url, bus) {
            (Some(url), Bus::Configured) => {
                // A configured Redis that cannot be reached is an error,
                // never a quiet fall-back: other nodes would silently stop
                // hearing us.
                let redis = RedisBus::connect(url, &settings.redis_prefix)
                    .await
                    .with_context(|| format!("cannot connect to Redis {}", redact(url)))?;
                let redis = Arc::new(redis);
                (redis.clone(), Some(redis))
            }
            _ => (Arc::new(LocalBus::new()), None),
        };
    let newsroom = Newsroom::new(Arc::new(database), bus);
    seed::sections(&newsroom)
        .await
        .context("seeding sections failed")?;
    Ok((newsroom, shared))
}

/// Pending connections the kernel queues for us. The default of 128 drops
/// SYNs when thousands of widgets reconnect at once (after a node restart,
/// say), and each dropped one waits a second for its retry.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How long shutdown waits for WebSockets to take their close frames.
const SOCKET_DRAIN: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    newsroom: Newsroom,
    /// Reads the feeds file's feeds, when one is configured.
    poller: Option<Poller>,
    shared_values: Option<Arc<dyn SharedValues>>,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (newsroom, shared_values) = open(&settings, Bus::Configured).await?;
        if settings.seed_demo && seed::is_empty(&newsroom).await? {
            let report = seed::demo(&newsroom)
                .await
                .context("seeding demo content failed")?;
            tracing::info!(?report, "seeded demo content");
        }
        let poller = match &settings.feeds {
            Some(path) => Some(feeds::poller(&newsroom, path, &settings.public_url).await?),
            None => None,
        };
        let listener =
            listen(settings.bind).with_context(|| format!("cannot listen on {}", settings.bind))?;
        Ok(Application {
            listener,
            newsroom,
            poller,
            shared_values,
            settings,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.settings.bind)
    }

    pub fn newsroom(&self) -> &Newsroom {
        &self.newsroom
    }

    /// Serves until `shutdown` resolves. Then it stops taking requests,
    /// closes every WebSocket with "server restarting" (1012) so widgets
    /// reconnect to another node and resume from their cursors, lets
    /// in-flight requests finish, and stops the scheduler.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduler = tokio::spawn(run_scheduler(
            self.newsroom.clone(),
            self.settings.scheduler_interval,
            stop_rx.clone(),
        ));
        let more_metrics = self
            .poller
            .as_ref()
            .map(|poller| feeds::metrics(poller.counts.clone()));
        let poller = self
            .poller
            .map(|poller| tokio::spawn(poller.run(stop_rx.clone())));
        let site = api::SiteConfig {
            url: self.settings.public_url.clone(),
            ..api::SiteConfig::default()
        };
        let sockets = api::Shutdown::new();
        let router = api::router_with_options(
            self.newsroom,
            api::Options {
                site,
                shutdown: sockets.clone(),
                websocket: self.settings.websocket,
                response_cache_bytes: self.settings.response_cache_bytes,
                cache_max_age: self.settings.cache_max_age,
                shared_values: self.shared_values,
                limits: self.settings.limits.clone(),
                request_timeout: self.settings.request_timeout,
                introspection: self.settings.introspection,
                graphiql: self.settings.graphiql,
                more_metrics,
            },
        );
        tracing::info!(addr = %self.listener.local_addr()?, "politmaster is serving; GraphiQL at /graphiql");
        let trigger = sockets.clone();
        api::serve(self.listener, router, self.settings.http, async move {
            shutdown.await;
            trigger.trigger();
        })
        .await;
        // Upgraded connections are no longer HTTP's: WebSockets are
        // drained here, each closed with its reason.
        if tokio::time::timeout(SOCKET_DRAIN, sockets.drained())
            .await
            .is_err()
        {
            tracing::warn!(
                open = sockets.open_connections(),
                "WebSockets still open after the drain period"
            );
        }
        let _ = stop_tx.send(true);
        let _ = scheduler.await;
        if let Some(poller) = poller {
            let _ = poller.await;
        }
        Ok(())
    }
}

/// Publishes scheduled articles when their time comes. Several nodes may run
/// this at once: the version check on every article write lets exactly one
/// of them publish each article.
async fn run_scheduler(newsroom: Newsroom, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match newsroom.publish_due(domain::clock::now()).await {
            Ok(published) => {
                for article in published {
                    tracing::info!(slug = %article.slug, "published scheduled article");
                }
            }
            Err(error) => tracing::warn!(%error, "scheduled publishing failed; will retry"),
        }
    }
}
