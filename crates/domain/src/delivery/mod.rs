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
//!
//! Log reads go through the node's [`SharedReads`], so that subscribers
//! catching up together (after a resync, or a message lost for all of
//! them) share their queries instead of sending one each.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};
use crate::events::{EventCursor, EventRecord, Stream};
use crate::ports::{BusMessage, EventBus};

mod batched;
mod reads;

pub use batched::Batched;
pub use reads::SharedReads;
use reads::Wanted;

/// A subscriber's events, and where they start.
pub struct Feed {
    /// The sequence of the last event before the first one `events` yields
    /// (the cursor's, or the stream's latest when subscribing without one):
    /// whoever takes over the subscriber at that point knows exactly what
    /// it has seen.
    pub after: i64,
    pub events: BoxStream<'static, Result<Arc<EventRecord>>>,
    /// Whether the feed is at the live edge now: following the bus, with
    /// nothing to read from the log first. Kept up to date as it goes.
    pub live: Arc<AtomicBool>,
}

/// Opens a subscription to `stream`. With `after`, first replays every event
/// after that cursor; without, starts with the next event committed.
pub async fn feed(
    reads: &Arc<SharedReads>,
    bus: &dyn EventBus,
    stream: Stream,
    after: Option<&str>,
) -> Result<Feed> {
    let live = bus.subscribe(&stream);
    // Shared with the subscribers asking at the same moment, from a read
    // that starts after this one listened: an event committed before that
    // read is in its figure, and one committed after is on the bus.
    let latest = reads.latest_seq(stream).await?;
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
    // A cursor at the latest event needs no replay: what follows it is
    // announced on the bus, which was listened to before `latest` was read.
    let catching_up = after.is_some() && last < latest;
    let at_live_edge = Arc::new(AtomicBool::new(!catching_up));
    let delivery = Delivery {
        reads: reads.clone(),
        live,
        at_live_edge: at_live_edge.clone(),
        stream,
        last,
        // Events up to `latest` were announced before this subscriber
        // listened, or while it did: only the log is sure to have them.
        needed: latest,
        need_arose_after: reads.last_read(),
        wanted: Wanted::default(),
        pending: VecDeque::new(),
        catching_up,
        done: false,
    };
    let events = stream::unfold(delivery, |mut d| async move {
        d.next().await.map(|item| (item, d))
    })
    .boxed();
    Ok(Feed {
        after: last,
        events,
        live: at_live_edge,
    })
}

struct Delivery {
    reads: Arc<SharedReads>,
    live: BoxStream<'static, BusMessage>,
    /// Shared with the [`Feed`]: whether it follows the bus now.
    at_live_edge: Arc<AtomicBool>,
    stream: Stream,
    /// The sequence of the last event delivered (or skipped as the start).
    last: i64,
    /// The highest sequence known to be committed: catching up is not over
    /// before it is delivered.
    needed: i64,
    /// The last read started before `needed` was learnt: reads after it
    /// are sure to see `needed`.
    need_arose_after: u64,
    /// Which shared reads may serve this subscriber.
    wanted: Wanted,
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
                if let Err(error) = self.catch_up().await {
                    return Some(self.fail(error));
                }
                continue;
            }
            match self.live.next().await? {
                BusMessage::Event(record)
                    if record.stream != self.stream || record.seq <= self.last => {}
                BusMessage::Event(record) if record.seq == self.last + 1 => {
                    self.last = record.seq;
                    self.needed = self.needed.max(record.seq);
                    return Some(Ok(record));
                }
                // Something between the last delivered and this one did not
                // arrive (yet): the log has it, since this one is committed.
                BusMessage::Event(record) => {
                    self.learn(record.seq);
                    self.start_catching_up();
                }
                BusMessage::Resync(generation) => {
                    self.resync(generation);
                    self.start_catching_up();
                }
                BusMessage::Lagged => return Some(self.fail(Error::SlowConsumer)),
            }
        }
    }

    /// One page of the log after the last event delivered, into `pending`;
    /// ends the catching up when the log has nothing more.
    async fn catch_up(&mut self) -> Result<()> {
        let fetched = self
            .reads
            .after(self.stream, self.last, self.wanted)
            .await?;
        if !fetched.page.is_empty() {
            self.pending.extend(fetched.page.iter().cloned());
            return Ok(());
        }
        // An empty page ends the catching up only if the read began after
        // everything known now, including what arrived while it ran: an
        // overflow or a resync left on the bus would otherwise surface on
        // the live path (an overflow as `SLOW_CONSUMER`) or be missed.
        self.drain_live();
        let stale = fetched.read <= self.wanted.newer_than
            || fetched.generation < self.wanted.resync_generation;
        if stale {
            // Read again, from a read that began after them.
            return Ok(());
        }
        if self.last >= self.needed {
            self.catching_up = false;
            self.at_live_edge.store(true, Ordering::Release);
            self.wanted.newer_than = 0;
        } else if fetched.read <= self.need_arose_after {
            // A shared read that began before `needed` was committed: ask
            // for one that began after.
            self.wanted.newer_than = self.need_arose_after;
        } else {
            return Err(Error::internal(format!(
                "event {} of {} was announced but is not in the log",
                self.needed,
                self.stream.key()
            )));
        }
        Ok(())
    }

    /// While catching up from the log, whatever waits on the bus is noted
    /// and dropped: an event raises the sequence the catching up must
    /// reach (it is committed, so the log has it), a resync or an overflow
    /// asks for a read that starts after it. Draining keeps the bus buffer
    /// from overflowing during a long replay, which would otherwise make a
    /// subscriber that keeps up look like a slow one.
    fn drain_live(&mut self) {
        while let Some(Some(message)) = self.live.next().now_or_never() {
            match message {
                BusMessage::Event(record) if record.stream == self.stream => {
                    self.learn(record.seq);
                }
                BusMessage::Event(_) => {}
                BusMessage::Resync(generation) => self.resync(generation),
                // Events or a resync were lost: only a read that starts
                // after now is sure to cover them.
                BusMessage::Lagged => {
                    self.wanted.newer_than = self.wanted.newer_than.max(self.reads.last_read());
                }
            }
        }
    }

    fn start_catching_up(&mut self) {
        self.catching_up = true;
        self.at_live_edge.store(false, Ordering::Release);
    }

    /// `seq` is committed: catching up must reach it.
    fn learn(&mut self, seq: i64) {
        if seq > self.needed {
            self.needed = seq;
            self.need_arose_after = self.reads.last_read();
        }
    }

    /// The bus may have lost anything until now: only a read that started
    /// after this resync will do.
    fn resync(&mut self, generation: u64) {
        self.reads.resynced(generation);
        self.wanted.resync_generation = self.wanted.resync_generation.max(generation);
    }

    fn fail(&mut self, error: Error) -> Result<Arc<EventRecord>> {
        self.done = true;
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Poll;

    use async_trait::async_trait;
    use chrono::Utc;
    use futures::channel::{mpsc, oneshot};
    use futures::executor::block_on;
    use futures::future::Shared;

    use super::*;
    use crate::events::{Event, EventCursor};
    use crate::ids::{ArticleId, SectionId};
    use crate::ports::EventLog;

    /// A feed's events only.
    async fn subscribe(
        reads: &Arc<SharedReads>,
        bus: &dyn EventBus,
        stream: Stream,
        after: Option<&str>,
    ) -> Result<BoxStream<'static, Result<Arc<EventRecord>>>> {
        Ok(feed(reads, bus, stream, after).await?.events)
    }

    /// An in-memory log of one stream. A gated log answers reads only once
    /// its gate is open, with what it held when each read began, so that
    /// other subscribers can join a read meanwhile.
    #[derive(Default)]
    struct Log {
        records: Mutex<Vec<EventRecord>>,
        reads: AtomicUsize,
        gate: Option<Shared<oneshot::Receiver<()>>>,
    }

    impl Log {
        /// A gated log, and the sender that opens its gate.
        fn gated() -> (Arc<Self>, oneshot::Sender<()>) {
            let (open, gate) = oneshot::channel();
            let log = Log {
                gate: Some(gate.shared()),
                ..Log::default()
            };
            (Arc::new(log), open)
        }

        fn append(&self, seq: i64) -> Arc<EventRecord> {
            let record = record(seq);
            self.records.lock().unwrap().push(record.clone());
            Arc::new(record)
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }

        fn latest(&self) -> i64 {
            self.records.lock().unwrap().last().map_or(0, |r| r.seq)
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
            self.reads.fetch_add(1, Ordering::SeqCst);
            let records: Vec<EventRecord> = self
                .records
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.seq > after)
                .take(limit as usize)
                .cloned()
                .collect();
            if let Some(gate) = &self.gate {
                gate.clone()
                    .await
                    .expect("the test keeps the gate's sender");
            }
            Ok(records)
        }

        async fn latest_seq(&self, _: &Stream) -> Result<i64> {
            Ok(self.latest())
        }

        async fn latest_seqs(&self, streams: &[Stream]) -> Result<Vec<(Stream, i64)>> {
            let seq = self.latest();
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

        async fn announce_change(&self) {}

        fn changes(&self) -> BoxStream<'static, crate::ports::Change> {
            futures::stream::empty().boxed()
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

    fn shared(log: &Arc<Log>) -> Arc<SharedReads> {
        Arc::new(SharedReads::new(log.clone()))
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
            &shared(&log),
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
    fn a_feed_starts_after_its_cursor_or_the_latest_event() {
        for (after, expected) in [(Some(cursor(1)), 1), (None, 2)] {
            let (log, bus, _live) = setup();
            log.append(1);
            log.append(2);
            let opened = block_on(feed(
                &shared(&log),
                &bus,
                Stream::Articles,
                after.as_deref(),
            ));
            assert_eq!(opened.unwrap().after, expected);
        }
    }

    #[test]
    fn a_feed_says_when_it_is_at_the_live_edge() {
        let (log, bus, live) = setup();
        log.append(1);
        log.append(2);
        let mut behind = block_on(feed(
            &shared(&log),
            &bus,
            Stream::Articles,
            Some(&cursor(1)),
        ))
        .unwrap();
        assert!(!behind.live.load(Ordering::Acquire), "event 2 is to replay");
        assert_eq!(seqs(take(&mut behind.events, 1)), [2]);
        assert!(behind.events.next().now_or_never().is_none());
        assert!(
            behind.live.load(Ordering::Acquire),
            "replayed, now following the bus"
        );
        // A gap sends it back to the log until it is filled.
        let _r3 = log.append(3);
        let r4 = log.append(4);
        live.unbounded_send(BusMessage::Event(r4)).unwrap();
        assert_eq!(seqs(take(&mut behind.events, 2)), [3, 4]);
    }

    #[test]
    fn a_cursor_at_the_latest_event_starts_at_the_live_edge() {
        let (log, bus, live) = setup();
        log.append(1);
        let mut at_edge = block_on(feed(
            &shared(&log),
            &bus,
            Stream::Articles,
            Some(&cursor(1)),
        ))
        .unwrap();
        assert!(at_edge.live.load(Ordering::Acquire));
        let r2 = log.append(2);
        live.unbounded_send(BusMessage::Event(r2)).unwrap();
        assert_eq!(seqs(take(&mut at_edge.events, 1)), [2]);
    }

    #[test]
    fn without_a_cursor_only_new_events_arrive() {
        let (log, bus, live) = setup();
        log.append(1);
        let mut events = block_on(subscribe(&shared(&log), &bus, Stream::Articles, None)).unwrap();
        let r2 = log.append(2);
        live.unbounded_send(BusMessage::Event(r2)).unwrap();
        assert_eq!(seqs(take(&mut events, 1)), [2]);
    }

    #[test]
    fn a_gap_on_the_bus_is_filled_from_the_log() {
        let (log, bus, live) = setup();
        let mut events = block_on(subscribe(&shared(&log), &bus, Stream::Articles, None)).unwrap();
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
        let mut events = block_on(subscribe(&shared(&log), &bus, Stream::Articles, None)).unwrap();
        log.append(1);
        log.append(2);
        live.unbounded_send(BusMessage::Resync(1)).unwrap();
        assert_eq!(seqs(take(&mut events, 2)), [1, 2]);
    }

    #[test]
    fn a_lagging_subscriber_is_closed_as_a_slow_consumer() {
        let (log, bus, live) = setup();
        let mut events = block_on(subscribe(&shared(&log), &bus, Stream::Articles, None)).unwrap();
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
            &shared(&log),
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
            &shared(&log),
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
            &shared(&log),
            &bus,
            Stream::Articles,
            Some(&breaking),
        ));
        assert!(matches!(result, Err(Error::CursorInvalid(_))));
    }

    /// A subscriber with its own bus feed, reading through `reads`.
    fn subscriber(
        reads: &Arc<SharedReads>,
    ) -> (
        BoxStream<'static, Result<Arc<EventRecord>>>,
        mpsc::UnboundedSender<BusMessage>,
    ) {
        let (tx, rx) = mpsc::unbounded();
        let bus = Bus(Mutex::new(Some(rx)));
        let events = block_on(subscribe(reads, &bus, Stream::Articles, None)).unwrap();
        (events, tx)
    }

    /// `future`'s output, failing the test instead of hanging if it does
    /// not come at once.
    async fn settle<F: std::future::Future + Unpin>(mut future: F) -> F::Output {
        match futures::poll!(&mut future) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("still waiting"),
        }
    }

    fn seq_of(item: Option<Result<Arc<EventRecord>>>) -> i64 {
        item.expect("an item").expect("an event").seq
    }

    #[test]
    fn subscribers_resyncing_together_share_their_reads() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let mut herd: Vec<_> = (0..5).map(|_| subscriber(&reads)).collect();
        log.append(1);
        log.append(2);
        for (_, live) in &herd {
            live.unbounded_send(BusMessage::Resync(1)).unwrap();
        }
        block_on(async {
            let mut firsts: Vec<_> = herd.iter_mut().map(|(events, _)| events.next()).collect();
            for first in &mut firsts {
                assert!(futures::poll!(first).is_pending(), "reading the log");
            }
            open.send(()).unwrap();
            for first in firsts {
                assert_eq!(seq_of(settle(first).await), 1);
            }
            for (events, _) in &mut herd {
                assert_eq!(seq_of(settle(events.next()).await), 2);
            }
        });
        assert_eq!(log.reads(), 1, "one read for the herd's page");
        assert_eq!(reads.in_flight(), 0, "finished reads are forgotten");
    }

    #[test]
    fn a_later_resync_does_not_join_a_read_from_before_it() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let (mut early, early_live) = subscriber(&reads);
        let (mut late, late_live) = subscriber(&reads);
        block_on(async {
            early_live.unbounded_send(BusMessage::Resync(1)).unwrap();
            let mut early_next = early.next();
            // The early read is under way and sees an empty log.
            assert!(futures::poll!(&mut early_next).is_pending());
            let r1 = log.append(1);
            late_live.unbounded_send(BusMessage::Resync(2)).unwrap();
            let mut late_next = late.next();
            assert!(futures::poll!(&mut late_next).is_pending());
            open.send(()).unwrap();
            assert_eq!(seq_of(settle(late_next).await), 1, "read after its resync");
            // The early one's read was empty; the event reaches it live.
            assert!(futures::poll!(&mut early_next).is_pending());
            early_live.unbounded_send(BusMessage::Event(r1)).unwrap();
            assert_eq!(seq_of(settle(early_next).await), 1);
        });
        assert_eq!(log.reads(), 2);
    }

    #[test]
    fn a_shared_read_that_began_too_early_is_read_again() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let (mut first, first_live) = subscriber(&reads);
        let (mut second, second_live) = subscriber(&reads);
        block_on(async {
            first_live.unbounded_send(BusMessage::Resync(1)).unwrap();
            let mut first_next = first.next();
            assert!(futures::poll!(&mut first_next).is_pending());
            // Committed after that read began. 1 is lost on the bus; the
            // second subscriber sees 2 and joins the read under way.
            log.append(1);
            let r2 = log.append(2);
            second_live.unbounded_send(BusMessage::Event(r2)).unwrap();
            let mut second_next = second.next();
            assert!(futures::poll!(&mut second_next).is_pending());
            assert_eq!(log.reads(), 1, "the second subscriber joined the read");
            open.send(()).unwrap();
            assert!(
                futures::poll!(&mut first_next).is_pending(),
                "the first subscriber's read was empty, and nothing was announced to it"
            );
            assert_eq!(seq_of(settle(second_next).await), 1);
            assert_eq!(seq_of(settle(second.next()).await), 2);
        });
        assert_eq!(log.reads(), 2, "the shared read, then a fresh one");
    }

    #[test]
    fn an_overflow_while_catching_up_asks_for_a_read_after_it() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let (mut first, first_live) = subscriber(&reads);
        let (mut second, second_live) = subscriber(&reads);
        block_on(async {
            first_live.unbounded_send(BusMessage::Resync(1)).unwrap();
            let mut first_next = first.next();
            assert!(futures::poll!(&mut first_next).is_pending());
            // Committed after that read began. The second subscriber is
            // told to resync, then its buffer overflows: the announcement
            // of 1 was lost in it.
            log.append(1);
            second_live.unbounded_send(BusMessage::Resync(1)).unwrap();
            second_live.unbounded_send(BusMessage::Lagged).unwrap();
            let mut second_next = second.next();
            assert!(futures::poll!(&mut second_next).is_pending());
            open.send(()).unwrap();
            assert_eq!(seq_of(settle(second_next).await), 1);
        });
        assert_eq!(log.reads(), 2, "the overflow needed a read of its own");
    }

    #[test]
    fn a_waiter_leaving_a_shared_read_leaves_it_to_the_others() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let mut herd: Vec<_> = (0..3).map(|_| subscriber(&reads)).collect();
        log.append(1);
        for (_, live) in &herd {
            live.unbounded_send(BusMessage::Resync(1)).unwrap();
        }
        let (mut leaving, _leaving_live) = herd.remove(0);
        block_on(async {
            let mut left = leaving.next();
            assert!(futures::poll!(&mut left).is_pending(), "reading the log");
            let (mut staying, _) = herd.remove(0);
            let mut stays = staying.next();
            assert!(futures::poll!(&mut stays).is_pending());
            // Its stream holds the waiting read, not the `next` future.
            drop(left);
            drop(leaving);
            let (mut late, _) = herd.remove(0);
            let mut joins = late.next();
            assert!(futures::poll!(&mut joins).is_pending());
            assert_eq!(log.reads(), 1, "the late one joined the read still wanted");
            open.send(()).unwrap();
            assert_eq!(seq_of(settle(stays).await), 1);
            assert_eq!(seq_of(settle(joins).await), 1);
        });
        assert_eq!(reads.in_flight(), 0, "finished reads are forgotten");
    }

    #[test]
    fn an_overflow_during_the_last_read_is_not_a_slow_consumer() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let (mut events, live) = subscriber(&reads);
        block_on(async {
            live.unbounded_send(BusMessage::Resync(1)).unwrap();
            let mut next = events.next();
            assert!(
                futures::poll!(&mut next).is_pending(),
                "reading an empty log"
            );
            // While it reads, 1 is committed and its announcement lost.
            log.append(1);
            live.unbounded_send(BusMessage::Lagged).unwrap();
            open.send(()).unwrap();
            assert_eq!(seq_of(settle(next).await), 1, "read again, not closed");
        });
        assert_eq!(log.reads(), 2);
    }

    #[test]
    fn a_resync_during_the_last_read_asks_for_another() {
        let (log, open) = Log::gated();
        let reads = shared(&log);
        let (mut events, live) = subscriber(&reads);
        block_on(async {
            live.unbounded_send(BusMessage::Resync(1)).unwrap();
            let mut next = events.next();
            assert!(
                futures::poll!(&mut next).is_pending(),
                "reading an empty log"
            );
            log.append(1);
            live.unbounded_send(BusMessage::Resync(2)).unwrap();
            open.send(()).unwrap();
            assert_eq!(seq_of(settle(next).await), 1);
        });
    }

    /// A leak guard: a read whose only waiter is dropped leaves nothing.
    #[test]
    fn a_read_nobody_waits_for_is_forgotten() {
        let (log, _open) = Log::gated();
        let reads = shared(&log);
        let (mut only, live) = subscriber(&reads);
        live.unbounded_send(BusMessage::Resync(1)).unwrap();
        block_on(async {
            let mut next = only.next();
            assert!(futures::poll!(&mut next).is_pending());
        });
        assert_eq!(reads.in_flight(), 1);
        drop(only);
        assert_eq!(reads.in_flight(), 0);
    }

    #[test]
    fn an_announced_event_missing_from_the_log_fails_the_subscriber() {
        let (log, bus, live) = setup();
        let mut events = block_on(subscribe(&shared(&log), &bus, Stream::Articles, None)).unwrap();
        // Announced, yet never committed to this log (a misconfigured bus).
        live.unbounded_send(BusMessage::Event(Arc::new(record(3))))
            .unwrap();
        let items = take(&mut events, 2);
        assert_eq!(items.len(), 1, "the stream ends after the error");
        assert!(matches!(items[0], Err(Error::Internal(_))));
    }
}
