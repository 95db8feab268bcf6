//! The GraphQL schema: output types wrapping domain types, root fields
//! split by subject and joined with `MergedObject`, and the plumbing every
//! resolver shares (ids, errors, connections, loaders, context).
//!
//! Nothing here knows about HTTP: the schema is executed, always through
//! [`execute`], by [`crate::http`], by WebSocket connections and by tests
//! alike.

pub mod article;
pub mod author;
pub mod batch;
pub mod breaking;
pub mod cache;
pub mod connection;
pub mod context;
pub mod documents;
pub mod errors;
pub mod execute;
pub mod fanout;
pub mod ids;
pub mod live_blog;
pub mod loaders;
pub mod media;
pub mod node;
pub mod order;
pub mod persisted;
pub mod section;
pub mod site;
pub mod structured;
pub mod subscription;
pub mod tag;
pub mod viewer;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{MaybeUndefined, MergedObject, Schema, SchemaBuilder};
use domain::Newsroom;

use crate::graphql::article::mutation::ArticleMutations;
use crate::graphql::article::query::ArticleQueries;
use crate::graphql::author::{AuthorMutations, AuthorQueries};
use crate::graphql::breaking::{BreakingMutations, BreakingQueries};
use crate::graphql::live_blog::mutation::LiveBlogMutations;
use crate::graphql::live_blog::query::LiveBlogQueries;
use crate::graphql::node::NodeQueries;
use crate::graphql::section::SectionQueries;
use crate::graphql::site::{SiteConfig, SiteQueries};
use crate::graphql::tag::TagQueries;
use crate::graphql::viewer::ViewerQueries;

/// Public reads: published content for everyone, drafts too for the desk.
/// Field order follows API.md.
#[derive(MergedObject, Default)]
pub struct Query(
    NodeQueries,
    SiteQueries,
    SectionQueries,
    ArticleQueries,
    AuthorQueries,
    TagQueries,
    LiveBlogQueries,
    BreakingQueries,
    ViewerQueries,
);

/// The desk's writes; every one needs a bearer token.
#[derive(MergedObject, Default)]
pub struct Mutation(
    ArticleMutations,
    AuthorMutations,
    LiveBlogMutations,
    BreakingMutations,
);

pub use crate::graphql::subscription::Subscription;

pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// Deeper than any page needs, shallower than a denial of service; the
/// GraphiQL introspection query fits.
pub const MAX_DEPTH: usize = 16;

/// Connections cost their page size times their contents (see
/// [`connection::page_cost`]), so this allows, say, 100 articles with a
/// few dozen fields each, but not every author's every article.
pub const MAX_COMPLEXITY: usize = 20_000;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
}

/// The executable schema, serving `newsroom`, with no response cache.
pub fn schema(newsroom: Newsroom, site: SiteConfig) -> ApiSchema {
    let no_cache = cache::ResponseCache::new(0, std::time::Duration::ZERO);
    schema_with(newsroom, site, no_cache, true)
}

/// The executable schema, whose writes make `cache` drop what it holds;
/// without `introspection`, `__schema` and `__type` are refused.
pub fn schema_with(
    newsroom: Newsroom,
    site: SiteConfig,
    cache: std::sync::Arc<cache::ResponseCache>,
    introspection: bool,
) -> ApiSchema {
    let mut builder = builder();
    if !introspection {
        builder = builder.disable_introspection();
    }
    builder
        .data(newsroom)
        .data(site)
        .data(documents::Documents::default())
        .data(order::Types::from_sdl(&sdl()))
        .data(cache)
        .finish()
}

/// The schema's SDL; needs no data, since nothing is executed.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The type of the operation a request would execute, or `None` when the
/// document does not select one (the executor then reports why).
pub fn operation_type(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(op.node.ty),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// `undefined` leaves a field alone, `null` clears it: the domain's
/// `Option<Option<T>>` for clearable fields.
pub(crate) fn clearable<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_and_absent_leaves_alone() {
        assert_eq!(clearable::<i32>(MaybeUndefined::Undefined), None);
        assert_eq!(clearable::<i32>(MaybeUndefined::Null), Some(None));
        assert_eq!(clearable(MaybeUndefined::Value(1)), Some(Some(1)));
    }
}
