//! One connection's protocol state: the handshake, its operations, and
//! what to send for each client message and each event. The socket itself
//! is the loop's ([`super::connection`]); everything here returns the
//! messages to write.
//!
//! An operation is one of:
//! - a **query or mutation**: executed once, as the connection's caller,
//!   then `next` + `complete` (an error before execution: `error` on
//!   transport-ws). Executed inline: the connection reads its next message
//!   only after answering, so input never queues up.
//! - a **subscription**: probed (the resolver validates and hands over its
//!   event stream, see [`crate::graphql::fanout`]), then kept as a member
//!   whose events are rendered through the shared cache. An error at
//!   subscribe time is `next` with the error, then `complete`, as before;
//!   an error while running (`SLOW_CONSUMER`, `INTERNAL`) likewise.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{PathSegment, Request, Response, ServerError, Variables};
use domain::events::{EventCursor, EventRecord};
use domain::{Caller, Newsroom};

use crate::graphql::errors::{classify_response, code, coded, executed, to_graphql};
use crate::graphql::execute::{execute, prepare};
use crate::graphql::fanout::{only, probe};
use crate::graphql::{ApiSchema, operation_type};
use crate::http::auth::{InitToken, token_from_init_payload};
use crate::http::limits::{Limits, LocalRate, Refusal};
use crate::http::ws::members::{Item, Member, Members, Returned};
use crate::http::ws::protocol::{self, ClientMessage, Operation, Protocol};
use crate::http::ws::pump::{MAX_LAG, Pumps};
use crate::http::ws::render::RenderCache;
use crate::http::ws::socket::Writer;
use crate::http::ws::{MAX_OPERATIONS, close};

/// Something to write.
#[derive(Debug, PartialEq)]
pub enum Out {
    Text(String),
    /// A close frame: the last thing written.
    Close(u16, String),
}

/// What a connection's session needs of the node.
pub struct Node {
    pub schema: ApiSchema,
    pub newsroom: Newsroom,
    pub renders: Arc<RenderCache>,
    pub pumps: Arc<Pumps>,
    pub limits: Arc<Limits>,
    /// Who the limits count the connection's queries and mutations
    /// against, as for HTTP requests.
    pub client_ip: Option<IpAddr>,
}

pub struct Session {
    protocol: Protocol,
    node: Node,
    caller: Caller,
    initialised: bool,
    acked: bool,
    writer: Arc<Writer>,
    /// Subscriptions on their own feeds, polled by the connection.
    pub members: Members,
    /// Subscriptions served by their stream's pump.
    pub pumped: Vec<Arc<Member>>,
    /// Wakes the connection when a pump hands a member back.
    returns: Waker,
    /// A member that just delivered an event, and its sequence: once that
    /// is written, it may join its stream's pump.
    may_join: Option<(Arc<Member>, i64)>,
    /// How fast this connection may start subscriptions.
    subscribe_rate: LocalRate,
}

impl Session {
    pub fn new(
        protocol: Protocol,
        node: Node,
        caller: Caller,
        writer: Arc<Writer>,
        members: Members,
        returns: Waker,
    ) -> Self {
        Session {
            subscribe_rate: LocalRate::new(node.limits.config.subscribes_per_connection),
            protocol,
            node,
            caller,
            initialised: false,
            acked: false,
            writer,
            members,
            pumped: Vec::new(),
            returns,
            may_join: None,
        }
    }

    /// Whether `connection_init` was accepted.
    pub fn acked(&self) -> bool {
        self.acked
    }

    /// Who the connection's queries and mutations run as.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The token the connection authenticated with was revoked or expired:
    /// the connection ends, as if its `connection_init` had been refused.
    pub fn revoked(&self) -> Vec<Out> {
        let error = to_graphql(&domain::Error::Unauthenticated);
        let error = async_graphql::Error {
            message: "the token of this connection was revoked or has expired".to_owned(),
            ..error
        };
        self.refuse(close::FORBIDDEN, error)
    }

    /// Answers one client message.
    pub async fn on_message(&mut self, text: &[u8]) -> Vec<Out> {
        let message = match protocol::parse(self.protocol, text) {
            Ok(message) => message,
            Err(why) => return self.invalid(why),
        };
        match message {
            ClientMessage::Init(payload) => self.init(payload).await,
            ClientMessage::Ping(payload) => vec![Out::Text(protocol::pong(payload))],
            ClientMessage::Pong => Vec::new(),
            ClientMessage::Subscribe { id, operation } => self.subscribe(id, operation).await,
            ClientMessage::Stop { id } => {
                let stopped = self.stop(&id);
                // The legacy protocol confirms a stop; on transport-ws the
                // client has already forgotten the operation.
                match self.protocol {
                    Protocol::Legacy if stopped => vec![Out::Text(protocol::complete(&id))],
                    _ => Vec::new(),
                }
            }
            ClientMessage::Terminate => vec![Out::Close(close::NORMAL, String::new())],
        }
    }

    fn invalid(&self, why: String) -> Vec<Out> {
        match self.protocol {
            Protocol::TransportWs => vec![Out::Close(close::INVALID_MESSAGE, why)],
            Protocol::Legacy => {
                let error = coded(ServerError::new(why, None), code::BAD_USER_INPUT);
                vec![Out::Text(protocol::error(self.protocol, None, &[error]))]
            }
        }
    }

    /// `connection_init`: a token in the payload replaces the upgrade
    /// request's caller; without one, it stays.
    async fn init(&mut self, payload: serde_json::Value) -> Vec<Out> {
        if self.initialised {
            return self.refuse(
                close::TOO_MANY_INITS,
                async_graphql::Error::new("Too many initialisation requests"),
            );
        }
        self.initialised = true;
        let caller = match token_from_init_payload(&payload) {
            InitToken::Absent => Ok(self.caller.clone()),
            InitToken::Token(token) => self.node.newsroom.caller_for_token(token).await,
            InitToken::Malformed => Err(domain::Error::Unauthenticated),
        };
        match caller {
            Ok(caller) => {
                self.caller = caller;
                self.acked = true;
                let mut out = vec![Out::Text(protocol::ack())];
                if self.protocol == Protocol::Legacy {
                    // Its clients start their keep-alive watch on the first
                    // `ka`, expected right after the ack.
                    out.push(Out::Text(protocol::KA.to_owned()));
                }
                out
            }
            Err(error @ domain::Error::Unauthenticated) => {
                self.refuse(close::FORBIDDEN, to_graphql(&error))
            }
            Err(error) => self.refuse(close::INTERNAL, to_graphql(&error)),
        }
    }

    /// Ends the connection over its handshake; the legacy protocol hears
    /// why in a `connection_error` first. The close reason is the error's
    /// code and message.
    fn refuse(&self, close_code: u16, error: async_graphql::Error) -> Vec<Out> {
        let code = error.extensions.as_ref().and_then(|e| e.get("code"));
        let reason = match code {
            Some(async_graphql::Value::String(code)) => format!("{code}: {}", error.message),
            _ => error.message.clone(),
        };
        let mut out = Vec::new();
        if self.protocol == Protocol::Legacy {
            out.push(Out::Text(protocol::connection_error(&error)));
        }
        out.push(Out::Close(close_code, reason));
        out
    }

    async fn subscribe(&mut self, id: String, operation: Operation) -> Vec<Out> {
        if !self.acked {
            return vec![Out::Close(close::UNAUTHORIZED, "Unauthorized".to_owned())];
        }
        // A subscription its pump ended may not have been taken back yet:
        // its id is free again.
        self.pumped.retain(|member| !member.take_if_ended());
        if self.running(&id) {
            match self.protocol {
                Protocol::TransportWs => {
                    let reason = format!("Subscriber for {id} already exists");
                    return vec![Out::Close(close::DUPLICATE_ID, reason)];
                }
                // The reference server restarts the operation.
                Protocol::Legacy => {
                    self.stop(&id);
                }
            }
        }
        let Operation {
            query,
            operation_name,
            variables,
        } = operation;
        let mut request = Request::new(query.clone()).variables(Variables::from_json(
            serde_json::Value::Object(variables.clone()),
        ));
        request.operation_name = operation_name.clone();
        // A document that does not parse, or is refused, is left to the
        // executor to report.
        let prepared = prepare(&self.node.schema, &query).ok();
        let kind = prepared
            .as_ref()
            .and_then(|prepared| operation_type(&prepared.document, operation_name.as_deref()));
        let Some(prepared) = prepared.filter(|_| kind == Some(OperationType::Subscription)) else {
            // A query or mutation (or a document the executor will
            // refuse): a request like any over HTTP, counted as one.
            if let Err(refused) = self.node.limits.admit_request(self.node.client_ip, None) {
                let message = refused.why.message(&self.node.limits.config);
                let error = coded(ServerError::new(message, None), code::RATE_LIMITED);
                return self.answer(&id, Response::from_errors(vec![error]));
            }
            let response = execute(&self.node.schema, request, self.caller.clone()).await;
            return self.answer(&id, response);
        };
        let document = prepared.document.clone();
        if self.members.len() + self.pumped.len() >= MAX_OPERATIONS {
            let message =
                format!("at most {MAX_OPERATIONS} subscriptions may run on one connection");
            let error = coded(ServerError::new(message, None), code::RATE_LIMITED);
            return self.answer(&id, Response::from_errors(vec![error]));
        }
        if let Err(refusal) = self.admit_subscription(&query, &variables) {
            return self.answer(&id, Response::from_errors(vec![refusal]));
        }

        let plan = match probe(&self.node.schema, request).await {
            Ok(Some(plan)) => plan,
            Ok(None) => return vec![Out::Text(protocol::complete(&id))],
            Err(errors) => return self.answer(&id, Response::from_errors(errors)),
        };
        let spec = self.node.renders.spec(
            query,
            operation_name,
            variables,
            document,
            plan.cursor_variable.as_deref(),
        );
        let member = Arc::new(Member::new(
            id.clone(),
            protocol::next_prefix(self.protocol, &id),
            spec,
            plan.field,
            plan.pos,
            plan.stream,
            plan.relevant,
            self.writer.clone(),
            self.returns.clone(),
        ));
        // A feed with events to replay first stays with the connection
        // until it has caught up.
        let at_live_edge = plan.feed.live.load(Ordering::Acquire);
        if at_live_edge && self.node.pumps.join(&member, plan.feed.after) {
            self.pumped.push(member);
        } else {
            let events = only(plan.feed.events, &member.relevant);
            self.members.insert(member, events, plan.feed.live);
        }
        Vec::new()
    }

    /// Counts a subscription start against the connection's rate, and its
    /// document and variables against the bytes it may hold.
    fn admit_subscription(
        &mut self,
        query: &str,
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ServerError> {
        let limits = &self.node.limits;
        let refused = |why: Refusal, retry_after| {
            let refused = limits.refuse(why, retry_after);
            coded(
                ServerError::new(refused.why.message(&limits.config), None),
                code::RATE_LIMITED,
            )
        };
        if let Err(retry_after) = self.subscribe_rate.admit(tokio::time::Instant::now()) {
            return Err(refused(Refusal::SubscribesPerConnection, retry_after));
        }
        let budget = limits.config.subscription_bytes_per_connection;
        if budget > 0 {
            let held: usize = self
                .members
                .members()
                .chain(self.pumped.iter())
                .map(|member| member.spec.document_bytes())
                .sum();
            let wanted = query.len() + serde_json::to_vec(variables).map_or(0, |v| v.len());
            if held + wanted > budget {
                return Err(refused(Refusal::SubscriptionBytes, Duration::ZERO));
            }
        }
        Ok(())
    }

    /// Whether subscription `id` is running.
    fn running(&self, id: &str) -> bool {
        self.members.contains(id) || self.pumped.iter().any(|member| member.id == id)
    }

    /// Stops subscription `id`; whether it was running.
    fn stop(&mut self, id: &str) -> bool {
        if self.members.remove(id) {
            return true;
        }
        let Some(index) = self.pumped.iter().position(|member| member.id == id) else {
            return false;
        };
        let member = self.pumped.swap_remove(index);
        member.stopped.store(true, Ordering::Release);
        member.leave_pump();
        true
    }

    /// After the last event's frames were written: its member joins its
    /// stream's pump if it follows the bus (nothing left to replay) and the
    /// socket took everything; otherwise it tries again after its next
    /// event.
    pub fn written(&mut self) {
        let Some((member, seq)) = self.may_join.take() else {
            return;
        };
        if self.writer.has_backlog() || !self.members.is_live(&member.id) {
            return;
        }
        if self.node.pumps.join(&member, seq) {
            // Its own feed, bus receiver and all, goes.
            self.members.take(&member.id);
            self.pumped.push(member);
        }
    }

    /// Takes back the members their pumps handed back: what to send.
    pub async fn take_returns(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let mut index = 0;
        while index < self.pumped.len() {
            let Some(returned) = self.pumped[index].take_returned() else {
                index += 1;
                continue;
            };
            let member = self.pumped.swap_remove(index);
            let Returned::Behind(last) = returned else {
                // Ended: the pump wrote its last result and `complete`.
                continue;
            };
            if !self.writer.has_backlog() && self.node.pumps.join(&member, last) {
                self.pumped.push(member);
                continue;
            }
            let cursor = EventCursor {
                stream: member.stream,
                seq: last,
            }
            .encode();
            match self.node.newsroom.feed(member.stream, Some(&cursor)).await {
                Ok(feed) => {
                    let events = only(feed.events, &member.relevant);
                    self.members.insert(member, events, feed.live);
                }
                Err(error) => out.extend(self.ended_by(&member, &error)),
            }
        }
        out
    }

    /// The answer to a subscription that `error` ended.
    fn ended_by(&self, member: &Member, error: &domain::Error) -> Vec<Out> {
        let error = to_graphql(error)
            .into_server_error(member.pos)
            .with_path(vec![PathSegment::Field(member.field.clone())]);
        self.answer(&member.id, Response::from_errors(vec![error]))
    }

    /// The answer to an operation that is over with this response.
    fn answer(&self, id: &str, response: Response) -> Vec<Out> {
        let response = classify_response(response);
        if self.protocol == Protocol::TransportWs && !executed(&response) {
            // Nothing ran (the document did not parse or validate): the
            // protocol's `error`, which ends the operation by itself.
            return vec![Out::Text(protocol::error(
                self.protocol,
                Some(id),
                &response.errors,
            ))];
        }
        let payload = protocol::payload(&response);
        vec![
            Out::Text(protocol::next(self.protocol, id, &payload)),
            Out::Text(protocol::complete(id)),
        ]
    }

    /// What to send for an item of a member's stream.
    pub async fn on_event(&mut self, (member, item): Item) -> Vec<Out> {
        let record: Arc<EventRecord> = match item {
            Some(Ok(record)) => record,
            Some(Err(error)) => {
                self.members.remove(&member.id);
                return self.ended_by(&member, &error);
            }
            // Its stream ran out, and it is no longer a member.
            None => return vec![Out::Text(protocol::complete(&member.id))],
        };
        let live_edge = self.node.pumps.live_edge(&member.stream);
        if member.was_live() && live_edge.is_some_and(|edge| edge - record.seq > MAX_LAG) {
            self.members.remove(&member.id);
            return self.ended_by(&member, &domain::Error::SlowConsumer);
        }
        let rendered = self
            .node
            .renders
            .render(&self.node.schema, &member.spec, &record)
            .await;
        let mut out = Vec::new();
        if let Some(payload) = &rendered.payload {
            self.node.renders.delivered(1);
            out.push(Out::Text(protocol::next_from(&member.next_prefix, payload)));
        }
        if rendered.ends {
            self.members.remove(&member.id);
            out.push(Out::Text(protocol::complete(&member.id)));
        } else {
            self.may_join = Some((member, record.seq));
        }
        out
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for member in self.pumped.drain(..) {
            member.stopped.store(true, Ordering::Release);
            member.leave_pump();
        }
    }
}
