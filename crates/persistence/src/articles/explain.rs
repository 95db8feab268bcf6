//! The database's own plan for a list page, for the tests that keep list
//! pages on their indexes: a page of twenty must be a short range scan of
//! an index in the list's order, never a read and sort of every match.

use domain::Result;
use domain::page::PageRequest;
use domain::ports::{ArticleParts, ArticleQuery};
use sea_orm::{ConnectionTrait, DbBackend, QueryFilter, QueryTrait, Statement, TransactionTrait};

use super::{condition, query, rows};
use crate::db::Database;
use crate::error::DbResultExt;

impl Database {
    /// The plan of the statement that reads a page of `query`, one line per
    /// step. On PostgreSQL sequential scans are priced out first, so that
    /// the plan says which index a big table would be read with, not that a
    /// test's few rows are quicker to scan.
    pub async fn explain_article_list(
        &self,
        query: &ArticleQuery,
        page: &PageRequest,
    ) -> Result<Vec<String>> {
        let select = rows::select(ArticleParts::HEADLINES)
            .filter(condition(&query.filter, query.visibility));
        let select = query::keyset(query.order, query.visibility).apply(select, page)?;
        let backend = self.backend();
        let statement = select.build(backend);
        let (prefix, column) = match backend {
            DbBackend::Postgres => ("EXPLAIN ", 0),
            // id, parent, notused, detail
            _ => ("EXPLAIN QUERY PLAN ", 3),
        };
        let explain = Statement {
            sql: format!("{prefix}{}", statement.sql),
            ..statement
        };
        let txn = self.conn().begin().await.db()?;
        if backend == DbBackend::Postgres {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .db()?;
        }
        let rows = txn.query_all_raw(explain).await.db()?;
        let lines = rows
            .iter()
            .map(|row| row.try_get_by_index::<String>(column))
            .collect::<std::result::Result<Vec<_>, _>>()
            .db()?;
        txn.rollback().await.db()?;
        Ok(lines)
    }
}
