//! Publishing: events are encoded once, sent as one pipelined round trip on
//! the session's multiplexed connection, and bounded by the publish
//! timeout. A failure never reaches the writer: it is logged, the batch is
//! kept (bounded) for re-announcing after the reconnect, and a connection
//! failure makes the background task replace the session.

use std::sync::atomic::Ordering;

use ::redis::RedisError;
use ::redis::aio::MultiplexedConnection;
use domain::events::EventRecord;

use super::link::{Link, lock};

/// How long Redis keeps a shared value: a week, renewed whenever a node
/// stores it again.
const VALUE_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// An encoded event, ready for `PUBLISH`.
pub(super) struct Outgoing {
    channel: String,
    payload: Vec<u8>,
}

enum Failure {
    /// The connection is gone or Redis does not answer: reconnect.
    Connection(String),
    /// Redis answered with an error.
    Refused(RedisError),
}

impl Link {
    /// Announces `records`. Never fails and never waits longer than the
    /// publish timeout: the records are committed, subscribers find them in
    /// the log whatever happens here.
    pub(super) async fn publish(&self, records: &[EventRecord]) {
        let batch: Vec<Outgoing> = records
            .iter()
            .filter_map(|record| match serde_json::to_vec(record) {
                Ok(payload) => Some(Outgoing {
                    channel: self.config.channel(&record.stream),
                    payload,
                }),
                Err(error) => {
                    tracing::error!(%error, seq = record.seq, "event not encodable; not announced");
                    None
                }
            })
            .collect();
        self.send(batch).await;
    }

    /// Tells the other nodes that content changed without an event. Not
    /// kept for after a reconnect: the nodes that missed it resync, and a
    /// resync drops every cache anyway.
    pub(super) async fn announce_change(&self) {
        let publisher = lock(&self.publisher).clone();
        let Some(publisher) = publisher else {
            return;
        };
        let notice = Outgoing {
            channel: self.change_channel(),
            payload: Vec::new(),
        };
        match self.try_publish(publisher.connection, &[notice]).await {
            Ok(()) => {}
            Err(Failure::Refused(error)) => {
                tracing::error!(%error, "Redis refused a change notice");
            }
            Err(Failure::Connection(error)) => {
                tracing::warn!(%error, "a change notice was not sent; other nodes will resync");
                self.session_failed(publisher.session);
            }
        }
    }

    /// A shared value, if Redis holds it and answers in time.
    pub(super) async fn get_value(&self, key: &str) -> Option<String> {
        let mut connection = lock(&self.publisher).clone()?.connection;
        let mut get = ::redis::cmd("GET");
        get.arg(self.value_key(key));
        let command = get.query_async::<Option<String>>(&mut connection);
        match tokio::time::timeout(self.config.publish_timeout, command).await {
            Ok(Ok(value)) => value,
            Ok(Err(error)) => {
                tracing::warn!(%error, "reading a shared value from Redis failed");
                None
            }
            Err(_) => None,
        }
    }

    /// Stores a shared value for [`VALUE_TTL_SECONDS`]; best effort.
    pub(super) async fn put_value(&self, key: &str, value: &str) {
        let Some(publisher) = lock(&self.publisher).clone() else {
            return;
        };
        let mut connection = publisher.connection;
        let mut set = ::redis::cmd("SET");
        set.arg(self.value_key(key))
            .arg(value)
            .arg("EX")
            .arg(VALUE_TTL_SECONDS);
        let command = set.query_async::<()>(&mut connection);
        match tokio::time::timeout(self.config.publish_timeout, command).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "storing a shared value in Redis failed"),
            Err(_) => tracing::warn!("storing a shared value in Redis timed out"),
        }
    }

    fn value_key(&self, key: &str) -> String {
        format!("{}:values:{key}", self.config.channel_prefix)
    }

    async fn send(&self, mut batch: Vec<Outgoing>) {
        // A second try only when the session changed under us: a reconnect
        // that finished just before we queued, or a publish that failed on
        // the connection of a session already replaced.
        for attempt in 1..=2 {
            if batch.is_empty() {
                return;
            }
            let publisher = lock(&self.publisher).clone();
            let Some(publisher) = publisher else {
                self.keep_unsent(batch);
                if attempt == 2 || lock(&self.publisher).is_none() {
                    tracing::warn!(
                        "Redis unavailable; events will be announced after the reconnect"
                    );
                    return;
                }
                // Reconnected meanwhile, possibly after its flush: ours.
                batch = self.take_unsent();
                continue;
            };
            let error = match self.try_publish(publisher.connection, &batch).await {
                Ok(()) => return,
                Err(Failure::Refused(error)) => {
                    // Redis answered with an error: retrying would not help.
                    tracing::error!(%error, events = batch.len(), "Redis refused to publish events");
                    return;
                }
                Err(Failure::Connection(error)) => error,
            };
            if self.session_failed(publisher.session) || attempt == 2 {
                tracing::warn!(%error, events = batch.len(), "publishing to Redis failed; will announce after reconnecting");
                self.keep_unsent(batch);
                return;
            }
        }
    }

    /// Publishes the batch in one round trip, in order.
    async fn try_publish(
        &self,
        mut connection: MultiplexedConnection,
        batch: &[Outgoing],
    ) -> Result<(), Failure> {
        let mut pipe = ::redis::pipe();
        for outgoing in batch {
            pipe.publish(&outgoing.channel, outgoing.payload.as_slice())
                .ignore();
        }
        let limit = self.config.publish_timeout;
        match tokio::time::timeout(limit, pipe.query_async::<()>(&mut connection)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) if is_connection_error(&error) => {
                Err(Failure::Connection(error.to_string()))
            }
            Ok(Err(error)) => Err(Failure::Refused(error)),
            Err(_) => Err(Failure::Connection(format!("no answer within {limit:?}"))),
        }
    }

    /// A publish found the connection of `session` broken. If that is the
    /// current session, disconnects and wakes the task to reconnect. Returns
    /// whether the caller should keep the batch for after the reconnect:
    /// not when a newer session is already up, which it can retry on.
    fn session_failed(&self, session: u64) -> bool {
        let mut publisher = lock(&self.publisher);
        match publisher.as_ref() {
            Some(current) if current.session != session => false,
            Some(_) => {
                *publisher = None;
                self.connected.store(false, Ordering::Release);
                drop(publisher);
                self.publish_failed.notify_one();
                true
            }
            None => true,
        }
    }

    fn keep_unsent(&self, batch: Vec<Outgoing>) {
        let mut unsent = lock(&self.unsent);
        unsent.extend(batch);
        let excess = unsent.len().saturating_sub(self.config.unsent_limit);
        if excess > 0 {
            unsent.drain(..excess);
            tracing::warn!(
                dropped = excess,
                "too many unannounced events; the oldest are left to the log"
            );
        }
    }

    fn take_unsent(&self) -> Vec<Outgoing> {
        lock(&self.unsent).drain(..).collect()
    }

    pub(super) async fn flush_unsent(&self) {
        let batch = self.take_unsent();
        if !batch.is_empty() {
            tracing::info!(
                events = batch.len(),
                "announcing events published while Redis was away"
            );
            self.send(batch).await;
        }
    }
}

fn is_connection_error(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
        || error.is_timeout()
}
