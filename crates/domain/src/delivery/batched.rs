//! Reads of the same thing, asked for by many subscribers at once, made
//! once per batch.
//!
//! When a node restarts, its 50,000 widgets reconnect within seconds, and
//! each subscription reads the same few rows (does the live blog exist,
//! where is its stream): that storm would queue every other query behind
//! it. A read in flight cannot simply be shared, though: it may have
//! started before what its joiner must see was committed (a live blog
//! created just before the widget subscribed; the latest event, which a
//! subscriber listening to the bus since a moment ago must not miss). So
//! [`Batched`] shares a read only among those who asked before it
//! started: whoever asks while a read runs waits for the next one, which
//! starts when the running one ends and serves everyone who asked
//! meanwhile. A key thus has at most one read running and one waiting,
//! and each caller waits at most two reads.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};

use crate::error::Result;

type Read<V> = Shared<BoxFuture<'static, Result<V>>>;

/// Reads by key, each shared by the callers that asked before it started.
pub struct Batched<K, V> {
    slots: Arc<Mutex<Slots<K, V>>>,
}

struct Slots<K, V> {
    by_key: HashMap<K, Slot<V>>,
    /// Tells reads apart, so that one ending clears only its own place.
    next_id: u64,
}

struct Slot<V> {
    /// The read running now: too early for anyone who asks from now on.
    running: Option<Handle<V>>,
    /// The read that starts once `running` ends, shared by whoever asks
    /// until then.
    waiting: Option<Handle<V>>,
}

/// Held weakly, so that a read nobody waits for any more is dropped (and
/// cancelled) with its last caller.
struct Handle<V> {
    id: u64,
    read: WeakShared<BoxFuture<'static, Result<V>>>,
}

impl<K, V> Default for Batched<K, V> {
    fn default() -> Self {
        Batched {
            slots: Arc::new(Mutex::new(Slots {
                by_key: HashMap::new(),
                next_id: 0,
            })),
        }
    }
}

impl<K, V> Batched<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value of `key`, from a read that starts after this call: the
    /// waiting one if there is one, or else a new one (`read`), which
    /// starts once the running one, if any, has ended.
    pub async fn get(
        &self,
        key: K,
        read: impl FnOnce() -> BoxFuture<'static, Result<V>> + Send + 'static,
    ) -> Result<V> {
        let shared = {
            let mut slots = lock(&self.slots);
            let Slots { by_key, next_id } = &mut *slots;
            let slot = by_key.entry(key.clone()).or_insert(Slot {
                running: None,
                waiting: None,
            });
            match slot.waiting.as_ref().and_then(Handle::upgrade) {
                Some(waiting) => waiting,
                None => {
                    *next_id += 1;
                    let id = *next_id;
                    let running = slot.running.as_ref().and_then(Handle::upgrade);
                    let queued = running.is_some();
                    let shared = self.start(key, id, running, read);
                    let handle = Some(Handle {
                        id,
                        read: shared.downgrade().expect("a shared future not yet polled"),
                    });
                    match queued {
                        true => slot.waiting = handle,
                        false => slot.running = handle,
                    }
                    shared
                }
            }
        };
        shared.await
    }

    /// The read `id` of `key`: after `running`, if given, has ended.
    fn start(
        &self,
        key: K,
        id: u64,
        running: Option<Read<V>>,
        read: impl FnOnce() -> BoxFuture<'static, Result<V>> + Send + 'static,
    ) -> Read<V> {
        let slots = Arc::downgrade(&self.slots);
        async move {
            let _done = Done {
                slots: slots.clone(),
                key: key.clone(),
                id,
            };
            if let Some(running) = running {
                // Whatever it found is too old for this batch.
                let _ = running.await;
                if let Some(slots) = slots.upgrade()
                    && let Some(slot) = lock(&slots).by_key.get_mut(&key)
                    && slot.waiting.as_ref().is_some_and(|h| h.id == id)
                {
                    slot.running = slot.waiting.take();
                }
            }
            read().await
        }
        .boxed()
        .shared()
    }

    /// Keys with a read running or waiting, for tests.
    #[cfg(test)]
    fn keys(&self) -> usize {
        lock(&self.slots).by_key.len()
    }
}

impl<V: Clone> Handle<V> {
    /// The read, unless it is gone or has ended.
    fn upgrade(&self) -> Option<Read<V>> {
        self.read.upgrade().filter(|read| read.peek().is_none())
    }
}

/// Clears a read's place when it ends, or when its last caller gives up.
struct Done<K: Eq + Hash, V> {
    slots: std::sync::Weak<Mutex<Slots<K, V>>>,
    key: K,
    id: u64,
}

impl<K: Eq + Hash, V> Drop for Done<K, V> {
    fn drop(&mut self) {
        let Some(slots) = self.slots.upgrade() else {
            return;
        };
        let mut slots = lock(&slots);
        let Some(slot) = slots.by_key.get_mut(&self.key) else {
            return;
        };
        for place in [&mut slot.running, &mut slot.waiting] {
            if place.as_ref().is_some_and(|handle| handle.id == self.id) {
                *place = None;
            }
        }
        if slot.running.is_none() && slot.waiting.is_none() {
            slots.by_key.remove(&self.key);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the slots consistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures::channel::oneshot;
    use futures::executor::{LocalPool, block_on};
    use futures::task::LocalSpawnExt;

    use super::*;

    /// A read whose result the test hands in, counting the reads started.
    struct Gate {
        started: Arc<AtomicU32>,
        results: Mutex<Vec<oneshot::Sender<i64>>>,
    }

    impl Gate {
        fn new() -> Arc<Self> {
            Arc::new(Gate {
                started: Arc::default(),
                results: Mutex::default(),
            })
        }

        fn read(self: &Arc<Self>) -> impl FnOnce() -> BoxFuture<'static, Result<i64>> + use<> {
            let gate = self.clone();
            move || {
                gate.started.fetch_add(1, Ordering::SeqCst);
                let (sender, receiver) = oneshot::channel();
                lock(&gate.results).push(sender);
                async move { Ok(receiver.await.expect("the test answers every read")) }.boxed()
            }
        }

        fn started(&self) -> u32 {
            self.started.load(Ordering::SeqCst)
        }

        /// Ends the oldest read still running with `value`.
        fn answer(&self, value: i64) {
            let sender = lock(&self.results).remove(0);
            sender.send(value).expect("someone waits for the read");
        }
    }

    #[test]
    fn callers_that_ask_while_a_read_runs_share_the_next_one() {
        let batched = Arc::new(Batched::<&str, i64>::default());
        let gate = Gate::new();
        let mut pool = LocalPool::new();
        let ask = |pool: &LocalPool| {
            let (batched, read) = (batched.clone(), gate.read());
            pool.spawner()
                .spawn_local_with_handle(async move { batched.get("stream", read).await })
                .expect("the pool runs")
        };
        let first = ask(&pool);
        pool.run_until_stalled();
        assert_eq!(gate.started(), 1);
        // Asked while the first read runs: it may predate what they need.
        let later: Vec<_> = (0..5).map(|_| ask(&pool)).collect();
        pool.run_until_stalled();
        assert_eq!(gate.started(), 1, "the next read waits for the running one");
        gate.answer(1);
        pool.run_until_stalled();
        assert_eq!(block_on(first).unwrap(), 1);
        assert_eq!(
            gate.started(),
            2,
            "the next read started once the first ended"
        );
        let after_it_started = ask(&pool);
        pool.run_until_stalled();
        assert_eq!(gate.started(), 2, "a third caller waits for its own read");
        gate.answer(2);
        pool.run_until_stalled();
        let values: Vec<i64> = later.into_iter().map(|v| block_on(v).unwrap()).collect();
        assert_eq!(
            values, [2; 5],
            "one read for all five, started after they asked"
        );
        assert_eq!(gate.started(), 3);
        gate.answer(3);
        pool.run_until_stalled();
        assert_eq!(block_on(after_it_started).unwrap(), 3);
        assert_eq!(batched.keys(), 0, "nothing is kept once the reads ended");
    }

    #[test]
    fn keys_are_read_apart_and_a_finished_read_is_not_reused() {
        let batched = Arc::new(Batched::<&str, i64>::default());
        let gate = Gate::new();
        let mut pool = LocalPool::new();
        let ask = |key| {
            let (batched, read) = (batched.clone(), gate.read());
            pool.spawner()
                .spawn_local_with_handle(async move { batched.get(key, read).await })
                .expect("the pool runs")
        };
        let (a, b) = (ask("a"), ask("b"));
        pool.run_until_stalled();
        assert_eq!(gate.started(), 2, "no key waits for another");
        gate.answer(10);
        gate.answer(20);
        pool.run_until_stalled();
        assert_eq!((block_on(a).unwrap(), block_on(b).unwrap()), (10, 20));
        let again = block_on(batched.get("a", || async { Ok(11) }.boxed()));
        assert_eq!(again.unwrap(), 11);
    }

    #[test]
    fn a_read_whose_callers_all_gave_up_leaves_no_trace() {
        let batched = Batched::<&str, i64>::default();
        let gate = Gate::new();
        let mut asked = Box::pin(batched.get("a", gate.read()));
        // Polled once, so that the read starts, then given up.
        assert!(block_on(futures::future::poll_immediate(&mut asked)).is_none());
        assert_eq!(gate.started(), 1);
        drop(asked);
        assert_eq!(batched.keys(), 0);
        let fresh = block_on(batched.get("a", || async { Ok(3) }.boxed()));
        assert_eq!(fresh.unwrap(), 3);
    }

    #[test]
    fn errors_reach_the_callers_and_are_not_kept() {
        let batched = Batched::<&str, i64>::default();
        let failing = || async { Err(crate::error::Error::internal("down")) }.boxed();
        assert!(block_on(batched.get("a", failing)).is_err());
        assert_eq!(batched.keys(), 0);
        let next = block_on(batched.get("a", || async { Ok(4) }.boxed()));
        assert_eq!(next.unwrap(), 4);
    }
}
