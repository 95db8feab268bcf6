//! What the newsroom needs from storage and from the event bus, as traits
//! the persistence and events crates implement. Every write method is one
//! transaction: it either happens whole or not at all, and unique-key
//! clashes come back as [`crate::Error::Conflict`], never as a driver error.
//!
//! Writes that readers can subscribe to take the [`Event`]s they cause and
//! append them to the event log in the same transaction, returning them as
//! committed (with their sequence numbers) for the newsroom to publish on
//! the bus after the commit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::auth::{Principal, StoredToken, Visibility};
use crate::content::{Article, ArticleKind, ArticleStatus, Author, NewSection, Section, Tag};
use crate::error::Result;
use crate::events::{Event, EventRecord, Stream};
use crate::html::SafeHtml;
use crate::ids::{
    ArticleId, AuthorId, BreakingNewsId, LiveBlogId, LiveEntryId, SectionId, TagId, TokenId,
};
use crate::live::{BreakingNews, LiveBlog, LiveBlogStatus, LiveEntry};
use crate::page::{Page, PageRequest};
use crate::syndication::SyndicatedItem;
use crate::text::Slug;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArticleFilter {
    pub section: Option<Slug>,
    pub tag: Option<Slug>,
    pub author: Option<Slug>,
    pub kind: Option<ArticleKind>,
    pub breaking: Option<bool>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
    /// Desk only; readers always get `PUBLISHED`.
    pub status: Option<ArticleStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArticleSort {
    /// Publication time; items never published (desk only) sort by their
    /// creation time.
    #[default]
    PublishedAt,
    UpdatedAt,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArticleOrder {
    pub sort: ArticleSort,
    pub direction: SortDirection,
}

impl ArticleOrder {
    /// The cursor namespace of this ordering (see [`crate::page`]).
    pub fn cursor_name(self) -> &'static str {
        match (self.sort, self.direction) {
            (ArticleSort::PublishedAt, SortDirection::Desc) => "articles.published.desc",
            (ArticleSort::PublishedAt, SortDirection::Asc) => "articles.published.asc",
            (ArticleSort::UpdatedAt, SortDirection::Desc) => "articles.updated.desc",
            (ArticleSort::UpdatedAt, SortDirection::Asc) => "articles.updated.asc",
            (ArticleSort::CreatedAt, SortDirection::Desc) => "articles.created.desc",
            (ArticleSort::CreatedAt, SortDirection::Asc) => "articles.created.asc",
        }
    }
}

/// A list of articles as a caller may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleQuery {
    pub filter: ArticleFilter,
    pub order: ArticleOrder,
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// What the reader typed; repositories must treat it as words, never as
    /// query syntax.
    pub text: String,
    pub filter: ArticleFilter,
    pub visibility: Visibility,
}

pub const SEARCH_CURSOR: &str = "search";
pub const AUTHORS_CURSOR: &str = "authors.name";
pub const TAGS_CURSOR: &str = "tags.name";
pub const LIVE_BLOGS_CURSOR: &str = "live_blogs.created.desc";
pub const LIVE_ENTRIES_CURSOR: &str = "live_entries.posted.desc";

/// How much of an article a read brings back: all of it but the body,
/// which only an article page shows and which is most of its bytes, unless
/// asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArticleParts {
    pub body: bool,
}

impl ArticleParts {
    /// Everything: what writes and article pages read.
    pub const WHOLE: ArticleParts = ArticleParts { body: true };
    /// Everything but the body: what lists of headlines read.
    pub const HEADLINES: ArticleParts = ArticleParts { body: false };
}

/// The authors and tags that a read's articles name, in no particular
/// order, brought back by the same read: a page of articles with its
/// bylines and tags costs no further lookups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Linked {
    pub authors: Vec<Author>,
    pub tags: Vec<Tag>,
}

impl Linked {
    pub fn extend(&mut self, other: Linked) {
        self.authors.extend(other.authors);
        self.tags.extend(other.tags);
    }
}

/// What an article read brings back: the articles (one, a page, search
/// hits) and what they link to.
#[derive(Debug, Clone, PartialEq)]
pub struct WithLinked<T> {
    pub value: T,
    pub linked: Linked,
}

impl<T> WithLinked<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> WithLinked<U> {
        WithLinked {
            value: f(self.value),
            linked: self.linked,
        }
    }
}

/// A search result: the article, its rank (higher is better) and a snippet
/// of its text around the match, HTML-escaped, with matches in `<mark>`.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub article: Article,
    pub rank: f64,
    pub snippet: String,
}

#[async_trait]
pub trait SectionRepository: Send + Sync {
    /// All sections in navigation order.
    async fn sections(&self) -> Result<Vec<Section>>;
    async fn section_by_slug(&self, slug: &Slug) -> Result<Option<Section>>;
    async fn sections_by_ids(&self, ids: &[SectionId]) -> Result<Vec<Section>>;
    /// Inserts the section unless one with its slug exists; returns the stored one.
    async fn ensure_section(&self, section: &NewSection) -> Result<Section>;
}

#[async_trait]
pub trait AuthorRepository: Send + Sync {
    async fn author_by_id(&self, id: AuthorId) -> Result<Option<Author>>;
    async fn author_by_slug(&self, slug: &Slug) -> Result<Option<Author>>;
    async fn authors_by_ids(&self, ids: &[AuthorId]) -> Result<Vec<Author>>;
    /// Ordered by name, then id (cursor name [`AUTHORS_CURSOR`]).
    async fn list_authors(&self, page: &PageRequest) -> Result<Page<Author>>;
    async fn count_authors(&self) -> Result<u64>;
    async fn insert_author(&self, author: &Author) -> Result<()>;
    async fn update_author(&self, author: &Author) -> Result<()>;
}

#[async_trait]
pub trait TagRepository: Send + Sync {
    async fn tag_by_slug(&self, slug: &Slug) -> Result<Option<Tag>>;
    async fn tags_by_ids(&self, ids: &[TagId]) -> Result<Vec<Tag>>;
    /// Ordered by name, then id (cursor name [`TAGS_CURSOR`]); `prefix`
    /// matches the start of the name or slug, case-insensitively.
    async fn list_tags(&self, prefix: Option<&str>, page: &PageRequest) -> Result<Page<Tag>>;
    async fn count_tags(&self, prefix: Option<&str>) -> Result<u64>;
}

#[async_trait]
pub trait ArticleRepository: Send + Sync {
    /// Articles come with `author_ids` (in byline order) and `tag_ids`
    /// filled, the body as `parts` asks, and the authors and tags they name
    /// in [`Linked`].
    async fn article_by_id(
        &self,
        id: ArticleId,
        visibility: Visibility,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>>;
    async fn article_by_slug(
        &self,
        slug: &Slug,
        visibility: Visibility,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>>;
    /// The bodies of `ids` (those that exist), for articles read without.
    async fn article_bodies(&self, ids: &[ArticleId]) -> Result<Vec<(ArticleId, SafeHtml)>>;
    async fn list_articles(
        &self,
        query: &ArticleQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<Article>>>;
    async fn count_articles(&self, query: &ArticleQuery) -> Result<u64>;
    /// Ranked full-text search over headline, standfirst and body text
    /// (cursor name [`SEARCH_CURSOR`], offset positions).
    async fn search(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<SearchHit>>>;
    async fn count_search(&self, query: &SearchQuery) -> Result<u64>;
    /// Stores a new article, creating its tags by slug (with the given
    /// display names) when they do not exist yet. Returns it as stored.
    async fn insert_article(&self, article: &Article, tags: &[(Slug, String)]) -> Result<Article>;
    /// Overwrites the article if its stored version is still
    /// `expected_version`, else [`crate::Error::Conflict`] (and no event is
    /// appended). `tags`, when given, replace the article's tags. Returns it
    /// as stored, with the committed events.
    async fn update_article(
        &self,
        article: &Article,
        tags: Option<&[(Slug, String)]>,
        expected_version: i32,
        events: &[Event],
    ) -> Result<(Article, Vec<EventRecord>)>;
    /// Returns whether the article existed.
    async fn delete_article(&self, id: ArticleId) -> Result<bool>;
    /// Scheduled articles whose time has come (for the publishing worker).
    async fn due_scheduled_articles(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Article>>;
}

#[async_trait]
pub trait LiveBlogRepository: Send + Sync {
    async fn live_blog_by_id(&self, id: LiveBlogId) -> Result<Option<LiveBlog>>;
    async fn live_blog_by_slug(&self, slug: &Slug) -> Result<Option<LiveBlog>>;
    /// Newest first (cursor name [`LIVE_BLOGS_CURSOR`]).
    async fn list_live_blogs(
        &self,
        status: Option<LiveBlogStatus>,
        page: &PageRequest,
    ) -> Result<Page<LiveBlog>>;
    async fn count_live_blogs(&self, status: Option<LiveBlogStatus>) -> Result<u64>;
    async fn insert_live_blog(&self, blog: &LiveBlog) -> Result<()>;
    async fn update_live_blog(&self, blog: &LiveBlog, events: &[Event])
    -> Result<Vec<EventRecord>>;

    /// Newest first by posting time (cursor name [`LIVE_ENTRIES_CURSOR`]).
    async fn live_entries(
        &self,
        blog: LiveBlogId,
        key_events_only: bool,
        page: &PageRequest,
    ) -> Result<Page<LiveEntry>>;
    async fn count_live_entries(&self, blog: LiveBlogId, key_events_only: bool) -> Result<u64>;
    async fn live_entry_by_id(&self, id: LiveEntryId) -> Result<Option<LiveEntry>>;
    async fn pinned_entry(&self, blog: LiveBlogId) -> Result<Option<LiveEntry>>;
    /// The pinned entry of each of `blogs` that has one, in no particular
    /// order (one statement, for batching).
    async fn pinned_entries(&self, blogs: &[LiveBlogId]) -> Result<Vec<LiveEntry>>;
    /// Up to `per_blog` newest key events of each of `blogs` (newest first
    /// by posting time, then id, within a blog; blogs in no particular
    /// order), in one statement, for batching.
    async fn key_events(&self, blogs: &[LiveBlogId], per_blog: u32) -> Result<Vec<LiveEntry>>;
    /// Stores the entry; a pinned entry unpins the blog's other entries in
    /// the same transaction, so a blog has at most one pinned entry.
    async fn insert_live_entry(
        &self,
        entry: &LiveEntry,
        events: &[Event],
    ) -> Result<Vec<EventRecord>>;
    /// Overwrites the entry, with the same pinning rule as insert.
    async fn update_live_entry(
        &self,
        entry: &LiveEntry,
        events: &[Event],
    ) -> Result<Vec<EventRecord>>;
    /// Deletes the entry; [`crate::Error::NotFound`] (and no event) when
    /// it does not exist.
    async fn delete_live_entry(
        &self,
        id: LiveEntryId,
        events: &[Event],
    ) -> Result<Vec<EventRecord>>;
}

#[async_trait]
pub trait BreakingNewsRepository: Send + Sync {
    /// Not retracted and not expired at `now`, newest first.
    async fn active_breaking_news(&self, now: DateTime<Utc>) -> Result<Vec<BreakingNews>>;
    async fn breaking_news_by_id(&self, id: BreakingNewsId) -> Result<Option<BreakingNews>>;
    async fn insert_breaking_news(
        &self,
        alert: &BreakingNews,
        events: &[Event],
    ) -> Result<Vec<EventRecord>>;
    async fn update_breaking_news(
        &self,
        alert: &BreakingNews,
        events: &[Event],
    ) -> Result<Vec<EventRecord>>;
}

#[async_trait]
pub trait TokenRepository: Send + Sync {
    async fn insert_token(&self, token: &StoredToken) -> Result<()>;
    /// Revokes every token with this name; returns how many.
    async fn revoke_tokens(&self, name: &str) -> Result<u64>;
    /// The holder of the token with this hash, if it is neither revoked nor
    /// expired at `now`.
    async fn principal_by_token_hash(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>>;
    /// Which of these tokens still authenticate at `now` (neither revoked
    /// nor expired).
    async fn active_tokens(&self, ids: &[TokenId], now: DateTime<Utc>) -> Result<Vec<TokenId>>;
}

/// The durable event log that subscriptions replay from.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Events of `stream` with a sequence above `after`, in order, at most
    /// `limit` of them.
    async fn events_after(
        &self,
        stream: &Stream,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>>;
    /// The sequence of the stream's latest event; 0 when it has none.
    async fn latest_seq(&self, stream: &Stream) -> Result<i64>;
    /// [`EventLog::latest_seq`] of several streams in one statement; streams
    /// with no events may be left out (their sequence is 0).
    async fn latest_seqs(&self, streams: &[Stream]) -> Result<Vec<(Stream, i64)>>;
}

#[async_trait]
pub trait SyndicationRepository: Send + Sync {
    /// Whether an item was imported: by its GUID within `guid_scope`, or by
    /// its link.
    async fn is_syndicated(&self, guid_scope: &str, guid: Option<&str>, link: &str)
    -> Result<bool>;
    /// Stores an imported article in one transaction: the bylines' authors
    /// that do not exist yet, the article with its links and tags, the
    /// record of the item, and the events. `None` when the item turns out
    /// to be imported already (by a concurrent import): nothing is written.
    async fn insert_syndicated_article(
        &self,
        article: &Article,
        tags: &[(Slug, String)],
        new_authors: &[Author],
        item: &SyndicatedItem,
        events: &[Event],
    ) -> Result<Option<(Article, Vec<EventRecord>)>>;
    /// Takes or renews the lease `name` for `holder` until `until`, unless
    /// another holder's lease is still running at `now`. True when held.
    async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Gives the lease up, if `holder` has it, so another node need not
    /// wait for it to run out.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
}

/// Everything the newsroom stores, behind one object chosen at start-up.
#[async_trait]
pub trait Store:
    SectionRepository
    + AuthorRepository
    + TagRepository
    + ArticleRepository
    + LiveBlogRepository
    + BreakingNewsRepository
    + TokenRepository
    + SyndicationRepository
    + EventLog
    + Send
    + Sync
    + 'static
{
    /// A round trip to the database, for readiness checks.
    async fn ping(&self) -> Result<()>;
    /// Brings the query planner's statistics up to date, after a bulk load
    /// (a database whose statistics predate its rows plans its reads
    /// badly until the next automatic refresh, if there is one).
    async fn refresh_statistics(&self) -> Result<()>;
    /// SQL statements executed since start-up, for `/metrics` and for tests
    /// that prove a page costs a constant number of queries.
    fn statements_executed(&self) -> u64;
}

/// What a bus subscription yields.
#[derive(Debug, Clone)]
pub enum BusMessage {
    /// An event, as committed. Within a stream these arrive in sequence
    /// order as a rule, but not by guarantee: a gap or a repeat is possible
    /// and subscribers check sequence numbers.
    Event(std::sync::Arc<EventRecord>),
    /// The bus may have lost messages (a reconnect to Redis): re-read the
    /// log from the last sequence seen. The number is the bus's resync
    /// generation: it grows with each resync, and every subscriber told of
    /// one resync hears the same number, so that they can share one read.
    Resync(u64),
    /// This subscriber fell so far behind that its bounded buffer overflowed.
    Lagged,
}

/// Small values every node can read back for a while: what one node learns
/// that the others may be asked about (the documents of persisted
/// queries). Best effort: a value may be gone (evicted, expired, the store
/// down), and callers must cope.
#[async_trait]
pub trait SharedValues: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Option<String>;
    async fn put(&self, key: &str, value: &str);
}

/// What caches of published content hear: that something changed, and
/// roughly what. Nothing more is needed to drop what is stale, so events
/// are not even decoded for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An event was committed to this stream.
    Stream(Stream),
    /// Published content changed in a way no event records: an author
    /// renamed, a live blog retitled, an article deleted, tags created.
    Content,
    /// News may have been lost (a reconnect, a slow listener): assume
    /// that anything may have changed.
    Unknown,
}

/// Carries committed events to every node. Best effort: delivery
/// guarantees come from the log, which subscribers re-read on any doubt.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Announces committed events. Failures are logged, never returned: the
    /// write has happened, and subscribers will find it in the log.
    async fn publish(&self, records: &[EventRecord]);
    /// Live messages of one stream, from now on. The stream ends only when
    /// the bus shuts down.
    fn subscribe(&self, stream: &Stream) -> futures::stream::BoxStream<'static, BusMessage>;
    /// Whether the bus is connected (for readiness); an in-process bus
    /// always is.
    fn is_connected(&self) -> bool;
    /// Tells every node that published content changed without an event
    /// ([`Change::Content`]). Best effort, like [`EventBus::publish`].
    async fn announce_change(&self);
    /// Every change on every node from now on: a [`Change::Stream`] for
    /// each event published, the announcements, and [`Change::Unknown`]
    /// whenever news may have been lost. Ends when the bus shuts down.
    fn changes(&self) -> futures::stream::BoxStream<'static, Change>;
}
