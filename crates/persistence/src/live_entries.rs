//! Live entries, newest first. A blog has at most one pinned entry: pinning
//! one unpins the others in the same transaction, writers that pin in the
//! same blog are serialised (a row lock on the blog on PostgreSQL, the
//! single writer on SQLite), and a partial unique index backs the rule up.
//! Each write appends its events in its own transaction (see `events`).

use domain::events::{Event, EventRecord};
use domain::html::SafeHtml;
use domain::ids::{AuthorId, LiveBlogId, LiveEntryId};
use domain::live::LiveEntry;
use domain::page::{Page, PageRequest, Position, SortValue};
use domain::{Error, Result};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, LockType, Order, Query};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait, Select,
};

use crate::columns::{media_from_json, media_json};
use crate::db::Database;
use crate::entity::{live_blog, live_entry};
use crate::error::{DbResultExt, Violation, internal, violation};
use crate::events::commit_with;
use crate::keyset::{self, Keyset, SortKind};

fn to_domain(row: live_entry::Model) -> Result<LiveEntry> {
    Ok(LiveEntry {
        id: LiveEntryId(row.id),
        live_blog_id: LiveBlogId(row.live_blog_id),
        body: SafeHtml::from_trusted(row.body_html, row.body_text),
        author_id: row.author_id.map(AuthorId),
        key_event: row.key_event,
        pinned: row.pinned,
        media: media_from_json(&row.media)?,
        posted_at: row.posted_at,
        edited_at: row.edited_at,
    })
}

fn active(entry: &LiveEntry) -> Result<live_entry::ActiveModel> {
    Ok(live_entry::ActiveModel {
        id: Set(entry.id.0),
        live_blog_id: Set(entry.live_blog_id.0),
        body_html: Set(entry.body.html().to_owned()),
        body_text: Set(entry.body.text().to_owned()),
        author_id: Set(entry.author_id.map(|a| a.0)),
        key_event: Set(entry.key_event),
        pinned: Set(entry.pinned),
        media: Set(media_json(&entry.media)?),
        posted_at: Set(entry.posted_at),
        edited_at: Set(entry.edited_at),
    })
}

fn of_blog(blog: LiveBlogId, key_events_only: bool) -> Select<live_entry::Entity> {
    let select = live_entry::Entity::find().filter(live_entry::Column::LiveBlogId.eq(blog.0));
    if key_events_only {
        select.filter(live_entry::Column::KeyEvent.eq(true))
    } else {
        select
    }
}

pub(crate) async fn list(
    db: &Database,
    blog: LiveBlogId,
    key_events_only: bool,
    page: &PageRequest,
) -> Result<Page<LiveEntry>> {
    let newest_first = Keyset {
        sort: Expr::col((live_entry::Entity, live_entry::Column::PostedAt)),
        id: Expr::col((live_entry::Entity, live_entry::Column::Id)),
        kind: SortKind::Time,
        ascending: false,
    };
    let select = newest_first.apply(of_blog(blog, key_events_only), page)?;
    let rows = select
        .all(db.conn())
        .await
        .db()?
        .into_iter()
        .map(to_domain)
        .collect::<Result<Vec<_>>>()?;
    Ok(keyset::page(rows, page, |e| {
        Position::new(SortValue::Time(e.posted_at), e.id.0)
    }))
}

pub(crate) async fn count(db: &Database, blog: LiveBlogId, key_events_only: bool) -> Result<u64> {
    of_blog(blog, key_events_only).count(db.conn()).await.db()
}

pub(crate) async fn by_id(db: &Database, id: LiveEntryId) -> Result<Option<LiveEntry>> {
    live_entry::Entity::find_by_id(id.0)
        .one(db.conn())
        .await
        .db()?
        .map(to_domain)
        .transpose()
}

pub(crate) async fn pinned(db: &Database, blog: LiveBlogId) -> Result<Option<LiveEntry>> {
    live_entry::Entity::find()
        .filter(live_entry::Column::LiveBlogId.eq(blog.0))
        .filter(live_entry::Column::Pinned.eq(true))
        .one(db.conn())
        .await
        .db()?
        .map(to_domain)
        .transpose()
}

pub(crate) async fn pinned_of(db: &Database, blogs: &[LiveBlogId]) -> Result<Vec<LiveEntry>> {
    if blogs.is_empty() {
        return Ok(Vec::new());
    }
    live_entry::Entity::find()
        .filter(live_entry::Column::LiveBlogId.is_in(blogs.iter().map(|b| b.0)))
        .filter(live_entry::Column::Pinned.eq(true))
        .all(db.conn())
        .await
        .db()?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Up to `per_blog` newest key events of each blog, in one statement: the
/// entries are numbered within their blog, newest first, by a window
/// function (SQLite 3.25 and later, PostgreSQL), and the first `per_blog`
/// of each kept. Results come blog by blog, newest first within a blog.
pub(crate) async fn key_events_of(
    db: &Database,
    blogs: &[LiveBlogId],
    per_blog: u32,
) -> Result<Vec<LiveEntry>> {
    if blogs.is_empty() || per_blog == 0 {
        return Ok(Vec::new());
    }
    const RANKED: &str = "ranked";
    const RANK: &str = "entry_rank";
    let inner = live_entry::Entity::find()
        .filter(live_entry::Column::LiveBlogId.is_in(blogs.iter().map(|b| b.0)))
        .filter(live_entry::Column::KeyEvent.eq(true))
        .expr_as(
            Expr::cust(
                "ROW_NUMBER() OVER (PARTITION BY live_blog_id ORDER BY posted_at DESC, id DESC)",
            ),
            RANK,
        )
        .into_query();
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new(RANKED))
        .and_where(Expr::col((Alias::new(RANKED), Alias::new(RANK))).lte(i64::from(per_blog)))
        .order_by(
            (Alias::new(RANKED), live_entry::Column::LiveBlogId),
            Order::Asc,
        )
        .order_by((Alias::new(RANKED), Alias::new(RANK)), Order::Asc)
        .to_owned();
    live_entry::Entity::find()
        .from_raw_sql(db.backend().build(&outer))
        .all(db.conn())
        .await
        .db()?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Unpins the blog's other entries, after locking the blog row on
/// PostgreSQL so that two editors pinning at once take turns instead of
/// both committing a pinned entry (or one failing on the unique index).
async fn unpin_others(db: &Database, txn: &DatabaseTransaction, entry: &LiveEntry) -> Result<()> {
    if db.backend() == DbBackend::Postgres {
        live_blog::Entity::find_by_id(entry.live_blog_id.0)
            .select_only()
            .column(live_blog::Column::Id)
            .lock(LockType::Update)
            .into_tuple::<uuid::Uuid>()
            .one(txn)
            .await
            .db()?;
    }
    live_entry::Entity::update_many()
        .col_expr(live_entry::Column::Pinned, Expr::value(false))
        .filter(live_entry::Column::LiveBlogId.eq(entry.live_blog_id.0))
        .filter(live_entry::Column::Pinned.eq(true))
        .filter(live_entry::Column::Id.ne(entry.id.0))
        .exec(txn)
        .await
        .db()?;
    Ok(())
}

fn write_error(err: DbErr) -> Error {
    match violation(&err) {
        Some(Violation::ForeignKey) => Error::invalid("author", "no such author"),
        Some(Violation::Unique) => Error::Conflict(
            "another entry of this live blog was pinned at the same time; try again".into(),
        ),
        None => internal(err),
    }
}

pub(crate) async fn insert(
    db: &Database,
    entry: &LiveEntry,
    events: &[Event],
) -> Result<Vec<EventRecord>> {
    let txn = db.begin_write().await?;
    if entry.pinned {
        unpin_others(db, &txn, entry).await?;
    }
    let inserted = live_entry::Entity::insert(active(entry)?)
        .exec_without_returning(&txn)
        .await;
    if let Err(err) = inserted {
        // SQLite does not say which foreign key failed: the blog or the
        // author. Ask, after the failed transaction has been let go (an
        // in-memory database has a single connection).
        let fk = violation(&err) == Some(Violation::ForeignKey);
        drop(txn);
        if fk
            && live_blog::Entity::find_by_id(entry.live_blog_id.0)
                .count(db.conn())
                .await
                .db()?
                == 0
        {
            return Err(Error::NotFound("live blog"));
        }
        return Err(write_error(err));
    }
    commit_with(txn, events).await
}

pub(crate) async fn update(
    db: &Database,
    entry: &LiveEntry,
    events: &[Event],
) -> Result<Vec<EventRecord>> {
    let txn = db.begin_write().await?;
    if entry.pinned {
        unpin_others(db, &txn, entry).await?;
    }
    let mut row = active(entry)?;
    // An entry stays in its blog and keeps its posting time.
    row.id = NotSet;
    row.live_blog_id = NotSet;
    row.posted_at = NotSet;
    let result = live_entry::Entity::update_many()
        .set(row)
        .filter(live_entry::Column::Id.eq(entry.id.0))
        .filter(live_entry::Column::LiveBlogId.eq(entry.live_blog_id.0))
        .exec(&txn)
        .await
        .map_err(write_error)?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound("live entry"));
    }
    commit_with(txn, events).await
}

pub(crate) async fn delete(
    db: &Database,
    id: LiveEntryId,
    events: &[Event],
) -> Result<Vec<EventRecord>> {
    let txn = db.begin_write().await?;
    let result = live_entry::Entity::delete_by_id(id.0)
        .exec(&txn)
        .await
        .db()?;
    if result.rows_affected == 0 {
        return Err(Error::NotFound("live entry"));
    }
    commit_with(txn, events).await
}
