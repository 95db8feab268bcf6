//! Articles between rows and domain values.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::content::{Article, ArticleBody, ArticleKind, ArticleStatus, Source};
use domain::html::SafeHtml;
use domain::ids::{ArticleId, AuthorId, SectionId, TagId};
use domain::ports::{ArticleParts, Linked, WithLinked};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryResult, QuerySelect, Select,
};
use uuid::Uuid;

use crate::columns::{media_from_json, media_json, slug, url};
use crate::entity::article;
use crate::error::{DbResultExt, corrupt};

/// Every column of the article, all set: inserts write them all, updates
/// drop the key first.
pub(crate) fn active(article: &Article) -> Result<article::ActiveModel> {
    let body = article.body.for_write()?;
    Ok(article::ActiveModel {
        id: Set(article.id.0),
        slug: Set(article.slug.as_str().to_owned()),
        headline: Set(article.headline.clone()),
        standfirst: Set(article.standfirst.clone()),
        body_html: Set(body.html().to_owned()),
        body_text: Set(body.text().to_owned()),
        word_count: Set(i32::try_from(body.word_count()).unwrap_or(i32::MAX)),
        kind: Set(article.kind.as_str().to_owned()),
        status: Set(article.status.as_str().to_owned()),
        section_id: Set(article.section_id.0),
        breaking: Set(article.breaking),
        hero: Set(article
            .hero
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(domain::Error::internal)?),
        media: Set(media_json(&article.media)?),
        source_name: Set(article.source.as_ref().map(|s| s.name.clone())),
        source_url: Set(article.source.as_ref().map(|s| s.url.as_str().to_owned())),
        created_at: Set(article.created_at),
        updated_at: Set(article.updated_at),
        published_at: Set(article.published_at),
        scheduled_at: Set(article.scheduled_at),
        version: Set(article.version),
    })
}

/// The columns an update overwrites: everything but the key.
pub(crate) fn active_update(article: &Article, version: i32) -> Result<article::ActiveModel> {
    let mut row = active(article)?;
    row.id = NotSet;
    row.version = Set(version);
    Ok(row)
}

/// An article row as reads select it: every column, but the body only
/// when the read asks for it (`NULL` otherwise, see [`select`]).
#[derive(Debug)]
pub(crate) struct ArticleRow {
    pub id: Uuid,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub body_html: Option<String>,
    pub body_text: Option<String>,
    pub word_count: i32,
    pub kind: String,
    pub status: String,
    pub section_id: Uuid,
    pub breaking: bool,
    pub hero: Option<String>,
    pub media: String,
    pub source_name: Option<String>,
    pub source_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub version: i32,
}

/// Read by position, in [`select`]'s order: by name, every column of every
/// row is a string lookup, which a page of articles pays hundreds of times.
impl FromQueryResult for ArticleRow {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        Ok(ArticleRow {
            id: row.try_get_by_index(0)?,
            slug: row.try_get_by_index(1)?,
            headline: row.try_get_by_index(2)?,
            standfirst: row.try_get_by_index(3)?,
            word_count: row.try_get_by_index(4)?,
            kind: row.try_get_by_index(5)?,
            status: row.try_get_by_index(6)?,
            section_id: row.try_get_by_index(7)?,
            breaking: row.try_get_by_index(8)?,
            hero: row.try_get_by_index(9)?,
            media: row.try_get_by_index(10)?,
            source_name: row.try_get_by_index(11)?,
            source_url: row.try_get_by_index(12)?,
            created_at: row.try_get_by_index(13)?,
            updated_at: row.try_get_by_index(14)?,
            published_at: row.try_get_by_index(15)?,
            scheduled_at: row.try_get_by_index(16)?,
            version: row.try_get_by_index(17)?,
            body_html: row.try_get_by_index(18)?,
            body_text: row.try_get_by_index(19)?,
        })
    }
}

/// Columns that [`select`] adds after the article's own, by position.
pub(crate) const FIRST_EXTRA_COLUMN: usize = 20;

/// The columns of an article read, the body as `parts` asks: a list of
/// headlines leaves the body (most of an article's bytes) in the database.
/// [`ArticleRow`] reads them by position: keep the two in step.
pub(crate) fn select(parts: ArticleParts) -> Select<article::Entity> {
    use article::Column as C;
    let select = article::Entity::find().select_only().columns([
        C::Id,
        C::Slug,
        C::Headline,
        C::Standfirst,
        C::WordCount,
        C::Kind,
        C::Status,
        C::SectionId,
        C::Breaking,
        C::Hero,
        C::Media,
        C::SourceName,
        C::SourceUrl,
        C::CreatedAt,
        C::UpdatedAt,
        C::PublishedAt,
        C::ScheduledAt,
        C::Version,
    ]);
    if parts.body {
        select.columns([C::BodyHtml, C::BodyText])
    } else {
        let null = || Expr::cust("CAST(NULL AS TEXT)");
        select
            .expr_as(null(), "body_html")
            .expr_as(null(), "body_text")
    }
}

pub(crate) fn to_domain(
    row: ArticleRow,
    author_ids: Vec<AuthorId>,
    tag_ids: Vec<TagId>,
) -> Result<Article> {
    let source = match (row.source_name, row.source_url) {
        (Some(name), Some(url_raw)) => Some(Source {
            name,
            url: url(&url_raw)?,
        }),
        _ => None,
    };
    let body = match (row.body_html, row.body_text) {
        (Some(html), Some(text)) => ArticleBody::Read(SafeHtml::from_trusted(html, text)),
        _ => ArticleBody::Unread,
    };
    Ok(Article {
        id: ArticleId(row.id),
        slug: slug(&row.slug)?,
        headline: row.headline,
        standfirst: row.standfirst,
        body,
        word_count: u32::try_from(row.word_count).map_err(|e| corrupt("word count", e))?,
        kind: ArticleKind::parse(&row.kind)?,
        status: ArticleStatus::parse(&row.status)?,
        section_id: SectionId(row.section_id),
        author_ids,
        tag_ids,
        breaking: row.breaking,
        hero: row
            .hero
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt("hero", e))?,
        media: media_from_json(&row.media)?,
        source,
        created_at: row.created_at,
        updated_at: row.updated_at,
        published_at: row.published_at,
        scheduled_at: row.scheduled_at,
        version: row.version,
    })
}

/// Reads the rows of `select` (from [`select`]) and completes them (see
/// [`complete`]): two statements for any number of rows, never one per row.
pub(crate) async fn read_articles<C: ConnectionTrait>(
    db: &C,
    select: Select<article::Entity>,
) -> Result<WithLinked<Vec<Article>>> {
    let rows = select.into_model::<ArticleRow>().all(db).await.db()?;
    complete(db, rows).await
}

/// Completes rows with their bylines and tags, and brings the authors and
/// tags those name: one statement for any number of rows.
pub(crate) async fn complete<C: ConnectionTrait>(
    db: &C,
    rows: Vec<ArticleRow>,
) -> Result<WithLinked<Vec<Article>>> {
    if rows.is_empty() {
        return Ok(WithLinked {
            value: Vec::new(),
            linked: Linked::default(),
        });
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut links = super::links::read(db, &ids).await?;
    let articles = rows
        .into_iter()
        .map(|row| {
            let (authors, tags) = links.of(row.id);
            to_domain(row, authors, tags)
        })
        .collect::<Result<_>>()?;
    Ok(WithLinked {
        value: articles,
        linked: links.linked,
    })
}
