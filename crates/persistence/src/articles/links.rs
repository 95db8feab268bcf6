//! The bylines and tags of a set of articles, with the authors and tags
//! they name, in one statement: the author links joined to their authors,
//! `UNION ALL` the tag links joined to their tags, in one row shape. A page
//! of articles with everything its cards show thus costs two statements in
//! all (the articles, then this), on both databases.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use domain::Result;
use domain::content::{Author, Tag};
use domain::ids::{AuthorId, TagId};
use domain::ports::Linked;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::entity::{article_author, article_tag, author, tag};
use crate::error::DbResultExt;

/// What the statement brings back, per article and in all.
pub(crate) struct Links {
    authors_of: HashMap<Uuid, Vec<(i32, AuthorId)>>,
    tags_of: HashMap<Uuid, Vec<(i32, TagId)>>,
    pub linked: Linked,
}

impl Links {
    /// The byline and the tags of `article`, each in its order.
    pub fn of(&mut self, article: Uuid) -> (Vec<AuthorId>, Vec<TagId>) {
        let mut authors = self.authors_of.remove(&article).unwrap_or_default();
        let mut tags = self.tags_of.remove(&article).unwrap_or_default();
        authors.sort_unstable_by_key(|(position, _)| *position);
        tags.sort_unstable_by_key(|(position, _)| *position);
        (
            authors.into_iter().map(|(_, id)| id).collect(),
            tags.into_iter().map(|(_, id)| id).collect(),
        )
    }
}

/// The columns of both halves, in order: the link, then the author or tag
/// it names (a tag fills the author-only columns with NULL). Rows are read
/// by position, and a row naming an author or tag already read is not
/// read past the link: on a page, the same few authors sign most pieces.
const ARTICLE_ID: usize = 0;
const POSITION: usize = 1;
const IS_AUTHOR: usize = 2;
const ID: usize = 3;
const SLUG: usize = 4;
const NAME: usize = 5;
const TITLE: usize = 6;
const BIO: usize = 7;
const AVATAR_URL: usize = 8;
const CREATED_AT: usize = 9;
const UPDATED_AT: usize = 10;

pub(crate) async fn read<C: ConnectionTrait>(db: &C, articles: &[Uuid]) -> Result<Links> {
    let mut statement = author_half(articles);
    statement.union(UnionType::All, tag_half(articles));
    let rows = db.query_all(&statement).await.db()?;
    let mut links = Links {
        authors_of: HashMap::new(),
        tags_of: HashMap::new(),
        linked: Linked::default(),
    };
    let mut authors: HashMap<Uuid, Author> = HashMap::new();
    let mut tags: HashMap<Uuid, Tag> = HashMap::new();
    for row in &rows {
        let article: Uuid = row.try_get_by_index(ARTICLE_ID).db()?;
        let position: i32 = row.try_get_by_index(POSITION).db()?;
        let id: Uuid = row.try_get_by_index(ID).db()?;
        if row.try_get_by_index(IS_AUTHOR).db()? {
            let byline = links.authors_of.entry(article).or_default();
            byline.push((position, AuthorId(id)));
            if let Entry::Vacant(slot) = authors.entry(id) {
                slot.insert(to_author(row, id)?);
            }
        } else {
            let topics = links.tags_of.entry(article).or_default();
            topics.push((position, TagId(id)));
            if let Entry::Vacant(slot) = tags.entry(id) {
                slot.insert(to_tag(row, id)?);
            }
        }
    }
    links.linked = Linked {
        authors: authors.into_values().collect(),
        tags: tags.into_values().collect(),
    };
    Ok(links)
}

fn author_half(articles: &[Uuid]) -> SelectStatement {
    let link = |c: article_author::Column| Expr::col((article_author::Entity, c));
    let col = |c: author::Column| Expr::col((author::Entity, c));
    Query::select()
        .expr_as(
            link(article_author::Column::ArticleId),
            Alias::new("article_id"),
        )
        .expr_as(
            link(article_author::Column::Position),
            Alias::new("position"),
        )
        .expr_as(Expr::val(true), Alias::new("is_author"))
        .expr_as(col(author::Column::Id), Alias::new("id"))
        .expr_as(col(author::Column::Slug), Alias::new("slug"))
        .expr_as(col(author::Column::Name), Alias::new("name"))
        .expr_as(col(author::Column::Title), Alias::new("title"))
        .expr_as(col(author::Column::Bio), Alias::new("bio"))
        .expr_as(col(author::Column::AvatarUrl), Alias::new("avatar_url"))
        .expr_as(col(author::Column::CreatedAt), Alias::new("created_at"))
        .expr_as(col(author::Column::UpdatedAt), Alias::new("updated_at"))
        .from(article_author::Entity)
        .inner_join(
            author::Entity,
            col(author::Column::Id)
                .equals((article_author::Entity, article_author::Column::AuthorId)),
        )
        .and_where(link(article_author::Column::ArticleId).is_in(articles.iter().copied()))
        .take()
}

fn tag_half(articles: &[Uuid]) -> SelectStatement {
    let link = |c: article_tag::Column| Expr::col((article_tag::Entity, c));
    let col = |c: tag::Column| Expr::col((tag::Entity, c));
    // PostgreSQL types these NULLs from the author half's columns.
    let null = || Expr::cust("NULL");
    Query::select()
        .expr_as(
            link(article_tag::Column::ArticleId),
            Alias::new("article_id"),
        )
        .expr_as(link(article_tag::Column::Position), Alias::new("position"))
        .expr_as(Expr::val(false), Alias::new("is_author"))
        .expr_as(col(tag::Column::Id), Alias::new("id"))
        .expr_as(col(tag::Column::Slug), Alias::new("slug"))
        .expr_as(col(tag::Column::Name), Alias::new("name"))
        .expr_as(null(), Alias::new("title"))
        .expr_as(null(), Alias::new("bio"))
        .expr_as(null(), Alias::new("avatar_url"))
        .expr_as(null(), Alias::new("created_at"))
        .expr_as(null(), Alias::new("updated_at"))
        .from(article_tag::Entity)
        .inner_join(
            tag::Entity,
            col(tag::Column::Id).equals((article_tag::Entity, article_tag::Column::TagId)),
        )
        .and_where(link(article_tag::Column::ArticleId).is_in(articles.iter().copied()))
        .take()
}

fn to_author(row: &QueryResult, id: Uuid) -> Result<Author> {
    let created_at: DateTime<Utc> = row.try_get_by_index(CREATED_AT).db()?;
    crate::authors::to_domain(author::Model {
        id,
        slug: row.try_get_by_index(SLUG).db()?,
        name: row.try_get_by_index(NAME).db()?,
        title: row.try_get_by_index(TITLE).db()?,
        bio: row.try_get_by_index(BIO).db()?,
        avatar_url: row.try_get_by_index(AVATAR_URL).db()?,
        created_at,
        updated_at: row.try_get_by_index(UPDATED_AT).db()?,
    })
}

fn to_tag(row: &QueryResult, id: Uuid) -> Result<Tag> {
    crate::tags::to_domain(tag::Model {
        id,
        slug: row.try_get_by_index(SLUG).db()?,
        name: row.try_get_by_index(NAME).db()?,
    })
}
