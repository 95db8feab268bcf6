//! Relay cursor connections over the domain's keyset pages.
//!
//! Written here rather than with async-graphql's `connection` module for two
//! reasons: the domain already computes cursors and has-more flags
//! ([`domain::page::Page`]), and `totalCount` must be lazy, a `COUNT(*)`
//! paid for only when a client selects the field. A connection therefore
//! carries a description of its count ([`Total`]) instead of a number.

use async_graphql::{Context, Object, OutputType, SimpleObject};
use domain::Newsroom;
use domain::ids::LiveBlogId;
use domain::live::LiveBlogStatus;
use domain::page::{Page, PageRequest};
use domain::ports::{ArticleQuery, SearchQuery};

use crate::graphql::article::types::{Article, SearchResultEdge};
use crate::graphql::author::Author;
use crate::graphql::context::newsroom;
use crate::graphql::errors::ApiResult;
use crate::graphql::live_blog::types::{LiveBlog, LiveEntry};
use crate::graphql::tag::Tag;

/// Relay's paging arguments, as every connection field takes them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn forward(first: Option<i32>, after: Option<String>) -> Self {
        PageArgs {
            first,
            after,
            ..Default::default()
        }
    }

    /// Validates the arguments against the list's cursor namespace.
    pub fn request(&self, cursor_name: &str) -> domain::Result<PageRequest> {
        PageRequest::parse(
            cursor_name,
            self.first,
            self.after.as_deref(),
            self.last,
            self.before.as_deref(),
        )
    }
}

/// Field cost for the complexity limit: a connection costs its page size
/// times what is selected inside it, so nested lists are priced as the
/// rows they may return.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .map_or(domain::page::DEFAULT_PAGE_SIZE as usize, |n| {
            usize::try_from(n).unwrap_or(0)
        })
        .min(domain::page::MAX_PAGE_SIZE as usize);
    1 + size.max(1) * child_complexity
}

/// How to count all the items of a connection, run only when `totalCount`
/// is selected.
#[derive(Debug, Clone)]
pub enum Total {
    /// The list is known to be empty (a reader filtering on drafts).
    Zero,
    Articles(ArticleQuery),
    Search(SearchQuery),
    Authors,
    Tags(Option<String>),
    LiveBlogs(Option<LiveBlogStatus>),
    LiveEntries {
        blog: LiveBlogId,
        key_events_only: bool,
    },
}

impl Total {
    async fn count(&self, newsroom: &Newsroom) -> domain::Result<u64> {
        match self {
            Total::Zero => Ok(0),
            Total::Articles(query) => newsroom.count_articles(query).await,
            Total::Search(query) => newsroom.count_search(query).await,
            Total::Authors => newsroom.count_authors().await,
            Total::Tags(prefix) => newsroom.count_tags(prefix.as_deref()).await,
            Total::LiveBlogs(status) => newsroom.count_live_blogs(*status).await,
            Total::LiveEntries {
                blog,
                key_events_only,
            } => newsroom.count_live_entries(*blog, *key_events_only).await,
        }
    }
}

/// Where a page sits in its list.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether items follow the last edge (paging forward with `after`).
    pub has_next_page: bool,
    /// Whether items precede the first edge (paging backward with `before`).
    pub has_previous_page: bool,
    /// The cursor of the first edge, if any.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge, if any.
    pub end_cursor: Option<String>,
}

/// One item of a connection with its cursor.
pub struct Edge<N> {
    pub cursor: String,
    pub node: N,
}

/// One item of a list, with the cursor to continue paging from it.
#[Object(
    concrete(name = "ArticleEdge", params(Article)),
    concrete(name = "AuthorEdge", params(Author)),
    concrete(name = "TagEdge", params(Tag)),
    concrete(name = "LiveBlogEdge", params(LiveBlog)),
    concrete(name = "LiveEntryEdge", params(LiveEntry))
)]
impl<N: OutputType> Edge<N> {
    /// Opaque; pass it as `after` or `before` to page from this item.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    async fn node(&self) -> &N {
        &self.node
    }
}

/// A page of a list in the Relay connection style.
pub struct Connection<E> {
    edges: Vec<E>,
    page_info: PageInfo,
    total: Total,
}

impl<E> Connection<E> {
    /// Builds a connection from a domain page, encoding each position in
    /// the list's cursor namespace.
    pub fn from_page<T>(
        page: Page<T>,
        cursor_name: &str,
        total: Total,
        edge: impl Fn(String, T) -> E,
    ) -> Self {
        let cursors: Vec<String> = page
            .items
            .iter()
            .map(|(position, _)| position.encode(cursor_name))
            .collect();
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        };
        let edges = cursors
            .into_iter()
            .zip(page.items)
            .map(|(cursor, (_, item))| edge(cursor, item))
            .collect();
        Connection {
            edges,
            page_info,
            total,
        }
    }

    pub fn empty() -> Self {
        Connection {
            edges: Vec::new(),
            page_info: PageInfo {
                has_next_page: false,
                has_previous_page: false,
                start_cursor: None,
                end_cursor: None,
            },
            total: Total::Zero,
        }
    }
}

/// A page of a list in the Relay connection style.
#[Object(
    concrete(name = "ArticleConnection", params(ArticleEdge)),
    concrete(name = "AuthorConnection", params(AuthorEdge)),
    concrete(name = "TagConnection", params(TagEdge)),
    concrete(name = "LiveBlogConnection", params(LiveBlogEdge)),
    concrete(name = "LiveEntryConnection", params(LiveEntryEdge)),
    concrete(name = "SearchResultConnection", params(SearchResultEdge))
)]
impl<E: OutputType> Connection<E> {
    async fn edges(&self) -> &[E] {
        &self.edges
    }

    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// The number of items in the whole list, not just this page. Counted
    /// only when asked for, so leave it out when you do not need it.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let total = self.total.count(newsroom(ctx)?).await?;
        Ok(i32::try_from(total).unwrap_or(i32::MAX))
    }
}

// The derive's `params(...)` takes paths, not generic types, hence aliases.
pub type ArticleEdge = Edge<Article>;
pub type AuthorEdge = Edge<Author>;
pub type TagEdge = Edge<Tag>;
pub type LiveBlogEdge = Edge<LiveBlog>;
pub type LiveEntryEdge = Edge<LiveEntry>;

pub type ArticleConnection = Connection<Edge<Article>>;
pub type AuthorConnection = Connection<Edge<Author>>;
pub type TagConnection = Connection<Edge<Tag>>;
pub type LiveBlogConnection = Connection<Edge<LiveBlog>>;
pub type LiveEntryConnection = Connection<Edge<LiveEntry>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_costs_its_page_size_times_its_children() {
        assert_eq!(page_cost(Some(10), None, 3), 31);
        assert_eq!(page_cost(None, Some(5), 2), 11);
        assert_eq!(page_cost(None, None, 1), 21);
        // Out-of-range sizes are refused elsewhere; here they stay bounded.
        assert_eq!(page_cost(Some(1_000_000), None, 1), 101);
        assert_eq!(page_cost(Some(-3), None, 4), 5);
    }
}
