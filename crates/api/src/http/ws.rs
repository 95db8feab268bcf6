//! GraphQL over WebSocket on `GET /graphql`: both `graphql-transport-ws`
//! (the `graphql-ws` library) and the legacy `graphql-ws` subprotocol
//! (`subscriptions-transport-ws`).
//!
//! async-graphql's protocol state machine ([`async_graphql::http::WebSocket`])
//! runs each connection, inside a loop of our own that adds what its axum
//! integration lacks:
//! - **Who is calling**: the upgrade request's `Authorization` header
//!   (refused with 401 before upgrading when bad), or the `connection_init`
//!   payload (`{"authorization": "Bearer …"}`), which is where browser
//!   clients put tokens since they cannot set headers on a WebSocket. A bad
//!   token there closes the socket with `4403` and the reason
//!   `UNAUTHENTICATED: …` (the legacy protocol first gets a
//!   `connection_error` with `extensions.code`).
//! - **Keep-alive**: a WebSocket ping frame every
//!   [`WebSocketConfig::ping_interval`] on both protocols (browsers answer
//!   by themselves), plus the legacy protocol's `{"type":"ka"}` message its
//!   clients watch for. A peer heard nothing from (no message, no pong) for
//!   [`WebSocketConfig::idle_timeout`] is closed with `3008`.
//! - **A deadline for `connection_init`**: `4408` after
//!   [`WebSocketConfig::init_timeout`], as `graphql-transport-ws` asks.
//! - **Back-pressure**: a message that cannot be written within
//!   [`WebSocketConfig::write_timeout`] (the client stopped reading) drops
//!   the connection. A subscriber that merely lags behind its stream gets
//!   a last `SLOW_CONSUMER` error on that subscription instead.
//! - **Graceful shutdown** ([`Shutdown`]): a close frame `1012` ("service
//!   restart"), after which `graphql-ws` clients reconnect by themselves
//!   and resubscribe with the cursor of the last event they received.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{WebSocket as ProtocolSocket, WebSocketProtocols, WsMessage};
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use domain::{Caller, Newsroom};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};

use crate::graphql::ApiSchema;
use crate::graphql::errors::{code, to_graphql};
use crate::http::auth::{InitToken, caller_from_headers, token_from_init_payload};
use crate::http::negotiate::MediaType;
use crate::http::shutdown::Shutdown;
use crate::http::{AppState, reply};

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

/// Close codes this server sends (besides the protocol's own).
pub mod close {
    /// RFC 6455: the server is restarting; reconnect later (or elsewhere).
    pub const SERVICE_RESTART: u16 = 1012;
    /// `graphql-transport-ws`: the client's credentials were refused.
    pub const FORBIDDEN: u16 = 4403;
    /// `graphql-transport-ws`: no `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// Nothing heard from the client within the idle timeout.
    pub const IDLE_TIMEOUT: u16 = 3008;
    /// The connection is done (after a legacy `connection_terminate`).
    pub const NORMAL: u16 = 1000;
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
    let connection = Connection {
        schema: state.schema.clone(),
        newsroom: state.newsroom.clone(),
        shutdown: state.shutdown.clone(),
        config: state.websocket,
        protocol,
        caller,
    };
    // Echo exactly the protocol that will be spoken, whatever order the
    // client listed its protocols in.
    upgrade
        .protocols([protocol.sec_websocket_protocol()])
        .on_upgrade(move |socket| connection.serve(socket))
}

/// The first protocol the client asked for that we speak.
fn requested_protocol(parts: &Parts) -> Option<WebSocketProtocols> {
    parts
        .headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
}

struct Connection {
    schema: ApiSchema,
    newsroom: Newsroom,
    shutdown: Shutdown,
    config: WebSocketConfig,
    protocol: WebSocketProtocols,
    caller: Caller,
}

/// What the loop writes next.
enum Outgoing {
    /// A protocol message; `then_ka` follows it with the legacy `ka`.
    Text {
        text: String,
        then_ka: bool,
    },
    /// Keep-alive: a ping frame, preceded by `ka` on the legacy protocol
    /// once the connection is acknowledged.
    KeepAlive,
    Close(u16, String),
}

/// How a connection ended.
enum Ending {
    /// We sent a close frame: wait for the client's.
    ClosedByUs,
    /// The client sent a close frame: flush the automatic reply.
    ClosedByClient,
    /// The connection broke, or a write timed out.
    Gone,
}

/// How long to wait for the client's close frame after sending ours, so
/// that the socket is not torn down under a frame the client still has to
/// read (a reset can discard it, and the client would see `1006` instead
/// of our code and reason).
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(1);

impl Connection {
    async fn serve(self, socket: WebSocket) {
        let _open = self.shutdown.track();
        let config = self.config;
        let legacy = self.protocol == WebSocketProtocols::SubscriptionsTransportWS;
        let (mut sink, mut frames) = socket.split();

        // The loop reads the socket itself, so that it sees pongs (proof
        // of life) and the client's close frame, and hands the protocol
        // messages to the protocol.
        let (input, messages) = mpsc::unbounded::<Bytes>();
        let refused = Arc::new(AtomicBool::new(false));
        let mut data = Data::default();
        data.insert(self.caller);
        // Boxed, so that it (and every subscription in it) can be dropped
        // before the closing handshake.
        let mut protocol = Box::pin(
            ProtocolSocket::new(self.schema, messages, self.protocol)
                .connection_data(data)
                .on_connection_init({
                    let (newsroom, refused) = (self.newsroom, refused.clone());
                    move |payload| connection_init(newsroom, payload, refused)
                }),
        );

        let shutting_down = self.shutdown.triggered();
        futures::pin_mut!(shutting_down);
        let init_deadline = tokio::time::sleep(config.init_timeout);
        futures::pin_mut!(init_deadline);
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_interval, config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        let mut acked = false;

        let ending = loop {
            let is_refused = || refused.load(Ordering::SeqCst);
            // Not biased: neither a busy subscription nor a chatty client
            // may starve the other side.
            let outgoing = tokio::select! {
                () = &mut shutting_down => {
                    Outgoing::Close(close::SERVICE_RESTART, SHUTDOWN_REASON.to_owned())
                }
                frame = frames.next() => {
                    // Anything from the client shows it is alive; only
                    // text and binary frames are protocol messages.
                    heard = Instant::now();
                    match frame {
                        Some(Ok(frame @ (Message::Text(_) | Message::Binary(_)))) => {
                            let _ = input.unbounded_send(frame.into_data());
                            continue;
                        }
                        Some(Ok(Message::Close(_))) => break Ending::ClosedByClient,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Err(_)) | None => break Ending::Gone,
                    }
                }
                message = protocol.next() => match message {
                    Some(WsMessage::Text(text)) if !acked && is_ack(&text) => {
                        acked = true;
                        // Legacy clients start their keep-alive watch on
                        // the first `ka`, expected right after the ack.
                        Outgoing::Text { text, then_ka: legacy }
                    }
                    // The legacy protocol's `connection_error`.
                    Some(WsMessage::Text(_)) if is_refused() => Outgoing::Text {
                        text: refused_message(),
                        then_ka: false,
                    },
                    Some(WsMessage::Text(text)) => Outgoing::Text { text, then_ka: false },
                    Some(WsMessage::Close(_, reason)) if is_refused() => {
                        Outgoing::Close(close::FORBIDDEN, reason)
                    }
                    Some(WsMessage::Close(code, reason)) => Outgoing::Close(code, reason),
                    // The protocol ended the connection after a legacy
                    // `connection_error`: close it the same way.
                    None if is_refused() => Outgoing::Close(close::FORBIDDEN, refused_reason()),
                    // After `connection_terminate` (legacy).
                    None => Outgoing::Close(close::NORMAL, String::new()),
                },
                () = &mut init_deadline, if !acked => Outgoing::Close(
                    close::INIT_TIMEOUT,
                    "Connection initialisation timeout".to_owned(),
                ),
                _ = ping.tick() => {
                    if heard.elapsed() > config.idle_timeout {
                        Outgoing::Close(
                            close::IDLE_TIMEOUT,
                            "keep-alive timeout: nothing heard from the client".to_owned(),
                        )
                    } else {
                        Outgoing::KeepAlive
                    }
                }
            };
            let closing = matches!(outgoing, Outgoing::Close(..));
            let written = send(&mut sink, outgoing, legacy && acked, config.write_timeout).await;
            match (written, closing) {
                (false, _) => break Ending::Gone,
                (true, true) => break Ending::ClosedByUs,
                (true, false) => {}
            }
        };
        // Subscriptions end here, whatever happens to the socket next.
        drop(protocol);
        match ending {
            Ending::ClosedByUs => {
                let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
                    while let Some(Ok(frame)) = frames.next().await {
                        if matches!(frame, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
            Ending::ClosedByClient => {
                let _ = tokio::time::timeout(config.write_timeout, sink.close()).await;
            }
            Ending::Gone => {}
        }
    }
}

/// Writes one message (a keep-alive may be two); returns whether it was
/// written in time.
async fn send<S>(sink: &mut S, outgoing: Outgoing, legacy_ka: bool, timeout: Duration) -> bool
where
    S: futures::Sink<Message> + Unpin,
{
    const KA: &str = r#"{"type":"ka"}"#;
    let write = async {
        match outgoing {
            Outgoing::Text { text, then_ka } => {
                sink.feed(Message::Text(text.into())).await?;
                if then_ka {
                    sink.feed(Message::Text(KA.into())).await?;
                }
                sink.flush().await
            }
            Outgoing::KeepAlive => {
                if legacy_ka {
                    sink.feed(Message::Text(KA.into())).await?;
                }
                sink.send(Message::Ping(Default::default())).await
            }
            Outgoing::Close(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: close_reason(&reason).into(),
                };
                sink.send(Message::Close(Some(frame))).await
            }
        }
    };
    matches!(tokio::time::timeout(timeout, write).await, Ok(Ok(())))
}

/// A close frame's reason is at most 123 bytes.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

fn is_ack(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|message| message["type"] == "connection_ack")
}

/// The close reason for refused credentials: code and message.
fn refused_reason() -> String {
    let error = to_graphql(&domain::Error::Unauthenticated);
    format!("{}: {}", code::UNAUTHENTICATED, error.message)
}

/// The legacy protocol's `connection_error` for refused credentials, with
/// the error's `extensions.code` (async-graphql sends the message only).
fn refused_message() -> String {
    let error = to_graphql(&domain::Error::Unauthenticated);
    serde_json::json!({
        "type": "connection_error",
        "payload": { "message": error.message, "extensions": { "code": code::UNAUTHENTICATED } },
    })
    .to_string()
}

/// Data from `connection_init` is merged over the upgrade request's, so a
/// token here replaces the header's caller; without one, it stays. Refused
/// credentials are flagged for the loop, which closes with `4403`; the
/// error's message becomes the close reason.
async fn connection_init(
    newsroom: Newsroom,
    payload: serde_json::Value,
    refused: Arc<AtomicBool>,
) -> async_graphql::Result<Data> {
    let mut data = Data::default();
    let caller = match token_from_init_payload(&payload) {
        InitToken::Absent => return Ok(data),
        InitToken::Token(token) => newsroom.caller_for_token(token).await,
        InitToken::Malformed => Err(domain::Error::Unauthenticated),
    };
    match caller {
        Ok(caller) => {
            data.insert(caller);
            Ok(data)
        }
        Err(domain::Error::Unauthenticated) => {
            refused.store(true, Ordering::SeqCst);
            Err(async_graphql::Error::new(refused_reason()))
        }
        Err(other) => Err(to_graphql(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_frame() {
        assert_eq!(close_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'));
        assert!(SHUTDOWN_REASON.len() <= 123);
    }

    #[test]
    fn the_ack_is_recognised() {
        assert!(is_ack(r#"{"type":"connection_ack"}"#));
        assert!(!is_ack(r#"{"type":"next","id":"1"}"#));
    }

    #[test]
    fn refusals_name_their_code() {
        assert!(refused_reason().starts_with("UNAUTHENTICATED: "));
        let message: serde_json::Value = serde_json::from_str(&refused_message()).unwrap();
        assert_eq!(message["payload"]["extensions"]["code"], "UNAUTHENTICATED");
    }
}
