//! The wire format of both protocols: what a client may send, and the
//! messages the server sends back. No state and no I/O here; the
//! [`super::session`] decides what to do with a message.
//!
//! - `graphql-transport-ws` (<https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>):
//!   the client sends `connection_init`, `ping`, `pong`, `subscribe`,
//!   `complete`; the server `connection_ack`, `pong`, `next`, `error`,
//!   `complete`. Anything else is fatal (`4400`).
//! - legacy `graphql-ws` (`subscriptions-transport-ws`): the client sends
//!   `connection_init`, `start`, `stop`, `connection_terminate`; the server
//!   `connection_ack`, `connection_error`, `ka`, `data`, `error`,
//!   `complete`. A message it does not understand gets an `error` back and
//!   the connection goes on, as its reference server does.
//!
//! Results are sent by wrapping an already serialised payload in the
//! envelope by string concatenation: the payload of an event is rendered
//! once and shared by every subscriber, so it must not be re-encoded per
//! socket.

use async_graphql::ServerError;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// The legacy `graphql-ws` of `subscriptions-transport-ws`.
    Legacy,
}

impl Protocol {
    /// The protocol a `Sec-WebSocket-Protocol` entry names, if we speak it.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("graphql-transport-ws") {
            Some(Protocol::TransportWs)
        } else if name.eq_ignore_ascii_case("graphql-ws") {
            Some(Protocol::Legacy)
        } else {
            None
        }
    }

    /// The `Sec-WebSocket-Protocol` value echoed to the client.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }
}

/// A client message, in either protocol's vocabulary.
#[derive(Debug, PartialEq)]
pub enum ClientMessage {
    /// `connection_init`, with its payload (`{}` when none was sent).
    Init(Value),
    /// `ping` (transport-ws), answered with a `pong`.
    Ping(Option<Value>),
    /// `pong` (transport-ws): proof of life, nothing more.
    Pong,
    /// `subscribe` (transport-ws) or `start` (legacy).
    Subscribe { id: String, operation: Operation },
    /// `complete` (transport-ws) or `stop` (legacy).
    Stop { id: String },
    /// `connection_terminate` (legacy).
    Terminate,
}

/// The GraphQL request in a `subscribe` or `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
}

/// Reads one client message; the error says what is wrong with it.
pub fn parse(protocol: Protocol, text: &[u8]) -> Result<ClientMessage, String> {
    let envelope: Envelope =
        serde_json::from_slice(text).map_err(|e| format!("invalid message: {e}"))?;
    let id = || match envelope.id.clone() {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(format!("`{}` needs a non-empty string `id`", envelope.kind)),
    };
    use Protocol::{Legacy, TransportWs};
    Ok(match (protocol, envelope.kind.as_str()) {
        (_, "connection_init") => ClientMessage::Init(match envelope.payload {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(payload) => payload,
        }),
        (TransportWs, "ping") => ClientMessage::Ping(envelope.payload.clone()),
        (TransportWs, "pong") => ClientMessage::Pong,
        (TransportWs, "subscribe") | (Legacy, "start") => ClientMessage::Subscribe {
            id: id()?,
            operation: operation(envelope.payload.clone())?,
        },
        (TransportWs, "complete") | (Legacy, "stop") => ClientMessage::Stop { id: id()? },
        (Legacy, "connection_terminate") => ClientMessage::Terminate,
        (_, other) => return Err(format!("unknown message type `{other}`")),
    })
}

fn operation(payload: Option<Value>) -> Result<Operation, String> {
    let Some(Value::Object(mut payload)) = payload else {
        return Err("the payload must be an object with a `query`".to_owned());
    };
    let query = match payload.remove("query") {
        Some(Value::String(query)) => query,
        _ => return Err("the payload's `query` must be a string".to_owned()),
    };
    let operation_name = match payload.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name).filter(|name| !name.is_empty()),
        Some(_) => return Err("`operationName` must be a string".to_owned()),
    };
    let variables = match payload.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(variables)) => variables,
        Some(_) => return Err("`variables` must be an object".to_owned()),
    };
    Ok(Operation {
        query,
        operation_name,
        variables,
    })
}

/// `connection_ack`.
pub fn ack() -> String {
    r#"{"type":"connection_ack"}"#.to_owned()
}

/// The legacy keep-alive.
pub const KA: &str = r#"{"type":"ka"}"#;

/// `pong`, echoing the ping's payload.
pub fn pong(payload: Option<Value>) -> String {
    match payload {
        Some(payload) if !payload.is_null() => json!({ "type": "pong", "payload": payload }),
        _ => json!({ "type": "pong" }),
    }
    .to_string()
}

/// A result (`next` / legacy `data`) around `payload`, a serialised
/// GraphQL response.
pub fn next(protocol: Protocol, id: &str, payload: &str) -> String {
    next_from(&next_prefix(protocol, id), payload)
}

/// What every result of operation `id` starts with, up to its payload:
/// built once per subscription, since each event it delivers repeats it.
pub fn next_prefix(protocol: Protocol, id: &str) -> String {
    let kind = match protocol {
        Protocol::TransportWs => "next",
        Protocol::Legacy => "data",
    };
    format!(r#"{{"id":{},"type":"{kind}","payload":"#, id_json(id))
}

/// A result from its [`next_prefix`] and `payload`.
pub fn next_from(prefix: &str, payload: &str) -> String {
    let mut message = String::with_capacity(prefix.len() + payload.len() + 1);
    message.push_str(prefix);
    message.push_str(payload);
    message.push('}');
    message
}

/// A GraphQL response as a result's payload.
pub fn payload(response: &async_graphql::Response) -> String {
    bounded_payload(response, crate::http::reply::MAX_RESPONSE_BYTES)
}

/// The largest event a subscription pushes. Every subscriber of a stream
/// gets a copy of each, so an event rendered large (an entry selected
/// under dozens of aliases) would cost its size once per subscriber.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// [`payload`] of a subscription event.
pub fn event_payload(response: &async_graphql::Response) -> String {
    bounded_payload(response, MAX_EVENT_BYTES)
}

/// The response as JSON, or an error in its place when it is over `limit`.
fn bounded_payload(response: &async_graphql::Response, limit: usize) -> String {
    match serde_json::to_string(response) {
        Ok(text) if text.len() <= limit => text,
        Ok(_) => format!(
            r#"{{"data":null,"errors":[{{"message":"the result would be larger than {limit} bytes: select fewer fields","extensions":{{"code":"QUERY_TOO_COMPLEX"}}}}]}}"#
        ),
        Err(error) => {
            tracing::error!(%error, "a GraphQL response did not serialise");
            r#"{"data":null,"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
                .to_owned()
        }
    }
}

/// `complete`: the operation is over.
pub fn complete(id: &str) -> String {
    format!(r#"{{"id":{},"type":"complete"}}"#, id_json(id))
}

/// An operation that failed before it ran (`error`): on transport-ws the
/// payload is the list of errors, on the legacy protocol one error.
pub fn error(protocol: Protocol, id: Option<&str>, errors: &[ServerError]) -> String {
    let payload = match protocol {
        Protocol::TransportWs => serde_json::to_value(errors),
        Protocol::Legacy => serde_json::to_value(errors.first()),
    }
    .unwrap_or(Value::Null);
    let mut message = json!({ "type": "error", "payload": payload });
    if let Some(id) = id {
        message["id"] = Value::from(id);
    }
    message.to_string()
}

/// The legacy protocol's `connection_error`.
pub fn connection_error(error: &async_graphql::Error) -> String {
    let mut payload = json!({ "message": error.message });
    if let Some(extensions) = &error.extensions {
        payload["extensions"] = serde_json::to_value(extensions).unwrap_or(Value::Null);
    }
    json!({ "type": "connection_error", "payload": payload }).to_string()
}

/// An id as a JSON string.
fn id_json(id: &str) -> String {
    Value::from(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Protocol::{Legacy, TransportWs};

    fn parsed(protocol: Protocol, message: Value) -> Result<ClientMessage, String> {
        parse(protocol, message.to_string().as_bytes())
    }

    #[test]
    fn each_protocol_reads_its_own_vocabulary() {
        let start = json!({ "id": "1", "type": "start", "payload": { "query": "{a}" } });
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "{a}" } });
        assert!(matches!(
            parsed(Legacy, start.clone()),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(parsed(TransportWs, start).is_err());
        assert!(parsed(Legacy, subscribe.clone()).is_err());
        assert!(matches!(
            parsed(TransportWs, subscribe),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert_eq!(
            parsed(Legacy, json!({ "type": "connection_terminate" })),
            Ok(ClientMessage::Terminate)
        );
        assert!(parsed(TransportWs, json!({ "type": "connection_terminate" })).is_err());
        assert!(parsed(Legacy, json!({ "type": "ping" })).is_err());
    }

    #[test]
    fn a_subscribe_needs_an_id_and_a_query() {
        for bad in [
            json!({ "type": "subscribe", "payload": { "query": "{a}" } }),
            json!({ "id": 1, "type": "subscribe", "payload": { "query": "{a}" } }),
            json!({ "id": "", "type": "subscribe", "payload": { "query": "{a}" } }),
            json!({ "id": "1", "type": "subscribe" }),
            json!({ "id": "1", "type": "subscribe", "payload": { "query": 1 } }),
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "{a}", "variables": [] } }),
        ] {
            assert!(parsed(TransportWs, bad.clone()).is_err(), "{bad}");
        }
        assert!(parse(TransportWs, b"not json").is_err());
        let message = json!({ "id": "7", "type": "subscribe", "payload": {
            "query": "{a}", "operationName": "A", "variables": { "n": 1 }
        } });
        let Ok(ClientMessage::Subscribe { id, operation }) = parsed(TransportWs, message) else {
            panic!("a subscribe");
        };
        assert_eq!(id, "7");
        assert_eq!(operation.operation_name.as_deref(), Some("A"));
        assert_eq!(operation.variables["n"], 1);
    }

    #[test]
    fn init_payloads_default_to_an_empty_object() {
        assert_eq!(
            parsed(TransportWs, json!({ "type": "connection_init" })),
            Ok(ClientMessage::Init(json!({})))
        );
    }

    #[test]
    fn results_wrap_the_shared_payload_verbatim() {
        let payload = r#"{"data":{"a":1}}"#;
        let message: Value = serde_json::from_str(&next(TransportWs, "x\"1", payload)).unwrap();
        assert_eq!(
            message,
            json!({ "id": "x\"1", "type": "next", "payload": { "data": { "a": 1 } } })
        );
        let message: Value = serde_json::from_str(&next(Legacy, "2", payload)).unwrap();
        assert_eq!(message["type"], "data");
        let message: Value = serde_json::from_str(&complete("2")).unwrap();
        assert_eq!(message, json!({ "id": "2", "type": "complete" }));
    }

    #[test]
    fn errors_are_a_list_on_transport_ws_and_one_object_on_the_legacy_protocol() {
        let errors = [ServerError::new("nope", None)];
        let message: Value = serde_json::from_str(&error(TransportWs, Some("1"), &errors)).unwrap();
        assert_eq!(message["payload"][0]["message"], "nope");
        let message: Value = serde_json::from_str(&error(Legacy, None, &errors)).unwrap();
        assert_eq!(message["payload"]["message"], "nope");
        assert!(message.get("id").is_none());
    }
}
