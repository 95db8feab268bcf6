//! GraphQL over WebSocket on `GET /graphql`: both `graphql-transport-ws`
//! (the `graphql-ws` library) and the legacy `graphql-ws` subprotocol
//! (`subscriptions-transport-ws`), spoken by our own code rather than
//! async-graphql's protocol socket.
//!
//! **Why our own.** async-graphql runs every subscription as its own
//! execution: each event is resolved and serialised once per subscriber,
//! so one live-blog entry read by 10,000 widgets costs 10,000 executions.
//! Here an event is rendered once per *distinct subscription* (same
//! document, operation and variables apart from the cursor; subscriptions
//! are always anonymous, so permissions are the same) and the bytes are
//! written to every subscriber:
//! - `subscribe` first **probes** the operation ([`crate::graphql::fanout`]):
//!   the resolver validates its arguments as always (errors reach the
//!   client as before) and hands over the newsroom's gap-free event stream
//!   instead of streaming it.
//! - That stream becomes a **member** of the connection ([`members`]): a
//!   few words of state, polled inside the connection's one task. No task
//!   and no buffer per subscriber beyond the bus's shared one.
//! - Each event is **rendered** through the shared [`render::RenderCache`]:
//!   the first subscriber to reach it executes the subscription once with
//!   the event pinned; everyone else with the same render key waits for
//!   and reuses those bytes.
//!
//! Besides the protocols ([`protocol`], [`session`]), the connection loop
//! ([`connection`]) does what a long-lived socket needs:
//! - **Who is calling**: the upgrade request's `Authorization` header
//!   (refused with 401 before upgrading when bad), or the `connection_init`
//!   payload (`{"authorization": "Bearer …"}`), where browser clients put
//!   tokens since they cannot set headers on a WebSocket. A bad token
//!   there closes the socket with `4403` and the reason
//!   `UNAUTHENTICATED: …` (the legacy protocol first gets a
//!   `connection_error` with `extensions.code`). Queries and mutations over
//!   the socket run as that caller; subscriptions as an anonymous reader.
//! - **Keep-alive**: a WebSocket ping frame every
//!   [`WebSocketConfig::ping_interval`] on both protocols (browsers answer
//!   by themselves), plus the legacy protocol's `{"type":"ka"}`. A peer
//!   heard nothing from for [`WebSocketConfig::idle_timeout`] is closed
//!   with `3008`; no `connection_init` within
//!   [`WebSocketConfig::init_timeout`] is `4408`.
//! - **Back-pressure**: events are taken from the members only once the
//!   previous write finished, so a client that reads slowly is never
//!   buffered for in memory; its bus buffer fills instead and it gets a
//!   last `SLOW_CONSUMER` error. A write that takes longer than
//!   [`WebSocketConfig::write_timeout`] drops the connection.
//! - **Bounded input**: messages up to [`MAX_MESSAGE_BYTES`], handled one
//!   at a time (nothing queues), and at most [`MAX_OPERATIONS`]
//!   subscriptions per connection.
//! - **Graceful shutdown** ([`Shutdown`]): a close frame `1012` ("service
//!   restart"), after which `graphql-ws` clients reconnect by themselves
//!   and resubscribe with the cursor of the last event they received.

mod connection;
mod members;
pub mod protocol;
pub mod render;
mod session;
mod wakeups;

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::StatusCode;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::graphql::errors::code;
use crate::http::auth::caller_from_headers;
use crate::http::negotiate::MediaType;
use crate::http::{AppState, MAX_BODY_BYTES, reply};
pub use protocol::Protocol;

/// Timings of WebSocket connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketConfig {
    /// How often the server pings (and, on the legacy protocol, sends
    /// `ka`). Below the 30 s after which `subscriptions-transport-ws`
    /// clients give up on a silent server, and below common proxy idle
    /// timeouts (60 s).
    pub ping_interval: Duration,
    /// A client heard nothing from for this long is gone: closed with
    /// `3008`. Checked at each ping.
    pub idle_timeout: Duration,
    /// How long a client may take to send `connection_init`.
    pub init_timeout: Duration,
    /// How long writing one message may take before the client is deemed
    /// to have stopped reading and is dropped.
    pub write_timeout: Duration,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            init_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Subscriptions one connection may run at once. A widget needs one or
/// two; a page full of them a dozen. A `subscribe` beyond this is refused
/// with `RATE_LIMITED` (the connection stays).
pub const MAX_OPERATIONS: usize = 100;

/// The largest client message accepted, as for an HTTP request body; a
/// bigger one fails the connection.
pub const MAX_MESSAGE_BYTES: usize = MAX_BODY_BYTES;

/// The initial read buffer of a socket. Client messages are small, and an
/// idle widget should not pin tungstenite's default 128 KiB; the buffer
/// grows for a bigger message.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Close codes this server sends.
pub mod close {
    /// The connection is done (after a legacy `connection_terminate`).
    pub const NORMAL: u16 = 1000;
    /// Something failed on our side (the store, while checking a token).
    pub const INTERNAL: u16 = 1011;
    /// RFC 6455: the server is restarting; reconnect later (or elsewhere).
    pub const SERVICE_RESTART: u16 = 1012;
    /// Nothing heard from the client within the idle timeout.
    pub const IDLE_TIMEOUT: u16 = 3008;
    /// `graphql-transport-ws`: a message the protocol does not define.
    pub const INVALID_MESSAGE: u16 = 4400;
    /// `graphql-transport-ws`: `subscribe` before the connection was
    /// acknowledged (also used for the legacy `start`).
    pub const UNAUTHORIZED: u16 = 4401;
    /// The client's credentials were refused.
    pub const FORBIDDEN: u16 = 4403;
    /// `graphql-transport-ws`: no `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// `graphql-transport-ws`: a `subscribe` with an id already running.
    pub const DUPLICATE_ID: u16 = 4409;
    /// A second `connection_init`.
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// The reason sent with the shutdown close frame.
pub const SHUTDOWN_REASON: &str =
    "server restarting: reconnect and resubscribe from the cursor of the last event received";

pub async fn upgrade(state: AppState, mut parts: Parts) -> Response {
    let caller = match caller_from_headers(&state.newsroom, &parts.headers).await {
        Ok(caller) => caller,
        Err(err) => return reply::domain_error(MediaType::Json, &err),
    };
    let Some(protocol) = requested_protocol(&parts) else {
        return reply::request_error(
            StatusCode::BAD_REQUEST,
            MediaType::Json,
            code::BAD_USER_INPUT,
            "set Sec-WebSocket-Protocol to graphql-transport-ws (or the legacy graphql-ws)",
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let connection = connection::Connection {
        schema: state.schema.clone(),
        newsroom: state.newsroom.clone(),
        renders: state.renders.clone(),
        shutdown: state.shutdown.clone(),
        config: state.websocket,
        protocol,
        caller,
    };
    // Echo exactly the protocol that will be spoken, whatever order the
    // client listed its protocols in.
    upgrade
        .protocols([protocol.subprotocol()])
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection.serve(socket))
}

/// The first protocol the client asked for that we speak.
fn requested_protocol(parts: &Parts) -> Option<Protocol> {
    parts
        .headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|p| Protocol::from_subprotocol(p.trim()))
}
