//! A minimal GraphQL-over-WebSocket subscriber, speaking both protocols the
//! server offers: `graphql-transport-ws` and the legacy `graphql-ws`
//! (`subscriptions-transport-ws`). The approach follows the e2e suite's
//! client (`tests/support/ws.rs`), trimmed to what a benchmark needs: one
//! subscription per socket, small buffers, and the arrival time of every
//! result taken before any parsing.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// How long the server may take to answer `connection_init`. Generous: with
/// thousands of sockets opening at once, the server is busy.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// tungstenite's default read buffer is 128 KiB per socket, allocated up
/// front: 1.3 GB at 10,000 subscribers. Our messages are a few hundred
/// bytes, so a small buffer keeps the client's footprint from distorting
/// the measurement (it shares the machine with the server).
const READ_BUFFER: usize = 4 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// `graphql-transport-ws` (the `graphql-ws` JavaScript library)
    Transport,
    /// legacy `graphql-ws` (`subscriptions-transport-ws`)
    Legacy,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` value; the server refuses an upgrade
    /// without one.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Protocol::Transport => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }
}

/// What arrived on a subscription socket.
#[derive(Debug)]
pub enum Incoming {
    /// A result (`next`, or `data` on the legacy protocol), with the time
    /// its frame was read off the socket.
    Result { payload: Value, at: Instant },
    /// A message the caller's `take_raw` took care of, unparsed.
    Recognised,
    /// An operation error (`error`).
    Error(Value),
    /// The server completed the operation.
    Complete,
    /// The socket closed, with the close frame's code and reason if any.
    Closed(Option<(u16, String)>),
}

pub struct Socket {
    ws: WebSocketStream<TcpStream>,
    protocol: Protocol,
}

impl Socket {
    /// Connects to `ws://{addr}/graphql` and completes `connection_init`,
    /// anonymously, as a reader's live-blog widget does.
    pub async fn open(addr: SocketAddr, protocol: Protocol) -> anyhow::Result<Self> {
        let mut request = format!("ws://{addr}/graphql").into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(protocol.subprotocol()),
        );
        let stream = TcpStream::connect(addr).await.context("TCP connect")?;
        // Results are small and latency is what we measure.
        stream.set_nodelay(true)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(0);
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .context("WebSocket handshake")?;
        let mut socket = Socket { ws, protocol };
        socket
            .send(json!({ "type": "connection_init", "payload": {} }))
            .await?;
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            let frame = tokio::time::timeout_at(deadline, socket.ws.next())
                .await
                .context("no connection_ack in time")?;
            let text = match frame {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => bail!("closed before connection_ack: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error).context("reading connection_ack"),
                None => bail!("closed before connection_ack"),
            };
            let message: Value = serde_json::from_str(&text)?;
            match message["type"].as_str() {
                Some("connection_ack") => return Ok(socket),
                Some("ka" | "ping" | "pong") => {}
                _ => bail!("connection refused: {message}"),
            }
        }
    }

    /// Starts the socket's one subscription (operation id `1`). Neither
    /// protocol acknowledges a subscription: it is live once the server has
    /// processed this message.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> anyhow::Result<()> {
        let kind = match self.protocol {
            Protocol::Transport => "subscribe",
            Protocol::Legacy => "start",
        };
        self.send(json!({
            "id": "1",
            "type": kind,
            "payload": { "query": query, "variables": variables },
        }))
        .await
    }

    /// The next message about the subscription, answering and skipping
    /// keep-alives. WebSocket ping frames need no code: tungstenite queues
    /// the pong and flushes it on the next read, and this socket is always
    /// being read. `take_raw` sees each message's raw text and arrival time
    /// first; a message it takes care of (returning true) is
    /// [`Incoming::Recognised`], without being parsed.
    pub async fn next(
        &mut self,
        take_raw: impl Fn(&str, Instant) -> bool,
    ) -> anyhow::Result<Incoming> {
        loop {
            let text = match self.ws.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    let frame = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return Ok(Incoming::Closed(frame));
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(Incoming::Closed(None)),
            };
            // Taken before parsing, so that the client's own JSON work does
            // not count against the server.
            let at = Instant::now();
            if take_raw(&text, at) {
                return Ok(Incoming::Recognised);
            }
            let mut message: Value = serde_json::from_str(&text)?;
            return Ok(match message["type"].as_str() {
                Some("next" | "data") => Incoming::Result {
                    payload: message["payload"].take(),
                    at,
                },
                Some("error") => Incoming::Error(message["payload"].take()),
                Some("complete") => Incoming::Complete,
                Some("ping") => {
                    self.send(json!({ "type": "pong" })).await?;
                    continue;
                }
                Some("ka" | "pong") => continue,
                _ => bail!("unexpected message: {message}"),
            });
        }
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        self.ws.send(Message::text(message.to_string())).await?;
        Ok(())
    }
}
