//! Syndicated items and leases. An imported article is written with the
//! record of its item in one transaction; the record's unique keys (the
//! link; the GUID within its scope) are what make a repeated or concurrent
//! import write nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::content::{Article, Author};
use domain::events::{Event, EventRecord};
use domain::ports::SyndicationRepository;
use domain::syndication::SyndicatedItem;
use domain::text::Slug;
use domain::{Error, Result};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::articles::write::insert_in;
use crate::authors;
use crate::db::Database;
use crate::entity::{author, lease, syndicated_item};
use crate::error::{DbResultExt, Violation, conflict_on_unique, internal, violation};
use crate::events::commit_with;

#[async_trait]
impl SyndicationRepository for Database {
    async fn is_syndicated(
        &self,
        guid_scope: &str,
        guid: Option<&str>,
        link: &str,
    ) -> Result<bool> {
        let mut seen = Condition::any().add(syndicated_item::Column::Link.eq(link));
        if let Some(guid) = guid {
            seen = seen.add(
                Condition::all()
                    .add(syndicated_item::Column::GuidScope.eq(guid_scope))
                    .add(syndicated_item::Column::Guid.eq(guid)),
            );
        }
        let count = syndicated_item::Entity::find()
            .filter(seen)
            .count(self.conn())
            .await
            .db()?;
        Ok(count > 0)
    }

    async fn insert_syndicated_article(
        &self,
        article: &Article,
        tags: &[(Slug, String)],
        new_authors: &[Author],
        item: &SyndicatedItem,
        events: &[Event],
    ) -> Result<Option<(Article, Vec<EventRecord>)>> {
        let txn = self.begin_write().await?;
        // The record first: when it clashes, the item is someone else's
        // import, whatever else would clash after it.
        let record_id = Uuid::now_v7();
        let record = syndicated_item::ActiveModel {
            id: Set(record_id),
            guid_scope: Set(item.guid_scope.clone()),
            guid: Set(item.guid.clone()),
            link: Set(item.link.as_str().to_owned()),
            // Linked once the article exists (the key points at it).
            article_id: Set(None),
            imported_at: Set(item.imported_at),
        };
        match syndicated_item::Entity::insert(record)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if violation(&e) == Some(Violation::Unique) => return Ok(None),
            Err(e) => return Err(internal(e)),
        }
        if !new_authors.is_empty() {
            author::Entity::insert_many(new_authors.iter().map(authors::active))
                .exec_without_returning(&txn)
                .await
                .map_err(|e| {
                    conflict_on_unique(e, || {
                        Error::Conflict("an author of the byline was created meanwhile".into())
                    })
                })?;
        }
        let stored = insert_in(&txn, article, tags).await?;
        syndicated_item::Entity::update_many()
            .col_expr(
                syndicated_item::Column::ArticleId,
                Expr::value(article.id.0),
            )
            .filter(syndicated_item::Column::Id.eq(record_id))
            .exec(&txn)
            .await
            .db()?;
        let records = commit_with(txn, events).await?;
        Ok(Some((stored, records)))
    }

    async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        // One statement, so two nodes cannot both take a free lease: the
        // row is created, or taken over only when it is ours or has run out.
        let row = lease::ActiveModel {
            name: Set(name.to_owned()),
            holder: Set(holder.to_owned()),
            expires_at: Set(until),
        };
        let ours_or_lapsed = Expr::col((lease::Entity, lease::Column::Holder))
            .eq(holder)
            .or(Expr::col((lease::Entity, lease::Column::ExpiresAt)).lt(now));
        let written = lease::Entity::insert(row)
            .on_conflict(
                OnConflict::column(lease::Column::Name)
                    .update_columns([lease::Column::Holder, lease::Column::ExpiresAt])
                    .action_and_where(ours_or_lapsed)
                    .to_owned(),
            )
            .exec_without_returning(self.conn())
            .await
            .db()?;
        Ok(written > 0)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        lease::Entity::delete_many()
            .filter(lease::Column::Name.eq(name))
            .filter(lease::Column::Holder.eq(holder))
            .exec(self.conn())
            .await
            .db()?;
        Ok(())
    }
}
