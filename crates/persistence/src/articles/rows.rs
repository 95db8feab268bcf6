//! Articles between rows and domain values.

use std::collections::HashMap;

use domain::Result;
use domain::content::{Article, ArticleKind, ArticleStatus, Source};
use domain::html::SafeHtml;
use domain::ids::{ArticleId, AuthorId, SectionId, TagId};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::columns::{media_from_json, media_json, slug, url};
use crate::entity::{article, article_author, article_tag};
use crate::error::{DbResultExt, corrupt};

/// Every column of the article, all set: inserts write them all, updates
/// drop the key first.
pub(crate) fn active(article: &Article) -> Result<article::ActiveModel> {
    Ok(article::ActiveModel {
        id: Set(article.id.0),
        slug: Set(article.slug.as_str().to_owned()),
        headline: Set(article.headline.clone()),
        standfirst: Set(article.standfirst.clone()),
        body_html: Set(article.body.html().to_owned()),
        body_text: Set(article.body.text().to_owned()),
        word_count: Set(i32::try_from(article.body.word_count()).unwrap_or(i32::MAX)),
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

pub(crate) fn to_domain(
    row: article::Model,
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
    Ok(Article {
        id: ArticleId(row.id),
        slug: slug(&row.slug)?,
        headline: row.headline,
        standfirst: row.standfirst,
        body: SafeHtml::from_trusted(row.body_html, row.body_text),
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

/// Completes rows with their bylines and tags: two statements for any
/// number of rows, never one per row.
pub(crate) async fn with_links<C: ConnectionTrait>(
    db: &C,
    rows: Vec<article::Model>,
) -> Result<Vec<Article>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let bylines = article_author::Entity::find()
        .filter(article_author::Column::ArticleId.is_in(ids.iter().copied()))
        .order_by_asc(article_author::Column::Position)
        .all(db)
        .await
        .db()?;
    let tags = article_tag::Entity::find()
        .filter(article_tag::Column::ArticleId.is_in(ids.iter().copied()))
        .order_by_asc(article_tag::Column::Position)
        .all(db)
        .await
        .db()?;
    let mut authors_of: HashMap<Uuid, Vec<AuthorId>> = HashMap::new();
    for link in bylines {
        authors_of
            .entry(link.article_id)
            .or_default()
            .push(AuthorId(link.author_id));
    }
    let mut tags_of: HashMap<Uuid, Vec<TagId>> = HashMap::new();
    for link in tags {
        tags_of
            .entry(link.article_id)
            .or_default()
            .push(TagId(link.tag_id));
    }
    rows.into_iter()
        .map(|row| {
            let authors = authors_of.remove(&row.id).unwrap_or_default();
            let tags = tags_of.remove(&row.id).unwrap_or_default();
            to_domain(row, authors, tags)
        })
        .collect()
}
