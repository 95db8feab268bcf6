//! The newsroom service: every read and write the API offers, with the rules
//! that decide who may do what and what a valid change is. It talks to
//! storage only through [`Store`], so the same rules hold on SQLite and
//! PostgreSQL, and the API layer stays a thin translation.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::FutureExt;

use crate::auth::{Caller, IssuedToken, Role, StoredToken, Visibility, hash_token, token_secret};
use crate::catalog::SectionCatalog;
use crate::clock;
use crate::content::{Article, ArticleBody, ArticleStatus, Author, Section, Source, Tag, rules};
use crate::delivery;
use crate::error::{Error, Result};
use crate::events::{Event, EventRecord, Stream};
use crate::html::SafeHtml;
use crate::ids::{
    ArticleId, AuthorId, BreakingNewsId, LiveBlogId, LiveEntryId, SectionId, TagId, TokenId,
};
use crate::inputs::*;
use crate::live::{
    BreakingLink, BreakingNews, LiveBlog, LiveBlogStatus, LiveEntry, NewBreakingNews, entry_body,
};
use crate::page::{Direction, Page, PageRequest, Position, SortValue};
use crate::ports::{
    ArticleFilter, ArticleOrder, ArticleParts, ArticleQuery, EventBus, SearchHit, SearchQuery,
    Store, WithLinked,
};
use crate::text::{Slug, WebUrl, multi_line, single_line};

mod import;

#[derive(Clone)]
pub struct Newsroom {
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    sections: Arc<SectionCatalog>,
    /// The node's log reads for catching-up subscribers.
    reads: Arc<delivery::SharedReads>,
    /// Whether a live blog exists, asked by each of its subscriptions.
    live_blog_checks: Arc<delivery::Batched<LiveBlogId, bool>>,
    /// Whether an article is published, asked by each subscription to its
    /// updates.
    published_checks: Arc<delivery::Batched<ArticleId, bool>>,
}

impl Newsroom {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn EventBus>) -> Self {
        let reads = Arc::new(delivery::SharedReads::new(store.clone()));
        Newsroom {
            sections: Arc::new(SectionCatalog::new(store.clone())),
            store,
            bus,
            reads,
            live_blog_checks: Arc::default(),
            published_checks: Arc::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    /// Announces committed events. Called only after the transaction that
    /// appended them has committed, so a subscriber that hears of an event
    /// can always read it from the log.
    async fn announce(&self, records: Vec<EventRecord>) {
        if !records.is_empty() {
            self.bus.publish(&records).await;
        }
    }

    // ----- live delivery ----------------------------------------------------

    /// The events of `stream`: with `after` (a cursor), first every event
    /// after it, then live ones; each exactly once and in order.
    pub async fn feed(&self, stream: Stream, after: Option<&str>) -> Result<delivery::Feed> {
        delivery::feed(&self.reads, self.bus.as_ref(), stream, after).await
    }

    /// Whether live blog `id` exists, for a subscription to it. Every
    /// widget of a blog asks when it (re)connects, all at once after a node
    /// restarts, so the checks are batched (see [`delivery::Batched`]).
    pub async fn live_blog_exists(&self, id: LiveBlogId) -> Result<bool> {
        let store = self.store.clone();
        self.live_blog_checks
            .get(id, move || {
                async move { Ok(store.live_blog_by_id(id).await?.is_some()) }.boxed()
            })
            .await
    }

    /// Whether article `id` is published (anyone may see it), for a
    /// subscription to its updates: batched as [`Newsroom::live_blog_exists`].
    pub async fn article_is_published(&self, id: ArticleId) -> Result<bool> {
        let store = self.store.clone();
        self.published_checks
            .get(id, move || {
                async move {
                    let public = Caller::anonymous().visibility();
                    let found = store
                        .article_by_id(id, public, ArticleParts::HEADLINES)
                        .await?;
                    Ok(found.is_some())
                }
                .boxed()
            })
            .await
    }

    /// The position of the latest event of `stream`, to subscribe from.
    pub async fn stream_cursor(&self, stream: Stream) -> Result<crate::events::EventCursor> {
        let seq = self.store.latest_seq(&stream).await?;
        Ok(crate::events::EventCursor { stream, seq })
    }

    /// [`Newsroom::stream_cursor`] of several streams at once; every stream
    /// asked for is answered, in the order asked.
    pub async fn stream_cursors(
        &self,
        streams: &[Stream],
    ) -> Result<Vec<crate::events::EventCursor>> {
        let found: std::collections::HashMap<Stream, i64> =
            self.store.latest_seqs(streams).await?.into_iter().collect();
        Ok(streams
            .iter()
            .map(|stream| crate::events::EventCursor {
                stream: *stream,
                seq: found.get(stream).copied().unwrap_or(0),
            })
            .collect())
    }

    // ----- who is calling -------------------------------------------------

    /// Resolves a bearer token. An unknown or revoked token is an error, not
    /// an anonymous caller: a desk tool with a bad token should hear so.
    pub async fn caller_for_token(&self, secret: &str) -> Result<Caller> {
        match self
            .store
            .principal_by_token_hash(&hash_token(secret), clock::now())
            .await?
        {
            Some(principal) => Ok(Caller::desk(principal)),
            None => Err(Error::Unauthenticated),
        }
    }

    /// Issues a token that authenticates until revoked, or until
    /// `expires_at` when given.
    pub async fn issue_token(
        &self,
        name: &str,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
        random: [u8; 32],
    ) -> Result<IssuedToken> {
        let name = single_line(name, 1, 100).map_err(|e| e.at("name"))?;
        let now = clock::now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expiresAt", "must be in the future"));
        }
        let secret = token_secret(random);
        let stored = StoredToken {
            id: TokenId::new(),
            name,
            role,
            hash: hash_token(&secret),
            created_at: now,
            expires_at: expires_at.map(clock::truncate),
        };
        self.store.insert_token(&stored).await?;
        Ok(IssuedToken {
            id: stored.id,
            name: stored.name,
            role,
            secret,
        })
    }

    pub async fn revoke_tokens(&self, name: &str) -> Result<u64> {
        self.store.revoke_tokens(name.trim()).await
    }

    /// Which of these tokens still authenticate now: what long-lived
    /// connections check, so that a revoked or expired token stops working
    /// on sockets opened before.
    pub async fn active_tokens(&self, ids: &[TokenId]) -> Result<HashSet<TokenId>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let active = self.store.active_tokens(ids, clock::now()).await?;
        Ok(active.into_iter().collect())
    }

    // ----- sections, authors, tags -----------------------------------------

    /// All sections in navigation order (from memory: see [`SectionCatalog`]).
    pub async fn sections(&self) -> Result<Arc<Vec<Section>>> {
        self.sections.all().await
    }

    pub async fn section(&self, slug: &str) -> Result<Option<Section>> {
        match Slug::parse(slug) {
            Ok(slug) => self.sections.by_slug(&slug).await,
            Err(_) => Ok(None),
        }
    }

    pub async fn sections_by_ids(&self, ids: &[SectionId]) -> Result<Vec<Section>> {
        self.sections.by_ids(ids).await
    }

    pub async fn author(&self, slug: &str) -> Result<Option<Author>> {
        match Slug::parse(slug) {
            Ok(slug) => self.store.author_by_slug(&slug).await,
            Err(_) => Ok(None),
        }
    }

    pub async fn author_by_id(&self, id: AuthorId) -> Result<Option<Author>> {
        self.store.author_by_id(id).await
    }

    pub async fn authors_by_ids(&self, ids: &[AuthorId]) -> Result<Vec<Author>> {
        self.store.authors_by_ids(ids).await
    }

    pub async fn authors(&self, page: &PageRequest) -> Result<Page<Author>> {
        self.store.list_authors(page).await
    }

    pub async fn count_authors(&self) -> Result<u64> {
        self.store.count_authors().await
    }

    pub async fn tag(&self, slug: &str) -> Result<Option<Tag>> {
        match Slug::parse(slug) {
            Ok(slug) => self.store.tag_by_slug(&slug).await,
            Err(_) => Ok(None),
        }
    }

    pub async fn tags_by_ids(&self, ids: &[TagId]) -> Result<Vec<Tag>> {
        self.store.tags_by_ids(ids).await
    }

    pub async fn tags(&self, prefix: Option<&str>, page: &PageRequest) -> Result<Page<Tag>> {
        self.store
            .list_tags(clean_prefix(prefix).as_deref(), page)
            .await
    }

    pub async fn count_tags(&self, prefix: Option<&str>) -> Result<u64> {
        self.store.count_tags(clean_prefix(prefix).as_deref()).await
    }

    pub async fn create_author(&self, caller: &Caller, input: CreateAuthorInput) -> Result<Author> {
        caller.require(Role::Editor)?;
        let name = rules::person_name(&input.name)?;
        let slug = match input.slug.as_deref() {
            Some(raw) => rules::slug("slug", raw)?,
            None => Slug::derive(&name).map_err(|e| e.at("name"))?,
        };
        let now = clock::now();
        let author = Author {
            id: AuthorId::new(),
            slug,
            name,
            title: rules::title(input.title.as_deref().unwrap_or(""))?,
            bio: rules::bio(input.bio.as_deref().unwrap_or(""))?,
            avatar_url: rules::optional_url("avatarUrl", input.avatar_url.as_deref())?,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_author(&author).await?;
        self.bus.announce_change().await;
        Ok(author)
    }

    pub async fn update_author(
        &self,
        caller: &Caller,
        id: AuthorId,
        input: UpdateAuthorInput,
    ) -> Result<Author> {
        caller.require(Role::Editor)?;
        let mut author = self
            .store
            .author_by_id(id)
            .await?
            .ok_or(Error::NotFound("author"))?;
        if let Some(name) = input.name {
            author.name = rules::person_name(&name)?;
        }
        if let Some(slug) = input.slug {
            author.slug = rules::slug("slug", &slug)?;
        }
        if let Some(title) = input.title {
            author.title = rules::title(&title)?;
        }
        if let Some(bio) = input.bio {
            author.bio = rules::bio(&bio)?;
        }
        if let Some(avatar) = input.avatar_url {
            author.avatar_url = rules::optional_url("avatarUrl", avatar.as_deref())?;
        }
        author.updated_at = clock::now();
        self.store.update_author(&author).await?;
        self.bus.announce_change().await;
        Ok(author)
    }

    // ----- articles: reads ------------------------------------------------

    /// The whole article, as `caller` may see it.
    pub async fn article_by_id(&self, caller: &Caller, id: ArticleId) -> Result<Option<Article>> {
        let found = self.read_article_by_id(caller, id, ArticleParts::WHOLE);
        Ok(found.await?.map(|read| read.value))
    }

    pub async fn article_by_slug(&self, caller: &Caller, slug: &str) -> Result<Option<Article>> {
        let found = self.read_article_by_slug(caller, slug, ArticleParts::WHOLE);
        Ok(found.await?.map(|read| read.value))
    }

    /// The article as far as `parts` asks, with the authors and tags it
    /// names: what a page needs, in as few round trips as the store can.
    pub async fn read_article_by_id(
        &self,
        caller: &Caller,
        id: ArticleId,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>> {
        self.store
            .article_by_id(id, caller.visibility(), parts)
            .await
    }

    /// [`Newsroom::read_article_by_id`] by slug.
    pub async fn read_article_by_slug(
        &self,
        caller: &Caller,
        slug: &str,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>> {
        match Slug::parse(slug) {
            Ok(slug) => {
                self.store
                    .article_by_slug(&slug, caller.visibility(), parts)
                    .await
            }
            Err(_) => Ok(None),
        }
    }

    /// The bodies of articles read without them. Visibility was checked
    /// when the articles were read.
    pub async fn article_bodies(&self, ids: &[ArticleId]) -> Result<Vec<(ArticleId, SafeHtml)>> {
        self.store.article_bodies(ids).await
    }

    pub fn article_query(
        caller: &Caller,
        filter: ArticleFilter,
        order: ArticleOrder,
    ) -> Result<ArticleQuery> {
        validate_filter(&filter)?;
        Ok(ArticleQuery {
            filter,
            order,
            visibility: caller.visibility(),
        })
    }

    pub async fn articles(
        &self,
        query: &ArticleQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<Article>>> {
        self.store.list_articles(query, page, parts).await
    }

    pub async fn count_articles(&self, query: &ArticleQuery) -> Result<u64> {
        self.store.count_articles(query).await
    }

    pub fn search_query(caller: &Caller, text: &str, filter: ArticleFilter) -> Result<SearchQuery> {
        validate_filter(&filter)?;
        let text = single_line(text, 1, 200).map_err(|e| e.at("query"))?;
        if !text.chars().any(char::is_alphanumeric) {
            return Err(Error::invalid("query", "search for at least one word"));
        }
        Ok(SearchQuery {
            text,
            filter,
            visibility: caller.visibility(),
        })
    }

    pub async fn search(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<SearchHit>>> {
        if page.direction == Direction::Backward || page.before.is_some() {
            return Err(Error::invalid(
                "last",
                "search results page forwards only (`first`, `after`)",
            ));
        }
        self.store.search(query, page, parts).await
    }

    pub async fn count_search(&self, query: &SearchQuery) -> Result<u64> {
        self.store.count_search(query).await
    }

    // ----- articles: writes -----------------------------------------------

    pub async fn create_article(
        &self,
        caller: &Caller,
        input: CreateArticleInput,
    ) -> Result<Article> {
        caller.require(Role::Editor)?;
        let headline = rules::headline(&input.headline)?;
        let slug = match input.slug.as_deref() {
            Some(raw) => rules::slug("slug", raw)?,
            None => Slug::derive(&headline).map_err(|e| e.at("headline"))?,
        };
        let tags = rules::tag_names(&input.tags)?;
        let now = clock::now();
        let body = rules::body(input.body.as_deref().unwrap_or(""))?;
        let article = Article {
            id: ArticleId::new(),
            slug,
            standfirst: rules::standfirst(input.standfirst.as_deref().unwrap_or(""))?,
            word_count: body.word_count(),
            body: ArticleBody::Read(body),
            headline,
            kind: input.kind,
            status: ArticleStatus::Draft,
            section_id: self.section_id("section", &input.section).await?,
            author_ids: self.checked_authors(input.authors).await?,
            tag_ids: Vec::new(),
            breaking: input.breaking,
            hero: input
                .hero
                .map(|h| h.try_into().map_err(|e: Error| e.at("hero")))
                .transpose()?,
            media: rules::media(input.media)?,
            source: input.source.map(source).transpose()?,
            created_at: now,
            updated_at: now,
            published_at: None,
            scheduled_at: None,
            version: 1,
        };
        let stored = self.store.insert_article(&article, &tags).await?;
        // A draft is the desk's alone, but the tags it created are listed.
        if !tags.is_empty() {
            self.bus.announce_change().await;
        }
        Ok(stored)
    }

    pub async fn update_article(
        &self,
        caller: &Caller,
        id: ArticleId,
        expected_version: i32,
        input: UpdateArticleInput,
    ) -> Result<Article> {
        caller.require(Role::Editor)?;
        let mut article = self.editable_article(id).await?;
        let was_published = article.is_public();
        if article.version != expected_version {
            return Err(stale(&article, expected_version));
        }
        if let Some(headline) = input.headline {
            article.headline = rules::headline(&headline)?;
        }
        if let Some(slug) = input.slug {
            let slug = rules::slug("slug", &slug)?;
            if slug != article.slug
                && matches!(
                    article.status,
                    ArticleStatus::Published | ArticleStatus::Archived
                )
            {
                return Err(Error::invalid(
                    "slug",
                    "the slug of a published article is stable: links to it must keep working",
                ));
            }
            article.slug = slug;
        }
        if let Some(standfirst) = input.standfirst {
            article.standfirst = rules::standfirst(&standfirst)?;
        }
        if let Some(body) = input.body {
            let body = rules::body(&body)?;
            let blank = body.is_blank();
            article.set_body(body);
            if article.status != ArticleStatus::Draft && blank {
                return Err(Error::invalid(
                    "body",
                    "a published or scheduled article needs a body",
                ));
            }
        }
        if let Some(kind) = input.kind {
            article.kind = kind;
        }
        if let Some(section) = input.section {
            article.section_id = self.section_id("section", &section).await?;
        }
        if let Some(authors) = input.authors {
            article.author_ids = self.checked_authors(authors).await?;
        }
        let tags = input.tags.as_deref().map(rules::tag_names).transpose()?;
        if let Some(breaking) = input.breaking {
            article.breaking = breaking;
        }
        if let Some(hero) = input.hero {
            article.hero = hero
                .map(|h| h.try_into().map_err(|e: Error| e.at("hero")))
                .transpose()?;
        }
        if let Some(media) = input.media {
            article.media = rules::media(media)?;
        }
        if let Some(src) = input.source {
            article.source = src.map(source).transpose()?;
        }
        self.save(article, was_published, tags.as_deref(), expected_version)
            .await
    }

    /// Publishes now, at a past time (backdating an imported item), or
    /// schedules for a future time.
    pub async fn publish_article(
        &self,
        caller: &Caller,
        id: ArticleId,
        at: Option<DateTime<Utc>>,
    ) -> Result<Article> {
        caller.require(Role::Editor)?;
        let mut article = self.editable_article(id).await?;
        let was_published = article.is_public();
        if article.body.for_write()?.is_blank() {
            return Err(Error::invalid(
                "id",
                "an article needs a body before it can be published",
            ));
        }
        let now = clock::now();
        let at = at.map(clock::truncate);
        match at {
            Some(at) if at > now => {
                article.status = ArticleStatus::Scheduled;
                article.scheduled_at = Some(at);
                article.published_at = None;
            }
            _ if article.status == ArticleStatus::Published && at.is_none() => return Ok(article),
            _ => {
                article.status = ArticleStatus::Published;
                article.published_at = Some(at.unwrap_or(now));
                article.scheduled_at = None;
            }
        }
        let version = article.version;
        self.save(article, was_published, None, version).await
    }

    pub async fn unpublish_article(&self, caller: &Caller, id: ArticleId) -> Result<Article> {
        caller.require(Role::Editor)?;
        let mut article = self.editable_article(id).await?;
        let was_published = article.is_public();
        article.status = ArticleStatus::Draft;
        article.published_at = None;
        article.scheduled_at = None;
        let version = article.version;
        self.save(article, was_published, None, version).await
    }

    pub async fn archive_article(&self, caller: &Caller, id: ArticleId) -> Result<Article> {
        caller.require(Role::Editor)?;
        let mut article = self.editable_article(id).await?;
        let was_published = article.is_public();
        article.status = ArticleStatus::Archived;
        article.scheduled_at = None;
        let version = article.version;
        self.save(article, was_published, None, version).await
    }

    /// Deleting destroys history and breaks links, so it takes an admin;
    /// editors archive instead.
    pub async fn delete_article(&self, caller: &Caller, id: ArticleId) -> Result<ArticleId> {
        caller.require(Role::Admin)?;
        if self.store.delete_article(id).await? {
            self.bus.announce_change().await;
            Ok(id)
        } else {
            Err(Error::NotFound("article"))
        }
    }

    /// Publishes every scheduled article whose time has come; returns them.
    pub async fn publish_due(&self, now: DateTime<Utc>) -> Result<Vec<Article>> {
        let mut published = Vec::new();
        for mut article in self.store.due_scheduled_articles(now, 100).await? {
            article.body.for_write()?;
            let was_published = false;
            let version = article.version;
            article.published_at = article.scheduled_at.or(Some(now));
            article.scheduled_at = None;
            article.status = ArticleStatus::Published;
            match self.save(article, was_published, None, version).await {
                Ok(article) => published.push(article),
                // Another node (or an editor) got there first.
                Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(published)
    }

    async fn editable_article(&self, id: ArticleId) -> Result<Article> {
        self.store
            .article_by_id(id, Visibility::Desk, ArticleParts::WHOLE)
            .await?
            .map(|read| read.value)
            .ok_or(Error::NotFound("article"))
    }

    /// Stores a changed article with the events it causes: always
    /// `ArticleUpdated`, and `ArticlePublished` when it became public.
    async fn save(
        &self,
        mut article: Article,
        was_published: bool,
        tags: Option<&[(Slug, String)]>,
        expected_version: i32,
    ) -> Result<Article> {
        article.version = expected_version + 1;
        article.updated_at = clock::now();
        let (article_id, section_id, version) = (article.id, article.section_id, article.version);
        let mut events = vec![Event::ArticleUpdated {
            article_id,
            section_id,
            version,
        }];
        if article.status == ArticleStatus::Published && !was_published {
            events.push(Event::ArticlePublished {
                article_id,
                section_id,
                version,
            });
        }
        let (article, records) = self
            .store
            .update_article(&article, tags, expected_version, &events)
            .await?;
        self.announce(records).await;
        Ok(article)
    }

    async fn section_id(&self, field: &str, slug: &str) -> Result<SectionId> {
        let slug = rules::slug(field, slug)?;
        match self.sections.by_slug(&slug).await? {
            Some(section) => Ok(section.id),
            None => Err(Error::invalid(
                field,
                format!("there is no section `{slug}`"),
            )),
        }
    }

    async fn checked_authors(&self, ids: Vec<AuthorId>) -> Result<Vec<AuthorId>> {
        if ids.len() > 10 {
            return Err(Error::invalid("authors", "at most 10 authors"));
        }
        let mut unique = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        let found = self.store.authors_by_ids(&unique).await?;
        if let Some(missing) = unique
            .iter()
            .position(|id| !found.iter().any(|a| a.id == *id))
        {
            return Err(Error::invalid(
                format!("authors[{missing}]"),
                "no such author",
            ));
        }
        Ok(unique)
    }

    // ----- live blogs -----------------------------------------------------

    pub async fn live_blog_by_id(&self, id: LiveBlogId) -> Result<Option<LiveBlog>> {
        self.store.live_blog_by_id(id).await
    }

    pub async fn live_blog_by_slug(&self, slug: &str) -> Result<Option<LiveBlog>> {
        match Slug::parse(slug) {
            Ok(slug) => self.store.live_blog_by_slug(&slug).await,
            Err(_) => Ok(None),
        }
    }

    pub async fn live_blogs(
        &self,
        status: Option<LiveBlogStatus>,
        page: &PageRequest,
    ) -> Result<Page<LiveBlog>> {
        self.store.list_live_blogs(status, page).await
    }

    pub async fn count_live_blogs(&self, status: Option<LiveBlogStatus>) -> Result<u64> {
        self.store.count_live_blogs(status).await
    }

    pub async fn live_entries(
        &self,
        blog: LiveBlogId,
        key_events_only: bool,
        page: &PageRequest,
    ) -> Result<Page<LiveEntry>> {
        self.store.live_entries(blog, key_events_only, page).await
    }

    pub async fn count_live_entries(&self, blog: LiveBlogId, key_events_only: bool) -> Result<u64> {
        self.store.count_live_entries(blog, key_events_only).await
    }

    /// A page of `size` entries centred on one entry, for links shared to a
    /// single update: about half newer, the entry, the rest older.
    pub async fn live_entries_around(
        &self,
        blog: LiveBlogId,
        key_events_only: bool,
        entry: LiveEntryId,
        size: u32,
    ) -> Result<Page<LiveEntry>> {
        let centre = self
            .store
            .live_entry_by_id(entry)
            .await?
            .filter(|e| e.live_blog_id == blog && (!key_events_only || e.key_event))
            .ok_or_else(|| Error::invalid("around", "no such entry in this live blog"))?;
        let position = Position::new(SortValue::Time(centre.posted_at), centre.id.0);
        let others = size.max(1) - 1;
        // Fetch enough on each side to fill the page alone, so that near
        // either end of the blog the page is topped up from the other side.
        let newer = PageRequest {
            limit: others,
            direction: Direction::Backward,
            after: None,
            before: Some(position.clone()),
        };
        let newer = self
            .store
            .live_entries(blog, key_events_only, &newer)
            .await?;
        let older = PageRequest {
            after: Some(position.clone()),
            ..PageRequest::first(others)
        };
        let older = self
            .store
            .live_entries(blog, key_events_only, &older)
            .await?;
        let (newer_count, older_count) =
            split_around(others as usize, newer.items.len(), older.items.len());

        let skipped_newer = newer.items.len() - newer_count;
        let skipped_older = older.items.len() > older_count;
        let mut items: Vec<_> = newer.items.into_iter().skip(skipped_newer).collect();
        items.push((position, centre));
        items.extend(older.items.into_iter().take(older_count));
        Ok(Page {
            items,
            has_next_page: skipped_older || older.has_next_page,
            has_previous_page: skipped_newer > 0 || newer.has_previous_page,
        })
    }

    pub async fn live_entry_by_id(&self, id: LiveEntryId) -> Result<Option<LiveEntry>> {
        self.store.live_entry_by_id(id).await
    }

    pub async fn pinned_entry(&self, blog: LiveBlogId) -> Result<Option<LiveEntry>> {
        self.store.pinned_entry(blog).await
    }

    /// The pinned entry of each of `blogs` that has one.
    pub async fn pinned_entries(&self, blogs: &[LiveBlogId]) -> Result<Vec<LiveEntry>> {
        self.store.pinned_entries(blogs).await
    }

    /// Up to `per_blog` newest key events of each of `blogs`.
    pub async fn key_events(&self, blogs: &[LiveBlogId], per_blog: u32) -> Result<Vec<LiveEntry>> {
        self.store.key_events(blogs, per_blog).await
    }

    pub async fn create_live_blog(
        &self,
        caller: &Caller,
        input: CreateLiveBlogInput,
    ) -> Result<LiveBlog> {
        caller.require(Role::Editor)?;
        let title = rules::headline(&input.title).map_err(retitle)?;
        let slug = match input.slug.as_deref() {
            Some(raw) => rules::slug("slug", raw)?,
            None => Slug::derive(&title).map_err(|e| e.at("title"))?,
        };
        let now = clock::now();
        let blog = LiveBlog {
            id: LiveBlogId::new(),
            slug,
            title,
            summary: multi_line(input.summary.as_deref().unwrap_or(""), 1000)
                .map_err(|e| e.at("summary"))?,
            section_id: self.section_id("section", &input.section).await?,
            status: LiveBlogStatus::Scheduled,
            started_at: None,
            ended_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_live_blog(&blog).await?;
        self.bus.announce_change().await;
        Ok(blog)
    }

    pub async fn update_live_blog(
        &self,
        caller: &Caller,
        id: LiveBlogId,
        input: UpdateLiveBlogInput,
    ) -> Result<LiveBlog> {
        caller.require(Role::Editor)?;
        let mut blog = self
            .store
            .live_blog_by_id(id)
            .await?
            .ok_or(Error::NotFound("live blog"))?;
        if let Some(title) = input.title {
            blog.title = rules::headline(&title).map_err(retitle)?;
        }
        if let Some(slug) = input.slug {
            let slug = rules::slug("slug", &slug)?;
            if slug != blog.slug && blog.status != LiveBlogStatus::Scheduled {
                return Err(Error::invalid(
                    "slug",
                    "the slug of a live blog that has started is stable: links to it must keep working",
                ));
            }
            blog.slug = slug;
        }
        if let Some(summary) = input.summary {
            blog.summary = multi_line(&summary, 1000).map_err(|e| e.at("summary"))?;
        }
        if let Some(section) = input.section {
            blog.section_id = self.section_id("section", &section).await?;
        }
        blog.updated_at = clock::now();
        self.store.update_live_blog(&blog, &[]).await?;
        self.bus.announce_change().await;
        Ok(blog)
    }

    pub async fn set_live_blog_status(
        &self,
        caller: &Caller,
        id: LiveBlogId,
        status: LiveBlogStatus,
    ) -> Result<LiveBlog> {
        caller.require(Role::Editor)?;
        let mut blog = self
            .store
            .live_blog_by_id(id)
            .await?
            .ok_or(Error::NotFound("live blog"))?;
        if blog.status == status {
            return Ok(blog);
        }
        blog.transition(status, clock::now())?;
        let event = Event::LiveBlogStatusChanged { blog: blog.clone() };
        let records = self.store.update_live_blog(&blog, &[event]).await?;
        self.announce(records).await;
        Ok(blog)
    }

    pub async fn post_live_entry(
        &self,
        caller: &Caller,
        input: PostLiveEntryInput,
    ) -> Result<LiveEntry> {
        caller.require(Role::Editor)?;
        let blog = self
            .store
            .live_blog_by_id(input.live_blog)
            .await?
            .ok_or(Error::NotFound("live blog"))?;
        if !blog.accepts_entries() {
            return Err(Error::Conflict(
                "the live blog has ended; reopen it to post".into(),
            ));
        }
        if let Some(author) = input.author {
            self.checked_authors(vec![author])
                .await
                .map_err(|_| Error::invalid("author", "no such author"))?;
        }
        let entry = LiveEntry {
            id: LiveEntryId::new(),
            live_blog_id: blog.id,
            body: entry_body(&input.body)?,
            author_id: input.author,
            key_event: input.key_event,
            pinned: input.pinned,
            media: rules::media(input.media)?,
            posted_at: clock::now(),
            edited_at: None,
        };
        let event = Event::LiveEntryPosted {
            entry: entry.clone(),
        };
        let records = self.store.insert_live_entry(&entry, &[event]).await?;
        self.announce(records).await;
        Ok(entry)
    }

    pub async fn edit_live_entry(
        &self,
        caller: &Caller,
        id: LiveEntryId,
        input: EditLiveEntryInput,
    ) -> Result<LiveEntry> {
        caller.require(Role::Editor)?;
        let mut entry = self
            .store
            .live_entry_by_id(id)
            .await?
            .ok_or(Error::NotFound("live entry"))?;
        if let Some(body) = input.body {
            entry.body = entry_body(&body)?;
        }
        if let Some(key_event) = input.key_event {
            entry.key_event = key_event;
        }
        if let Some(media) = input.media {
            entry.media = rules::media(media)?;
        }
        entry.edited_at = Some(clock::now());
        let event = Event::LiveEntryEdited {
            entry: entry.clone(),
        };
        let records = self.store.update_live_entry(&entry, &[event]).await?;
        self.announce(records).await;
        Ok(entry)
    }

    pub async fn delete_live_entry(&self, caller: &Caller, id: LiveEntryId) -> Result<LiveEntry> {
        caller.require(Role::Editor)?;
        let entry = self
            .store
            .live_entry_by_id(id)
            .await?
            .ok_or(Error::NotFound("live entry"))?;
        let event = Event::LiveEntryDeleted {
            live_blog_id: entry.live_blog_id,
            entry_id: id,
        };
        let records = self.store.delete_live_entry(id, &[event]).await?;
        self.announce(records).await;
        Ok(entry)
    }

    pub async fn pin_live_entry(
        &self,
        caller: &Caller,
        id: LiveEntryId,
        pinned: bool,
    ) -> Result<LiveEntry> {
        caller.require(Role::Editor)?;
        let mut entry = self
            .store
            .live_entry_by_id(id)
            .await?
            .ok_or(Error::NotFound("live entry"))?;
        if entry.pinned == pinned {
            return Ok(entry);
        }
        entry.pinned = pinned;
        let event = Event::LiveEntryPinned {
            entry: entry.clone(),
        };
        let records = self.store.update_live_entry(&entry, &[event]).await?;
        self.announce(records).await;
        Ok(entry)
    }

    // ----- breaking news ------------------------------------------------

    pub async fn breaking_news(&self) -> Result<Vec<BreakingNews>> {
        self.store.active_breaking_news(clock::now()).await
    }

    pub async fn breaking_news_by_id(&self, id: BreakingNewsId) -> Result<Option<BreakingNews>> {
        self.store.breaking_news_by_id(id).await
    }

    pub async fn issue_breaking_news(
        &self,
        caller: &Caller,
        input: IssueBreakingNewsInput,
    ) -> Result<BreakingNews> {
        caller.require(Role::Editor)?;
        let now = clock::now();
        let link = match input.link {
            None => None,
            Some(BreakingLinkInput::Url(url)) => Some(BreakingLink::Url(
                WebUrl::parse(&url).map_err(|e| e.at("url"))?,
            )),
            Some(BreakingLinkInput::Article(id)) => {
                self.store
                    .article_by_id(id, Visibility::Public, ArticleParts::HEADLINES)
                    .await?
                    .ok_or_else(|| Error::invalid("articleId", "no such published article"))?;
                Some(BreakingLink::Article(id))
            }
        };
        let request = NewBreakingNews {
            headline: rules::headline(&input.headline)?,
            link,
            priority: input.priority,
            expires_at: input.expires_at.map(clock::truncate),
        };
        request.validate_expiry(now)?;
        let alert = BreakingNews {
            id: BreakingNewsId::new(),
            headline: request.headline,
            link: request.link,
            priority: request.priority,
            issued_at: now,
            expires_at: request.expires_at,
            retracted_at: None,
        };
        let event = Event::BreakingNewsIssued {
            alert: alert.clone(),
        };
        let records = self.store.insert_breaking_news(&alert, &[event]).await?;
        self.announce(records).await;
        Ok(alert)
    }

    pub async fn retract_breaking_news(
        &self,
        caller: &Caller,
        id: BreakingNewsId,
    ) -> Result<BreakingNews> {
        caller.require(Role::Editor)?;
        let mut alert = self
            .store
            .breaking_news_by_id(id)
            .await?
            .ok_or(Error::NotFound("breaking news"))?;
        if alert.retracted_at.is_some() {
            return Ok(alert);
        }
        alert.retracted_at = Some(clock::now());
        let event = Event::BreakingNewsRetracted {
            alert: alert.clone(),
        };
        let records = self.store.update_breaking_news(&alert, &[event]).await?;
        self.announce(records).await;
        Ok(alert)
    }
}

/// How many of the `others` places around a centred entry go to newer and
/// older entries: half each (the odd one to older), and what one side
/// cannot fill goes to the other.
fn split_around(others: usize, newer_available: usize, older_available: usize) -> (usize, usize) {
    let newer_wanted = others / 2;
    let older_wanted = others - newer_wanted;
    let newer = newer_available.min(newer_wanted + older_wanted.saturating_sub(older_available));
    let older = older_available.min(others - newer);
    (newer, older)
}

fn validate_filter(filter: &ArticleFilter) -> Result<()> {
    if let (Some(after), Some(before)) = (filter.published_after, filter.published_before)
        && after >= before
    {
        return Err(Error::invalid(
            "filter.publishedBefore",
            "must be later than publishedAfter",
        ));
    }
    Ok(())
}

fn source(input: SourceInput) -> Result<Source> {
    Source::parse(&input.name, &input.url).map_err(|e| e.at("source"))
}

fn stale(article: &Article, expected: i32) -> Error {
    Error::Conflict(format!(
        "the article is at version {}, not {expected}: reload it and apply your change again",
        article.version
    ))
}

/// Live blogs have titles where articles have headlines; same rule, own name.
fn retitle(e: Error) -> Error {
    match e {
        Error::Invalid { message, .. } => Error::Invalid {
            field: "title".into(),
            message,
        },
        other => other,
    }
}

fn clean_prefix(prefix: Option<&str>) -> Option<String> {
    prefix
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.chars().take(60).collect())
}

#[cfg(test)]
mod tests {
    use super::split_around;

    #[test]
    fn a_centred_page_splits_evenly_in_the_middle_of_a_blog() {
        assert_eq!(split_around(4, 10, 10), (2, 2));
        assert_eq!(split_around(5, 10, 10), (2, 3));
    }

    #[test]
    fn a_centred_page_tops_up_from_the_other_side_near_an_end() {
        assert_eq!(split_around(4, 10, 0), (4, 0));
        assert_eq!(split_around(4, 1, 10), (1, 3));
        assert_eq!(split_around(4, 1, 1), (1, 1));
        assert_eq!(split_around(0, 5, 5), (0, 0));
    }
}
