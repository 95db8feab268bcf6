//! Relay's `node(id:)`: any object by its global id, for clients that
//! cache and refetch by id.

use async_graphql::{Context, ID, Interface, Object};
use domain::ids::{ArticleId, AuthorId, BreakingNewsId, LiveBlogId, LiveEntryId, SectionId, TagId};

use crate::graphql::article::types::Article;
use crate::graphql::author::Author;
use crate::graphql::breaking::BreakingNews;
use crate::graphql::context::{caller, newsroom};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::live_blog::types::{LiveBlog, LiveEntry};
use crate::graphql::section::Section;
use crate::graphql::tag::Tag;

/// An object with a global id.
// Built once per `node` call and resolved at once: boxing the larger
// variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque and globally unique."))]
pub enum Node {
    Article(Article),
    Author(Author),
    Tag(Tag),
    Section(Section),
    LiveBlog(LiveBlog),
    LiveEntry(LiveEntry),
    BreakingNews(BreakingNews),
}

#[derive(Default)]
pub struct NodeQueries;

#[Object]
impl NodeQueries {
    /// Any object by its global id; null when it does not exist or is not
    /// visible to you. A malformed id is `BAD_USER_INPUT`.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let newsroom = newsroom(ctx)?;
        let (kind, uuid) = decode("id", &id)?;
        let node = match kind {
            NodeKind::Article => newsroom
                .article_by_id(caller(ctx)?, ArticleId(uuid))
                .await?
                .map(|a| Node::Article(Article(a))),
            NodeKind::Author => newsroom
                .author_by_id(AuthorId(uuid))
                .await?
                .map(|a| Node::Author(Author(a))),
            NodeKind::Tag => newsroom
                .tags_by_ids(&[TagId(uuid)])
                .await?
                .into_iter()
                .next()
                .map(|t| Node::Tag(Tag(t))),
            NodeKind::Section => newsroom
                .sections_by_ids(&[SectionId(uuid)])
                .await?
                .into_iter()
                .next()
                .map(|s| Node::Section(Section(s))),
            NodeKind::LiveBlog => newsroom
                .live_blog_by_id(LiveBlogId(uuid))
                .await?
                .map(|b| Node::LiveBlog(LiveBlog(b))),
            NodeKind::LiveEntry => newsroom
                .live_entry_by_id(LiveEntryId(uuid))
                .await?
                .map(|e| Node::LiveEntry(LiveEntry(e))),
            NodeKind::BreakingNews => newsroom
                .breaking_news_by_id(BreakingNewsId(uuid))
                .await?
                .map(|b| Node::BreakingNews(BreakingNews(b))),
        };
        Ok(node)
    }
}
