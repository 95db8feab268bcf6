//! Batching of the lookups that nested fields make, so that a page of 20
//! articles with their sections, authors and tags costs one store call per
//! kind instead of one per article (the N+1 problem). A page of live blogs
//! likewise costs one call each for their pinned entries, stream cursors
//! and key events. Reads that bring related rows along (a page of articles
//! comes with the authors and tags it names) prime the loaders, so that
//! those fields cost no call at all.
//!
//! Loaders are built per operation (see [`crate::graphql::execute`]) on
//! [`Batcher`]s: batches without timers, and a cache that lives as long as
//! the operation (off for subscriptions, which outlive any one event).
//! Sections need no loader: the newsroom holds them in memory.

use domain::content::{Article, Author, Section, Tag};
use domain::events::Stream;
use domain::html::SafeHtml;
use domain::ids::{ArticleId, AuthorId, LiveBlogId, SectionId, TagId};
use domain::live::{LiveBlog, LiveEntry};
use domain::ports::Linked;
use domain::{Caller, Newsroom};
use futures::FutureExt;
use futures::future::try_join_all;
use std::collections::HashMap;

use crate::graphql::batch::{Batcher, Fetched};
use crate::graphql::errors::ApiResult;

pub struct Loaders {
    newsroom: Newsroom,
    authors: Batcher<AuthorId, Author>,
    tags: Batcher<TagId, Tag>,
    live_blogs: Batcher<LiveBlogId, LiveBlog>,
    articles: Batcher<ArticleId, Article>,
    bodies: Batcher<ArticleId, SafeHtml>,
    pinned_entries: Batcher<LiveBlogId, LiveEntry>,
    blog_cursors: Batcher<LiveBlogId, i64>,
    key_events: Batcher<KeyEvents, Vec<LiveEntry>>,
}

/// A batcher whose fetch is an async function of the newsroom and the keys.
macro_rules! batcher {
    ($cache:expr, $newsroom:expr, |$n:ident, $keys:ident| $body:expr) => {{
        let newsroom = $newsroom.clone();
        Batcher::new($cache, move |$keys| {
            let $n = newsroom.clone();
            async move { $body }.boxed()
        })
    }};
}

impl Loaders {
    /// Loaders for one operation of `caller`; `cache` off for subscriptions.
    pub fn new(newsroom: Newsroom, caller: Caller, cache: bool) -> Self {
        Loaders {
            authors: batcher!(cache, newsroom, |n, keys| by_id(
                n.authors_by_ids(&keys).await,
                |a: &Author| a.id
            )),
            tags: batcher!(cache, newsroom, |n, keys| by_id(
                n.tags_by_ids(&keys).await,
                |t: &Tag| t.id
            )),
            // The store has no batch lookup for live blogs; the batch still
            // merges duplicate keys, and the entries on one page all belong
            // to one blog, so a page of entries costs one lookup.
            live_blogs: batcher!(cache, newsroom, |n, keys| {
                let found = try_join_all(keys.iter().map(|id| n.live_blog_by_id(*id))).await;
                by_id(
                    found.map(|b| b.into_iter().flatten().collect()),
                    |b: &LiveBlog| b.id,
                )
            }),
            // Articles linked from breaking-news alerts (a handful at a
            // time), as the caller may see them.
            articles: {
                let newsroom = newsroom.clone();
                Batcher::new(cache, move |keys: Vec<ArticleId>| {
                    let (n, caller) = (newsroom.clone(), caller.clone());
                    async move {
                        let found =
                            try_join_all(keys.iter().map(|id| n.article_by_id(&caller, *id))).await;
                        by_id(
                            found.map(|a| a.into_iter().flatten().collect()),
                            |a: &Article| a.id,
                        )
                    }
                    .boxed()
                })
            },
            bodies: batcher!(cache, newsroom, |n, keys| Ok(n
                .article_bodies(&keys)
                .await?
                .into_iter()
                .collect())),
            pinned_entries: batcher!(cache, newsroom, |n, keys| by_id(
                n.pinned_entries(&keys).await,
                |e: &LiveEntry| e.live_blog_id
            )),
            blog_cursors: batcher!(cache, newsroom, |n, keys| {
                let streams: Vec<_> = keys.iter().map(|id| Stream::LiveBlog(*id)).collect();
                Ok(n.stream_cursors(&streams)
                    .await?
                    .into_iter()
                    .filter_map(|c| match c.stream {
                        Stream::LiveBlog(id) => Some((id, c.seq)),
                        _ => None,
                    })
                    .collect())
            }),
            key_events: batcher!(cache, newsroom, |n, keys| key_events(&n, keys).await),
            newsroom,
        }
    }

    /// Remembers the authors and tags a read brought along.
    pub fn prime(&self, linked: &Linked) {
        self.authors
            .prime(linked.authors.iter().map(|a| (a.id, a.clone())));
        self.tags
            .prime(linked.tags.iter().map(|t| (t.id, t.clone())));
    }

    /// Authors in the order of `ids` (byline order); ids with no author are
    /// skipped.
    pub async fn authors(&self, ids: &[AuthorId]) -> ApiResult<Vec<Author>> {
        let mut found = self.authors.load_many(ids).await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    pub async fn author(&self, id: AuthorId) -> ApiResult<Option<Author>> {
        self.authors.load_one(id).await
    }

    pub async fn tags(&self, ids: &[TagId]) -> ApiResult<Vec<Tag>> {
        let mut found = self.tags.load_many(ids).await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    pub async fn section(&self, id: SectionId) -> ApiResult<Section> {
        let found = self.newsroom.sections_by_ids(&[id]).await?;
        found.into_iter().next().ok_or_else(|| {
            // Sections are never deleted and are referenced by foreign keys.
            domain::Error::internal(format!("section {id} is referenced but missing")).into()
        })
    }

    pub async fn live_blog(&self, id: LiveBlogId) -> ApiResult<Option<LiveBlog>> {
        self.live_blogs.load_one(id).await
    }

    /// The body of an article read without it.
    pub async fn body(&self, id: ArticleId) -> ApiResult<SafeHtml> {
        self.bodies.load_one(id).await?.ok_or_else(|| {
            // Deleted between the read of the article and this one.
            domain::Error::NotFound("article").into()
        })
    }

    /// The blog's pinned entry, if it has one.
    pub async fn pinned_entry(&self, blog: LiveBlogId) -> ApiResult<Option<LiveEntry>> {
        self.pinned_entries.load_one(blog).await
    }

    /// The sequence of the latest event of the blog's stream (0 if none).
    pub async fn blog_cursor(&self, blog: LiveBlogId) -> ApiResult<i64> {
        Ok(self.blog_cursors.load_one(blog).await?.unwrap_or(0))
    }

    /// Up to `limit` newest key events of the blog, newest first.
    pub async fn key_events(&self, blog: LiveBlogId, limit: u32) -> ApiResult<Vec<LiveEntry>> {
        Ok(self
            .key_events
            .load_one(KeyEvents { blog, limit })
            .await?
            .unwrap_or_default())
    }

    /// An article as the request's caller may see it.
    pub async fn article(&self, id: ArticleId) -> ApiResult<Option<Article>> {
        self.articles.load_one(id).await
    }
}

/// Values keyed by `key`, as a fetch returns them.
fn by_id<K: Eq + std::hash::Hash, V>(
    found: domain::Result<Vec<V>>,
    key: impl Fn(&V) -> K,
) -> Fetched<K, V> {
    Ok(found?.into_iter().map(|v| (key(&v), v)).collect())
}

/// Key events of many blogs: one store call per distinct `limit` in the
/// batch (usually one, as a page asks the same of every blog).
async fn key_events(
    newsroom: &Newsroom,
    keys: Vec<KeyEvents>,
) -> Fetched<KeyEvents, Vec<LiveEntry>> {
    let mut by_limit: HashMap<u32, Vec<LiveBlogId>> = HashMap::new();
    for key in &keys {
        by_limit.entry(key.limit).or_default().push(key.blog);
    }
    let batches = try_join_all(by_limit.into_iter().map(|(limit, blogs)| async move {
        let entries = newsroom.key_events(&blogs, limit).await?;
        Ok::<_, domain::Error>((limit, blogs, entries))
    }))
    .await?;
    let mut found = HashMap::with_capacity(keys.len());
    for (limit, blogs, entries) in batches {
        for blog in blogs {
            found.insert(KeyEvents { blog, limit }, Vec::new());
        }
        // Entries come newest first within each blog.
        for entry in entries {
            let key = KeyEvents {
                blog: entry.live_blog_id,
                limit,
            };
            if let Some(list) = found.get_mut(&key) {
                list.push(entry);
            }
        }
    }
    Ok(found)
}

/// A blog's key events, as many as one `keyEvents(first:)` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyEvents {
    pub blog: LiveBlogId,
    pub limit: u32,
}
