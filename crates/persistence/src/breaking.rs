//! Breaking-news alerts. Few are active at a time; the list is bounded all
//! the same, so a runaway desk tool cannot make the banner query unbounded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::events::{Event, EventRecord};
use domain::ids::{ArticleId, BreakingNewsId};
use domain::live::{BreakingLink, BreakingNews, BreakingPriority};
use domain::ports::BreakingNewsRepository;
use domain::{Error, Result};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::columns::url;
use crate::db::Database;
use crate::entity::breaking_news;
use crate::error::{DbResultExt, Violation, internal, violation};
use crate::events::commit_with;

/// More active alerts than a banner could ever show.
const ACTIVE_LIMIT: u64 = 100;

fn to_domain(row: breaking_news::Model) -> Result<BreakingNews> {
    // An alert whose article was deleted keeps its text but loses its link
    // (ON DELETE SET NULL).
    let link = match (row.article_id, row.url) {
        (Some(id), _) => Some(BreakingLink::Article(ArticleId(id))),
        (None, Some(raw)) => Some(BreakingLink::Url(url(&raw)?)),
        (None, None) => None,
    };
    Ok(BreakingNews {
        id: BreakingNewsId(row.id),
        headline: row.headline,
        link,
        priority: BreakingPriority::parse(&row.priority)?,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        retracted_at: row.retracted_at,
    })
}

fn active(alert: &BreakingNews) -> breaking_news::ActiveModel {
    let (article_id, url) = match &alert.link {
        Some(BreakingLink::Article(id)) => (Some(id.0), None),
        Some(BreakingLink::Url(url)) => (None, Some(url.as_str().to_owned())),
        None => (None, None),
    };
    breaking_news::ActiveModel {
        id: Set(alert.id.0),
        headline: Set(alert.headline.clone()),
        article_id: Set(article_id),
        url: Set(url),
        priority: Set(alert.priority.as_str().to_owned()),
        issued_at: Set(alert.issued_at),
        expires_at: Set(alert.expires_at),
        retracted_at: Set(alert.retracted_at),
    }
}

fn write_error(err: DbErr) -> Error {
    match violation(&err) {
        Some(Violation::ForeignKey) => Error::invalid("articleId", "no such article"),
        _ => internal(err),
    }
}

#[async_trait]
impl BreakingNewsRepository for Database {
    async fn active_breaking_news(&self, now: DateTime<Utc>) -> Result<Vec<BreakingNews>> {
        breaking_news::Entity::find()
            .filter(breaking_news::Column::RetractedAt.is_null())
            .filter(
                Condition::any()
                    .add(breaking_news::Column::ExpiresAt.is_null())
                    .add(breaking_news::Column::ExpiresAt.gt(now)),
            )
            .order_by_desc(breaking_news::Column::IssuedAt)
            .order_by_desc(breaking_news::Column::Id)
            .limit(ACTIVE_LIMIT)
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn breaking_news_by_id(&self, id: BreakingNewsId) -> Result<Option<BreakingNews>> {
        breaking_news::Entity::find_by_id(id.0)
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn insert_breaking_news(
        &self,
        alert: &BreakingNews,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let txn = self.begin_write().await?;
        breaking_news::Entity::insert(active(alert))
            .exec_without_returning(&txn)
            .await
            .map_err(write_error)?;
        commit_with(txn, events).await
    }

    async fn update_breaking_news(
        &self,
        alert: &BreakingNews,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut row = active(alert);
        row.id = NotSet;
        let txn = self.begin_write().await?;
        let result = breaking_news::Entity::update_many()
            .set(row)
            .filter(breaking_news::Column::Id.eq(alert.id.0))
            .exec(&txn)
            .await
            .map_err(write_error)?;
        if result.rows_affected == 0 {
            return Err(Error::NotFound("breaking news"));
        }
        commit_with(txn, events).await
    }
}
