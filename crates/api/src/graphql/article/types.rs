//! The article as readers and the desk see it.

use std::borrow::Cow;

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use domain::content as dc;
use domain::html::SafeHtml;
use domain::ports::ArticleParts;

use crate::graphql::author::Author;
use crate::graphql::context::{loaders, site_config};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::to_global;
use crate::graphql::media::{Media, Source};
use crate::graphql::section::Section;
use crate::graphql::structured;
use crate::graphql::tag::Tag;

/// What sort of piece an article is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::content::ArticleKind")]
pub enum ArticleKind {
    News,
    Analysis,
    Feature,
    Interview,
    Opinion,
    Explainer,
}

/// Where an article is in its life. Readers only ever see `PUBLISHED`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::content::ArticleStatus")]
pub enum ArticleStatus {
    /// Being written; visible to the desk only.
    Draft,
    /// Will publish itself at `scheduledAt`.
    Scheduled,
    Published,
    /// Withdrawn from lists and search; visible to the desk only.
    Archived,
}

/// A news article, analysis, feature, interview, opinion or explainer.
#[derive(Debug, Clone)]
pub struct Article(pub dc::Article);

#[Object]
impl Article {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    /// Unique and stable: part of the article's URL.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    async fn headline(&self) -> &str {
        &self.0.headline
    }

    /// The summary printed under the headline.
    async fn standfirst(&self) -> &str {
        &self.0.standfirst
    }

    /// The body as HTML, cleaned to a safe allow-list of tags on the way in:
    /// safe to insert into a page as is.
    async fn body(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.body_of(ctx).await?.html().to_owned())
    }

    /// The body as plain text, for previews and screen readers.
    async fn body_text(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.body_of(ctx).await?.text().to_owned())
    }

    async fn word_count(&self) -> u32 {
        self.0.word_count
    }

    /// Minutes to read at 230 words a minute, rounded up.
    async fn reading_time_minutes(&self) -> u32 {
        self.0.reading_minutes()
    }

    async fn kind(&self) -> ArticleKind {
        self.0.kind.into()
    }

    async fn status(&self) -> ArticleStatus {
        self.0.status.into()
    }

    async fn section(&self, ctx: &Context<'_>) -> ApiResult<Section> {
        Ok(Section(loaders(ctx)?.section(self.0.section_id).await?))
    }

    /// Bylines in the order they are printed.
    async fn authors(&self, ctx: &Context<'_>) -> ApiResult<Vec<Author>> {
        let authors = loaders(ctx)?.authors(&self.0.author_ids).await?;
        Ok(authors.into_iter().map(Author).collect())
    }

    /// Topics, countries and people the article is about.
    async fn tags(&self, ctx: &Context<'_>) -> ApiResult<Vec<Tag>> {
        let tags = loaders(ctx)?.tags(&self.0.tag_ids).await?;
        Ok(tags.into_iter().map(Tag).collect())
    }

    /// Flagged as breaking news by the desk.
    async fn breaking(&self) -> bool {
        self.0.breaking
    }

    /// The lead image or video.
    async fn hero(&self) -> Option<Media> {
        self.0.hero.clone().map(Media)
    }

    /// Further photos and videos, in order.
    async fn media(&self) -> Vec<Media> {
        self.0.media.iter().cloned().map(Media).collect()
    }

    /// Set on syndicated articles: where the story came from.
    async fn source(&self) -> Option<Source> {
        self.0.source.clone().map(Source)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When the article went (or was backdated to go) public.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    /// Set while the article is `SCHEDULED`.
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at
    }

    /// Bumped by every write; pass it to `updateArticle` as
    /// `expectedVersion` so that concurrent edits do not overwrite each other.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The article's path on the site, `/{section slug}/{article slug}`.
    async fn url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let section = loaders(ctx)?.section(self.0.section_id).await?;
        Ok(article_path(&section, &self.0))
    }

    /// Structured data for search engines: schema.org `NewsArticle` (or
    /// `AnalysisNewsArticle`, `OpinionNewsArticle`, `BackgroundNewsArticle`
    /// by kind) with authors, publisher, dates, images, section, keywords
    /// and, for a syndicated story, `isBasedOn` its original. JSON text to
    /// put inside `<script type="application/ld+json">` as it is.
    async fn json_ld(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let loaders = loaders(ctx)?;
        let section = loaders.section(self.0.section_id).await?;
        let authors = loaders.authors(&self.0.author_ids).await?;
        let tags = loaders.tags(&self.0.tag_ids).await?;
        let data = structured::news_article(site_config(ctx)?, &self.0, &section, &authors, &tags);
        Ok(structured::script_text(&data))
    }
}

impl Article {
    /// The body, read now if the article was read without it (a field the
    /// read's look-ahead did not see, such as one behind a fragment on an
    /// interface).
    async fn body_of(&self, ctx: &Context<'_>) -> ApiResult<Cow<'_, SafeHtml>> {
        match self.0.body.read() {
            Some(body) => Ok(Cow::Borrowed(body)),
            None => Ok(Cow::Owned(loaders(ctx)?.body(self.0.id).await?)),
        }
    }
}

/// How much of an article a field's selection needs read: the body only
/// when `body` or `bodyText` is selected.
pub fn parts_for(article: async_graphql::Lookahead<'_>) -> ArticleParts {
    ArticleParts {
        body: article.field("body").exists() || article.field("bodyText").exists(),
    }
}

pub fn article_path(section: &dc::Section, article: &dc::Article) -> String {
    format!("/{}/{}", section.slug, article.slug)
}

/// A search hit: the article, how well it matched, and where.
pub struct SearchResultEdge {
    pub cursor: String,
    pub hit: domain::ports::SearchHit,
}

/// One search result, best matches first.
#[Object]
impl SearchResultEdge {
    /// Opaque; pass it as `after` to get the next results.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    async fn node(&self) -> Article {
        Article(self.hit.article.clone())
    }

    /// Relevance; higher is better. Only comparable within one search.
    async fn rank(&self) -> f64 {
        self.hit.rank
    }

    /// Text around the match as HTML: escaped, with the matched words in
    /// `<mark>`.
    async fn snippet(&self) -> &str {
        &self.hit.snippet
    }
}
