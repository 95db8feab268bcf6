//! Tags: created by name when an article uses them (see
//! `articles::write`), listed by name with an optional prefix.

use async_trait::async_trait;
use domain::Result;
use domain::content::Tag;
use domain::ids::TagId;
use domain::page::{Page, PageRequest, Position, SortValue};
use domain::ports::TagRepository;
use domain::text::Slug;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, Select};

use crate::columns::slug;
use crate::db::Database;
use crate::entity::tag;
use crate::error::DbResultExt;
use crate::keyset::{self, Keyset, SortKind};

pub(crate) fn to_domain(row: tag::Model) -> Result<Tag> {
    Ok(Tag {
        id: TagId(row.id),
        slug: slug(&row.slug)?,
        name: row.name,
    })
}

/// `prefix%` with the pattern's own wildcards taken literally.
fn starts_with(prefix: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('\\')
}

/// Tags whose name or slug starts with `prefix`, ignoring case. The slug
/// side folds diacritics the way slugs are made, so "ce" and "Če" both find
/// "Česko" on either database (SQLite's LOWER only folds ASCII).
fn with_prefix(select: Select<tag::Entity>, prefix: Option<&str>) -> Select<tag::Entity> {
    let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
        return select;
    };
    let mut cond = Condition::any().add(
        Expr::expr(Func::lower(Expr::col((tag::Entity, tag::Column::Name))))
            .like(starts_with(&prefix.to_lowercase())),
    );
    if let Ok(slug) = Slug::derive(prefix) {
        cond = cond.add(tag::Column::Slug.like(starts_with(slug.as_str())));
    }
    select.filter(cond)
}

#[async_trait]
impl TagRepository for Database {
    async fn tag_by_slug(&self, slug: &Slug) -> Result<Option<Tag>> {
        tag::Entity::find()
            .filter(tag::Column::Slug.eq(slug.as_str()))
            .one(self.conn())
            .await
            .db()?
            .map(to_domain)
            .transpose()
    }

    async fn tags_by_ids(&self, ids: &[TagId]) -> Result<Vec<Tag>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        tag::Entity::find()
            .filter(tag::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn list_tags(&self, prefix: Option<&str>, page: &PageRequest) -> Result<Page<Tag>> {
        let by_name = Keyset {
            sort: Expr::col((tag::Entity, tag::Column::Name)),
            id: Expr::col((tag::Entity, tag::Column::Id)),
            kind: SortKind::Text,
            ascending: true,
        };
        let select = by_name.apply(with_prefix(tag::Entity::find(), prefix), page)?;
        let rows = select
            .all(self.conn())
            .await
            .db()?
            .into_iter()
            .map(to_domain)
            .collect::<Result<Vec<_>>>()?;
        Ok(keyset::page(rows, page, |t| {
            Position::new(SortValue::Text(t.name.clone()), t.id.0)
        }))
    }

    async fn count_tags(&self, prefix: Option<&str>) -> Result<u64> {
        with_prefix(tag::Entity::find(), prefix)
            .count(self.conn())
            .await
            .db()
    }
}
