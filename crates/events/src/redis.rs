//! The scale-out bus: Redis pub/sub between nodes, the local [`Hub`] within
//! a node.
//!
//! Rules of this module:
//! - One Redis pattern subscription per node (`PSUBSCRIBE
//!   {prefix}:events:*`) on one dedicated connection, fanned out through the
//!   hub: N local subscribers cost no extra Redis connection.
//! - Events of a stream go to the channel `{prefix}:events:{stream key}` as
//!   JSON of [`EventRecord`], published on one multiplexed connection.
//! - The publishing node's own subscribers get its events back through Redis,
//!   like every other node's: one path and one order (Redis's) for everyone,
//!   no echo to recognise and no double wake-up of a 50,000-reader stream.
//!   The price is one local Redis round trip of latency, and no live
//!   delivery at all while Redis is down, which the resync after reconnect
//!   repairs from the log.
//! - Redis is never the truth: the log is. A publish that fails is logged,
//!   kept (bounded) and re-announced after the reconnect; a message that
//!   cannot be decoded is logged and dropped. Subscribers see the sequence
//!   gap and read the log.
//! - Nothing waits on a Redis that is down: publishing skips the network
//!   while disconnected and is bounded by a timeout otherwise.
//! - Starting against an unreachable Redis is an error, never a silent
//!   fall-back to the in-process bus.

mod link;
mod publish;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use domain::events::{EventRecord, Stream};
use domain::ports::{BusMessage, Change, EventBus, SharedValues};
use futures::stream::BoxStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::hub::{Hub, STREAM_BUFFER};
use link::Link;

/// How the Redis bus connects and how patient it is. Build it with
/// [`RedisBusConfig::new`] and adjust the fields if the defaults do not fit.
#[derive(Clone)]
pub struct RedisBusConfig {
    /// `redis://[:password@]host[:port][/db]`. May hold a secret: kept out
    /// of `Debug`.
    pub url: String,
    /// Namespaces the channels, so that several deployments (or tests) can
    /// share one Redis; all nodes of one deployment must use the same.
    pub channel_prefix: String,
    /// Events buffered per stream for a slow local subscriber.
    pub stream_buffer: usize,
    /// Bound on connecting and subscribing, at start and on each reconnect.
    pub connect_timeout: Duration,
    /// Bound on one publish: a write never waits longer than this on Redis.
    pub publish_timeout: Duration,
    /// How often the pub/sub connection is pinged, so that a connection that
    /// died without closing (a network partition, a hung server) is noticed.
    /// A ping unanswered within `connect_timeout` counts as a lost session.
    pub ping_interval: Duration,
    /// First delay between reconnect attempts; doubles on each failure.
    pub reconnect_min: Duration,
    /// Longest delay between reconnect attempts.
    pub reconnect_max: Duration,
    /// Encoded events kept for re-announcing after a reconnect when their
    /// publish failed; the oldest are dropped beyond this (they are still in
    /// the log).
    pub unsent_limit: usize,
}

impl RedisBusConfig {
    /// The defaults: 2 s to connect, 1 s to publish, a ping every 5 s,
    /// reconnects from 100 ms doubling to 5 s.
    pub fn new(url: impl Into<String>, channel_prefix: impl Into<String>) -> Self {
        RedisBusConfig {
            url: url.into(),
            channel_prefix: channel_prefix.into(),
            stream_buffer: STREAM_BUFFER,
            connect_timeout: Duration::from_secs(2),
            publish_timeout: Duration::from_secs(1),
            ping_interval: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            unsent_limit: 4096,
        }
    }

    /// The Redis channel of a stream's events.
    pub fn channel(&self, stream: &Stream) -> String {
        format!("{}:events:{}", self.channel_prefix, stream.key())
    }
}

impl std::fmt::Debug for RedisBusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBusConfig")
            .field("url", &redacted(&self.url))
            .field("channel_prefix", &self.channel_prefix)
            .field("stream_buffer", &self.stream_buffer)
            .field("connect_timeout", &self.connect_timeout)
            .field("publish_timeout", &self.publish_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .field("unsent_limit", &self.unsent_limit)
            .finish()
    }
}

/// The URL with any credentials replaced, for logs and `Debug`.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Why the Redis bus could not start.
#[derive(Debug)]
pub enum BusError {
    /// The configuration cannot work (an empty channel prefix, say).
    Config(String),
    /// Redis refused, or the URL is not a Redis URL.
    Redis(::redis::RedisError),
    /// Redis did not answer in time.
    Timeout { what: &'static str, after: Duration },
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Config(why) => write!(f, "invalid event bus configuration: {why}"),
            BusError::Redis(error) => write!(f, "Redis: {error}"),
            BusError::Timeout { what, after } => {
                write!(f, "Redis did not answer {what} within {after:?}")
            }
        }
    }
}

impl std::error::Error for BusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BusError::Redis(error) => Some(error),
            _ => None,
        }
    }
}

impl From<::redis::RedisError> for BusError {
    fn from(error: ::redis::RedisError) -> Self {
        BusError::Redis(error)
    }
}

/// The Redis-backed event bus. Its background task (pub/sub reader and
/// reconnects) ends on [`RedisBus::shutdown`] or when the bus is dropped;
/// subscription streams end with it.
pub struct RedisBus {
    link: Arc<Link>,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl RedisBus {
    /// Connects with the default settings; see [`RedisBus::connect_with`].
    pub async fn connect(url: &str, channel_prefix: &str) -> Result<RedisBus, BusError> {
        Self::connect_with(RedisBusConfig::new(url, channel_prefix)).await
    }

    /// Connects, subscribes to the pattern and starts the background task.
    /// Fails if Redis cannot be reached now: a configured Redis that is
    /// missing at start is an operator's mistake, not a degraded mode.
    pub async fn connect_with(config: RedisBusConfig) -> Result<RedisBus, BusError> {
        if config.channel_prefix.is_empty() {
            return Err(BusError::Config("the channel prefix is empty".to_owned()));
        }
        let client = ::redis::Client::open(config.url.as_str())?;
        tracing::info!(url = %redacted(&config.url), prefix = %config.channel_prefix, "connecting the Redis event bus");
        let link = Arc::new(Link::new(client, config));
        let session = link.open_session().await?;
        let (shutdown, stopped) = watch::channel(false);
        let task = tokio::spawn(Arc::clone(&link).run(session, stopped));
        Ok(RedisBus {
            link,
            shutdown,
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops the background task and waits for it; subscription streams
    /// end. Publishing afterwards does nothing.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.take_task() {
            let _ = task.await;
        }
        self.link.hub.close();
    }

    /// The fan-out hub, for metrics and tests.
    pub fn hub(&self) -> &Hub {
        &self.link.hub
    }

    /// The configuration in use.
    pub fn config(&self) -> &RedisBusConfig {
        &self.link.config
    }

    fn take_task(&self) -> Option<JoinHandle<()>> {
        self.task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        // Do not wait for the task to notice: it may be inside a publish
        // timeout. Aborting drops its connections at once.
        if let Some(task) = self.take_task() {
            task.abort();
        }
        // Someone may hold a clone of the hub; its subscribers end anyway.
        self.link.hub.close();
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("config", &self.link.config)
            .field("connected", &self.is_connected())
            .finish()
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, records: &[EventRecord]) {
        if *self.shutdown.borrow() {
            tracing::debug!(
                events = records.len(),
                "event bus shut down; not announcing"
            );
            return;
        }
        self.link.publish(records).await;
    }

    fn subscribe(&self, stream: &Stream) -> BoxStream<'static, BusMessage> {
        self.link.hub.subscribe(stream)
    }

    fn is_connected(&self) -> bool {
        self.link.connected.load(Ordering::Acquire)
    }

    async fn announce_change(&self) {
        // This node hears it at once; the others through Redis (or, if it
        // is down, by the resync that follows the reconnect).
        self.link.hub.changed(Change::Content);
        if !*self.shutdown.borrow() {
            self.link.announce_change().await;
        }
    }

    fn changes(&self) -> BoxStream<'static, Change> {
        self.link.hub.changes()
    }
}

/// Persisted query documents, for every node of the deployment, under
/// `{prefix}:values:`.
#[async_trait]
impl SharedValues for RedisBus {
    async fn get(&self, key: &str) -> Option<String> {
        self.link.get_value(key).await
    }

    async fn put(&self, key: &str, value: &str) {
        self.link.put_value(key, value).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_out_of_debug() {
        let config = RedisBusConfig::new("redis://user:s3cret@cache:6379/0", "pm");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("redis://***@cache:6379/0"), "{shown}");
        assert_eq!(redacted("redis://127.0.0.1"), "redis://127.0.0.1");
    }

    #[test]
    fn channels_are_named_by_prefix_and_stream_key() {
        let config = RedisBusConfig::new("redis://127.0.0.1", "pm");
        assert_eq!(config.channel(&Stream::Breaking), "pm:events:breaking");
    }
}
