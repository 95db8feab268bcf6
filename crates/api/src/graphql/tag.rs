//! Tags: topics, countries and people. They are created by name when an
//! article uses them, so there are no tag mutations.

use async_graphql::{Context, ID, Object};
use domain::content as dc;
use domain::ports::TAGS_CURSOR;

use crate::graphql::article::inputs::{ArticleFilterInput, ArticleOrderInput};
use crate::graphql::article::query::article_connection;
use crate::graphql::connection::{
    ArticleConnection, Connection, Edge, PageArgs, TagConnection, Total, page_cost,
};
use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::to_global;

/// A topic, country or person articles are about, e.g. "NATO".
#[derive(Debug, Clone)]
pub struct Tag(pub dc::Tag);

#[Object]
impl Tag {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    /// E.g. `north-korea`.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    /// E.g. "North Korea".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The tag page's path, `/tags/{slug}`.
    async fn url(&self) -> String {
        format!("/tags/{}", self.0.slug)
    }

    /// Articles with this tag. `filter.tag` is ignored here.
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
        let mut filter = filter.unwrap_or_default().into_domain("filter")?;
        filter.tag = Some(self.0.slug.clone());
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        article_connection(ctx, page, filter, order_by.unwrap_or_default()).await
    }
}

#[derive(Default)]
pub struct TagQueries;

#[Object]
impl TagQueries {
    /// A tag by slug, or null.
    async fn tag(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Option<Tag>> {
        Ok(newsroom(ctx)?.tag(&slug).await?.map(Tag))
    }

    /// Tags by name; `prefix` keeps those whose name or slug starts with it
    /// (case-insensitive), for autocompletion.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn tags(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        prefix: Option<String>,
    ) -> ApiResult<TagConnection> {
        let request = PageArgs::forward(first, after).request(TAGS_CURSOR)?;
        let page = newsroom(ctx)?.tags(prefix.as_deref(), &request).await?;
        Ok(Connection::from_page(
            page,
            TAGS_CURSOR,
            Total::Tags(prefix),
            |cursor, tag| Edge {
                cursor,
                node: Tag(tag),
            },
        ))
    }
}
