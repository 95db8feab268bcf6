//! The article repository: reads with bylines and tags, lists in keyset
//! pages, and writes as single transactions (see `write`).

mod explain;
mod links;
mod query;
mod rows;
pub(crate) mod write;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::content::{Article, ArticleStatus};
use domain::events::{Event, EventRecord};
use domain::html::SafeHtml;
use domain::ids::ArticleId;
use domain::page::{Page, PageRequest};
use domain::ports::{
    ArticleParts, ArticleQuery, ArticleRepository, SearchHit, SearchQuery, WithLinked,
};
use domain::text::Slug;
use domain::{Result, Visibility};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::db::Database;
use crate::entity::article;
use crate::error::DbResultExt;
use crate::keyset;

pub(crate) use query::{condition, published_or_created};
pub(crate) use rows::{ArticleRow, FIRST_EXTRA_COLUMN, complete, read_articles, select};

fn visible(select: Select<article::Entity>, visibility: Visibility) -> Select<article::Entity> {
    match visibility {
        Visibility::Public => {
            select.filter(article::Column::Status.eq(ArticleStatus::Published.as_str()))
        }
        Visibility::Desk => select,
    }
}

impl Database {
    async fn one_article(
        &self,
        select: Select<article::Entity>,
    ) -> Result<Option<WithLinked<Article>>> {
        let WithLinked { value, linked } = read_articles(self.conn(), select.limit(1)).await?;
        Ok(value.into_iter().next().map(|article| WithLinked {
            value: article,
            linked,
        }))
    }
}

#[async_trait]
impl ArticleRepository for Database {
    async fn article_by_id(
        &self,
        id: ArticleId,
        visibility: Visibility,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>> {
        let select = rows::select(parts).filter(article::Column::Id.eq(id.0));
        self.one_article(visible(select, visibility)).await
    }

    async fn article_by_slug(
        &self,
        slug: &Slug,
        visibility: Visibility,
        parts: ArticleParts,
    ) -> Result<Option<WithLinked<Article>>> {
        let select = rows::select(parts).filter(article::Column::Slug.eq(slug.as_str()));
        self.one_article(visible(select, visibility)).await
    }

    async fn article_bodies(&self, ids: &[ArticleId]) -> Result<Vec<(ArticleId, SafeHtml)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(uuid::Uuid, String, String)> = article::Entity::find()
            .select_only()
            .columns([
                article::Column::Id,
                article::Column::BodyHtml,
                article::Column::BodyText,
            ])
            .filter(article::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .into_tuple()
            .all(self.conn())
            .await
            .db()?;
        Ok(rows
            .into_iter()
            .map(|(id, html, text)| (ArticleId(id), SafeHtml::from_trusted(html, text)))
            .collect())
    }

    async fn list_articles(
        &self,
        query: &ArticleQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<Article>>> {
        let select = rows::select(parts).filter(condition(&query.filter, query.visibility));
        let select = query::keyset(query.order, query.visibility).apply(select, page)?;
        let read = read_articles(self.conn(), select).await?;
        Ok(read.map(|articles| keyset::page(articles, page, |a| query::position(query.order, a))))
    }

    async fn count_articles(&self, query: &ArticleQuery) -> Result<u64> {
        article::Entity::find()
            .filter(condition(&query.filter, query.visibility))
            .count(self.conn())
            .await
            .db()
    }

    async fn search(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
        parts: ArticleParts,
    ) -> Result<WithLinked<Page<SearchHit>>> {
        crate::search::search(self, query, page, parts).await
    }

    async fn count_search(&self, query: &SearchQuery) -> Result<u64> {
        crate::search::count(self, query).await
    }

    async fn insert_article(&self, article: &Article, tags: &[(Slug, String)]) -> Result<Article> {
        write::insert(self, article, tags).await
    }

    async fn update_article(
        &self,
        article: &Article,
        tags: Option<&[(Slug, String)]>,
        expected_version: i32,
        events: &[Event],
    ) -> Result<(Article, Vec<EventRecord>)> {
        write::update(self, article, tags, expected_version, events).await
    }

    async fn delete_article(&self, id: ArticleId) -> Result<bool> {
        // Links go with the article (ON DELETE CASCADE), the search index
        // with it (trigger or generated column), and alerts pointing at it
        // lose their link (ON DELETE SET NULL): one statement does it all.
        let result = article::Entity::delete_by_id(id.0)
            .exec(self.conn())
            .await
            .db()?;
        Ok(result.rows_affected > 0)
    }

    async fn due_scheduled_articles(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Article>> {
        let select = rows::select(ArticleParts::WHOLE)
            .filter(article::Column::Status.eq(ArticleStatus::Scheduled.as_str()))
            .filter(article::Column::ScheduledAt.lte(now))
            .order_by_asc(article::Column::ScheduledAt)
            .order_by_asc(article::Column::Id)
            .limit(u64::from(limit));
        Ok(read_articles(self.conn(), select).await?.value)
    }
}
