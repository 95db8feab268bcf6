//! Article writes. Each is one transaction that writes the row, its bylines
//! and its tags (creating missing tags by slug), so a failure anywhere
//! leaves nothing behind: no orphan tags, no half-linked article, and no
//! event of an update that did not happen.

use domain::content::Article;
use domain::events::{Event, EventRecord};
use domain::ids::{AuthorId, TagId};
use domain::text::Slug;
use domain::{Error, Result};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::rows::{active, active_update};
use crate::db::Database;
use crate::entity::{article, article_author, article_tag, tag};
use crate::error::{DbResultExt, Violation, internal, taken, violation};
use crate::events::commit_with;

/// What a violation means when the article row itself is written.
fn article_write_error(err: DbErr, article: &Article) -> Error {
    match violation(&err) {
        Some(Violation::Unique) => taken("article", article.slug.as_str()),
        Some(Violation::ForeignKey) => Error::invalid("section", "there is no such section"),
        None => internal(err),
    }
}

pub(super) async fn insert(
    db: &Database,
    article: &Article,
    tags: &[(Slug, String)],
) -> Result<Article> {
    let txn = db.begin_write().await?;
    let article = insert_in(&txn, article, tags).await?;
    txn.commit().await.db()?;
    Ok(article)
}

/// The article row, its bylines and its tags, within `txn`; returns the
/// article with its tags' ids.
pub(crate) async fn insert_in(
    txn: &DatabaseTransaction,
    article: &Article,
    tags: &[(Slug, String)],
) -> Result<Article> {
    article::Entity::insert(active(article)?)
        .exec_without_returning(txn)
        .await
        .map_err(|e| article_write_error(e, article))?;
    link_authors(txn, article, &article.author_ids).await?;
    let tag_ids = upsert_tags(txn, tags).await?;
    link_tags(txn, article, &tag_ids).await?;
    Ok(Article {
        tag_ids,
        ..article.clone()
    })
}

pub(super) async fn update(
    db: &Database,
    article: &Article,
    tags: Option<&[(Slug, String)]>,
    expected_version: i32,
    events: &[Event],
) -> Result<(Article, Vec<EventRecord>)> {
    let version = expected_version
        .checked_add(1)
        .ok_or_else(|| Error::Conflict("the article cannot take more versions".into()))?;
    let txn = db.begin_write().await?;
    // The version check and the write are one statement, so two editors
    // saving the same version cannot both succeed.
    let result = article::Entity::update_many()
        .set(active_update(article, version)?)
        .filter(article::Column::Id.eq(article.id.0))
        .filter(article::Column::Version.eq(expected_version))
        .exec(&txn)
        .await
        .map_err(|e| article_write_error(e, article))?;
    if result.rows_affected == 0 {
        let exists = article::Entity::find_by_id(article.id.0)
            .count(&txn)
            .await
            .db()?
            > 0;
        return Err(if exists {
            Error::Conflict(format!(
                "the article is no longer at version {expected_version}: \
                 reload it and apply your change again"
            ))
        } else {
            Error::NotFound("article")
        });
    }
    article_author::Entity::delete_many()
        .filter(article_author::Column::ArticleId.eq(article.id.0))
        .exec(&txn)
        .await
        .db()?;
    link_authors(&txn, article, &article.author_ids).await?;
    let tag_ids = match tags {
        Some(tags) => {
            let ids = upsert_tags(&txn, tags).await?;
            article_tag::Entity::delete_many()
                .filter(article_tag::Column::ArticleId.eq(article.id.0))
                .exec(&txn)
                .await
                .db()?;
            link_tags(&txn, article, &ids).await?;
            ids
        }
        None => article_tag::Entity::find()
            .filter(article_tag::Column::ArticleId.eq(article.id.0))
            .order_by_asc(article_tag::Column::Position)
            .all(&txn)
            .await
            .db()?
            .into_iter()
            .map(|link| TagId(link.tag_id))
            .collect(),
    };
    let records = commit_with(txn, events).await?;
    let article = Article {
        tag_ids,
        version,
        ..article.clone()
    };
    Ok((article, records))
}

async fn link_authors(
    txn: &DatabaseTransaction,
    article: &Article,
    authors: &[AuthorId],
) -> Result<()> {
    if authors.is_empty() {
        return Ok(());
    }
    let links = authors
        .iter()
        .zip(0..)
        .map(|(author, position)| article_author::ActiveModel {
            article_id: Set(article.id.0),
            author_id: Set(author.0),
            position: Set(position),
        });
    article_author::Entity::insert_many(links)
        .exec_without_returning(txn)
        .await
        .map_err(|e| match violation(&e) {
            Some(Violation::ForeignKey) => Error::invalid("authors", "no such author"),
            Some(Violation::Unique) => Error::invalid("authors", "an author is listed twice"),
            None => internal(e),
        })?;
    Ok(())
}

async fn link_tags(txn: &DatabaseTransaction, article: &Article, tags: &[TagId]) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let links = tags
        .iter()
        .zip(0..)
        .map(|(tag, position)| article_tag::ActiveModel {
            article_id: Set(article.id.0),
            tag_id: Set(tag.0),
            position: Set(position),
        });
    article_tag::Entity::insert_many(links)
        .exec_without_returning(txn)
        .await
        .db()?;
    Ok(())
}

/// Creates the tags that do not exist yet and returns the ids of all, in the
/// order given. Two statements: an insert that skips existing slugs (and
/// waits for, then skips, one being created concurrently), and a select.
async fn upsert_tags<C: ConnectionTrait>(db: &C, tags: &[(Slug, String)]) -> Result<Vec<TagId>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tags.iter().map(|(slug, name)| tag::ActiveModel {
        id: Set(TagId::new().0),
        slug: Set(slug.as_str().to_owned()),
        name: Set(name.clone()),
    });
    tag::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([tag::Column::Slug])
        .exec_without_returning(db)
        .await
        .db()?;
    let stored: Vec<(Uuid, String)> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Id)
        .column(tag::Column::Slug)
        .filter(tag::Column::Slug.is_in(tags.iter().map(|(slug, _)| slug.as_str())))
        .into_tuple()
        .all(db)
        .await
        .db()?;
    tags.iter()
        .map(|(slug, _)| {
            stored
                .iter()
                .find(|(_, s)| s == slug.as_str())
                .map(|(id, _)| TagId(*id))
                .ok_or_else(|| Error::internal(format!("tag `{slug}` vanished while linking")))
        })
        .collect()
}
