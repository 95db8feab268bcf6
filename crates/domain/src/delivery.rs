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

use futures::FutureExt;
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
                self.drain_live();
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

    /// While catching up from the log, whatever waits on the bus is
    /// covered by the next log read (it was committed before it was
    /// announced), so it is dropped unread. Draining keeps the bus buffer
    /// from overflowing during a long replay, which would otherwise make a
    /// subscriber that keeps up look like a slow one.
    fn drain_live(&mut self) {
        while let Some(Some(_)) = self.live.next().now_or_never() {}
    }

    fn fail(&mut self, error: Error) -> Result<Arc<EventRecord>> {
        self.done = true;
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::Utc;
    use futures::channel::mpsc;
    use futures::executor::block_on;

    use super::*;
    use crate::events::{Event, EventCursor};
    use crate::ids::{ArticleId, SectionId};

    /// An in-memory log of one stream.
    #[derive(Default)]
    struct Log(Mutex<Vec<EventRecord>>);

    impl Log {
        fn append(&self, seq: i64) -> Arc<EventRecord> {
            let record = record(seq);
            self.0.lock().unwrap().push(record.clone());
            Arc::new(record)
        }
    }

    #[async_trait]
    impl EventLog for Log {
        async fn events_after(
            &self,
            _: &Stream,
            after: i64,
            limit: u32,
        ) -> Result<Vec<EventRecord>> {
            let log = self.0.lock().unwrap();
            Ok(log
                .iter()
                .filter(|r| r.seq > after)
                .take(limit as usize)
                .cloned()
                .collect())
        }

        async fn latest_seq(&self, _: &Stream) -> Result<i64> {
            Ok(self.0.lock().unwrap().last().map_or(0, |r| r.seq))
        }

        async fn latest_seqs(&self, streams: &[Stream]) -> Result<Vec<(Stream, i64)>> {
            let seq = self.0.lock().unwrap().last().map_or(0, |r| r.seq);
            Ok(streams.iter().map(|s| (*s, seq)).collect())
        }
    }

    /// A bus whose one subscription is fed by the test.
    struct Bus(Mutex<Option<mpsc::UnboundedReceiver<BusMessage>>>);

    #[async_trait]
    impl EventBus for Bus {
        async fn publish(&self, _: &[EventRecord]) {}

        fn subscribe(&self, _: &Stream) -> BoxStream<'static, BusMessage> {
            self.0
                .lock()
                .unwrap()
                .take()
                .expect("one subscription per test")
                .boxed()
        }

        fn is_connected(&self) -> bool {
            true
        }
    }

    fn record(seq: i64) -> EventRecord {
        let event = Event::ArticleUpdated {
            article_id: ArticleId::new(),
            section_id: SectionId::new(),
            version: 1,
        };
        EventRecord {
            stream: Stream::Articles,
            seq,
            occurred_at: Utc::now(),
            event,
        }
    }

    fn setup() -> (Arc<Log>, Bus, mpsc::UnboundedSender<BusMessage>) {
        let (tx, rx) = mpsc::unbounded();
        (Arc::new(Log::default()), Bus(Mutex::new(Some(rx))), tx)
    }

    fn cursor(seq: i64) -> String {
        EventCursor {
            stream: Stream::Articles,
            seq,
        }
        .encode()
    }

    /// Takes `n` items, failing the test instead of hanging if they do not come.
    fn take(
        events: &mut BoxStream<'static, Result<Arc<EventRecord>>>,
        n: usize,
    ) -> Vec<Result<i64>> {
        block_on(async {
            let mut out = Vec::new();
            for _ in 0..n {
                match futures::FutureExt::now_or_never(events.next()) {
                    Some(Some(item)) => out.push(item.map(|r| r.seq)),
                    Some(None) => break,
                    None => panic!("the stream waits for more after {out:?}"),
                }
            }
            out
        })
    }

    fn seqs(items: Vec<Result<i64>>) -> Vec<i64> {
        items.into_iter().map(|r| r.expect("an event")).collect()
    }

    #[test]
    fn replay_then_live_without_duplicates() {
        let (log, bus, live) = setup();
        let (_, _, r3) = (log.append(1), log.append(2), log.append(3));
        let mut events = block_on(subscribe(
            log.clone(),
            &bus,
            Stream::Articles,
            Some(&cursor(1)),
        ))
        .unwrap();
        // Announced while the replay ran: already replayed, so dropped.
        live.unbounded_send(BusMessage::Event(r3)).unwrap();
        let r4 = log.append(4);
        live.unbounded_send(BusMessage::Event(r4)).unwrap();
        assert_eq!(seqs(take(&mut events, 3)), [2, 3, 4]);
    }

    #[test]
    fn without_a_cursor_only_new_events_arrive() {
        let (log, bus, live) = setup();
        log.append(1);
        let mut events = block_on(subscribe(log.clone(), &bus, Stream::Articles, None)).unwrap();
        let r2 = log.append(2);
        live.unbounded_send(BusMessage::Event(r2)).unwrap();
        assert_eq!(seqs(take(&mut events, 1)), [2]);
    }

    #[test]
    fn a_gap_on_the_bus_is_filled_from_the_log() {
        let (log, bus, live) = setup();
        let mut events = block_on(subscribe(log.clone(), &bus, Stream::Articles, None)).unwrap();
        let _lost = log.append(1);
        let r2 = log.append(2);
        live.unbounded_send(BusMessage::Event(r2.clone())).unwrap();
        live.unbounded_send(BusMessage::Event(r2)).unwrap();
        let r3 = log.append(3);
        live.unbounded_send(BusMessage::Event(r3)).unwrap();
        assert_eq!(seqs(take(&mut events, 3)), [1, 2, 3]);
    }

    #[test]
    fn a_resync_rereads_the_log() {
        let (log, bus, live) = setup();
        let mut events = block_on(subscribe(log.clone(), &bus, Stream::Articles, None)).unwrap();
        log.append(1);
        log.append(2);
        live.unbounded_send(BusMessage::Resync).unwrap();
        assert_eq!(seqs(take(&mut events, 2)), [1, 2]);
    }

    #[test]
    fn a_lagging_subscriber_is_closed_as_a_slow_consumer() {
        let (log, bus, live) = setup();
        let mut events = block_on(subscribe(log.clone(), &bus, Stream::Articles, None)).unwrap();
        live.unbounded_send(BusMessage::Lagged).unwrap();
        let items = take(&mut events, 2);
        assert_eq!(items.len(), 1, "the stream ends after the error");
        assert!(matches!(items[0], Err(Error::SlowConsumer)));
    }

    #[test]
    fn a_lag_while_replaying_from_the_log_is_not_a_slow_consumer() {
        let (log, bus, live) = setup();
        log.append(1);
        let mut events = block_on(subscribe(
            log.clone(),
            &bus,
            Stream::Articles,
            Some(&cursor(0)),
        ))
        .unwrap();
        // The bus overflowed while the subscriber was reading the log.
        let r2 = log.append(2);
        live.unbounded_send(BusMessage::Lagged).unwrap();
        live.unbounded_send(BusMessage::Event(r2)).unwrap();
        assert_eq!(seqs(take(&mut events, 2)), [1, 2]);
        let r3 = log.append(3);
        live.unbounded_send(BusMessage::Event(r3)).unwrap();
        assert_eq!(seqs(take(&mut events, 1)), [3]);
    }

    #[test]
    fn a_cursor_ahead_of_the_stream_is_invalid() {
        let (log, bus, _live) = setup();
        log.append(1);
        let result = block_on(subscribe(
            log.clone(),
            &bus,
            Stream::Articles,
            Some(&cursor(5)),
        ));
        assert!(matches!(result, Err(Error::CursorInvalid(_))));
    }

    #[test]
    fn a_cursor_of_another_stream_is_invalid() {
        let (log, bus, _live) = setup();
        let breaking = EventCursor {
            stream: Stream::Breaking,
            seq: 0,
        }
        .encode();
        let result = block_on(subscribe(
            log.clone(),
            &bus,
            Stream::Articles,
            Some(&breaking),
        ));
        assert!(matches!(result, Err(Error::CursorInvalid(_))));
    }
}
