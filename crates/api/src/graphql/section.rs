//! Sections: the desks of the site and their article lists.

use async_graphql::{Context, ID, Object};
use domain::content as dc;

use crate::graphql::article::inputs::{ArticleFilterInput, ArticleOrderInput};
use crate::graphql::article::query::article_connection;
use crate::graphql::connection::{ArticleConnection, PageArgs, page_cost};
use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::to_global;

/// A desk of the site, e.g. International Relations.
#[derive(Debug, Clone)]
pub struct Section(pub dc::Section);

#[Object]
impl Section {
    pub async fn id(&self) -> ID {
        to_global(self.0.id)
    }

    /// E.g. `international-relations`.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Place on the navigation bar, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// The section page's path, `/{slug}`.
    async fn url(&self) -> String {
        format!("/{}", self.0.slug)
    }

    /// The section's articles. `filter.section` is ignored here.
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
        filter.section = Some(self.0.slug.clone());
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
pub struct SectionQueries;

#[Object]
impl SectionQueries {
    /// All sections in navigation order.
    async fn sections(&self, ctx: &Context<'_>) -> ApiResult<Vec<Section>> {
        let sections = newsroom(ctx)?.sections().await?;
        Ok(sections.iter().cloned().map(Section).collect())
    }

    /// A section by slug, or null.
    async fn section(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Option<Section>> {
        Ok(newsroom(ctx)?.section(&slug).await?.map(Section))
    }
}
