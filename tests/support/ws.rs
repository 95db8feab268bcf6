//! A GraphQL-over-WebSocket client for tests, speaking both protocols the
//! server offers: `graphql-transport-ws` (the `graphql-ws` library) and the
//! legacy `subscriptions-transport-ws` (subprotocol `graphql-ws`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`
    TransportWs,
    /// legacy `graphql-ws` (subscriptions-transport-ws)
    Legacy,
}

impl Protocol {
    pub const BOTH: [Protocol; 2] = [Protocol::TransportWs, Protocol::Legacy];

    fn subprotocol(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }
}

/// What the server sent for a subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A result (`next` / `data`): `{data, errors?}`.
    Next(Value),
    /// An operation error (`error`): the errors.
    Error(Value),
    /// The server completed the operation.
    Complete,
    /// The socket closed, with the close frame's code and reason if any.
    Closed(Option<(u16, String)>),
}

pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Protocol,
    next_id: u64,
    /// Messages read while waiting for something else (see [`Connection::sync`]).
    early: std::collections::VecDeque<(Option<String>, Received)>,
}

impl Connection {
    /// Connects and completes `connection_init`, with `token` sent in the
    /// init payload as browsers do.
    pub async fn open(
        addr: std::net::SocketAddr,
        protocol: Protocol,
        token: Option<&str>,
    ) -> anyhow::Result<Self> {
        Self::open_with(addr, protocol, token, None).await
    }

    /// Like [`Connection::open`], with the socket's receive buffer capped at
    /// `receive_buffer` bytes: a reader the kernel cannot hide the slowness
    /// of, for slow-consumer tests.
    pub async fn open_with(
        addr: std::net::SocketAddr,
        protocol: Protocol,
        token: Option<&str>,
        receive_buffer: Option<u32>,
    ) -> anyhow::Result<Self> {
        let mut request = format!("ws://{addr}/graphql").into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(protocol.subprotocol()),
        );
        let socket = tokio::net::TcpSocket::new_v4()?;
        if let Some(bytes) = receive_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        let stream = socket.connect(addr).await?;
        let (ws, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
        let mut connection = Connection {
            ws,
            protocol,
            next_id: 1,
            early: Default::default(),
        };
        let payload = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        connection
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await?;
        loop {
            let message = connection.receive(Duration::from_secs(5)).await?;
            match message["type"].as_str() {
                Some("connection_ack") => return Ok(connection),
                Some("ka" | "ping" | "pong") => {}
                _ => anyhow::bail!("connection refused: {message}"),
            }
        }
    }

    /// Starts an operation and returns its id.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> anyhow::Result<String> {
        let id = self.next_id.to_string();
        self.next_id += 1;
        let kind = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::Legacy => "start",
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } })).await?;
        Ok(id)
    }

    pub async fn stop(&mut self, id: &str) -> anyhow::Result<()> {
        let kind = match self.protocol {
            Protocol::TransportWs => "complete",
            Protocol::Legacy => "stop",
        };
        self.send(json!({ "id": id, "type": kind })).await
    }

    /// Returns once every operation sent before is set up on the server:
    /// the server handles a connection's messages one at a time, so its
    /// answer to a query sent now comes after the earlier subscriptions
    /// listen. What arrives meanwhile is kept for [`Connection::next`].
    pub async fn sync(&mut self) -> anyhow::Result<()> {
        let id = self.subscribe("{ __typename }", json!({})).await?;
        loop {
            let (from, received) = self.read(Duration::from_secs(10)).await?;
            if from.as_deref() != Some(id.as_str()) {
                self.early.push_back((from, received));
                continue;
            }
            match received {
                Received::Next(_) => {}
                Received::Complete => return Ok(()),
                other => anyhow::bail!("the sync query failed: {other:?}"),
            }
        }
    }

    /// The next message about any operation, skipping keep-alives.
    pub async fn next(&mut self, wait: Duration) -> anyhow::Result<(Option<String>, Received)> {
        if let Some(early) = self.early.pop_front() {
            return Ok(early);
        }
        self.read(wait).await
    }

    async fn read(&mut self, wait: Duration) -> anyhow::Result<(Option<String>, Received)> {
        loop {
            let message = match self.receive(wait).await {
                Ok(message) => message,
                Err(error) => match error.downcast::<Closed>() {
                    Ok(Closed(frame)) => return Ok((None, Received::Closed(frame))),
                    Err(error) => return Err(error),
                },
            };
            let id = message["id"].as_str().map(str::to_owned);
            let received = match message["type"].as_str() {
                Some("next" | "data") => Received::Next(message["payload"].clone()),
                Some("error") => Received::Error(message["payload"].clone()),
                Some("complete") => Received::Complete,
                Some("ping") => {
                    self.send(json!({ "type": "pong" })).await?;
                    continue;
                }
                Some("ka" | "pong") => continue,
                _ => anyhow::bail!("unexpected message: {message}"),
            };
            return Ok((id, received));
        }
    }

    /// The payloads of the next `n` results, failing on anything else.
    pub async fn next_results(&mut self, n: usize, wait: Duration) -> anyhow::Result<Vec<Value>> {
        let mut results = Vec::with_capacity(n);
        while results.len() < n {
            match self.next(wait).await? {
                (_, Received::Next(payload)) => results.push(payload),
                (_, other) => anyhow::bail!("after {} results, got {other:?}", results.len()),
            }
        }
        Ok(results)
    }

    /// Asserts that nothing but keep-alives arrives for `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) -> anyhow::Result<()> {
        match self.next(quiet).await {
            Err(error) if error.is::<TimedOut>() => Ok(()),
            Err(error) => Err(error),
            Ok(message) => anyhow::bail!("expected silence, got {message:?}"),
        }
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        self.ws.send(Message::text(message.to_string())).await?;
        Ok(())
    }

    async fn receive(&mut self, wait: Duration) -> anyhow::Result<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.ws.next())
                .await
                .map_err(|_| TimedOut)?;
            match frame {
                Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text)?),
                Some(Ok(Message::Close(frame))) => {
                    return Err(
                        Closed(frame.map(|f| (u16::from(f.code), f.reason.to_string()))).into(),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(Closed(None).into()),
            }
        }
    }

    /// Closes the socket from the client side.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

#[derive(Debug)]
pub struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timed out waiting for a message")
    }
}

impl std::error::Error for TimedOut {}

#[derive(Debug)]
pub struct Closed(pub Option<(u16, String)>);

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the socket closed: {:?}", self.0)
    }
}

impl std::error::Error for Closed {}
