//! Full-text search over headline, standfirst and body text.
//!
//! What the reader typed is reduced to its words before any query syntax is
//! built, so quotes, `*`, `OR`, `NEAR(` or `-` are just characters on both
//! databases: every word must match (the last one as a prefix, for
//! search-as-you-type). PostgreSQL ranks with `ts_rank_cd` over the weighted
//! `search` column; SQLite with `bm25` over the FTS5 table. The PostgreSQL
//! rank is divided by 1 + log(document length) (normalisation 1), as bm25
//! also weighs length: without it a long piece that repeats a word outranks
//! the short story about exactly that, and the two databases disagree on the
//! order. Both mark matches in the snippet with private-use characters,
//! which are turned into `<mark>` here after the text is HTML-escaped, so
//! the snippet is safe HTML whatever the article contains.
//!
//! A search is two steps: the page of hits (ids and ranks, ordered and
//! cut to the page, no article columns), then those articles with their
//! snippets, which are the expensive part and so are made for the page's
//! hits only, never for every match.

mod text;

use std::collections::HashMap;

use domain::content::Article;
use domain::page::{Direction, Page, PageRequest, Position, SortValue};
use domain::ports::{ArticleParts, Linked, SearchHit, SearchQuery, WithLinked};
use domain::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::articles::{
    ArticleRow, FIRST_EXTRA_COLUMN, complete, condition, published_or_created, select,
};
use crate::db::Database;
use crate::entity::article;
use crate::error::DbResultExt;
use text::{MARK_END, MARK_START, fts5_query, highlight, tsquery, words};

/// Matching articles the caller may see, without ranking (for counting).
fn matching(db: &Database, query: &SearchQuery, words: &[String]) -> Select<article::Entity> {
    let mut select = article::Entity::find().filter(condition(&query.filter, query.visibility));
    match db.backend() {
        DbBackend::Postgres => {
            select = select.filter(Expr::cust_with_values(
                "articles.search @@ to_tsquery('english', $1)",
                [tsquery(words)],
            ));
        }
        _ => {
            QueryTrait::query(&mut select).join(
                JoinType::InnerJoin,
                "article_search",
                Expr::col(("article_search", "article_id"))
                    .equals((article::Entity, article::Column::Id)),
            );
            select = select.filter(Expr::cust_with_values(
                "article_search MATCH ?",
                [fts5_query(words)],
            ));
        }
    }
    select
}

pub(crate) async fn count(db: &Database, query: &SearchQuery) -> Result<u64> {
    let words = words(&query.text);
    if words.is_empty() {
        return Ok(0);
    }
    matching(db, query, &words).count(db.conn()).await.db()
}

pub(crate) async fn search(
    db: &Database,
    query: &SearchQuery,
    page: &PageRequest,
    parts: ArticleParts,
) -> Result<WithLinked<Page<SearchHit>>> {
    if page.direction == Direction::Backward || page.before.is_some() {
        return Err(Error::invalid(
            "last",
            "search results page forwards only (`first`, `after`)",
        ));
    }
    let offset = match &page.after {
        None => 0,
        Some(Position {
            value: SortValue::Int(i),
            ..
        }) if *i >= 0 => i.saturating_add(1),
        Some(_) => {
            return Err(Error::CursorInvalid(
                "the cursor does not belong to this search".into(),
            ));
        }
    };
    let words = words(&query.text);
    let empty = || WithLinked {
        value: Page::empty(),
        linked: Linked::default(),
    };
    if words.is_empty() {
        return Ok(empty());
    }
    let hits = hits(db, query, &words, offset, page.limit).await?;
    if hits.is_empty() {
        return Ok(empty());
    }
    let ids: Vec<Uuid> = hits.iter().map(|(id, _)| *id).collect();
    let (rows, snippets) = rows_with_snippets(db, &words, &ids, parts).await?;
    let read = complete(db.conn(), rows).await?;
    let mut found: HashMap<Uuid, Article> = read.value.into_iter().map(|a| (a.id.0, a)).collect();
    // An article deleted between the two statements is left out.
    let items = hits
        .into_iter()
        .zip(offset..)
        .filter_map(|((id, rank), at)| {
            let article = found.remove(&id)?;
            let snippet = highlight(snippets.get(&id).map_or("", String::as_str));
            let position = Position::new(SortValue::Int(at), id);
            Some((
                position,
                SearchHit {
                    article,
                    rank,
                    snippet,
                },
            ))
        })
        .collect();
    Ok(WithLinked {
        value: Page::from_lookahead(items, page),
        linked: read.linked,
    })
}

/// The ids and ranks of the page's hits (one more than the page, to tell
/// whether another follows), best first.
async fn hits(
    db: &Database,
    query: &SearchQuery,
    words: &[String],
    offset: i64,
    limit: u32,
) -> Result<Vec<(Uuid, f64)>> {
    let rank = match db.backend() {
        DbBackend::Postgres => Expr::cust_with_values(
            "ts_rank_cd(articles.search, to_tsquery('english', $1), 1)::float8",
            [tsquery(words)],
        ),
        _ => Expr::cust("-bm25(article_search, 0.0, 10.0, 4.0, 1.0)"),
    };
    let select = matching(db, query, words)
        .select_only()
        .column(article::Column::Id)
        .expr_as(rank, "search_rank")
        .order_by(Expr::cust("search_rank"), Order::Desc)
        .order_by(published_or_created(), Order::Desc)
        .order_by(
            Expr::col((article::Entity, article::Column::Id)),
            Order::Desc,
        )
        .offset(u64::try_from(offset).unwrap_or(u64::MAX))
        .limit(u64::from(limit) + 1);
    select.into_tuple().all(db.conn()).await.db()
}

/// The rows of the hits `ids`, and the snippet of each.
async fn rows_with_snippets(
    db: &Database,
    words: &[String],
    ids: &[Uuid],
    parts: ArticleParts,
) -> Result<(Vec<ArticleRow>, HashMap<Uuid, String>)> {
    let mut select = select(parts).filter(ColumnTrait::is_in(
        &article::Column::Id,
        ids.iter().copied(),
    ));
    match db.backend() {
        DbBackend::Postgres => {
            let options = format!(
                "StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, MaxFragments=2"
            );
            select = select.expr_as(
                Expr::cust_with_values(
                    "ts_headline('english', \
                     CASE WHEN articles.body_text = '' THEN articles.standfirst \
                     ELSE articles.body_text END, \
                     to_tsquery('english', $1), $2)",
                    [tsquery(words), options],
                ),
                "search_snippet",
            );
        }
        _ => {
            // snippet() needs the match: the FTS table is joined and
            // matched again, here for the page's rows only.
            QueryTrait::query(&mut select).join(
                JoinType::InnerJoin,
                "article_search",
                Expr::col(("article_search", "article_id"))
                    .equals((article::Entity, article::Column::Id)),
            );
            let marks = [MARK_START.to_string(), MARK_END.to_string(), "…".to_owned()];
            let marks = marks.iter().chain(marks.iter()).cloned();
            select = select
                .filter(Expr::cust_with_values(
                    "article_search MATCH ?",
                    [fts5_query(words)],
                ))
                .expr_as(
                    Expr::cust_with_values(
                        "CASE WHEN articles.body_text = '' \
                         THEN snippet(article_search, 2, ?, ?, ?, 24) \
                         ELSE snippet(article_search, 3, ?, ?, ?, 24) END",
                        marks,
                    ),
                    "search_snippet",
                );
        }
    }
    let results = db.conn().query_all(select.as_query()).await.db()?;
    let mut rows = Vec::with_capacity(results.len());
    let mut snippets = HashMap::with_capacity(results.len());
    for result in &results {
        let row = ArticleRow::from_query_result(result, "").db()?;
        let snippet: String = result.try_get_by_index(FIRST_EXTRA_COLUMN).db()?;
        snippets.insert(row.id, snippet);
        rows.push(row);
    }
    Ok((rows, snippets))
}
