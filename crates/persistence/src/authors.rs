//! Authors: bylines, listed by name.

use async_trait::async_trait;
use domain::content::Author;
use domain::ids::AuthorId;
use domain::page::{Page, PageRequest, Position, SortValue};
use domain::ports::AuthorRepository;
use domain::text::Slug;
use domain::{Error, Result};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::columns::{slug, url};
use crate::db::Database;
use crate::entity::author;
use crate::error::{DbResultExt, conflict_on_unique, taken};
use crate::keyset::{self, Keyset, SortKind};

pub(crate) fn to_domain(row: author::Model) -> Result<Author> {
    Ok(Author {
        id: AuthorId(row.id),
        slug: slug(&row.slug)?,
        name: row.name,
        title: row.title,
        bio: row.bio,
        avatar_url: row.avatar_url.as_deref().map(url).transpose()?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn active(author: &Author) -> author::ActiveModel {
    author::ActiveModel {
        id: Set(author.id.0),
        slug: Set(author.slug.as_str().to_owned()),
        name: Set(author.name.clone()),
        title: Set(author.title.clone()),
        bio: Set(author.bio.clone()),
        avatar_url: Set(author.avatar_url.as_ref().map(|u| u.as_str().to_owned())),
        created_at: Set(author.created_at),
        updated_at: Set(author.updated_at),
    }
}

fn by_name() -> Keyset {
    Keyset {
        sort: Expr::col((author::Entity, author::Column::Name)),
        id: Expr::col((author::Entity, author::Column::Id)),
        kind: SortKind::Text,
        ascending: true,
    }
}

#[async_trait]
impl AuthorRepository for Database {
    async fn author_by_id(&self, id: AuthorId) -> Result<Option<Author>> {
        author::Entity::find_by_id(id.0)
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn author_by_slug(&self, slug: &Slug) -> Result<Option<Author>> {
        author::Entity::find()
            .filter(author::Column::Slug.eq(slug.as_str()))
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn authors_by_ids(&self, ids: &[AuthorId]) -> Result<Vec<Author>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        author::Entity::find()
            .filter(author::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn list_authors(&self, page: &PageRequest) -> Result<Page<Author>> {
        let select = by_name().apply(author::Entity::find(), page)?;
        let rows = select
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect::<Result<Vec<_>>>()?;
        Ok(keyset::page(rows, page, |a| {
            Position::new(SortValue::Text(a.name.clone()), a.id.0)
        }))
    }

    async fn count_authors(&self) -> Result<u64> {
        author::Entity::find().count(self.conn()).await.db()
    }

    async fn insert_author(&self, author: &Author) -> Result<()> {
        author::Entity::insert(active(author))
            .exec_without_returning(self.conn())
            .await
            .map_err(|e| conflict_on_unique(e, || taken("author", author.slug.as_str())))?;
        Ok(())
    }

    async fn update_author(&self, author: &Author) -> Result<()> {
        let mut row = active(author);
        row.id = NotSet;
        row.created_at = NotSet;
        let result = author::Entity::update_many()
            .set(row)
            .filter(author::Column::Id.eq(author.id.0))
            .exec(self.conn())
            .await
            .map_err(|e| conflict_on_unique(e, || taken("author", author.slug.as_str())))?;
        if result.rows_affected == 0 {
            return Err(Error::NotFound("author"));
        }
        Ok(())
    }
}
