//! Full-text search over headline, standfirst and body text.
//!
//! What the reader typed is reduced to its words before any query syntax is
//! built, so quotes, `*`, `OR`, `NEAR(` or `-` are just characters on both
//! databases: every word must match (the last one as a prefix, for
//! search-as-you-type). PostgreSQL ranks with `ts_rank_cd` over the weighted
//! `search` column; SQLite with `bm25` over the FTS5 table. Both mark matches
//! The PostgreSQL rank is divided by 1 + log(document length) (normalisation
//! 1), as bm25 also weighs length: without it a long piece that repeats a
//! word outranks the short story about exactly that, and the two databases
//! disagree on the order. Both mark matches
//! in the snippet with private-use characters, which are turned into
//! `<mark>` here after the text is HTML-escaped, so the snippet is safe HTML
//! whatever the article contains.

mod text;

use domain::page::{Direction, Page, PageRequest, Position, SortValue};
use domain::ports::{SearchHit, SearchQuery};
use domain::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select,
};

use crate::articles::{condition, published_or_created, with_links};
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
) -> Result<Page<SearchHit>> {
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
    if words.is_empty() {
        return Ok(Page::empty());
    }
    let mut select = matching(db, query, &words);
    match db.backend() {
        DbBackend::Postgres => {
            let q = tsquery(&words);
            let options = format!(
                "StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, MaxFragments=2"
            );
            select = select
                .expr_as(
                    Expr::cust_with_values(
                        "ts_rank_cd(articles.search, to_tsquery('english', $1), 1)::float8",
                        [q.clone()],
                    ),
                    "search_rank",
                )
                // Evaluated for the page's rows only: PostgreSQL postpones
                // costly output expressions past ORDER BY ... LIMIT.
                .expr_as(
                    Expr::cust_with_values(
                        "ts_headline('english', \
                         CASE WHEN articles.body_text = '' THEN articles.standfirst \
                         ELSE articles.body_text END, \
                         to_tsquery('english', $1), $2)",
                        [q, options],
                    ),
                    "search_snippet",
                );
        }
        _ => {
            // SQLite placeholders are positional `?`, one value each.
            let marks = [MARK_START.to_string(), MARK_END.to_string(), "…".to_owned()];
            let marks = marks.iter().chain(marks.iter()).cloned();
            select = select
                // bm25 is lower-is-better; weights per column: article_id
                // (unindexed), headline, standfirst, body.
                .expr_as(
                    Expr::cust("-bm25(article_search, 0.0, 10.0, 4.0, 1.0)"),
                    "search_rank",
                )
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
    let select = select
        .order_by(Expr::cust("search_rank"), Order::Desc)
        .order_by(published_or_created(), Order::Desc)
        .order_by(
            Expr::col((article::Entity, article::Column::Id)),
            Order::Desc,
        )
        .offset(u64::try_from(offset).unwrap_or(u64::MAX))
        .limit(u64::from(page.limit) + 1);

    let results = db.conn().query_all(select.as_query()).await.db()?;
    let mut rows = Vec::with_capacity(results.len());
    let mut scores = Vec::with_capacity(results.len());
    for result in &results {
        rows.push(article::Model::from_query_result(result, "").db()?);
        let rank: f64 = result.try_get("", "search_rank").db()?;
        let snippet: String = result.try_get("", "search_snippet").db()?;
        scores.push((rank, highlight(&snippet)));
    }
    let articles = with_links(db.conn(), rows).await?;
    let items = articles
        .into_iter()
        .zip(scores)
        .zip(offset..)
        .map(|((article, (rank, snippet)), at)| {
            let position = Position::new(SortValue::Int(at), article.id.0);
            (
                position,
                SearchHit {
                    article,
                    rank,
                    snippet,
                },
            )
        })
        .collect();
    Ok(Page::from_lookahead(items, page))
}
