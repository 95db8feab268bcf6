//! Which articles a list or search covers (visibility and filter), and how
//! lists are ordered.

use domain::Visibility;
use domain::content::{Article, ArticleStatus};
use domain::page::{Position, SortValue};
use domain::ports::{ArticleFilter, ArticleOrder, ArticleSort, SortDirection};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, Condition};

use crate::entity::{article, article_author, article_tag, author, section, tag};
use crate::keyset::{Keyset, SortKind};

fn col(column: article::Column) -> Expr {
    Expr::col((article::Entity, column))
}

/// Publication time, or creation time for what was never published: the
/// desk's "published" order, in which drafts sit where they were written.
pub(crate) fn published_or_created() -> Expr {
    Func::coalesce([
        col(article::Column::PublishedAt),
        col(article::Column::CreatedAt),
    ])
    .into()
}

/// The rows a caller may see that match `filter`. Status is honoured for the
/// desk only; readers see published articles whatever they ask for.
pub(crate) fn condition(filter: &ArticleFilter, visibility: Visibility) -> Condition {
    let mut cond = Condition::all();
    match visibility {
        Visibility::Public => {
            cond = cond.add(article::Column::Status.eq(ArticleStatus::Published.as_str()));
        }
        Visibility::Desk => {
            if let Some(status) = filter.status {
                cond = cond.add(article::Column::Status.eq(status.as_str()));
            }
        }
    }
    // `=` a scalar subquery, not `IN`: the database finds the section
    // once, then reads the section's index on (section, status, time, id)
    // in the list's order and stops at the page's end. With `IN`, the
    // section comes from a join, and every article of it is read and
    // sorted to find the newest twenty.
    if let Some(slug) = &filter.section {
        cond = cond.add(
            Expr::col((article::Entity, article::Column::SectionId)).eq(Expr::SubQuery(
                None,
                Box::new(
                    Query::select()
                        .column(section::Column::Id)
                        .from(section::Entity)
                        .and_where(section::Column::Slug.eq(slug.as_str()))
                        .take()
                        .into(),
                ),
            )),
        );
    }
    if let Some(slug) = &filter.tag {
        cond = cond.add(
            article::Column::Id.in_subquery(
                Query::select()
                    .column((article_tag::Entity, article_tag::Column::ArticleId))
                    .from(article_tag::Entity)
                    .inner_join(
                        tag::Entity,
                        Expr::col((tag::Entity, tag::Column::Id))
                            .equals((article_tag::Entity, article_tag::Column::TagId)),
                    )
                    .and_where(tag::Column::Slug.eq(slug.as_str()))
                    .take(),
            ),
        );
    }
    if let Some(slug) = &filter.author {
        cond = cond.add(
            article::Column::Id.in_subquery(
                Query::select()
                    .column((article_author::Entity, article_author::Column::ArticleId))
                    .from(article_author::Entity)
                    .inner_join(
                        author::Entity,
                        Expr::col((author::Entity, author::Column::Id))
                            .equals((article_author::Entity, article_author::Column::AuthorId)),
                    )
                    .and_where(author::Column::Slug.eq(slug.as_str()))
                    .take(),
            ),
        );
    }
    if let Some(kind) = filter.kind {
        cond = cond.add(article::Column::Kind.eq(kind.as_str()));
    }
    if let Some(breaking) = filter.breaking {
        cond = cond.add(article::Column::Breaking.eq(breaking));
    }
    // A half-open range: `publishedAfter` inclusive, `publishedBefore`
    // exclusive, so consecutive ranges neither overlap nor leave gaps.
    if let Some(after) = filter.published_after {
        cond = cond.add(article::Column::PublishedAt.gte(after));
    }
    if let Some(before) = filter.published_before {
        cond = cond.add(article::Column::PublishedAt.lt(before));
    }
    cond
}

/// The keyset of an article ordering. Readers only see published articles,
/// whose `published_at` is set, so their order uses the column itself and
/// its index; the desk orders by publication-or-creation time.
pub(crate) fn keyset(order: ArticleOrder, visibility: Visibility) -> Keyset {
    let sort = match (order.sort, visibility) {
        (ArticleSort::PublishedAt, Visibility::Public) => col(article::Column::PublishedAt),
        (ArticleSort::PublishedAt, Visibility::Desk) => published_or_created(),
        (ArticleSort::UpdatedAt, _) => col(article::Column::UpdatedAt),
        (ArticleSort::CreatedAt, _) => col(article::Column::CreatedAt),
    };
    Keyset {
        sort,
        id: col(article::Column::Id),
        kind: SortKind::Time,
        ascending: order.direction == SortDirection::Asc,
    }
}

pub(crate) fn position(order: ArticleOrder, article: &Article) -> Position {
    let time = match order.sort {
        ArticleSort::PublishedAt => article.published_at.unwrap_or(article.created_at),
        ArticleSort::UpdatedAt => article.updated_at,
        ArticleSort::CreatedAt => article.created_at,
    };
    Position::new(SortValue::Time(time), article.id.0)
}
