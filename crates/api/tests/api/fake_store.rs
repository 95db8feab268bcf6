//! An in-memory `Store`, just faithful enough for the API's tests: it
//! counts every call (standing in for SQL statements) so tests can prove a
//! page costs a constant number of them. Ordering and paging are simple
//! scans; the real rules are tested against the real repositories
//! elsewhere. Writes append their events to an in-memory log with
//! per-stream sequences, as the real store does in its transaction.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::auth::{Principal, StoredToken, Visibility};
use domain::content::{Article, ArticleBody, ArticleStatus, Author, NewSection, Section, Tag};
use domain::events::{Event, EventRecord, Stream};
use domain::html::SafeHtml;
use domain::ids::{
    ArticleId, AuthorId, BreakingNewsId, LiveBlogId, LiveEntryId, SectionId, TagId, TokenId,
};
use domain::live::{BreakingNews, LiveBlog, LiveBlogStatus, LiveEntry};
use domain::page::{Direction, Page, PageRequest, Position, SortValue};
use domain::ports::*;
use domain::syndication::SyndicatedItem;
use domain::text::Slug;
use domain::{Error, Result};

#[derive(Default)]
pub struct FakeStore {
    pub data: Mutex<Data>,
    calls: AtomicU64,
    pub down: AtomicBool,
    /// The reads a live-blog subscription starts with (does the blog
    /// exist, where is its stream), counted apart.
    pub start_reads: AtomicU64,
    /// Makes each of those reads take 20 ms, as a busy database would, so
    /// that many subscriptions start while one is in flight.
    pub slow_start_reads: AtomicBool,
}

#[derive(Default)]
pub struct Data {
    pub sections: Vec<Section>,
    pub authors: Vec<Author>,
    pub tags: Vec<Tag>,
    pub articles: Vec<Article>,
    pub blogs: Vec<LiveBlog>,
    pub entries: Vec<LiveEntry>,
    pub alerts: Vec<BreakingNews>,
    pub tokens: Vec<StoredToken>,
    pub events: Vec<EventRecord>,
    pub syndicated: Vec<SyndicatedItem>,
    /// name, holder, expiry
    pub leases: Vec<(String, String, DateTime<Utc>)>,
}

impl Data {
    /// Appends events with the next sequence numbers of their streams.
    fn append(&mut self, events: &[Event]) -> Vec<EventRecord> {
        let mut committed = Vec::with_capacity(events.len());
        for event in events {
            let stream = event.stream();
            let seq = self.latest_seq(&stream) + 1;
            let record = EventRecord {
                stream,
                seq,
                occurred_at: Utc::now(),
                event: event.clone(),
            };
            self.events.push(record.clone());
            committed.push(record);
        }
        committed
    }

    fn latest_seq(&self, stream: &Stream) -> i64 {
        self.events
            .iter()
            .filter(|r| &r.stream == stream)
            .map(|r| r.seq)
            .max()
            .unwrap_or(0)
    }

    /// The ids of tags by slug, creating the missing ones.
    fn tag_ids(&mut self, tags: &[(Slug, String)]) -> Vec<TagId> {
        let mut ids = Vec::with_capacity(tags.len());
        for (slug, name) in tags {
            let id = match self.tags.iter().find(|t| &t.slug == slug) {
                Some(tag) => tag.id,
                None => {
                    let tag = Tag {
                        id: TagId::new(),
                        slug: slug.clone(),
                        name: name.clone(),
                    };
                    self.tags.push(tag.clone());
                    tag.id
                }
            };
            ids.push(id);
        }
        ids
    }

    /// The one-pinned-entry rule: pinning `entry` unpins the others.
    fn unpin_others(&mut self, entry: &LiveEntry) {
        if entry.pinned {
            for other in self
                .entries
                .iter_mut()
                .filter(|e| e.live_blog_id == entry.live_blog_id && e.id != entry.id)
            {
                other.pinned = false;
            }
        }
    }
}

impl FakeStore {
    async fn start_read(&self) {
        self.start_reads.fetch_add(1, Ordering::SeqCst);
        if self.slow_start_reads.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.data.lock().expect("fake store lock")
    }
}

/// Pages rows already in ordering order, finding cursors by row id.
fn paginate<T>(rows: Vec<(Position, T)>, request: &PageRequest) -> Page<T> {
    let index = |p: &Option<Position>| {
        p.as_ref()
            .and_then(|p| rows.iter().position(|(q, _)| q.id == p.id))
    };
    let start = index(&request.after).map_or(0, |i| i + 1);
    let end = index(&request.before).unwrap_or(rows.len());
    let mut window: Vec<_> = rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i >= start && *i < end)
        .map(|(_, row)| row)
        .collect();
    if request.direction == Direction::Backward {
        window.reverse();
    }
    window.truncate(request.limit as usize + 1);
    Page::from_lookahead(window, request)
}

fn time_desc<T>(mut rows: Vec<(DateTime<Utc>, uuid::Uuid, T)>) -> Vec<(Position, T)> {
    rows.sort_by_key(|row| std::cmp::Reverse((row.0, row.1)));
    rows.into_iter()
        .map(|(t, id, row)| (Position::new(SortValue::Time(t), id), row))
        .collect()
}

fn matches(data: &Data, query: &ArticleQuery, a: &Article) -> bool {
    let f = &query.filter;
    let slug_of = |id: SectionId| data.sections.iter().find(|s| s.id == id).map(|s| &s.slug);
    (query.visibility == Visibility::Desk || a.status == ArticleStatus::Published)
        && f.status.is_none_or(|s| a.status == s)
        && f.section
            .as_ref()
            .is_none_or(|s| slug_of(a.section_id) == Some(s))
        && f.tag.as_ref().is_none_or(|s| {
            data.tags
                .iter()
                .any(|t| &t.slug == s && a.tag_ids.contains(&t.id))
        })
        && f.author.as_ref().is_none_or(|s| {
            data.authors
                .iter()
                .any(|x| &x.slug == s && a.author_ids.contains(&x.id))
        })
}

#[async_trait]
impl SectionRepository for FakeStore {
    async fn sections(&self) -> Result<Vec<Section>> {
        Ok(self.data().sections.clone())
    }
    async fn section_by_slug(&self, slug: &Slug) -> Result<Option<Section>> {
        Ok(self
            .data()
            .sections
            .iter()
            .find(|s| &s.slug == slug)
            .cloned())
    }
    async fn sections_by_ids(&self, ids: &[SectionId]) -> Result<Vec<Section>> {
        let data = self.data();
        Ok(data
            .sections
            .iter()
            .filter(|s| ids.contains(&s.id))
            .cloned()
            .collect())
    }
    async fn ensure_section(&self, _: &NewSection) -> Result<Section> {
        Err(Error::internal("not faked"))
    }
}

#[async_trait]
impl AuthorRepository for FakeStore {
    async fn author_by_id(&self, id: AuthorId) -> Result<Option<Author>> {
        Ok(self.data().authors.iter().find(|a| a.id == id).cloned())
    }
    async fn author_by_slug(&self, slug: &Slug) -> Result<Option<Author>> {
        Ok(self
            .data()
            .authors
            .iter()
            .find(|a| &a.slug == slug)
            .cloned())
    }
    async fn authors_by_ids(&self, ids: &[AuthorId]) -> Result<Vec<Author>> {
        let data = self.data();
        Ok(data
            .authors
            .iter()
            .filter(|a| ids.contains(&a.id))
            .cloned()
            .collect())
    }
    async fn list_authors(&self, page: &PageRequest) -> Result<Page<Author>> {
        let mut authors = self.data().authors.clone();
        authors.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        let rows = authors
            .into_iter()
            .map(|a| (Position::new(SortValue::Text(a.name.clone()), a.id.0), a))
            .collect();
        Ok(paginate(rows, page))
    }
    async fn count_authors(&self) -> Result<u64> {
        Ok(self.data().authors.len() as u64)
    }
    async fn insert_author(&self, author: &Author) -> Result<()> {
        self.data().authors.push(author.clone());
        Ok(())
    }
    async fn update_author(&self, author: &Author) -> Result<()> {
        let mut data = self.data();
        data.authors.retain(|a| a.id != author.id);
        data.authors.push(author.clone());
        Ok(())
    }
}

#[async_trait]
impl TagRepository for FakeStore {
    async fn tag_by_slug(&self, slug: &Slug) -> Result<Option<Tag>> {
        Ok(self.data().tags.iter().find(|t| &t.slug == slug).cloned())
    }
    async fn tags_by_ids(&self, ids: &[TagId]) -> Result<Vec<Tag>> {
        let data = self.data();
        Ok(data
            .tags
            .iter()
            .filter(|t| ids.contains(&t.id))
            .cloned()
            .collect())
    }
    async fn list_tags(&self, _: Option<&str>, page: &PageRequest) -> Result<Page<Tag>> {
        let rows = self
            .data()
            .tags
            .iter()
            .map(|t| {
                (
                    Position::new(SortValue::Text(t.name.clone()), t.id.0),
                    t.clone(),
                )
            })
            .collect();
        Ok(paginate(rows, page))
    }
    async fn count_tags(&self, _: Option<&str>) -> Result<u64> {
        Ok(self.data().tags.len() as u64)
    }
}

/// The article as a read with `parts` brings it back.
fn as_read(article: &Article, parts: ArticleParts) -> Article {
    let mut article = article.clone();
    if !parts.body {
        article.body = ArticleBody::Unread;
    }
    article
}

fn read_one(data: &Data, article: &Article, parts: ArticleParts) -> WithLinked<Article> {
    WithLinked {
        value: as_read(article, parts),
        linked: linked(data, [article]),
    }
}

/// The authors and tags that `articles` name, as the store brings them.
fn linked<'a>(data: &Data, articles: impl IntoIterator<Item = &'a Article>) -> Linked {
    let mut linked = Linked::default();
    for article in articles {
        for author in data
            .authors
            .iter()
            .filter(|a| article.author_ids.contains(&a.id))
        {
            if !linked.authors.iter().any(|a| a.id == author.id) {
                linked.authors.push(author.clone());
            }
        }
        for tag in data.tags.iter().filter(|t| article.tag_ids.contains(&t.id)) {
            if !linked.tags.iter().any(|t| t.id == tag.id) {
                linked.tags.push(tag.clone());
            }
        }
    }
    linked
}

#[async_trait]
impl ArticleRepository for FakeStore {
    async fn article_by_id(
        &self,
        id: ArticleId,
        v: Visibility,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>> {
        let data = self.data();
        let found = data.articles.iter().find(|a| a.id == id);
        Ok(found
            .filter(|a| v == Visibility::Desk || a.is_public())
            .map(|a| read_one(&data, a, parts)))
    }
    async fn article_by_slug(
        &self,
        slug: &Slug,
        v: Visibility,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>> {
        let data = self.data();
        let found = data.articles.iter().find(|a| &a.slug == slug);
        Ok(found
            .filter(|a| v == Visibility::Desk || a.is_public())
            .map(|a| read_one(&data, a, parts)))
    }
    async fn article_bodies(&self, ids: &[ArticleId]) -> Result<Vec<(ArticleId, SafeHtml)>> {
        let data = self.data();
        Ok(data
            .articles
            .iter()
            .filter(|a| ids.contains(&a.id))
            .filter_map(|a| Some((a.id, a.body.read()?.clone())))
            .collect())
    }
    async fn list_articles(
        &self,
        query: &ArticleQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<Article>>> {
        let data = self.data();
        let rows = data
            .articles
            .iter()
            .filter(|a| matches(&data, query, a))
            .map(|a| {
                (
                    a.published_at.unwrap_or(a.created_at),
                    a.id.0,
                    as_read(a, parts),
                )
            })
            .collect();
        let page = paginate(time_desc(rows), page);
        let linked = linked(&data, page.items.iter().map(|(_, a)| a));
        Ok(WithLinked {
            value: page,
            linked,
        })
    }
    async fn count_articles(&self, query: &ArticleQuery) -> Result<u64> {
        let data = self.data();
        Ok(data
            .articles
            .iter()
            .filter(|a| matches(&data, query, a))
            .count() as u64)
    }
    async fn search(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<SearchHit>>> {
        let data = self.data();
        let text = query.text.to_lowercase();
        let rows = data
            .articles
            .iter()
            .filter(|a| a.is_public() && a.headline.to_lowercase().contains(&text))
            .enumerate()
            .map(|(i, a)| {
                let hit = SearchHit {
                    article: as_read(a, parts),
                    rank: 1.0 / (i as f64 + 1.0),
                    snippet: format!("<mark>{}</mark>", a.headline),
                };
                (Position::new(SortValue::Int(i as i64), a.id.0), hit)
            })
            .collect();
        let page = paginate(rows, page);
        let linked = linked(&data, page.items.iter().map(|(_, hit)| &hit.article));
        Ok(WithLinked {
            value: page,
            linked,
        })
    }
    async fn count_search(&self, _: &SearchQuery) -> Result<u64> {
        Err(Error::internal("not faked"))
    }
    async fn insert_article(&self, article: &Article, tags: &[(Slug, String)]) -> Result<Article> {
        let mut data = self.data();
        let mut article = article.clone();
        article.tag_ids = data.tag_ids(tags);
        data.articles.push(article.clone());
        Ok(article)
    }
    async fn update_article(
        &self,
        article: &Article,
        tags: Option<&[(Slug, String)]>,
        expected_version: i32,
        events: &[Event],
    ) -> Result<(Article, Vec<EventRecord>)> {
        let mut data = self.data();
        let mut article = article.clone();
        if let Some(tags) = tags {
            article.tag_ids = data.tag_ids(tags);
        }
        let Some(stored) = data.articles.iter_mut().find(|a| a.id == article.id) else {
            return Err(Error::NotFound("article"));
        };
        if stored.version != expected_version {
            return Err(Error::Conflict("stale".into()));
        }
        *stored = article.clone();
        let records = data.append(events);
        Ok((article, records))
    }
    async fn delete_article(&self, id: ArticleId) -> Result<bool> {
        let mut data = self.data();
        let before = data.articles.len();
        data.articles.retain(|a| a.id != id);
        Ok(data.articles.len() < before)
    }
    async fn due_scheduled_articles(&self, _: DateTime<Utc>, _: u32) -> Result<Vec<Article>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl LiveBlogRepository for FakeStore {
    async fn live_blog_by_id(&self, id: LiveBlogId) -> Result<Option<LiveBlog>> {
        self.start_read().await;
        Ok(self.data().blogs.iter().find(|b| b.id == id).cloned())
    }
    async fn live_blog_by_slug(&self, slug: &Slug) -> Result<Option<LiveBlog>> {
        Ok(self.data().blogs.iter().find(|b| &b.slug == slug).cloned())
    }
    async fn list_live_blogs(
        &self,
        _: Option<LiveBlogStatus>,
        page: &PageRequest,
    ) -> Result<Page<LiveBlog>> {
        let rows = self
            .data()
            .blogs
            .iter()
            .map(|b| (b.created_at, b.id.0, b.clone()))
            .collect();
        Ok(paginate(time_desc(rows), page))
    }
    async fn count_live_blogs(&self, _: Option<LiveBlogStatus>) -> Result<u64> {
        Ok(self.data().blogs.len() as u64)
    }
    async fn insert_live_blog(&self, blog: &LiveBlog) -> Result<()> {
        self.data().blogs.push(blog.clone());
        Ok(())
    }
    async fn update_live_blog(
        &self,
        blog: &LiveBlog,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut data = self.data();
        let Some(stored) = data.blogs.iter_mut().find(|b| b.id == blog.id) else {
            return Err(Error::NotFound("live blog"));
        };
        *stored = blog.clone();
        Ok(data.append(events))
    }
    async fn live_entries(
        &self,
        blog: LiveBlogId,
        key: bool,
        page: &PageRequest,
    ) -> Result<Page<LiveEntry>> {
        let data = self.data();
        let rows = data
            .entries
            .iter()
            .filter(|e| e.live_blog_id == blog && (!key || e.key_event))
            .map(|e| (e.posted_at, e.id.0, e.clone()))
            .collect();
        Ok(paginate(time_desc(rows), page))
    }
    async fn count_live_entries(&self, blog: LiveBlogId, _: bool) -> Result<u64> {
        Ok(self
            .data()
            .entries
            .iter()
            .filter(|e| e.live_blog_id == blog)
            .count() as u64)
    }
    async fn live_entry_by_id(&self, id: LiveEntryId) -> Result<Option<LiveEntry>> {
        Ok(self.data().entries.iter().find(|e| e.id == id).cloned())
    }
    async fn pinned_entry(&self, blog: LiveBlogId) -> Result<Option<LiveEntry>> {
        let data = self.data();
        Ok(data
            .entries
            .iter()
            .find(|e| e.live_blog_id == blog && e.pinned)
            .cloned())
    }
    async fn pinned_entries(&self, blogs: &[LiveBlogId]) -> Result<Vec<LiveEntry>> {
        let data = self.data();
        Ok(data
            .entries
            .iter()
            .filter(|e| e.pinned && blogs.contains(&e.live_blog_id))
            .cloned()
            .collect())
    }
    async fn key_events(&self, blogs: &[LiveBlogId], per_blog: u32) -> Result<Vec<LiveEntry>> {
        let data = self.data();
        let mut found = Vec::new();
        for blog in blogs {
            let rows = data
                .entries
                .iter()
                .filter(|e| e.live_blog_id == *blog && e.key_event)
                .map(|e| (e.posted_at, e.id.0, e.clone()))
                .collect();
            let page = paginate(time_desc(rows), &PageRequest::first(per_blog));
            found.extend(page.items.into_iter().map(|(_, e)| e));
        }
        Ok(found)
    }
    async fn insert_live_entry(
        &self,
        entry: &LiveEntry,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut data = self.data();
        data.unpin_others(entry);
        data.entries.push(entry.clone());
        Ok(data.append(events))
    }
    async fn update_live_entry(
        &self,
        entry: &LiveEntry,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut data = self.data();
        data.unpin_others(entry);
        let Some(stored) = data.entries.iter_mut().find(|e| e.id == entry.id) else {
            return Err(Error::NotFound("live entry"));
        };
        *stored = entry.clone();
        Ok(data.append(events))
    }
    async fn delete_live_entry(
        &self,
        id: LiveEntryId,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut data = self.data();
        let before = data.entries.len();
        data.entries.retain(|e| e.id != id);
        if data.entries.len() == before {
            return Err(Error::NotFound("live entry"));
        }
        Ok(data.append(events))
    }
}

#[async_trait]
impl BreakingNewsRepository for FakeStore {
    async fn active_breaking_news(&self, now: DateTime<Utc>) -> Result<Vec<BreakingNews>> {
        let data = self.data();
        Ok(data
            .alerts
            .iter()
            .filter(|a| a.is_active(now))
            .cloned()
            .collect())
    }
    async fn breaking_news_by_id(&self, id: BreakingNewsId) -> Result<Option<BreakingNews>> {
        Ok(self.data().alerts.iter().find(|a| a.id == id).cloned())
    }
    async fn insert_breaking_news(
        &self,
        alert: &BreakingNews,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut data = self.data();
        data.alerts.push(alert.clone());
        Ok(data.append(events))
    }
    async fn update_breaking_news(
        &self,
        alert: &BreakingNews,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut data = self.data();
        let Some(stored) = data.alerts.iter_mut().find(|a| a.id == alert.id) else {
            return Err(Error::NotFound("breaking news"));
        };
        *stored = alert.clone();
        Ok(data.append(events))
    }
}

#[async_trait]
impl TokenRepository for FakeStore {
    async fn insert_token(&self, token: &StoredToken) -> Result<()> {
        self.data().tokens.push(token.clone());
        Ok(())
    }
    async fn revoke_tokens(&self, name: &str) -> Result<u64> {
        let mut data = self.data();
        let before = data.tokens.len();
        data.tokens.retain(|t| t.name != name);
        Ok((before - data.tokens.len()) as u64)
    }
    async fn principal_by_token_hash(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>> {
        let data = self.data();
        Ok(data
            .tokens
            .iter()
            .find(|t| t.hash == hash && t.expires_at.is_none_or(|at| at > now))
            .map(|t| Principal {
                token_id: t.id,
                name: t.name.clone(),
                role: t.role,
            }))
    }
    async fn active_tokens(&self, ids: &[TokenId], now: DateTime<Utc>) -> Result<Vec<TokenId>> {
        let data = self.data();
        Ok(data
            .tokens
            .iter()
            .filter(|t| ids.contains(&t.id) && t.expires_at.is_none_or(|at| at > now))
            .map(|t| t.id)
            .collect())
    }
}

#[async_trait]
impl EventLog for FakeStore {
    async fn events_after(
        &self,
        stream: &Stream,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        let data = self.data();
        let mut records: Vec<_> = data
            .events
            .iter()
            .filter(|r| &r.stream == stream && r.seq > after)
            .cloned()
            .collect();
        records.sort_by_key(|r| r.seq);
        records.truncate(limit as usize);
        Ok(records)
    }
    async fn latest_seq(&self, stream: &Stream) -> Result<i64> {
        self.start_read().await;
        Ok(self.data().latest_seq(stream))
    }
    async fn latest_seqs(&self, streams: &[Stream]) -> Result<Vec<(Stream, i64)>> {
        let data = self.data();
        Ok(streams.iter().map(|s| (*s, data.latest_seq(s))).collect())
    }
}

#[async_trait]
impl SyndicationRepository for FakeStore {
    async fn is_syndicated(
        &self,
        guid_scope: &str,
        guid: Option<&str>,
        link: &str,
    ) -> Result<bool> {
        Ok(self.data().syndicated.iter().any(|item| {
            item.link.as_str() == link
                || (item.guid_scope == guid_scope && guid.is_some() && item.guid.as_deref() == guid)
        }))
    }
    async fn insert_syndicated_article(
        &self,
        article: &Article,
        tags: &[(Slug, String)],
        new_authors: &[Author],
        item: &SyndicatedItem,
        events: &[Event],
    ) -> Result<Option<(Article, Vec<EventRecord>)>> {
        if self
            .is_syndicated(&item.guid_scope, item.guid.as_deref(), item.link.as_str())
            .await?
        {
            return Ok(None);
        }
        self.data().authors.extend_from_slice(new_authors);
        let stored = self.insert_article(article, tags).await?;
        let mut data = self.data();
        data.syndicated.push(item.clone());
        Ok(Some((stored, data.append(events))))
    }
    async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let mut data = self.data();
        match data.leases.iter_mut().find(|(n, _, _)| n == name) {
            Some(lease) if lease.1 == holder || lease.2 < now => {
                *lease = (name.to_owned(), holder.to_owned(), until);
                Ok(true)
            }
            Some(_) => Ok(false),
            None => {
                data.leases
                    .push((name.to_owned(), holder.to_owned(), until));
                Ok(true)
            }
        }
    }
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.data()
            .leases
            .retain(|(n, h, _)| !(n == name && h == holder));
        Ok(())
    }
}

#[async_trait]
impl Store for FakeStore {
    async fn ping(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::internal("connection refused by 10.0.0.5"))
        } else {
            Ok(())
        }
    }
    async fn refresh_statistics(&self) -> Result<()> {
        Ok(())
    }
    fn statements_executed(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}
