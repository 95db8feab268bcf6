//! The article repository: reads with bylines and tags, lists in keyset
//! pages, and writes as single transactions (see `write`).

mod query;
mod rows;
mod write;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::content::{Article, ArticleStatus};
use domain::events::{Event, EventRecord};
use domain::ids::ArticleId;
use domain::page::{Page, PageRequest};
use domain::ports::{ArticleQuery, ArticleRepository, SearchHit, SearchQuery};
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
pub(crate) use rows::with_links;

fn visible(select: Select<article::Entity>, visibility: Visibility) -> Select<article::Entity> {
    match visibility {
        Visibility::Public => {
            select.filter(article::Column::Status.eq(ArticleStatus::Published.as_str()))
        }
        Visibility::Desk => select,
    }
}

impl Database {
    async fn one_article(&self, select: Select<article::Entity>) -> Result<Option<Article>> {
        let Some(row) = select.one(self.conn()).await.db()? else {
            return Ok(None);
        };
        Ok(with_links(self.conn(), vec![row]).await?.pop())
    }
}

#[async_trait]
impl ArticleRepository for Database {
    async fn article_by_id(
        &self,
        id: ArticleId,
        visibility: Visibility,
    ) -> Result<Option<Article>> {
        let select = article::Entity::find_by_id(id.0);
        self.one_article(visible(select, visibility)).await
    }

    async fn article_by_slug(
        &self,
        slug: &Slug,
        visibility: Visibility,
    ) -> Result<Option<Article>> {
        let select = article::Entity::find().filter(article::Column::Slug.eq(slug.as_str()));
        self.one_article(visible(select, visibility)).await
    }

    async fn list_articles(
        &self,
        query: &ArticleQuery,
        page: &PageRequest,
    ) -> Result<Page<Article>> {
        let select = article::Entity::find().filter(condition(&query.filter, query.visibility));
        let select = query::keyset(query.order, query.visibility).apply(select, page)?;
        let rows = select.all(self.conn()).await.db()?;
        let articles = with_links(self.conn(), rows).await?;
        Ok(keyset::page(articles, page, |a| {
            query::position(query.order, a)
        }))
    }

    async fn count_articles(&self, query: &ArticleQuery) -> Result<u64> {
        article::Entity::find()
            .filter(condition(&query.filter, query.visibility))
            .count(self.conn())
            .await
            .db()
    }

    async fn search(&self, query: &SearchQuery, page: &PageRequest) -> Result<Page<SearchHit>> {
        crate::search::search(self, query, page).await
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
        let rows = article::Entity::find()
            .filter(article::Column::Status.eq(ArticleStatus::Scheduled.as_str()))
            .filter(article::Column::ScheduledAt.lte(now))
            .order_by_asc(article::Column::ScheduledAt)
            .order_by_asc(article::Column::Id)
            .limit(u64::from(limit))
            .all(self.conn())
            .await
            .db()?;
        with_links(self.conn(), rows).await
    }
}
