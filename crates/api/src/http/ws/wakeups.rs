//! Which of a connection's sources woke its task, so that the loop polls
//! only those.
//!
//! `tokio::select!` polls every branch whenever the task wakes. A
//! connection wakes once per event it delivers, and re-polling its other
//! sources each time (a read attempt through hyper and tungstenite, the
//! keep-alive timer, the shutdown signal) cost more than the delivery
//! itself with 10,000 subscribers on a node. Here each source is polled
//! with its own waker, which records the source before waking the task;
//! a source is polled again only after it woke, or after it yielded
//! something (it may have more).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Waker};

use futures::task::{ArcWake, AtomicWaker};

/// A source of a connection's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Shutdown = 0,
    Socket = 1,
    Events = 2,
    KeepAlive = 3,
    InitDeadline = 4,
    /// A pump handed a subscription back.
    Returns = 5,
    /// The token the connection authenticated with stopped working.
    Revoked = 6,
}

impl Source {
    /// Every source, each at the index of its discriminant.
    const ALL: [Source; 7] = [
        Source::Shutdown,
        Source::Socket,
        Source::Events,
        Source::KeepAlive,
        Source::InitDeadline,
        Source::Returns,
        Source::Revoked,
    ];

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The sources a wake-up found woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Woken(u8);

impl Woken {
    pub fn contains(self, source: Source) -> bool {
        self.0 & source.bit() != 0
    }
}

pub struct Wakeups {
    shared: Arc<Shared>,
    wakers: [Waker; Source::ALL.len()],
}

struct Shared {
    woken: AtomicU8,
    task: AtomicWaker,
}

struct SourceWaker {
    shared: Arc<Shared>,
    bit: u8,
}

impl ArcWake for SourceWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        this.shared.woken.fetch_or(this.bit, Ordering::AcqRel);
        this.shared.task.wake();
    }
}

impl Wakeups {
    /// Every source starts out woken: each must be polled once to
    /// register its waker.
    pub fn new() -> Self {
        let shared = Arc::new(Shared {
            woken: AtomicU8::new(u8::MAX),
            task: AtomicWaker::new(),
        });
        let wakers = Source::ALL.map(|source| {
            futures::task::waker(Arc::new(SourceWaker {
                shared: shared.clone(),
                bit: source.bit(),
            }))
        });
        Wakeups { shared, wakers }
    }

    /// Registers the task's waker, then takes the sources woken since the
    /// last call. In that order, so that a wake-up in between is not lost:
    /// it wakes the task again.
    pub fn take(&self, task: &Waker) -> Woken {
        self.shared.task.register(task);
        Woken(self.shared.woken.swap(0, Ordering::AcqRel))
    }

    /// The waker of `source`.
    pub fn waker(&self, source: Source) -> &Waker {
        &self.wakers[source as usize]
    }

    /// The context to poll `source` with.
    pub fn context(&self, source: Source) -> Context<'_> {
        Context::from_waker(self.waker(source))
    }

    /// Marks `source` to be polled at the next [`Wakeups::take`], without
    /// waking the task: for a source that yielded (it may have more), or
    /// that was woken but not polled this time.
    pub fn again(&self, source: Source) {
        self.shared.woken.fetch_or(source.bit(), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    struct CountingWaker(AtomicUsize);

    impl ArcWake for CountingWaker {
        fn wake_by_ref(this: &Arc<Self>) {
            this.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn each_source_has_its_own_waker() {
        for (index, source) in Source::ALL.into_iter().enumerate() {
            assert_eq!(source as usize, index, "{source:?}");
        }
        let wakeups = Wakeups::new();
        let task = futures::task::noop_waker();
        wakeups.take(&task);
        for source in Source::ALL {
            wakeups.waker(source).wake_by_ref();
            let woken = wakeups.take(&task);
            assert!(
                Source::ALL
                    .iter()
                    .all(|s| woken.contains(*s) == (*s == source))
            );
        }
    }

    #[test]
    fn a_source_waker_records_its_source_and_wakes_the_task() {
        let wakeups = Wakeups::new();
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let task_waker = futures::task::waker(task.clone());

        let first = wakeups.take(&task_waker);
        assert!(first.contains(Source::Socket) && first.contains(Source::InitDeadline));
        assert_eq!(wakeups.take(&task_waker), Woken(0), "taken once");

        wakeups.context(Source::Events).waker().wake_by_ref();
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
        let woken = wakeups.take(&task_waker);
        assert!(woken.contains(Source::Events));
        assert!(!woken.contains(Source::Socket));

        wakeups.again(Source::Socket);
        assert_eq!(task.0.load(Ordering::SeqCst), 1, "again does not wake");
        assert!(wakeups.take(&task_waker).contains(Source::Socket));
    }
}
