//! The HTTP surface: one axum router with GraphQL (HTTP and WebSocket),
//! GraphiQL, health and metrics. Handlers translate HTTP to and from the
//! schema and the newsroom; they hold no rules of their own.

pub mod auth;
pub mod embed;
pub mod feeds;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod negotiate;
pub mod observe;
pub mod reply;
pub mod serve;
pub mod shutdown;
pub mod sse;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use axum::http::{HeaderName, Method};
use axum::middleware;
use axum::response::Html;
use axum::routing::get;
use domain::Newsroom;
use domain::ports::SharedValues;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::graphql::cache::ResponseCache;
use crate::graphql::persisted::PersistedQueries;
use crate::graphql::{self as gql, ApiSchema, site::SiteConfig};
use crate::http::limits::{Limits, LimitsConfig};
use crate::http::metrics::HttpMetrics;
use crate::http::shutdown::Shutdown;
use crate::http::ws::render::RenderCache;
use crate::http::ws::revocation::DeskSockets;
use crate::http::ws::{Pumps, WebSocketConfig};

/// The largest request body accepted. GraphQL documents are small; this
/// leaves room for a long article body in a mutation.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares, behind one `Arc`: axum clones the state for
/// every middleware and extractor of every request, and with a field of
/// its own per handle that was a score of atomic counts per clone and
/// drop, contended between cores: measured at a quarter of the server's
/// CPU on cached responses.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// See [`AppState`].
pub struct Shared {
    pub schema: ApiSchema,
    pub newsroom: Newsroom,
    pub metrics: Arc<HttpMetrics>,
    pub shutdown: Shutdown,
    pub websocket: WebSocketConfig,
    /// Subscription events rendered once per distinct subscription, shared
    /// by every WebSocket connection of this router.
    pub renders: Arc<RenderCache>,
    /// The pumps of the streams WebSocket subscribers follow.
    pub pumps: Arc<Pumps>,
    /// Anonymous query responses (see [`crate::graphql::cache`]).
    pub cache: Arc<ResponseCache>,
    /// Documents of persisted queries.
    pub persisted: Arc<PersistedQueries>,
    /// How long HTTP caches may keep an anonymous `GET` response.
    pub max_age: Duration,
    /// WebSockets that authenticated with a token, closed when it is
    /// revoked or expires.
    pub desk_sockets: Arc<DeskSockets>,
    /// What one client may take of the node, and the refusals counted.
    pub limits: Arc<Limits>,
    /// How long a query may run before it is answered with an error.
    pub request_timeout: Duration,
    /// The site the feeds describe.
    pub site: SiteConfig,
    /// See [`Options::more_metrics`].
    pub more_metrics: Option<MoreMetrics>,
    graphiql: Arc<str>,
}

/// How the router is set up; [`Default`] is fine for everything but a
/// server that shuts down gracefully (see [`Shutdown`]).
#[derive(Clone)]
pub struct Options {
    /// What the `site` query shows.
    pub site: SiteConfig,
    /// Trigger it to close open WebSockets (and fail `/readyz`).
    pub shutdown: Shutdown,
    /// Keep-alive and timeouts of WebSocket connections.
    pub websocket: WebSocketConfig,
    /// Bytes of anonymous query responses kept (0: no response cache).
    pub response_cache_bytes: usize,
    /// How long HTTP caches may keep an anonymous `GET` response
    /// (`Cache-Control: max-age`), and the node's cache a response that
    /// shows breaking news (alerts expire with time, not with an event).
    pub cache_max_age: Duration,
    /// Where persisted query documents are shared between nodes (Redis);
    /// `None`: each node keeps its own.
    pub shared_values: Option<Arc<dyn SharedValues>>,
    /// Rate and connection limits.
    pub limits: LimitsConfig,
    /// How long a query may run (mutations are never cut short: they run
    /// in a transaction and announce their events once committed).
    pub request_timeout: Duration,
    /// Whether `__schema` and `__type` are answered. Off on a public node
    /// that should not publish its schema.
    pub introspection: bool,
    /// Whether `/graphiql` is served.
    pub graphiql: bool,
    /// Counters of the node's other parts (the feed poller), appended to
    /// `/metrics` in the Prometheus text format.
    pub more_metrics: Option<MoreMetrics>,
}

/// Writes Prometheus text of counters kept outside the API.
pub type MoreMetrics = Arc<dyn Fn(&mut String) + Send + Sync>;

impl Default for Options {
    fn default() -> Self {
        Options {
            site: SiteConfig::default(),
            shutdown: Shutdown::default(),
            websocket: WebSocketConfig::default(),
            response_cache_bytes: DEFAULT_RESPONSE_CACHE_BYTES,
            cache_max_age: DEFAULT_CACHE_MAX_AGE,
            shared_values: None,
            limits: LimitsConfig::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            introspection: true,
            graphiql: true,
            more_metrics: None,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("site", &self.site)
            .field("websocket", &self.websocket)
            .field("response_cache_bytes", &self.response_cache_bytes)
            .field("cache_max_age", &self.cache_max_age)
            .field("shared_values", &self.shared_values.is_some())
            .field("limits", &self.limits)
            .field("request_timeout", &self.request_timeout)
            .field("introspection", &self.introspection)
            .field("graphiql", &self.graphiql)
            .field("more_metrics", &self.more_metrics.is_some())
            .finish_non_exhaustive()
    }
}

/// The response cache's default size.
pub const DEFAULT_RESPONSE_CACHE_BYTES: usize = 64 << 20;
/// How long cached responses are served without asking, by default.
pub const DEFAULT_CACHE_MAX_AGE: Duration = Duration::from_secs(5);
/// How long a query may run, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes of persisted query documents each node keeps.
const PERSISTED_BYTES: usize = 8 << 20;

pub fn router(newsroom: Newsroom, options: Options) -> Router {
    let cache = ResponseCache::new(options.response_cache_bytes, options.cache_max_age);
    if cache.enabled() {
        cache.follow(newsroom.bus().changes());
    }
    let site = options.site.clone();
    let schema = gql::schema_with(
        newsroom.clone(),
        options.site,
        cache.clone(),
        options.introspection,
    );
    let renders = RenderCache::new();
    let state = AppState(Arc::new(Shared {
        pumps: Pumps::new(schema.clone(), newsroom.clone(), renders.clone()),
        desk_sockets: Arc::new(DeskSockets::new(newsroom.clone())),
        limits: Limits::new(options.limits),
        request_timeout: options.request_timeout,
        site,
        schema,
        newsroom,
        metrics: Arc::default(),
        shutdown: options.shutdown,
        websocket: options.websocket,
        renders,
        cache,
        persisted: Arc::new(PersistedQueries::new(
            PERSISTED_BYTES,
            options.shared_values,
        )),
        max_age: options.cache_max_age,
        more_metrics: options.more_metrics,
        graphiql: graphiql::page().into(),
    }));
    // Web front ends on other origins read with GET/POST and send tokens in
    // `Authorization`, not cookies, so any origin may call without
    // credentials.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            ACCEPT,
            IF_NONE_MATCH,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([ETAG, observe::X_REQUEST_ID.clone(), RETRY_AFTER])
        .max_age(Duration::from_secs(3600));
    // What reads the database counts against the client's request rate;
    // static files and health checks do not.
    let limited = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/stream", get(sse::stream).post(sse::stream))
        .route("/embed/live/{slug}", get(embed::live_blog))
        .route("/rss.xml", get(feeds::rss))
        .route("/sections/{slug}/rss.xml", get(feeds::section_rss))
        .route("/sitemap.xml", get(feeds::sitemap))
        .route("/news-sitemap.xml", get(feeds::news_sitemap))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::enforce,
        ));
    let mut router = Router::new().merge(limited);
    if options.graphiql {
        router = router
            .route("/graphiql", get(graphiql))
            .route("/graphiql/{version}/{name}", get(graphiql::asset));
    }
    router
        .route("/embed/live.css", get(embed::style))
        .route("/embed/live.js", get(embed::script))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(cors)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .layer(middleware::from_fn(observe::request_id))
        .with_state(state)
}

async fn graphiql(State(state): State<AppState>) -> Html<String> {
    Html(state.graphiql.to_string())
}
