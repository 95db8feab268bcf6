//! GraphQL over WebSocket on `GET /graphql`: both `graphql-transport-ws`
//! (the `graphql-ws` library) and the legacy `graphql-ws` subprotocol
//! (`subscriptions-transport-ws`), spoken by our own code rather than
//! async-graphql's protocol socket, over our own RFC 6455 writing
//! ([`frame`], [`socket`]) rather than axum's socket; what clients send is
//! parsed by tungstenite, and the handshake's accept key is its.
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
//!   few words of state, polled inside the connection's one task while it
//!   replays or catches up. No task and no buffer per subscriber beyond the
//!   bus's shared one.
//! - At the live edge, the member joins its stream's **pump** ([`pump`]):
//!   one task per stream and node that writes each event straight to the
//!   sockets of all such members, without waking their connections, and
//!   hands a member back to its connection when its socket is busy.
//! - Each event is **rendered** through the shared [`render::RenderCache`]:
//!   the first to reach it (the pump, or a connection catching up)
//!   executes the subscription once with the event pinned; everyone else
//!   with the same render key reuses those bytes.
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
//! - **Back-pressure**: the pump writes only to a socket with nothing
//!   queued, and a connection takes its members' next events only once the
//!   previous write finished, so a client that reads slowly is never
//!   buffered for in memory beyond one frame; it reads from the log at its
//!   own pace, and one that falls more than [`pump::MAX_LAG`] events behind
//!   the live edge (or overflows its bus buffer) gets a last
//!   `SLOW_CONSUMER` error. A write that takes longer than
//!   [`WebSocketConfig::write_timeout`] drops the connection.
//! - **Bounded input**: messages up to [`MAX_MESSAGE_BYTES`] (a bigger
//!   frame is refused from its header, `1009`), handled one at a time
//!   (nothing queues), and at most [`MAX_OPERATIONS`] subscriptions per
//!   connection. Bytes that are not RFC 6455 close the socket with `1002`
//!   (`1007` for text that is not UTF-8).
//! - **Limits** ([`crate::http::limits`]): connections per client address
//!   and per node (refused at the upgrade), subscription starts per second
//!   and bytes of subscription documents per connection (that `subscribe`
//!   gets `RATE_LIMITED`; the connection stays).
//! - **Revocation** ([`revocation`]): a connection that authenticated with
//!   a token closes with `4403` once the token is revoked or expires.
//! - **Graceful shutdown** ([`Shutdown`]): a close frame `1012` ("service
//!   restart"), after which `graphql-ws` clients reconnect by themselves
//!   and resubscribe with the cursor of the last event they received.

mod connection;
pub mod frame;
mod members;
pub mod protocol;
pub mod pump;
pub mod render;
pub mod revocation;
mod session;
mod socket;
mod wakeups;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::graphql::errors::code;
use crate::http::auth::caller_from_headers;
use crate::http::negotiate::MediaType;
use crate::http::{AppState, MAX_BODY_BYTES, reply};
pub use protocol::Protocol;
pub use pump::Pumps;

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
    let Some((protocol, token)) = requested_protocol(&parts) else {
        return bad_upgrade(
            StatusCode::BAD_REQUEST,
            "set Sec-WebSocket-Protocol to graphql-transport-ws (or the legacy graphql-ws)",
        );
    };
    let accept = match accept_key(&parts.headers) {
        Ok(accept) => accept,
        Err((status, message)) => {
            let mut refusal = bad_upgrade(status, message);
            if status == StatusCode::UPGRADE_REQUIRED {
                refusal
                    .headers_mut()
                    .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            return refusal;
        }
    };
    // Only an HTTP/1.1 connection can be taken over.
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return bad_upgrade(
            StatusCode::UPGRADE_REQUIRED,
            "a WebSocket needs an HTTP/1.1 connection",
        );
    };
    let ip = state.limits.client_ip(&parts.headers, &parts.extensions);
    let permit = match state.limits.open_websocket(ip) {
        Ok(permit) => permit,
        Err(refused) => {
            return reply::rate_limited(MediaType::Json, &refused, &state.limits.config);
        }
    };
    let connection = connection::Connection {
        node: session::Node {
            schema: state.schema.clone(),
            newsroom: state.newsroom.clone(),
            renders: state.renders.clone(),
            pumps: state.pumps.clone(),
            limits: state.limits.clone(),
            client_ip: ip,
        },
        shutdown: state.shutdown.clone(),
        desk: state.desk_sockets.clone(),
        config: state.websocket,
        protocol,
        caller,
    };
    tokio::spawn(async move {
        // The connection's slot, held until it ends.
        let _permit = permit;
        match on_upgrade.await {
            Ok(upgraded) => {
                let (reader, writer) = socket::split(TokioIo::new(upgraded), MAX_MESSAGE_BYTES);
                connection.serve(reader, Arc::new(writer)).await;
            }
            Err(error) => tracing::debug!(%error, "a WebSocket upgrade did not complete"),
        }
    });
    // Echo the protocol that will be spoken exactly as the client wrote it
    // (browsers fail a handshake whose protocol is not one they sent,
    // byte for byte), whatever order the client listed its protocols in.
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    headers.insert(SEC_WEBSOCKET_PROTOCOL, token);
    response
}

/// The handshake's `Sec-WebSocket-Accept` (RFC 6455 §4.2.2), after checking
/// the rest of the client's handshake; why not otherwise.
fn accept_key(headers: &HeaderMap) -> Result<HeaderValue, (StatusCode, &'static str)> {
    let has_token = |name, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|value| value.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(CONNECTION, "upgrade") || !has_token(UPGRADE, "websocket") {
        return Err((
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs `Connection: upgrade` and `Upgrade: websocket`",
        ));
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is spoken here",
        ));
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .filter(|key| STANDARD.decode(key.as_bytes()).is_ok_and(|k| k.len() == 16))
        .ok_or((
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    // Base64 is always a valid header value.
    HeaderValue::from_str(&accept).map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "accept key"))
}

fn bad_upgrade(status: StatusCode, message: &str) -> Response {
    reply::request_error(status, MediaType::Json, code::BAD_USER_INPUT, message)
}

/// The first protocol the client asked for that we speak, and the token
/// it asked for it with.
fn requested_protocol(parts: &Parts) -> Option<(Protocol, HeaderValue)> {
    parts
        .headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|token| {
            let token = token.trim();
            let protocol = Protocol::from_subprotocol(token)?;
            Some((protocol, HeaderValue::from_str(token).ok()?))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(version: &str, key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            SEC_WEBSOCKET_VERSION,
            HeaderValue::from_str(version).unwrap(),
        );
        headers.insert(SEC_WEBSOCKET_KEY, HeaderValue::from_str(key).unwrap());
        headers
    }

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // The example of RFC 6455 §1.3.
        let accept = accept_key(&handshake("13", "dGhlIHNhbXBsZSBub25jZQ==")).unwrap();
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn a_bad_handshake_is_refused() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        assert_eq!(
            accept_key(&handshake("8", key)).unwrap_err().0,
            StatusCode::UPGRADE_REQUIRED
        );
        assert_eq!(
            accept_key(&handshake("13", "c2hvcnQ=")).unwrap_err().0,
            StatusCode::BAD_REQUEST,
            "a key of 5 bytes"
        );
        let mut no_upgrade = handshake("13", key);
        no_upgrade.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        assert_eq!(
            accept_key(&no_upgrade).unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
    }
}
