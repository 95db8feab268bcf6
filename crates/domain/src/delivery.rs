//! Gap-free, duplicate-free delivery of one stream to one subscriber.
//!
//! The subscriber listens to the bus *before* reading the log, so nothing
//! committed in between is missed. It then replays the log after its
//! cursor, and continues with live messages, delivering each sequence
//! number exactly once and in order: a repeat (already replayed) is
//! dropped, a gap (a message lost or overtaken on the bus) is filled from
//! the log, and a bus that reconnected triggers the same re-read. Only a
//! subscriber too slow for its bounded buffer is closed, with an error
//! telling it to resume from its cursor.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};
use crate::events::{EventCursor, EventRecord, Stream};
use crate::ports::{BusMessage, EventBus, EventLog};

/// Events read from the log per query while catching up.
const REPLAY_BATCH: u32 = 500;

/// Opens a subscription to `stream`. With `after`, first replays every event
/// after that cursor; without, starts with the next event committed.
pub async fn subscribe(
    log: Arc<dyn EventLog>,
    bus: &dyn EventBus,
    stream: Stream,
    after: Option<&str>,
) -> Result<BoxStream<'static, Result<Arc<EventRecord>>>> {
    let live = bus.subscribe(&stream);
    let latest = log.latest_seq(&stream).await?;
    let last = match after {
        Some(raw) => {
            let cursor = EventCursor::decode(raw, stream)?;
            if cursor.seq > latest {
                return Err(Error::CursorInvalid(format!(
                    "`{raw}` is ahead of the stream (at {latest}): it was not issued here"
                )));
            }
            cursor.seq
        }
        None => latest,
    };
    let delivery = Delivery {
        log,
        live,
        stream,
        last,
        pending: VecDeque::new(),
        catching_up: after.is_some(),
        done: false,
    };
    Ok(stream::unfold(delivery, |mut d| async move {
        d.next().await.map(|item| (item, d))
    })
    .boxed())
}

struct Delivery {
    log: Arc<dyn EventLog>,
    live: BoxStream<'static, BusMessage>,
    stream: Stream,
    /// The sequence of the last event delivered (or skipped as the start).
    last: i64,
    /// Read from the log, not yet delivered.
    pending: VecDeque<Arc<EventRecord>>,
    /// Whether to read the log before listening to the bus again.
    catching_up: bool,
    done: bool,
}

impl Delivery {
    async fn next(&mut self) -> Option<Result<Arc<EventRecord>>> {
        if self.done {
            return None;
        }
        loop {
            if let Some(record) = self.pending.pop_front() {
                if record.seq <= self.last {
                    continue;
                }
                self.last = record.seq;
                return Some(Ok(record));
            }
            if self.catching_up {
                match self
                    .log
                    .events_after(&self.stream, self.last, REPLAY_BATCH)
                    .await
                {
                    Ok(batch) if batch.is_empty() => self.catching_up = false,
                    Ok(batch) => self.pending.extend(batch.into_iter().map(Arc::new)),
                    Err(error) => return Some(self.fail(error)),
                }
                continue;
            }
            match self.live.next().await? {
                BusMessage::Event(record)
                    if record.stream != self.stream || record.seq <= self.last => {}
                BusMessage::Event(record) if record.seq == self.last + 1 => {
                    self.last = record.seq;
                    return Some(Ok(record));
                }
                // Something between the last delivered and this one did not
                // arrive (yet): the log has it, since this one is committed.
                BusMessage::Event(_) | BusMessage::Resync => self.catching_up = true,
                BusMessage::Lagged => return Some(self.fail(Error::SlowConsumer)),
            }
        }
    }

    fn fail(&mut self, error: Error) -> Result<Arc<EventRecord>> {
        self.done = true;
        Err(error)
    }
}
