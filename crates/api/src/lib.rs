//! The public face of politmaster: the GraphQL schema (async-graphql) and
//! the HTTP router (axum) that serves it, with GraphiQL, health checks and
//! metrics.
//!
//! This crate owns translation, not rules: resolvers decode arguments, call
//! the [`domain::Newsroom`], and wrap what it returns in GraphQL types;
//! every permission check and validation lives in the domain. It knows the
//! domain and nothing below it: it must not depend on sea-orm, redis or the
//! persistence and events crates (CI checks this with `cargo tree`).
//!
//! A tour:
//! - [`graphql`]: the schema, split by subject (`article/{types, query,
//!   mutation}`, `live_blog/…`, `author`, `tag`, …) and merged into one
//!   `Query` and `Mutation`; shared plumbing in `ids` (global ids),
//!   `errors` (the one mapping to `extensions.code`), `connection` (Relay
//!   pages with a lazy `totalCount`), `loaders` (batching against N+1) and
//!   `context` (per-request caller and loaders).
//! - [`http`]: GraphQL over HTTP per the spec, WebSocket upgrades, GraphiQL,
//!   `/healthz`, `/readyz`, `/metrics`.

pub mod graphql;
pub mod http;

pub use graphql::site::{PublisherConfig, SiteConfig};

/// The whole HTTP application, serving `newsroom`, with the default site
/// description.
pub fn router(newsroom: domain::Newsroom) -> axum::Router {
    http::router(newsroom, SiteConfig::default())
}

/// Like [`router`], with the site and publisher shown by the `site` query
/// taken from configuration.
pub fn router_with_site(newsroom: domain::Newsroom, site: SiteConfig) -> axum::Router {
    http::router(newsroom, site)
}

/// The schema in SDL, for `politmaster schema` and the drift test of
/// `schema.graphql`. Builds the schema without data: nothing is executed.
pub fn schema_sdl() -> String {
    graphql::sdl()
}
