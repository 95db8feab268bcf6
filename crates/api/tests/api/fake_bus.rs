//! An in-process `EventBus` for the API's tests, on futures channels: what
//! is published reaches the subscribers of its stream on this node. Tests
//! can also count subscribers (to know a subscription is live before
//! writing) and inject bus messages (`Lagged`, `Resync`) to see how the
//! API reports them. The real buses (in-process and Redis) live in the
//! events crate, which the API must not depend on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use domain::events::{EventRecord, Stream};
use domain::ports::{BusMessage, Change, EventBus};
use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::stream::{BoxStream, StreamExt};

pub struct FakeBus {
    subscribers: Mutex<Vec<(Stream, UnboundedSender<BusMessage>)>>,
    pub connected: AtomicBool,
    /// While set, what is published is lost: a message the bus dropped.
    pub losing: AtomicBool,
}

impl Default for FakeBus {
    fn default() -> Self {
        FakeBus {
            subscribers: Mutex::default(),
            connected: AtomicBool::new(true),
            losing: AtomicBool::new(false),
        }
    }
}

impl FakeBus {
    /// Sends `message` to every live subscriber of `stream`.
    pub fn inject(&self, stream: &Stream, message: BusMessage) {
        let mut subscribers = self.subscribers.lock().unwrap();
        subscribers.retain(|(_, tx)| !tx.is_closed());
        for (s, tx) in subscribers.iter() {
            if s == stream {
                let _ = tx.unbounded_send(message.clone());
            }
        }
    }

    /// Subscribers of `stream` still listening.
    pub fn subscribers(&self, stream: &Stream) -> usize {
        let subscribers = self.subscribers.lock().unwrap();
        subscribers
            .iter()
            .filter(|(s, tx)| s == stream && !tx.is_closed())
            .count()
    }

    /// Waits (up to five seconds) until `stream` has `n` subscribers: a
    /// subscription without a cursor only hears what is published after
    /// it has subscribed.
    pub async fn wait_for_subscribers(&self, stream: &Stream, n: usize) {
        let wait = async {
            while self.subscribers(stream) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("no {n} subscribers of {stream:?}"));
    }
}

#[async_trait]
impl EventBus for FakeBus {
    async fn publish(&self, records: &[EventRecord]) {
        if self.losing.load(Ordering::SeqCst) {
            return;
        }
        for record in records {
            self.inject(&record.stream, BusMessage::Event(Arc::new(record.clone())));
        }
    }

    fn subscribe(&self, stream: &Stream) -> BoxStream<'static, BusMessage> {
        let (tx, rx) = unbounded();
        self.subscribers.lock().unwrap().push((*stream, tx));
        rx.boxed()
    }

    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    async fn announce_change(&self) {}

    fn changes(&self) -> BoxStream<'static, Change> {
        futures::stream::empty().boxed()
    }
}
