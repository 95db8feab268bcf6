//! Reading articles: one by id or slug, lists, and search.

use async_graphql::{Context, ID, Object};
use domain::content::ArticleStatus;
use domain::ids::ArticleId;
use domain::ports::{self, SEARCH_CURSOR};
use domain::{Newsroom, Visibility};

use crate::graphql::article::inputs::{ArticleFilterInput, ArticleOrderInput};
use crate::graphql::article::types::{Article, SearchResultEdge, parts_for};
use crate::graphql::connection::{ArticleConnection, Connection, Edge, PageArgs, Total, page_cost};
use crate::graphql::context::{caller, loaders, newsroom};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::from_global;

#[derive(Default)]
pub struct ArticleQueries;

#[Object]
impl ArticleQueries {
    /// One article, by global `id` or by `slug` (exactly one of them).
    /// Readers see published articles only; null when there is none.
    async fn article(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> ApiResult<Option<Article>> {
        let (newsroom, caller) = (newsroom(ctx)?, caller(ctx)?);
        let parts = parts_for(ctx.look_ahead());
        let read = match (id, slug) {
            (Some(id), None) => {
                let id: ArticleId = from_global("id", &id)?;
                newsroom.read_article_by_id(caller, id, parts).await?
            }
            (None, Some(slug)) => newsroom.read_article_by_slug(caller, &slug, parts).await?,
            _ => return Err(exactly_one_of_id_and_slug().into()),
        };
        let Some(read) = read else {
            return Ok(None);
        };
        loaders(ctx)?.prime(&read.linked);
        Ok(Some(Article(read.value)))
    }

    /// Articles, newest published first unless `orderBy` says otherwise.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ArticleFilterInput>,
        order_by: Option<ArticleOrderInput>,
    ) -> ApiResult<ArticleConnection> {
        let filter = filter.unwrap_or_default().into_domain("filter")?;
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        article_connection(ctx, page, filter, order_by.unwrap_or_default()).await
    }

    /// Full-text search over headline, standfirst and body, best matches
    /// first, each with a highlighted snippet. Pages forward only.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ArticleFilterInput>,
    ) -> ApiResult<Connection<SearchResultEdge>> {
        let (newsroom, caller) = (newsroom(ctx)?, caller(ctx)?);
        let filter = filter.unwrap_or_default().into_domain("filter")?;
        let request = PageArgs::forward(first, after).request(SEARCH_CURSOR)?;
        if hides_everything(caller.visibility(), &filter) {
            return Ok(Connection::empty());
        }
        let query = Newsroom::search_query(caller, &query, filter)?;
        let parts = parts_for(ctx.look_ahead().field("edges").field("node"));
        let read = newsroom.search(&query, &request, parts).await?;
        loaders(ctx)?.prime(&read.linked);
        Ok(Connection::from_page(
            read.value,
            SEARCH_CURSOR,
            Total::Search(query),
            |cursor, hit| SearchResultEdge { cursor, hit },
        ))
    }
}

/// The article lists of `articles`, `Section.articles`, `Tag.articles` and
/// `Author.articles`.
pub async fn article_connection(
    ctx: &Context<'_>,
    page: PageArgs,
    filter: ports::ArticleFilter,
    order: ArticleOrderInput,
) -> ApiResult<ArticleConnection> {
    let (newsroom, caller) = (newsroom(ctx)?, caller(ctx)?);
    let order: ports::ArticleOrder = order.into();
    let request = page.request(order.cursor_name())?;
    if hides_everything(caller.visibility(), &filter) {
        return Ok(Connection::empty());
    }
    let query = Newsroom::article_query(caller, filter, order)?;
    let parts = parts_for(ctx.look_ahead().field("edges").field("node"));
    let read = newsroom.articles(&query, &request, parts).await?;
    loaders(ctx)?.prime(&read.linked);
    Ok(Connection::from_page(
        read.value,
        order.cursor_name(),
        Total::Articles(query),
        |cursor, article| Edge {
            cursor,
            node: Article(article),
        },
    ))
}

/// Readers only ever see published articles, so a reader filtering on
/// another status gets an empty list without a trip to the database.
fn hides_everything(visibility: Visibility, filter: &ports::ArticleFilter) -> bool {
    visibility == Visibility::Public
        && filter
            .status
            .is_some_and(|status| status != ArticleStatus::Published)
}

pub fn exactly_one_of_id_and_slug() -> domain::Error {
    domain::Error::invalid("id", "pass exactly one of `id` and `slug`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_asking_for_drafts_get_nothing_but_the_desk_does() {
        let drafts = ports::ArticleFilter {
            status: Some(ArticleStatus::Draft),
            ..Default::default()
        };
        assert!(hides_everything(Visibility::Public, &drafts));
        assert!(!hides_everything(Visibility::Desk, &drafts));
        assert!(!hides_everything(
            Visibility::Public,
            &ports::ArticleFilter::default()
        ));
    }
}
