//! Batching of the lookups that nested fields make, so that a page of 20
//! articles with their sections, authors and tags costs one store call per
//! kind instead of one per article (the N+1 problem). A page of live blogs
//! likewise costs one call each for their pinned entries, stream cursors
//! and key events.
//!
//! Loaders are built per operation (see [`crate::graphql::context`]) and do
//! not cache: within one operation the batching already merges duplicate
//! keys, and a cache that outlived the operation would serve stale or
//! other callers' data.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use domain::content::{Article, Author, Section, Tag};
use domain::events::Stream;
use domain::ids::{ArticleId, AuthorId, LiveBlogId, SectionId, TagId};
use domain::live::{LiveBlog, LiveEntry};
use domain::{Caller, Newsroom};
use futures::future::try_join_all;

use crate::graphql::errors::ApiResult;

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<domain::Error>>;

pub struct Loaders {
    authors: DataLoader<AuthorLoader>,
    tags: DataLoader<TagLoader>,
    sections: DataLoader<SectionLoader>,
    live_blogs: DataLoader<LiveBlogLoader>,
    articles: DataLoader<ArticleLoader>,
    pinned_entries: DataLoader<PinnedEntryLoader>,
    blog_cursors: DataLoader<BlogCursorLoader>,
    key_events: DataLoader<KeyEventLoader>,
}

impl Loaders {
    pub fn new(newsroom: Newsroom, caller: Caller) -> Self {
        Loaders {
            authors: DataLoader::new(AuthorLoader(newsroom.clone()), tokio::spawn),
            tags: DataLoader::new(TagLoader(newsroom.clone()), tokio::spawn),
            sections: DataLoader::new(SectionLoader(newsroom.clone()), tokio::spawn),
            live_blogs: DataLoader::new(LiveBlogLoader(newsroom.clone()), tokio::spawn),
            pinned_entries: DataLoader::new(PinnedEntryLoader(newsroom.clone()), tokio::spawn),
            blog_cursors: DataLoader::new(BlogCursorLoader(newsroom.clone()), tokio::spawn),
            key_events: DataLoader::new(KeyEventLoader(newsroom.clone()), tokio::spawn),
            articles: DataLoader::new(ArticleLoader { newsroom, caller }, tokio::spawn),
        }
    }

    /// Authors in the order of `ids` (byline order); ids with no author are
    /// skipped.
    pub async fn authors(&self, ids: &[AuthorId]) -> ApiResult<Vec<Author>> {
        ordered(&self.authors, ids).await
    }

    pub async fn author(&self, id: AuthorId) -> ApiResult<Option<Author>> {
        Ok(self.authors.load_one(id).await?)
    }

    pub async fn tags(&self, ids: &[TagId]) -> ApiResult<Vec<Tag>> {
        ordered(&self.tags, ids).await
    }

    pub async fn section(&self, id: SectionId) -> ApiResult<Section> {
        self.sections.load_one(id).await?.ok_or_else(|| {
            // Sections are never deleted and are referenced by foreign keys.
            domain::Error::internal(format!("section {id} is referenced but missing")).into()
        })
    }

    pub async fn live_blog(&self, id: LiveBlogId) -> ApiResult<Option<LiveBlog>> {
        Ok(self.live_blogs.load_one(id).await?)
    }

    /// The blog's pinned entry, if it has one.
    pub async fn pinned_entry(&self, blog: LiveBlogId) -> ApiResult<Option<LiveEntry>> {
        Ok(self.pinned_entries.load_one(blog).await?)
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
        Ok(self.articles.load_one(id).await?)
    }
}

async fn ordered<K, L>(loader: &DataLoader<L>, ids: &[K]) -> ApiResult<Vec<L::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + Copy + 'static,
    L: Loader<K, Error = Arc<domain::Error>>,
{
    let mut found = loader.load_many(ids.iter().copied()).await?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

pub struct AuthorLoader(Newsroom);

impl Loader<AuthorId> for AuthorLoader {
    type Value = Author;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[AuthorId]) -> LoadResult<AuthorId, Author> {
        let authors = self.0.authors_by_ids(keys).await?;
        Ok(authors.into_iter().map(|a| (a.id, a)).collect())
    }
}

pub struct TagLoader(Newsroom);

impl Loader<TagId> for TagLoader {
    type Value = Tag;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[TagId]) -> LoadResult<TagId, Tag> {
        let tags = self.0.tags_by_ids(keys).await?;
        Ok(tags.into_iter().map(|t| (t.id, t)).collect())
    }
}

pub struct SectionLoader(Newsroom);

impl Loader<SectionId> for SectionLoader {
    type Value = Section;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[SectionId]) -> LoadResult<SectionId, Section> {
        let sections = self.0.sections_by_ids(keys).await?;
        Ok(sections.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// The store has no batch lookup for live blogs; this loader still merges
/// duplicate keys, and the entries on one page all belong to one blog, so a
/// page of entries costs one lookup.
pub struct LiveBlogLoader(Newsroom);

impl Loader<LiveBlogId> for LiveBlogLoader {
    type Value = LiveBlog;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[LiveBlogId]) -> LoadResult<LiveBlogId, LiveBlog> {
        let blogs = try_join_all(keys.iter().map(|id| self.0.live_blog_by_id(*id))).await?;
        Ok(blogs.into_iter().flatten().map(|b| (b.id, b)).collect())
    }
}

pub struct PinnedEntryLoader(Newsroom);

impl Loader<LiveBlogId> for PinnedEntryLoader {
    type Value = LiveEntry;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[LiveBlogId]) -> LoadResult<LiveBlogId, LiveEntry> {
        let entries = self.0.pinned_entries(keys).await?;
        Ok(entries.into_iter().map(|e| (e.live_blog_id, e)).collect())
    }
}

/// The latest sequence of each blog's event stream, for `LiveBlog.cursor`.
pub struct BlogCursorLoader(Newsroom);

impl Loader<LiveBlogId> for BlogCursorLoader {
    type Value = i64;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[LiveBlogId]) -> LoadResult<LiveBlogId, i64> {
        let streams: Vec<_> = keys.iter().map(|id| Stream::LiveBlog(*id)).collect();
        let cursors = self.0.stream_cursors(&streams).await?;
        Ok(cursors
            .into_iter()
            .filter_map(|c| match c.stream {
                Stream::LiveBlog(id) => Some((id, c.seq)),
                _ => None,
            })
            .collect())
    }
}

/// A blog's key events, as many as one `keyEvents(first:)` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyEvents {
    pub blog: LiveBlogId,
    pub limit: u32,
}

/// Key events of many blogs: one store call per distinct `limit` in the
/// batch (usually one, as a page asks the same of every blog).
pub struct KeyEventLoader(Newsroom);

impl Loader<KeyEvents> for KeyEventLoader {
    type Value = Vec<LiveEntry>;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[KeyEvents]) -> LoadResult<KeyEvents, Vec<LiveEntry>> {
        let mut by_limit: HashMap<u32, Vec<LiveBlogId>> = HashMap::new();
        for key in keys {
            by_limit.entry(key.limit).or_default().push(key.blog);
        }
        let batches = try_join_all(by_limit.into_iter().map(|(limit, blogs)| async move {
            let entries = self.0.key_events(&blogs, limit).await?;
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
}

/// Articles linked from breaking-news alerts (a handful at a time). No batch
/// lookup exists; duplicates are merged and the caller's visibility applies.
pub struct ArticleLoader {
    newsroom: Newsroom,
    caller: Caller,
}

impl Loader<ArticleId> for ArticleLoader {
    type Value = Article;
    type Error = Arc<domain::Error>;

    async fn load(&self, keys: &[ArticleId]) -> LoadResult<ArticleId, Article> {
        let articles = try_join_all(
            keys.iter()
                .map(|id| self.newsroom.article_by_id(&self.caller, *id)),
        )
        .await?;
        Ok(articles.into_iter().flatten().map(|a| (a.id, a)).collect())
    }
}
