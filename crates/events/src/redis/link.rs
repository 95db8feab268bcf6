//! The node's link to Redis: one session (a pub/sub connection holding the
//! pattern subscription, and a multiplexed connection for publishing) at a
//! time, and the background task that reads the one and replaces both when
//! either fails.
//!
//! A session is lost when the pub/sub stream ends (Redis closed it), a ping
//! goes unanswered (a dead peer that never closed), or a publish fails for
//! a connection reason. Then the node is disconnected (`is_connected` false,
//! publishing skips the network), retries with jittered exponential
//! back-off, and once subscribed again tells every local subscriber to
//! re-read the log (`Resync`), then re-announces what it failed to publish
//! meanwhile, for the nodes that resynced before this one reconnected.
//! Publishing itself is in the sibling module `publish`.

use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ::redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use ::redis::{AsyncConnectionConfig, Client, Msg, RedisError, Value};
use domain::events::{EventRecord, Stream};
use domain::ports::Change;
use futures::StreamExt;
use tokio::sync::{Notify, watch};

use super::publish::Outgoing;
use super::{BusError, RedisBusConfig};
use crate::hub::Hub;

/// The suffix of the change notices' channel (see [`Link::change_channel`]).
const CHANGES: &str = "~changes";

/// What the node shares between the bus handle and its background task.
pub(super) struct Link {
    pub(super) config: RedisBusConfig,
    pub(super) hub: Hub,
    pub(super) connected: AtomicBool,
    client: Client,
    /// `{prefix}:events:`, what every channel of ours starts with.
    channel_base: String,
    /// The publishing connection of the current session; `None` while
    /// disconnected.
    pub(super) publisher: Mutex<Option<Publisher>>,
    /// Numbers sessions, so that a failure reported by a publish that used
    /// an old session's connection does not tear down a newer session.
    sessions: AtomicU64,
    /// Signalled when a publish found the current session broken.
    pub(super) publish_failed: Notify,
    /// Events whose publish failed, to re-announce after reconnecting.
    pub(super) unsent: Mutex<VecDeque<Outgoing>>,
}

#[derive(Clone)]
pub(super) struct Publisher {
    pub(super) session: u64,
    pub(super) connection: MultiplexedConnection,
}

/// The subscribing half of a session, owned by the background task.
pub(super) struct Session {
    sink: PubSubSink,
    messages: PubSubStream,
}

enum Ended {
    Shutdown,
    Lost(String),
}

impl Link {
    pub(super) fn new(client: Client, config: RedisBusConfig) -> Self {
        Link {
            hub: Hub::with_capacity(config.stream_buffer),
            connected: AtomicBool::new(false),
            client,
            channel_base: format!("{}:events:", config.channel_prefix),
            publisher: Mutex::new(None),
            sessions: AtomicU64::new(0),
            publish_failed: Notify::new(),
            unsent: Mutex::new(VecDeque::new()),
            config,
        }
    }

    /// Connects both connections and subscribes, each step bounded by the
    /// connect timeout; on success the node is connected.
    pub(super) async fn open_session(&self) -> Result<Session, BusError> {
        let limit = self.config.connect_timeout;
        let pubsub = within(
            limit,
            "the pub/sub connection",
            self.client.get_async_pubsub(),
        )
        .await?;
        let (mut sink, messages) = pubsub.split();
        let pattern = format!("{}*", glob_escape(&self.channel_base));
        within(limit, "PSUBSCRIBE", sink.psubscribe(&pattern)).await?;
        let publishing = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(limit))
            .set_response_timeout(Some(self.config.publish_timeout));
        let connection = within(
            limit,
            "the publishing connection",
            self.client
                .get_multiplexed_async_connection_with_config(&publishing),
        )
        .await?;
        let session = self.sessions.fetch_add(1, Ordering::AcqRel) + 1;
        *lock(&self.publisher) = Some(Publisher {
            session,
            connection,
        });
        self.connected.store(true, Ordering::Release);
        tracing::info!(%pattern, session, "Redis event bus subscribed");
        Ok(Session { sink, messages })
    }

    /// The background task: pump the session, and on loss reconnect until
    /// shut down.
    pub(super) async fn run(
        self: Arc<Self>,
        mut session: Session,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let ended = session.pump(&self, &mut stop).await;
            self.disconnect();
            drop(session);
            let Ended::Lost(why) = ended else {
                tracing::debug!("Redis event bus stopped");
                return;
            };
            tracing::warn!(reason = %why, "Redis event bus disconnected; live events wait for the reconnect");
            session = match self.reconnect(&mut stop).await {
                Some(session) => session,
                None => return,
            };
            // Subscribed again: whatever was published meanwhile is only in
            // the log, so every local subscriber re-reads it.
            self.hub.resync();
            tracing::info!("Redis event bus reconnected; subscribers re-read the log");
            self.flush_unsent().await;
        }
    }

    async fn reconnect(&self, stop: &mut watch::Receiver<bool>) -> Option<Session> {
        let mut delay = self.config.reconnect_min;
        let mut attempt = 0u32;
        loop {
            tokio::select! {
                _ = stop.changed() => return None,
                () = tokio::time::sleep(jittered(delay)) => {}
            }
            attempt += 1;
            let opened = tokio::select! {
                _ = stop.changed() => return None,
                opened = self.open_session() => opened,
            };
            match opened {
                Ok(session) => return Some(session),
                Err(error) => {
                    delay = (delay * 2).min(self.config.reconnect_max);
                    tracing::warn!(attempt, %error, next_in = ?delay, "Redis still unreachable");
                }
            }
        }
    }

    fn disconnect(&self) {
        self.connected.store(false, Ordering::Release);
        *lock(&self.publisher) = None;
    }

    /// The channel of change notices: under the events' prefix, so that
    /// the one pattern subscription hears it, with a name no stream key
    /// can have.
    pub(super) fn change_channel(&self) -> String {
        format!("{}{CHANGES}", self.channel_base)
    }

    /// Hands a message from Redis to the local subscribers of its stream.
    fn deliver(&self, message: &Msg) {
        let channel = message.get_channel_name();
        let suffix = channel.strip_prefix(&self.channel_base);
        if suffix == Some(CHANGES) {
            self.hub.changed(Change::Content);
            return;
        }
        let Some(stream) = suffix.and_then(Stream::parse_key) else {
            tracing::warn!(channel, "message on an unknown channel dropped");
            return;
        };
        // Caches hear of every stream's events, decoded or not.
        self.hub.changed(Change::Stream(stream));
        // Decoding costs; a stream nobody here watches is not worth it.
        if !self.hub.is_watched(&stream) {
            return;
        }
        match serde_json::from_slice::<EventRecord>(message.get_payload_bytes()) {
            Ok(record) if record.stream == stream => {
                self.hub.deliver(Arc::new(record));
            }
            Ok(record) => tracing::warn!(
                channel,
                stream = %record.stream.key(),
                "event on another stream's channel dropped"
            ),
            Err(error) => tracing::warn!(
                channel,
                %error,
                "undecodable event dropped; subscribers will fill the gap from the log"
            ),
        }
    }
}

impl Session {
    /// Feeds messages to the hub until the session is lost or the bus stops.
    async fn pump(&mut self, link: &Link, stop: &mut watch::Receiver<bool>) -> Ended {
        let every = link.config.ping_interval;
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => return Ended::Shutdown,
                message = self.messages.next() => match message {
                    Some(message) => link.deliver(&message),
                    None => return Ended::Lost("the pub/sub connection closed".to_owned()),
                },
                () = link.publish_failed.notified() => {
                    // A stale signal from an older session leaves ours in place.
                    if lock(&link.publisher).is_none() {
                        return Ended::Lost("a publish failed".to_owned());
                    }
                }
                _ = ping.tick() => {
                    let pong = within(link.config.connect_timeout, "PING", self.sink.ping::<Value>());
                    if let Err(error) = pong.await {
                        return Ended::Lost(error.to_string());
                    }
                }
            }
        }
    }
}

async fn within<T>(
    limit: Duration,
    what: &'static str,
    future: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, BusError> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(BusError::Timeout { what, after: limit }),
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a single assignment or queue operation.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Escapes Redis glob characters, so that a prefix is matched literally.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Between half and all of `delay`, so that nodes that lost Redis together
/// do not all come back in the same millisecond.
fn jittered(delay: Duration) -> Duration {
    // A fresh `RandomState` is randomly keyed: enough randomness for jitter
    // without a dependency.
    let random = RandomState::new().hash_one(Instant::now());
    let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
    delay.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_the_prefix_are_literal() {
        assert_eq!(glob_escape("pm:events:"), "pm:events:");
        assert_eq!(glob_escape(r"a*b?[c]\"), r"a\*b\?\[c\]\\");
    }

    #[test]
    fn jitter_stays_within_half_and_whole_delay() {
        let delay = Duration::from_millis(800);
        for _ in 0..100 {
            let jittered = jittered(delay);
            assert!(jittered >= delay / 2 && jittered <= delay, "{jittered:?}");
        }
    }
}
