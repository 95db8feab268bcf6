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
//! - [`graphql::subscription`]: the `Subscription` root (live blogs,
//!   breaking news, articles), fed by the newsroom's gap-free event
//!   streams; [`graphql::fanout`] lets the WebSocket transport probe a
//!   subscription and render each event once per distinct subscription
//!   instead of once per subscriber.
//! - [`http`]: GraphQL over HTTP per the spec, WebSocket (both protocols
//!   spoken by [`http::ws`] itself, keep-alive, shared rendering of
//!   events, graceful shutdown, revoked tokens closing their sockets),
//!   GraphiQL, `/healthz`, `/readyz`, `/metrics`; the accept loop with its
//!   timeouts ([`http::serve`]), rate and connection limits
//!   ([`http::limits`]) and request ids ([`http::observe`]).

pub mod graphql;
pub mod http;

pub use graphql::site::{PublisherConfig, SiteConfig};
pub use http::limits::{LimitsConfig, Rate};
pub use http::serve::{HttpConfig, serve};
pub use http::shutdown::Shutdown;
pub use http::ws::WebSocketConfig;
pub use http::{
    DEFAULT_CACHE_MAX_AGE, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RESPONSE_CACHE_BYTES, MoreMetrics,
    Options,
};

/// The whole HTTP application, serving `newsroom`, with the default site
/// description.
pub fn router(newsroom: domain::Newsroom) -> axum::Router {
    http::router(newsroom, Options::default())
}

/// Like [`router`], with the site and publisher shown by the `site` query
/// taken from configuration.
pub fn router_with_site(newsroom: domain::Newsroom, site: SiteConfig) -> axum::Router {
    router_with_options(
        newsroom,
        Options {
            site,
            ..Options::default()
        },
    )
}

/// Like [`router_with_site`], for a server that shuts down gracefully:
/// [`Shutdown::trigger`] closes every open WebSocket with `1012` (clients
/// reconnect and resume from their last cursor) and fails `/readyz`; then
/// await [`Shutdown::drained`] (with a timeout) before exiting, since [`serve`]
/// does not wait for upgraded connections. See [`http::shutdown`].
pub fn router_with(
    newsroom: domain::Newsroom,
    site: SiteConfig,
    shutdown: Shutdown,
) -> axum::Router {
    router_with_options(
        newsroom,
        Options {
            site,
            shutdown,
            ..Options::default()
        },
    )
}

/// The router with every setting spelled out (WebSocket keep-alive too).
pub fn router_with_options(newsroom: domain::Newsroom, options: Options) -> axum::Router {
    http::router(newsroom, options)
}

/// The schema in SDL, for `politmaster schema` and the drift test of
/// `schema.graphql`. Builds the schema without data: nothing is executed.
pub fn schema_sdl() -> String {
    graphql::sdl()
}
