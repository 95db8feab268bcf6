//! Batching of lookups without timers, for the loaders of one operation.
//!
//! async-graphql's `DataLoader` gathers keys for a fixed delay (1 ms by
//! default, on a timer thread of its own) and fetches from a spawned task:
//! every nested lookup then costs a millisecond of latency and two thread
//! hops, and a batch can split when the spawned task starts on another
//! core before the siblings have asked.
//!
//! Here the first caller of a batch opens it and yields once to the
//! runtime. An operation's fields are resolved as one task, and sibling
//! fields (the authors of each of a page's twenty articles) are polled in
//! the same pass, so by the time the task runs again every sibling has
//! added its keys. The opener then releases the batch, which closes (later
//! callers open the next one) and fetches them all in one call. The fetch
//! runs inside a shared future that every caller of the batch polls, so it
//! finishes even if the caller that opened it is dropped (dropping the
//! opener releases the batch too).
//!
//! With `cache` on, what was fetched or primed is kept for the rest of the
//! operation (a query sees one snapshot of, say, an author wherever it
//! appears). Subscriptions turn it off: their operation outlives any one
//! event, and a cached author would go stale.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::{BoxFuture, Shared};

use crate::graphql::errors::ApiResult;

/// What a fetch returns: the values found, by key (missing keys: none).
pub type Fetched<K, V> = Result<HashMap<K, V>, Arc<domain::Error>>;

type Fetch<K, V> = dyn Fn(Vec<K>) -> BoxFuture<'static, Fetched<K, V>> + Send + Sync;

type BatchResult<K, V> = Result<Arc<HashMap<K, V>>, Arc<domain::Error>>;

pub struct Batcher<K, V> {
    inner: Arc<Inner<K, V>>,
}

struct Inner<K, V> {
    fetch: Box<Fetch<K, V>>,
    cache: bool,
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    /// Keys fetched or primed, with what was found (`None`: nothing).
    known: HashMap<K, Option<V>>,
    /// The batch still taking keys.
    open: Option<OpenBatch<K, V>>,
    next_batch: u64,
}

struct OpenBatch<K, V> {
    id: u64,
    keys: Vec<K>,
    result: Shared<BoxFuture<'static, BatchResult<K, V>>>,
}

impl<K, V> Batcher<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new<F>(cache: bool, fetch: F) -> Self
    where
        F: Fn(Vec<K>) -> BoxFuture<'static, Fetched<K, V>> + Send + Sync + 'static,
    {
        Batcher {
            inner: Arc::new(Inner {
                fetch: Box::new(fetch),
                cache,
                state: Mutex::new(State {
                    known: HashMap::new(),
                    open: None,
                    next_batch: 0,
                }),
            }),
        }
    }

    /// Remembers values fetched some other way (the authors that came with
    /// a page of articles), so that loading them costs nothing.
    pub fn prime(&self, values: impl IntoIterator<Item = (K, V)>) {
        if !self.inner.cache {
            return;
        }
        let mut state = lock(&self.inner.state);
        for (key, value) in values {
            state.known.insert(key, Some(value));
        }
    }

    pub async fn load_one(&self, key: K) -> ApiResult<Option<V>> {
        let mut found = self.load_many(std::slice::from_ref(&key)).await?;
        Ok(found.remove(&key))
    }

    /// The values of `keys` that exist.
    pub async fn load_many(&self, keys: &[K]) -> ApiResult<HashMap<K, V>> {
        let mut found = HashMap::with_capacity(keys.len());
        let batch = {
            let mut state = lock(&self.inner.state);
            let mut missing = Vec::new();
            for key in keys {
                match state.known.get(key) {
                    Some(Some(value)) => {
                        found.insert(key.clone(), value.clone());
                    }
                    Some(None) => {}
                    None => missing.push(key.clone()),
                }
            }
            if missing.is_empty() {
                return Ok(found);
            }
            let (batch, release) = match state.open.take() {
                Some(open) => (open, None),
                None => {
                    state.next_batch += 1;
                    let id = state.next_batch;
                    let (release, released) = oneshot::channel();
                    let batch = OpenBatch {
                        id,
                        keys: Vec::new(),
                        result: run_batch(self.inner.clone(), id, released),
                    };
                    (batch, Some(release))
                }
            };
            let result = batch.result.clone();
            let open = state.open.insert(batch);
            open.keys.extend(missing);
            (result, release)
        };
        let (batch, release) = batch;
        if let Some(release) = release {
            // The siblings polled in this pass add their keys meanwhile.
            tokio::task::yield_now().await;
            let _ = release.send(());
        }
        let fetched = batch.await?;
        for key in keys {
            if let Some(value) = fetched.get(key) {
                found.insert(key.clone(), value.clone());
            }
        }
        Ok(found)
    }
}

/// The future of batch `id`: waits until its opener releases it (or is
/// dropped), closes, fetches.
fn run_batch<K, V>(
    inner: Arc<Inner<K, V>>,
    id: u64,
    released: oneshot::Receiver<()>,
) -> Shared<BoxFuture<'static, BatchResult<K, V>>>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    async move {
        let _ = released.await;
        let mut keys = {
            let mut state = lock(&inner.state);
            match state.open.take() {
                Some(open) if open.id == id => open.keys,
                other => {
                    state.open = other;
                    Vec::new()
                }
            }
        };
        dedup(&mut keys);
        let fetched = Arc::new((inner.fetch)(keys.clone()).await?);
        if inner.cache {
            let mut state = lock(&inner.state);
            for key in keys {
                let value = fetched.get(&key).cloned();
                state.known.insert(key, value);
            }
        }
        Ok(fetched)
    }
    .boxed()
    .shared()
}

fn dedup<K: Eq + Hash + Clone>(keys: &mut Vec<K>) {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.retain(|key| seen.insert(key.clone()));
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::future::join_all;

    use super::*;

    /// The key lists a batcher fetched, in order.
    type Calls = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A batcher of squares that records the key lists it fetched.
    fn squares(cache: bool) -> (Batcher<u32, u64>, Calls) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let batcher = Batcher::new(cache, move |keys: Vec<u32>| {
            seen.lock().unwrap().push(keys.clone());
            async move {
                Ok(keys
                    .into_iter()
                    .filter(|k| *k != 0)
                    .map(|k| (k, u64::from(k) * u64::from(k)))
                    .collect())
            }
            .boxed()
        });
        (batcher, calls)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn siblings_polled_together_share_one_fetch() {
        let (batcher, calls) = squares(false);
        let loads = (0..20).map(|k| batcher.load_one(k % 7));
        let results = join_all(loads).await;
        assert_eq!(results[3].as_ref().unwrap(), &Some(9));
        assert_eq!(results[0].as_ref().unwrap(), &None);
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].len(), 7, "keys are fetched once each");
    }

    #[tokio::test]
    async fn a_later_load_opens_a_new_batch_and_the_cache_answers_known_keys() {
        let (batcher, calls) = squares(true);
        assert_eq!(batcher.load_one(2).await.unwrap(), Some(4));
        assert_eq!(batcher.load_one(2).await.unwrap(), Some(4));
        assert_eq!(batcher.load_one(0).await.unwrap(), None);
        assert_eq!(batcher.load_one(0).await.unwrap(), None);
        assert_eq!(*calls.lock().unwrap(), vec![vec![2], vec![0]]);
    }

    #[tokio::test]
    async fn primed_values_cost_no_fetch_unless_caching_is_off() {
        let (cached, calls) = squares(true);
        cached.prime([(5, 99)]);
        assert_eq!(cached.load_one(5).await.unwrap(), Some(99));
        assert!(calls.lock().unwrap().is_empty());

        let (uncached, calls) = squares(false);
        uncached.prime([(5, 99)]);
        assert_eq!(uncached.load_one(5).await.unwrap(), Some(25));
        assert_eq!(uncached.load_one(5).await.unwrap(), Some(25));
        assert_eq!(calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_batch_finishes_when_the_caller_that_opened_it_is_dropped() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counted = fetches.clone();
        let batcher: Batcher<u32, u32> = Batcher::new(false, move |keys: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok(keys.into_iter().map(|k| (k, k)).collect()) }.boxed()
        });
        let mut opener = Box::pin(batcher.load_one(1));
        // Opens the batch and yields.
        assert!(futures::poll!(opener.as_mut()).is_pending());
        let joiner = batcher.load_one(2);
        drop(opener);
        assert_eq!(joiner.await.unwrap(), Some(2));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_fetch_fails_every_caller_of_the_batch() {
        let batcher: Batcher<u32, u32> = Batcher::new(true, |_keys: Vec<u32>| {
            async { Err(Arc::new(domain::Error::internal("down"))) }.boxed()
        });
        let (a, b) = futures::join!(batcher.load_one(1), batcher.load_one(2));
        assert!(a.is_err() && b.is_err());
    }
}
