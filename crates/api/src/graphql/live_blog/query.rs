//! Reading live blogs.

use async_graphql::{Context, ID, Object};
use domain::ids::LiveBlogId;
use domain::ports::LIVE_BLOGS_CURSOR;

use crate::graphql::article::query::exactly_one_of_id_and_slug;
use crate::graphql::connection::{
    Connection, Edge, LiveBlogConnection, PageArgs, Total, page_cost,
};
use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::from_global;
use crate::graphql::live_blog::types::{LiveBlog, LiveBlogStatus};

#[derive(Default)]
pub struct LiveBlogQueries;

#[Object]
impl LiveBlogQueries {
    /// One live blog, by global `id` or by `slug` (exactly one of them);
    /// null when there is none.
    async fn live_blog(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> ApiResult<Option<LiveBlog>> {
        let newsroom = newsroom(ctx)?;
        let blog = match (id, slug) {
            (Some(id), None) => {
                let id: LiveBlogId = from_global("id", &id)?;
                newsroom.live_blog_by_id(id).await?
            }
            (None, Some(slug)) => newsroom.live_blog_by_slug(&slug).await?,
            _ => return Err(exactly_one_of_id_and_slug().into()),
        };
        Ok(blog.map(LiveBlog))
    }

    /// Live blogs, newest first, optionally only those in one status.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn live_blogs(
        &self,
        ctx: &Context<'_>,
        status: Option<LiveBlogStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<LiveBlogConnection> {
        let status = status.map(Into::into);
        let request = PageArgs::forward(first, after).request(LIVE_BLOGS_CURSOR)?;
        let page = newsroom(ctx)?.live_blogs(status, &request).await?;
        Ok(Connection::from_page(
            page,
            LIVE_BLOGS_CURSOR,
            Total::LiveBlogs(status),
            |cursor, blog| Edge {
                cursor,
                node: LiveBlog(blog),
            },
        ))
    }
}
