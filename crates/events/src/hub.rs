//! The in-process fan-out: one bounded `broadcast` channel per stream that
//! somebody on this node watches.
//!
//! Rules of this module:
//! - Publishing is one map lookup and one `broadcast` send, whatever the
//!   number of subscribers: no per-subscriber work happens on the
//!   publisher's side (a live blog may have 50,000 readers on one node).
//! - A channel exists only while it has receivers. It is created by the first
//!   subscriber and removed when the last one goes, both under the map's lock,
//!   so a subscribe racing with the last unsubscribe either joins the old
//!   channel (which then stays) or creates a fresh one: never an orphan.
//! - Buffers are bounded ([`STREAM_BUFFER`]). A subscriber that falls that
//!   far behind gets [`BusMessage::Lagged`]; the others are not held up.
//!   Unlike mini-redis, which skips ahead after a lag, we cannot skip: the
//!   contract forbids gaps. The domain closes a live subscriber that lagged
//!   (it resumes from its cursor, and the log fills in); one that was
//!   reading the log anyway just reads on.
//! - [`Hub::resync`] tells every current subscriber that the bus may have
//!   lost messages (a Redis reconnect), so each re-reads the log. It travels
//!   through each stream's channel like an event, so that a subscriber
//!   waits on one receiver only: a second one (a `watch`, say) would have
//!   to be polled, and its waiter re-armed, on every event delivered.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use domain::events::{EventRecord, Stream};
use domain::ports::{BusMessage, Change};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Messages (events and resyncs) buffered per stream for its slowest
/// subscriber before that subscriber is declared lagged. 1024 is far more
/// than a newsroom writes between two polls of a healthy socket (a burst of
/// 200 concurrent entries fits five times, with room for the few resyncs a
/// flapping Redis connection adds, which no longer merge into one), and
/// small enough that the buffer, whose slots hold `Arc`s shared by every
/// subscriber of the stream, costs some 50 KiB per watched stream.
pub const STREAM_BUFFER: usize = 1024;

/// What a stream's channel carries.
#[derive(Clone)]
enum Item {
    Event(Arc<EventRecord>),
    /// A resync, with its generation.
    Resync(u64),
}

type Sender = broadcast::Sender<Item>;

/// The local fan-out hub. Cheap to clone: clones share the same channels.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    /// `None` once the hub is closed.
    channels: Mutex<Option<HashMap<Stream, Sender>>>,
    /// The generation of the last resync.
    resyncs: AtomicU64,
    /// Every change, for caches; `None` once the hub is closed.
    changes: Mutex<Option<broadcast::Sender<Change>>>,
}

impl Hub {
    /// A hub with [`STREAM_BUFFER`] events of buffer per stream.
    pub fn new() -> Self {
        Self::with_capacity(STREAM_BUFFER)
    }

    /// A hub with `capacity` events of buffer per stream (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let (changes, _) = broadcast::channel(capacity.max(1));
        Hub {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                channels: Mutex::new(Some(HashMap::new())),
                resyncs: AtomicU64::new(0),
                changes: Mutex::new(Some(changes)),
            }),
        }
    }

    /// The buffer of each stream's channel, in events.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Hands `record` to every local subscriber of its stream; returns how
    /// many there were. Synchronous and cheap: a stream nobody watches here
    /// costs one map lookup.
    pub fn publish(&self, record: Arc<EventRecord>) -> usize {
        self.changed(Change::Stream(record.stream));
        self.deliver(record)
    }

    /// [`Hub::publish`] for a bus that has told [`Hub::changes`] already.
    pub fn deliver(&self, record: Arc<EventRecord>) -> usize {
        // Clone the sender out so that the lock is not held while `send`
        // wakes the waiting receivers, which for a big stream takes a while.
        let sender = self
            .inner
            .channels()
            .as_ref()
            .and_then(|channels| channels.get(&record.stream).cloned());
        match sender {
            // An error only means the last receiver left meanwhile.
            Some(sender) => sender.send(Item::Event(record)).unwrap_or(0),
            None => 0,
        }
    }

    /// Tells every current subscriber, of every stream, to re-read the log,
    /// after what is already in its buffer. Subscribers that arrive later
    /// are not told: they read the log anyway.
    pub fn resync(&self) {
        self.changed(Change::Unknown);
        let generation = self.inner.resyncs.fetch_add(1, Ordering::SeqCst) + 1;
        let senders: Vec<Sender> = self
            .inner
            .channels()
            .as_ref()
            .map(|channels| channels.values().cloned().collect())
            .unwrap_or_default();
        for sender in senders {
            // An error only means the last receiver left meanwhile.
            let _ = sender.send(Item::Resync(generation));
        }
    }

    /// Live messages of `stream` from now on, until the hub is closed or
    /// dropped. On a closed hub, an empty stream.
    pub fn subscribe(&self, stream: &Stream) -> BoxStream<'static, BusMessage> {
        let events = {
            let mut channels = self.inner.channels();
            let Some(channels) = channels.as_mut() else {
                return stream::empty().boxed();
            };
            match channels.entry(*stream) {
                Entry::Occupied(entry) => entry.get().subscribe(),
                Entry::Vacant(entry) => {
                    let (sender, receiver) = broadcast::channel(self.inner.capacity);
                    entry.insert(sender);
                    receiver
                }
            }
        };
        let subscription = Subscription {
            events,
            _registration: Registration {
                hub: Arc::downgrade(&self.inner),
                stream: *stream,
            },
        };
        stream::unfold(subscription, |mut subscription| async move {
            let message = subscription.next().await?;
            Some((message, subscription))
        })
        .fuse()
        .boxed()
    }

    /// Tells the listeners of [`Hub::changes`]. Cheap with none: one send
    /// into a channel nobody reads.
    pub fn changed(&self, change: Change) {
        if let Some(changes) = self.inner.changes().as_ref() {
            // An error only means nobody listens.
            let _ = changes.send(change);
        }
    }

    /// Every change from now on (see `EventBus::changes`). A listener that
    /// falls more than the buffer behind hears [`Change::Unknown`] in
    /// place of what it missed.
    pub fn changes(&self) -> BoxStream<'static, Change> {
        let Some(receiver) = self
            .inner
            .changes()
            .as_ref()
            .map(broadcast::Sender::subscribe)
        else {
            return stream::empty().boxed();
        };
        stream::unfold(receiver, |mut receiver| async move {
            let change = match receiver.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(_)) => Change::Unknown,
                Err(RecvError::Closed) => return None,
            };
            Some((change, receiver))
        })
        .boxed()
    }

    /// Ends every subscription (once it has read what is buffered) and
    /// refuses new ones: the bus is shutting down.
    pub fn close(&self) {
        // Dropping the senders closes the channels.
        self.inner.channels().take();
        self.inner.changes().take();
    }

    /// Whether anybody on this node watches `stream`.
    pub fn is_watched(&self, stream: &Stream) -> bool {
        self.inner
            .channels()
            .as_ref()
            .is_some_and(|channels| channels.contains_key(stream))
    }

    /// How many streams have a channel, i.e. at least one local subscriber.
    pub fn watched_streams(&self) -> usize {
        self.inner.channels().as_ref().map_or(0, HashMap::len)
    }

    /// How many local subscribers `stream` has.
    pub fn subscribers(&self, stream: &Stream) -> usize {
        self.inner
            .channels()
            .as_ref()
            .and_then(|channels| channels.get(stream))
            .map_or(0, Sender::receiver_count)
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("capacity", &self.inner.capacity)
            .field("watched_streams", &self.watched_streams())
            .finish()
    }
}

impl Inner {
    fn changes(&self) -> MutexGuard<'_, Option<broadcast::Sender<Change>>> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn channels(&self) -> MutexGuard<'_, Option<HashMap<Stream, Sender>>> {
        // The map stays consistent even if a holder panicked: every critical
        // section is a single insert, lookup or remove.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the channel of `stream` if its last receiver is gone. Runs
    /// under the same lock as `subscribe`, so it cannot remove a channel
    /// that a new subscriber has just joined.
    fn release(&self, stream: &Stream) {
        let mut channels = self.channels();
        if let Some(channels) = channels.as_mut()
            && channels
                .get(stream)
                .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(stream);
        }
    }
}

/// One subscriber's state: a receiver and a back-pointer, nothing more.
struct Subscription {
    // Field order matters: fields drop in declaration order, so the receiver
    // is gone before the registration checks whether it was the last one.
    events: broadcast::Receiver<Item>,
    _registration: Registration,
}

impl Subscription {
    /// The next message, or `None` once the hub is gone.
    async fn next(&mut self) -> Option<BusMessage> {
        match self.events.recv().await {
            Ok(Item::Event(record)) => Some(BusMessage::Event(record)),
            Ok(Item::Resync(generation)) => Some(BusMessage::Resync(generation)),
            Err(RecvError::Lagged(_)) => Some(BusMessage::Lagged),
            Err(RecvError::Closed) => None,
        }
    }
}

/// Removes the stream's channel when the last subscriber goes. Holds the hub
/// weakly, so that live subscriptions do not keep a dropped bus alive: their
/// streams end instead.
struct Registration {
    hub: Weak<Inner>,
    stream: Stream,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.release(&self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use domain::events::Event;
    use domain::ids::{LiveBlogId, LiveEntryId};

    use super::*;

    fn blog() -> Stream {
        Stream::LiveBlog(LiveBlogId::new())
    }

    fn record(stream: Stream, seq: i64) -> Arc<EventRecord> {
        let Stream::LiveBlog(live_blog_id) = stream else {
            panic!("tests use live-blog streams");
        };
        Arc::new(EventRecord {
            stream,
            seq,
            occurred_at: Utc::now(),
            event: Event::LiveEntryDeleted {
                live_blog_id,
                entry_id: LiveEntryId::new(),
            },
        })
    }

    async fn next(sub: &mut BoxStream<'static, BusMessage>) -> Option<BusMessage> {
        tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("no message within 5 s")
    }

    fn seq(message: Option<BusMessage>) -> i64 {
        match message {
            Some(BusMessage::Event(record)) => record.seq,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_channel_lives_exactly_as_long_as_its_subscribers() {
        let hub = Hub::new();
        let stream = blog();
        assert_eq!(hub.publish(record(stream, 1)), 0);
        assert_eq!(hub.watched_streams(), 0, "publishing creates nothing");

        let first = hub.subscribe(&stream);
        let second = hub.subscribe(&stream);
        assert_eq!((hub.watched_streams(), hub.subscribers(&stream)), (1, 2));
        drop(first);
        assert!(hub.is_watched(&stream));
        drop(second);
        assert_eq!(hub.watched_streams(), 0);
    }

    #[tokio::test]
    async fn subscribers_get_events_of_their_stream_only() {
        let hub = Hub::new();
        let (mine, other) = (blog(), blog());
        let mut sub = hub.subscribe(&mine);
        let _other_sub = hub.subscribe(&other);
        assert_eq!(hub.publish(record(other, 1)), 1);
        assert_eq!(hub.publish(record(mine, 7)), 1);
        assert_eq!(seq(next(&mut sub).await), 7);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_lagged() {
        let hub = Hub::with_capacity(4);
        let stream = blog();
        let mut slow = hub.subscribe(&stream);
        let mut fast = hub.subscribe(&stream);
        for n in 1..=6 {
            hub.publish(record(stream, n));
            assert_eq!(seq(next(&mut fast).await), n);
        }
        assert!(matches!(next(&mut slow).await, Some(BusMessage::Lagged)));
    }

    fn generation(message: Option<BusMessage>) -> u64 {
        match message {
            Some(BusMessage::Resync(generation)) => generation,
            other => panic!("expected a resync, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn resyncs_reach_current_subscribers_in_order_and_not_later_ones() {
        let hub = Hub::new();
        let (a, b) = (blog(), blog());
        let mut sub_a = hub.subscribe(&a);
        let mut sub_b = hub.subscribe(&b);
        hub.publish(record(a, 1));
        hub.resync();
        hub.resync();
        assert_eq!(seq(next(&mut sub_a).await), 1);
        assert_eq!(generation(next(&mut sub_a).await), 1);
        assert_eq!(generation(next(&mut sub_a).await), 2);
        assert_eq!(generation(next(&mut sub_b).await), 1);
        assert_eq!(generation(next(&mut sub_b).await), 2);

        let mut late = hub.subscribe(&a);
        hub.publish(record(a, 2));
        assert_eq!(seq(next(&mut late).await), 2);
        assert_eq!(seq(next(&mut sub_a).await), 2);
    }

    #[tokio::test]
    async fn closing_ends_subscriptions_and_refuses_new_ones() {
        let hub = Hub::new();
        let stream = blog();
        let mut sub = hub.subscribe(&stream);
        hub.publish(record(stream, 1));
        hub.close();
        assert_eq!(seq(next(&mut sub).await), 1, "what was buffered is read");
        assert!(next(&mut sub).await.is_none());
        assert!(next(&mut hub.subscribe(&stream)).await.is_none());
        assert_eq!(
            (hub.publish(record(stream, 2)), hub.watched_streams()),
            (0, 0)
        );
    }

    #[tokio::test]
    async fn streams_end_when_the_hub_is_dropped() {
        let hub = Hub::new();
        let stream = blog();
        let mut sub = hub.subscribe(&stream);
        drop(hub);
        assert!(next(&mut sub).await.is_none());
        assert!(next(&mut sub).await.is_none(), "stays ended");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_subscribes_and_unsubscribes_leave_no_orphan_channel() {
        let hub = Hub::new();
        let stream = blog();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let hub = hub.clone();
                tokio::spawn(async move {
                    for n in 0..1_000 {
                        let mut sub = hub.subscribe(&stream);
                        tokio::task::yield_now().await;
                        // Receiving anything proves the subscriber's channel
                        // is the one in the map, not an orphan (which would
                        // time out). A task the scheduler kept waiting may
                        // have missed its buffer's worth: that is fine too.
                        hub.publish(record(stream, n));
                        let got = next(&mut sub).await;
                        assert!(
                            matches!(got, Some(BusMessage::Event(_) | BusMessage::Lagged)),
                            "{got:?}"
                        );
                        drop(sub);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task panicked");
        }
        assert_eq!(hub.watched_streams(), 0);

        // And the stream still works: a new subscriber gets what is published.
        let mut sub = hub.subscribe(&stream);
        assert_eq!(hub.publish(record(stream, 1)), 1);
        assert_eq!(seq(next(&mut sub).await), 1);
    }
}
