//! The node's cache of anonymous query responses.
//!
//! A front page is the same bytes for every reader until the newsroom
//! changes something, so the response of an anonymous query is kept,
//! serialised, keyed by its document, operation name and variables, and
//! sent again as is. What a token holder asks is never kept (it may show
//! drafts), nor a response with errors, nor anything but a query.
//!
//! **Invalidation.** Responses depend on *topics*, read off the root
//! fields of their operation: published content (articles, sections,
//! tags, authors), live blogs, breaking news. Each topic has a generation
//! counter, and so does everything at once (the epoch). A response is
//! kept with the counters of its topics as they were *before* it was
//! executed, and served only while they are unchanged: a change that
//! lands while a response is being computed makes it stale at once.
//! Counters move when the bus reports a change ([`Change`]): an event of
//! a stream, or a write that records no event (an author renamed). The
//! bus carries them from every node, and a reconnect or a lagging
//! listener counts as everything having changed. On the node that makes a
//! write, the epoch moves as soon as the write has run, before its
//! response goes out, so the writer never reads its own stale page.
//! Responses that show breaking news also age out after `max_age`: alerts
//! expire with time, not with an event. Nothing else changes but by a
//! write, so nothing else ages out (entries expiring together would send
//! every reader to the database at once).
//!
//! **One computation per key.** When a response is missing (first asked,
//! or just dropped by a change), the readers asking for it at that moment
//! wait for the first one's computation instead of each running the same
//! query: a front page dropped by a publication costs one execution, not
//! one per reader in flight. A reader arriving after a change that the
//! computation predates does not wait for it.
//!
//! **Bound.** Kept within a byte budget (bodies and keys), the least used
//! going first (see [`Generations`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_graphql::Variables;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection};
use bytes::Bytes;
use domain::events::Stream;
use domain::ports::Change;
use futures::StreamExt;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::graphql::documents::Generations;

/// What a response may depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Topics {
    pub content: bool,
    pub live_blogs: bool,
    pub breaking: bool,
}

impl Topics {
    const ALL: Topics = Topics {
        content: true,
        live_blogs: true,
        breaking: true,
    };

    fn and(self, other: Topics) -> Topics {
        Topics {
            content: self.content || other.content,
            live_blogs: self.live_blogs || other.live_blogs,
            breaking: self.breaking || other.breaking,
        }
    }

    /// What a root field of `Query` reads. An unknown one reads anything.
    fn of_root_field(name: &str) -> Topics {
        let content = Topics {
            content: true,
            ..Topics::default()
        };
        match name {
            "site" | "me" | "__typename" => Topics::default(),
            "article" | "articles" | "search" | "section" | "sections" | "author" | "authors"
            | "tag" | "tags" | "__schema" | "__type" => content,
            // Entries name authors; lists of blogs name sections.
            "liveBlog" | "liveBlogs" => Topics {
                live_blogs: true,
                ..content
            },
            // Alerts link to articles.
            "breakingNews" => Topics {
                breaking: true,
                ..content
            },
            _ => Topics::ALL,
        }
    }
}

/// The counters of every topic at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    content: u64,
    live_blogs: u64,
    breaking: u64,
}

impl Stamp {
    /// Whether nothing `topics` depends on moved between `self` and `now`.
    fn holds(&self, now: &Stamp, topics: Topics) -> bool {
        self.epoch == now.epoch
            && (!topics.content || self.content == now.content)
            && (!topics.live_blogs || self.live_blogs == now.live_blogs)
            && (!topics.breaking || self.breaking == now.breaking)
    }
}

/// A kept response.
#[derive(Debug)]
pub struct Cached {
    /// The serialised GraphQL response, `{"data":…}`.
    pub body: Bytes,
    /// A strong validator of `body`, quoted, for `ETag`.
    pub etag: String,
    topics: Topics,
    stamp: Stamp,
    kept_at: Instant,
}

/// Hit and miss counts, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    pub bytes: u64,
}

pub struct ResponseCache {
    entries: Mutex<Generations<String, Arc<Cached>>>,
    /// Responses being computed, by key, for readers to wait on.
    computing: Mutex<HashMap<String, Flight>>,
    epoch: AtomicU64,
    content: AtomicU64,
    live_blogs: AtomicU64,
    breaking: AtomicU64,
    max_age: Duration,
    enabled: bool,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResponseCache {
    /// A cache of about `budget` bytes (0: off) whose responses that show
    /// breaking news live at most `max_age`.
    pub fn new(budget: usize, max_age: Duration) -> Arc<Self> {
        Arc::new(ResponseCache {
            entries: Mutex::new(Generations::new(budget)),
            computing: Mutex::default(),
            epoch: AtomicU64::new(0),
            content: AtomicU64::new(0),
            live_blogs: AtomicU64::new(0),
            breaking: AtomicU64::new(0),
            max_age,
            enabled: budget > 0,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The counters now: take it before executing what will be kept.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            epoch: self.epoch.load(Ordering::SeqCst),
            content: self.content.load(Ordering::SeqCst),
            live_blogs: self.live_blogs.load(Ordering::SeqCst),
            breaking: self.breaking.load(Ordering::SeqCst),
        }
    }

    /// The kept response for `key`, if still valid.
    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        if !self.enabled {
            return None;
        }
        let found = lock(&self.entries).get(key);
        let now = self.stamp();
        let valid = found.filter(|cached| {
            cached.stamp.holds(&now, cached.topics)
                && (!cached.topics.breaking || cached.kept_at.elapsed() < self.max_age)
        });
        let counter = if valid.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        valid
    }

    /// The kept response for `key`; or, when it is missing, either a
    /// computation of it already running to wait for, or the task of
    /// computing it (see the module docs).
    pub fn lookup(self: &Arc<Self>, key: &str, topics: Topics) -> Lookup {
        if let Some(cached) = self.get(key) {
            return Lookup::Hit(cached);
        }
        if !self.enabled {
            return Lookup::Compute(None);
        }
        let stamp = self.stamp();
        let mut computing = lock(&self.computing);
        if let Some(flight) = computing.get(key)
            && flight.stamp.holds(&stamp, topics)
        {
            return Lookup::Wait(flight.result.clone());
        }
        let (sender, result) = watch::channel(None);
        computing.insert(key.to_owned(), Flight { stamp, result });
        Lookup::Compute(Some(Computation {
            cache: Arc::downgrade(self),
            key: key.to_owned(),
            stamp,
            sender,
        }))
    }

    /// The kept response for `key`, or else the one `compute` makes: run
    /// once however many ask at once (the others wait for it, and compute
    /// for themselves only if it is given up), then kept. An `Err` from
    /// `compute` is an answer not to keep (a response with errors, a
    /// timeout), handed back as it is.
    pub async fn get_or_compute<E>(
        self: &Arc<Self>,
        key: String,
        topics: Topics,
        compute: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Arc<Cached>, E> {
        let computation = match self.lookup(&key, topics) {
            Lookup::Hit(cached) => return Ok(cached),
            Lookup::Wait(computing) => match wait(computing).await {
                Some(cached) => return Ok(cached),
                None => None,
            },
            Lookup::Compute(computation) => computation,
        };
        let stamp = computation
            .as_ref()
            .map_or_else(|| self.stamp(), Computation::stamp);
        let cached = self.put(key, compute.await?, topics, stamp);
        if let Some(computation) = computation {
            computation.done(cached.clone());
        }
        Ok(cached)
    }

    /// Keeps `body` for `key`, computed from data as of `stamp`; returns it
    /// as kept (with its validator) even when the cache is off or the body
    /// went stale meanwhile, for the caller to send.
    pub fn put(&self, key: String, body: Bytes, topics: Topics, stamp: Stamp) -> Arc<Cached> {
        let cached = Arc::new(Cached {
            etag: etag(&body),
            body,
            topics,
            stamp,
            kept_at: Instant::now(),
        });
        if self.enabled && stamp.holds(&self.stamp(), topics) {
            let cost = key.len() + cached.body.len() + cached.etag.len() + 128;
            lock(&self.entries).insert(key, cached.clone(), cost);
        }
        cached
    }

    /// Counts a change heard from the bus.
    pub fn changed(&self, change: Change) {
        let counter = match change {
            Change::Stream(Stream::Articles) => &self.content,
            Change::Stream(Stream::LiveBlog(_)) => &self.live_blogs,
            Change::Stream(Stream::Breaking) => &self.breaking,
            // Rare writes (an author renamed shows on live blogs too):
            // everything goes.
            Change::Content | Change::Unknown => &self.epoch,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    /// Everything kept is stale: this node just made a write.
    pub fn flush(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Follows `changes` (the bus's) until they end.
    pub fn follow(self: &Arc<Self>, mut changes: BoxStream<'static, Change>) {
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(change) = changes.next().await {
                let Some(cache) = cache.upgrade() else {
                    return;
                };
                cache.changed(change);
            }
        });
    }

    pub fn counts(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: lock(&self.entries).bytes() as u64,
        }
    }
}

/// What [`ResponseCache::lookup`] found.
pub enum Lookup {
    Hit(Arc<Cached>),
    /// Another reader is computing it: wait with [`wait`].
    Wait(watch::Receiver<Option<Arc<Cached>>>),
    /// Compute it; `Some`: others may be waiting, tell them with
    /// [`Computation::done`] (dropping it tells them to compute their own).
    Compute(Option<Computation>),
}

struct Flight {
    stamp: Stamp,
    result: watch::Receiver<Option<Arc<Cached>>>,
}

/// The duty of computing a response that other readers may wait for.
pub struct Computation {
    cache: std::sync::Weak<ResponseCache>,
    key: String,
    stamp: Stamp,
    sender: watch::Sender<Option<Arc<Cached>>>,
}

impl Computation {
    /// The counters the computation must be kept with (taken before it).
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// Hands the response to whoever waits.
    pub fn done(self, cached: Arc<Cached>) {
        let _ = self.sender.send(Some(cached));
    }
}

impl Drop for Computation {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.upgrade() {
            let mut computing = lock(&cache.computing);
            if computing
                .get(&self.key)
                .is_some_and(|flight| flight.stamp == self.stamp)
            {
                computing.remove(&self.key);
            }
        }
    }
}

/// The response another reader computes, or `None` if it gave up (its
/// client went away, the response had errors): then compute it yourself.
pub async fn wait(mut result: watch::Receiver<Option<Arc<Cached>>>) -> Option<Arc<Cached>> {
    loop {
        if let Some(cached) = result.borrow_and_update().clone() {
            return Some(cached);
        }
        result.changed().await.ok()?;
    }
}

/// The cache key of a request: its document, operation and variables.
pub fn key(query: &str, operation_name: Option<&str>, variables: &Variables) -> String {
    let variables = serde_json::to_string(variables).unwrap_or_default();
    let mut key = String::with_capacity(query.len() + variables.len() + 32);
    key.push_str(operation_name.unwrap_or(""));
    key.push('\u{0}');
    key.push_str(&variables);
    key.push('\u{0}');
    key.push_str(query);
    key
}

/// What the operation `operation_name` of `doc` depends on, from its root
/// fields (fragments on the root expanded).
pub fn topics(doc: &ExecutableDocument, operation_name: Option<&str>) -> Topics {
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return Topics::ALL,
        },
        (DocumentOperations::Multiple(ops), None) => match ops.values().next() {
            Some(op) if ops.len() == 1 => op,
            _ => return Topics::ALL,
        },
    };
    let mut topics = Topics::default();
    let mut pending = vec![&operation.node.selection_set.node];
    let mut spread = std::collections::HashSet::new();
    while let Some(set) = pending.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    topics = topics.and(Topics::of_root_field(field.node.name.node.as_str()));
                }
                Selection::InlineFragment(inline) => pending.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    let name = &s.node.fragment_name.node;
                    match doc.fragments.get(name) {
                        Some(fragment) if spread.insert(name) => {
                            pending.push(&fragment.node.selection_set.node);
                        }
                        Some(_) => {}
                        None => return Topics::ALL,
                    }
                }
            }
        }
    }
    topics
}

/// A strong validator: the same bytes give the same tag on every node.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use domain::ids::LiveBlogId;

    use super::*;

    fn topics_of(query: &str) -> Topics {
        topics(&async_graphql::parser::parse_query(query).unwrap(), None)
    }

    fn kept(cache: &ResponseCache, key: &str, topics: Topics) {
        let stamp = cache.stamp();
        cache.put(key.to_owned(), Bytes::from_static(b"{}"), topics, stamp);
    }

    #[test]
    fn root_fields_name_the_topics() {
        let content = topics_of("{ articles { totalCount } site { name } }");
        assert!(content.content && !content.live_blogs && !content.breaking);
        let live = topics_of("query { ...F } fragment F on Query { liveBlog(slug: \"x\") { id } }");
        assert!(live.live_blogs && live.content);
        assert_eq!(topics_of("{ node(id: \"x\") { id } }"), Topics::ALL);
        assert_eq!(topics_of("{ site { name } }"), Topics::default());
    }

    #[test]
    fn a_change_drops_what_depends_on_it_and_nothing_else() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let content = Topics::of_root_field("articles");
        let live = Topics::of_root_field("liveBlog");
        kept(&cache, "feed", content);
        kept(&cache, "blog", live);
        cache.changed(Change::Stream(Stream::LiveBlog(LiveBlogId::new())));
        assert!(cache.get("feed").is_some());
        assert!(cache.get("blog").is_none());
        cache.changed(Change::Stream(Stream::Articles));
        assert!(cache.get("feed").is_none());
        kept(&cache, "feed", content);
        cache.changed(Change::Unknown);
        assert!(cache.get("feed").is_none());
        assert_eq!(cache.counts().hits, 1);
    }

    #[test]
    fn a_response_computed_across_a_change_is_not_kept() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let stamp = cache.stamp();
        cache.flush();
        let sent = cache.put("feed".into(), Bytes::from_static(b"{}"), Topics::ALL, stamp);
        assert_eq!(sent.etag, etag(b"{}"));
        assert!(cache.get("feed").is_none());
    }

    #[test]
    fn only_what_shows_alerts_ages_out_and_an_empty_budget_keeps_nothing() {
        let cache = ResponseCache::new(1 << 20, Duration::ZERO);
        kept(&cache, "alerts", Topics::of_root_field("breakingNews"));
        kept(&cache, "feed", Topics::of_root_field("articles"));
        assert!(cache.get("alerts").is_none());
        assert!(cache.get("feed").is_some());
        let off = ResponseCache::new(0, Duration::from_secs(60));
        kept(&off, "feed", Topics::ALL);
        assert!(off.get("feed").is_none());
    }

    #[tokio::test]
    async fn readers_of_a_missing_response_wait_for_one_computation() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let topics = Topics::of_root_field("articles");
        let Lookup::Compute(Some(first)) = cache.lookup("feed", topics) else {
            panic!("the first reader computes");
        };
        let Lookup::Wait(waiting) = cache.lookup("feed", topics) else {
            panic!("the second waits");
        };
        let waiter = tokio::spawn(wait(waiting));
        let stamp = first.stamp();
        let cached = cache.put("feed".into(), Bytes::from_static(b"{}"), topics, stamp);
        first.done(cached.clone());
        let got = waiter.await.unwrap().expect("a response");
        assert!(Arc::ptr_eq(&got, &cached));
        assert!(matches!(cache.lookup("feed", topics), Lookup::Hit(_)));
    }

    #[tokio::test]
    async fn a_computation_given_up_or_overtaken_by_a_change_is_not_waited_for() {
        let cache = ResponseCache::new(1 << 20, Duration::from_secs(60));
        let topics = Topics::of_root_field("articles");
        let Lookup::Compute(Some(first)) = cache.lookup("feed", topics) else {
            panic!("computes");
        };
        let Lookup::Wait(waiting) = cache.lookup("feed", topics) else {
            panic!("waits");
        };
        drop(first);
        assert!(wait(waiting).await.is_none(), "the waiter computes its own");
        let Lookup::Compute(Some(_second)) = cache.lookup("feed", topics) else {
            panic!("the next reader computes");
        };
        cache.changed(Change::Stream(Stream::Articles));
        assert!(
            matches!(cache.lookup("feed", topics), Lookup::Compute(Some(_))),
            "a computation that predates a change is not waited for"
        );
    }

    #[test]
    fn keys_tell_variables_and_operations_apart() {
        let v = |json| Variables::from_json(json);
        let a = key("{ a }", None, &v(serde_json::json!({ "x": 1 })));
        let b = key("{ a }", None, &v(serde_json::json!({ "x": 2 })));
        let c = key("{ a }", Some("A"), &v(serde_json::json!({ "x": 1 })));
        assert!(a != b && a != c && b != c);
        assert_eq!(etag(b"x"), etag(b"x"));
        assert_ne!(etag(b"x"), etag(b"y"));
    }
}
