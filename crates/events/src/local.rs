//! The embedded default: an event bus that lives inside this one process.
//!
//! Publishing hands the records straight to the local [`Hub`]; nothing can
//! fail and nothing is ever lost in transit, so it never asks for a resync.
//! Only correct when this process is the only node: with several nodes,
//! use the Redis bus.

use std::sync::Arc;

use async_trait::async_trait;
use domain::events::{EventRecord, Stream};
use domain::ports::{BusMessage, Change, EventBus};
use futures::stream::BoxStream;

use crate::hub::Hub;

/// The in-process event bus.
#[derive(Debug, Clone, Default)]
pub struct LocalBus {
    hub: Hub,
}

impl LocalBus {
    /// A bus with the default buffer per stream ([`crate::STREAM_BUFFER`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A bus with `capacity` events of buffer per stream.
    pub fn with_capacity(capacity: usize) -> Self {
        LocalBus {
            hub: Hub::with_capacity(capacity),
        }
    }

    /// The fan-out hub, for metrics and tests.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, records: &[EventRecord]) {
        for record in records {
            self.hub.publish(Arc::new(record.clone()));
        }
    }

    fn subscribe(&self, stream: &Stream) -> BoxStream<'static, BusMessage> {
        self.hub.subscribe(stream)
    }

    fn is_connected(&self) -> bool {
        true
    }

    async fn announce_change(&self) {
        self.hub.changed(Change::Content);
    }

    fn changes(&self) -> BoxStream<'static, Change> {
        self.hub.changes()
    }
}
