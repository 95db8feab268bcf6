//! The HTTP surface: one axum router with GraphQL (HTTP and WebSocket),
//! GraphiQL, health and metrics. Handlers translate HTTP to and from the
//! schema and the newsroom; they hold no rules of their own.

pub mod auth;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod negotiate;
pub mod reply;
pub mod shutdown;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::extract::State;
use axum::http::Method;
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use axum::middleware;
use axum::response::Html;
use axum::routing::get;
use domain::Newsroom;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::{self as gql, ApiSchema, site::SiteConfig};
use crate::http::metrics::HttpMetrics;
use crate::http::shutdown::Shutdown;
use crate::http::ws::render::RenderCache;
use crate::http::ws::{Pumps, WebSocketConfig};

/// The largest request body accepted. GraphQL documents are small; this
/// leaves room for a long article body in a mutation.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares. Cheap to clone: all handles.
#[derive(Clone)]
pub struct AppState {
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
    graphiql: Arc<str>,
}

/// How the router is set up; [`Default`] is fine for everything but a
/// server that shuts down gracefully (see [`Shutdown`]).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What the `site` query shows.
    pub site: SiteConfig,
    /// Trigger it to close open WebSockets (and fail `/readyz`).
    pub shutdown: Shutdown,
    /// Keep-alive and timeouts of WebSocket connections.
    pub websocket: WebSocketConfig,
}

pub fn router(newsroom: Newsroom, options: Options) -> Router {
    let schema = gql::schema(newsroom.clone(), options.site);
    let renders = RenderCache::new();
    let state = AppState {
        pumps: Pumps::new(schema.clone(), newsroom.clone(), renders.clone()),
        schema,
        newsroom,
        metrics: Arc::default(),
        shutdown: options.shutdown,
        websocket: options.websocket,
        renders,
        graphiql: GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("politmaster GraphiQL")
            .finish()
            .into(),
    };
    // Web front ends on other origins read with GET/POST and send tokens in
    // `Authorization`, not cookies, so any origin may call without
    // credentials.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, ACCEPT])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphiql", get(graphiql))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .with_state(state)
}

async fn graphiql(State(state): State<AppState>) -> Html<String> {
    Html(state.graphiql.to_string())
}
