//! Log reads shared by the subscribers of one node.
//!
//! Subscribers catch up from the log in herds: when the bus reconnects,
//! every subscriber on the node is told to re-read, and when a message is
//! lost, every subscriber of its stream sees the same gap. Subscribers at
//! the live edge then need the very same page (same stream, same last
//! sequence), so a read in flight is shared by every subscriber that asks
//! for its page meanwhile: a Redis blip with 50,000 readers of one live
//! blog costs a handful of queries (one per read's duration while the herd
//! wakes up), not 50,000. A finished read is not handed out: the pages
//! would be sound (both rules below judge a read by when it started), but
//! keeping them would need an eviction rule, and in-flight sharing already
//! turns the herd into a trickle.
//!
//! Sharing is only sound with a read that started late enough to see what
//! its joiner needs. Two rules keep it sound:
//! - A subscriber told to resync joins only a read that started after that
//!   resync: resyncs carry a generation, and a read remembers the highest
//!   generation any subscriber had reported when it started.
//! - A subscriber that saw an event on the bus knows its sequence. If a
//!   joined read ends short of it, the read began before that event was
//!   committed; the subscriber then asks for a read newer than that one
//!   (see [`Wanted::newer_than`]). A subscriber whose bus buffer overflowed
//!   while it caught up does not know what it missed, and asks for a read
//!   that starts after the overflow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};

use crate::delivery::Batched;
use crate::error::Result;
use crate::events::{EventRecord, Stream};
use crate::ports::EventLog;

/// Events read from the log per query while catching up.
pub const PAGE: u32 = 500;

/// A page of the log, shared by every subscriber that read it.
pub type Page = Arc<[Arc<EventRecord>]>;

/// The node's reads of the event log, shared among the subscribers that
/// need the same page at the same time.
pub struct SharedReads {
    log: Arc<dyn EventLog>,
    reads: Mutex<HashMap<(Stream, i64), Read>>,
    /// The highest resync generation any subscriber has reported. Never
    /// reset: a read that starts later is after that resync too.
    resync_generation: AtomicU64,
    /// The id of the last read started; ids only grow.
    last_read: AtomicU64,
    /// Where each stream is, for subscribers starting on it.
    latest: Batched<Stream, i64>,
}

struct Read {
    id: u64,
    /// [`SharedReads::resync_generation`] when the read started.
    generation: u64,
    /// Held weakly, so that a read nobody waits for any more is dropped
    /// (and cancelled) with its last waiter.
    page: WeakShared<BoxFuture<'static, Result<Page>>>,
}

/// Which reads a subscriber may take its page from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Only a read that started after this resync generation was reported.
    pub resync_generation: u64,
    /// Only a read with a higher id (0: any).
    pub newer_than: u64,
}

/// A page and the read it came from.
pub struct Fetched {
    pub page: Page,
    /// The read's id, for [`Wanted::newer_than`].
    pub read: u64,
    /// The resync generation the read began after.
    pub generation: u64,
}

impl SharedReads {
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        SharedReads {
            log,
            reads: Mutex::default(),
            resync_generation: AtomicU64::new(0),
            last_read: AtomicU64::new(0),
            latest: Batched::default(),
        }
    }

    /// The sequence of `stream`'s latest event, from a read that starts
    /// after this call, shared with whoever else asks meanwhile (see
    /// [`Batched`]).
    pub async fn latest_seq(&self, stream: Stream) -> Result<i64> {
        let log = self.log.clone();
        self.latest
            .get(stream, move || {
                async move { log.latest_seq(&stream).await }.boxed()
            })
            .await
    }

    /// Records that a subscriber was told to resync with `generation`,
    /// before it reads: reads started from now on serve it.
    pub fn resynced(&self, generation: u64) {
        self.resync_generation
            .fetch_max(generation, Ordering::SeqCst);
    }

    /// The id the next read will be above: a read started after this call
    /// has a higher id.
    pub fn last_read(&self) -> u64 {
        self.last_read.load(Ordering::SeqCst)
    }

    /// Up to [`PAGE`] events of `stream` after `after`, from a read in
    /// flight that `wanted` allows, or from a new one.
    pub async fn after(&self, stream: Stream, after: i64, wanted: Wanted) -> Result<Fetched> {
        let key = (stream, after);
        let (id, generation, page) = self.join_or_start(key, wanted);
        let mut waiting = Waiting {
            reads: self,
            key,
            id,
            page: Some(page),
        };
        let page = waiting.page.as_mut().expect("set above").await?;
        Ok(Fetched {
            page,
            read: id,
            generation,
        })
    }

    fn join_or_start(
        &self,
        key: (Stream, i64),
        wanted: Wanted,
    ) -> (u64, u64, Shared<BoxFuture<'static, Result<Page>>>) {
        let mut reads = self.reads();
        if let Some(read) = reads.get(&key)
            && read.id > wanted.newer_than
            && read.generation >= wanted.resync_generation
            && let Some(page) = read.page.upgrade()
            && page.peek().is_none()
        {
            return (read.id, read.generation, page);
        }
        // Under the lock, so that ids and generations grow together.
        let generation = self.resync_generation.load(Ordering::SeqCst);
        let id = self.last_read.fetch_add(1, Ordering::SeqCst) + 1;
        let log = self.log.clone();
        let (stream, after) = key;
        let page = async move {
            let records = log.events_after(&stream, after, PAGE).await?;
            Ok(records.into_iter().map(Arc::new).collect::<Page>())
        }
        .boxed()
        .shared();
        let weak = page.downgrade().expect("a shared future not yet polled");
        reads.insert(
            key,
            Read {
                id,
                generation,
                page: weak,
            },
        );
        (id, generation, page)
    }

    fn reads(&self) -> MutexGuard<'_, HashMap<(Stream, i64), Read>> {
        // Every critical section is one lookup, insert or remove.
        self.reads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads in flight, for tests.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.reads().len()
    }
}

/// One waiter of a read. When it goes, whether it got the page or was
/// dropped while waiting, the read is forgotten if it is finished or
/// nobody else waits for it.
struct Waiting<'a> {
    reads: &'a SharedReads,
    key: (Stream, i64),
    id: u64,
    page: Option<Shared<BoxFuture<'static, Result<Page>>>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        // This waiter's handle first: if it was the last, the read is gone.
        self.page = None;
        let mut reads = self.reads.reads();
        if let Some(read) = reads.get(&self.key)
            && read.id == self.id
            && read.page.upgrade().is_none_or(|page| page.peek().is_some())
        {
            reads.remove(&self.key);
        }
    }
}
