//! The live-blog repository. Blogs are here; their entries, which the same
//! port serves, are in `live_entries`.

use async_trait::async_trait;
use domain::events::{Event, EventRecord};
use domain::ids::{LiveBlogId, LiveEntryId, SectionId};
use domain::live::{LiveBlog, LiveBlogStatus, LiveEntry};
use domain::page::{Page, PageRequest, Position, SortValue};
use domain::ports::LiveBlogRepository;
use domain::text::Slug;
use domain::{Error, Result};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Select};

use crate::columns::slug;
use crate::db::Database;
use crate::entity::live_blog;
use crate::error::{DbResultExt, Violation, internal, taken, violation};
use crate::events::commit_with;
use crate::keyset::{self, Keyset, SortKind};
use crate::live_entries;

fn to_domain(row: live_blog::Model) -> Result<LiveBlog> {
    Ok(LiveBlog {
        id: LiveBlogId(row.id),
        slug: slug(&row.slug)?,
        title: row.title,
        summary: row.summary,
        section_id: SectionId(row.section_id),
        status: LiveBlogStatus::parse(&row.status)?,
        started_at: row.started_at,
        ended_at: row.ended_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn active(blog: &LiveBlog) -> live_blog::ActiveModel {
    live_blog::ActiveModel {
        id: Set(blog.id.0),
        slug: Set(blog.slug.as_str().to_owned()),
        title: Set(blog.title.clone()),
        summary: Set(blog.summary.clone()),
        section_id: Set(blog.section_id.0),
        status: Set(blog.status.as_str().to_owned()),
        started_at: Set(blog.started_at),
        ended_at: Set(blog.ended_at),
        created_at: Set(blog.created_at),
        updated_at: Set(blog.updated_at),
    }
}

fn write_error(err: DbErr, blog: &LiveBlog) -> Error {
    match violation(&err) {
        Some(Violation::Unique) => taken("live blog", blog.slug.as_str()),
        Some(Violation::ForeignKey) => Error::invalid("section", "there is no such section"),
        None => internal(err),
    }
}

fn with_status(
    select: Select<live_blog::Entity>,
    status: Option<LiveBlogStatus>,
) -> Select<live_blog::Entity> {
    match status {
        Some(status) => select.filter(live_blog::Column::Status.eq(status.as_str())),
        None => select,
    }
}

#[async_trait]
impl LiveBlogRepository for Database {
    async fn live_blog_by_id(&self, id: LiveBlogId) -> Result<Option<LiveBlog>> {
        live_blog::Entity::find_by_id(id.0)
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn live_blog_by_slug(&self, slug: &Slug) -> Result<Option<LiveBlog>> {
        live_blog::Entity::find()
            .filter(live_blog::Column::Slug.eq(slug.as_str()))
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn list_live_blogs(
        &self,
        status: Option<LiveBlogStatus>,
        page: &PageRequest,
    ) -> Result<Page<LiveBlog>> {
        let newest_first = Keyset {
            sort: Expr::col((live_blog::Entity, live_blog::Column::CreatedAt)),
            id: Expr::col((live_blog::Entity, live_blog::Column::Id)),
            kind: SortKind::Time,
            ascending: false,
        };
        let select = newest_first.apply(with_status(live_blog::Entity::find(), status), page)?;
        let rows = select
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect::<Result<Vec<_>>>()?;
        Ok(keyset::page(rows, page, |b| {
            Position::new(SortValue::Time(b.created_at), b.id.0)
        }))
    }

    async fn count_live_blogs(&self, status: Option<LiveBlogStatus>) -> Result<u64> {
        with_status(live_blog::Entity::find(), status)
            .count(self.conn())
            .await
            .db()
    }

    async fn insert_live_blog(&self, blog: &LiveBlog) -> Result<()> {
        live_blog::Entity::insert(active(blog))
            .exec_without_returning(self.conn())
            .await
            .map_err(|e| write_error(e, blog))?;
        Ok(())
    }

    async fn update_live_blog(
        &self,
        blog: &LiveBlog,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        let mut row = active(blog);
        row.id = NotSet;
        row.created_at = NotSet;
        let txn = self.begin_write().await?;
        let result = live_blog::Entity::update_many()
            .set(row)
            .filter(live_blog::Column::Id.eq(blog.id.0))
            .exec(&txn)
            .await
            .map_err(|e| write_error(e, blog))?;
        if result.rows_affected == 0 {
            return Err(Error::NotFound("live blog"));
        }
        commit_with(txn, events).await
    }

    async fn live_entries(
        &self,
        blog: LiveBlogId,
        key_events_only: bool,
        page: &PageRequest,
    ) -> Result<Page<LiveEntry>> {
        live_entries::list(self, blog, key_events_only, page).await
    }

    async fn count_live_entries(&self, blog: LiveBlogId, key_events_only: bool) -> Result<u64> {
        live_entries::count(self, blog, key_events_only).await
    }

    async fn live_entry_by_id(&self, id: LiveEntryId) -> Result<Option<LiveEntry>> {
        live_entries::by_id(self, id).await
    }

    async fn pinned_entry(&self, blog: LiveBlogId) -> Result<Option<LiveEntry>> {
        live_entries::pinned(self, blog).await
    }

    async fn pinned_entries(&self, blogs: &[LiveBlogId]) -> Result<Vec<LiveEntry>> {
        live_entries::pinned_of(self, blogs).await
    }

    async fn key_events(&self, blogs: &[LiveBlogId], per_blog: u32) -> Result<Vec<LiveEntry>> {
        live_entries::key_events_of(self, blogs, per_blog).await
    }

    async fn insert_live_entry(
        &self,
        entry: &LiveEntry,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        live_entries::insert(self, entry, events).await
    }

    async fn update_live_entry(
        &self,
        entry: &LiveEntry,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        live_entries::update(self, entry, events).await
    }

    async fn delete_live_entry(
        &self,
        id: LiveEntryId,
        events: &[Event],
    ) -> Result<Vec<EventRecord>> {
        live_entries::delete(self, id, events).await
    }
}
