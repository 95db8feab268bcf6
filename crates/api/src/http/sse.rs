//! GraphQL over Server-Sent Events at `/graphql/stream`: the `graphql-sse`
//! protocol's distinct connections mode, for clients that cannot or will
//! not open a WebSocket (a plain `EventSource`, a proxy that drops
//! upgrades).
//!
//! A subscription is sent as `GET` parameters or a `POST`ed JSON body with
//! `Accept: text/event-stream`; each result is an `event: next` whose `id`
//! is the event's cursor, and `event: complete` ends the stream. The
//! delivery guarantee is the WebSocket's: a client that reconnects with
//! `Last-Event-ID` (an `EventSource` does so by itself) first gets every
//! event after that cursor, in order, then live ones: the id takes the
//! place of the subscription's `after`, which the reconnecting client sends
//! again as it first did.
//!
//! The subscription runs as on a WebSocket (see [`crate::graphql::fanout`]):
//! probed once for its gap-free feed, each event rendered once per distinct
//! subscription on the node and shared. The stream counts against the
//! same per-address and per-node connection limits as a WebSocket.

use std::convert::Infallible;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{Pos, Response as GraphqlResponse, ServerError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use domain::events::EventCursor;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};

use crate::graphql::errors::{classify_response, code, coded, to_graphql};
use crate::graphql::execute::prepare;
use crate::graphql::fanout::{ResumeAfter, only, probe};
use crate::graphql::operation_type;
use crate::http::graphql::{RawRequest, get_request, json_request};
use crate::http::negotiate::MediaType;
use crate::http::{AppState, MAX_BODY_BYTES, auth, reply};

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

pub async fn stream(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let accepts_events = parts
        .headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    if !accepts_events {
        return refuse(
            StatusCode::NOT_ACCEPTABLE,
            "accept text/event-stream: this is GraphQL over SSE (queries go to /graphql)",
        );
    }
    if let Err(error) = auth::caller_from_headers(&state.newsroom, &parts.headers).await {
        return reply::domain_error(MediaType::Json, &error);
    }
    let raw = if parts.method == Method::POST {
        match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => json_request(&bytes),
            Err(_) => Err(format!(
                "the request body is larger than {MAX_BODY_BYTES} bytes"
            )),
        }
    } else {
        get_request(&parts.uri)
    };
    let raw = match raw {
        Ok(raw) => raw,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message),
    };
    let ip = state.limits.client_ip(&parts.headers, &parts.extensions);
    let permit = match state.limits.open_websocket(ip) {
        Ok(permit) => permit,
        Err(refused) => {
            return reply::rate_limited(MediaType::Json, &refused, &state.limits.config);
        }
    };
    let last_event_id = parts
        .headers
        .get(&LAST_EVENT_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    match subscribe(&state, raw, last_event_id).await {
        Ok(events) => {
            let (sender, receiver) = mpsc::channel::<Result<Bytes, Infallible>>(8);
            tokio::spawn(async move {
                let _permit = permit;
                forward(events, sender, &state).await;
            });
            let mut response = Response::new(Body::from_stream(receiver));
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // nginx would otherwise hold events back to fill its buffers.
            headers.insert(
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            );
            response
        }
        Err(errors) => {
            let body = serde_json::json!({ "errors": errors });
            let mut response = Response::new(Body::from(body.to_string()));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// What a probed subscription delivers, ready to render.
struct Subscribed {
    events: crate::graphql::fanout::Events,
    spec: std::sync::Arc<crate::http::ws::render::RenderSpec>,
}

/// Probes the subscription; the errors that refuse it otherwise.
async fn subscribe(
    state: &AppState,
    raw: RawRequest,
    last_event_id: Option<String>,
) -> Result<Subscribed, Vec<ServerError>> {
    let refused =
        |message: &str| vec![coded(ServerError::new(message, None), code::BAD_USER_INPUT)];
    let Some(query) = raw.query else {
        return Err(refused("the request has no `query`"));
    };
    let prepared = prepare(&state.schema, &query).map_err(|error| vec![error])?;
    let kind = operation_type(&prepared.document, raw.operation_name.as_deref());
    if kind != Some(OperationType::Subscription) {
        return Err(refused(
            "only subscriptions are streamed here; send queries and mutations to /graphql",
        ));
    }
    let variables = match serde_json::to_value(&raw.variables) {
        Ok(serde_json::Value::Object(variables)) => variables,
        _ => serde_json::Map::new(),
    };
    let mut request = async_graphql::Request::new(query.clone()).variables(raw.variables);
    request.operation_name = raw.operation_name.clone();
    if let Some(cursor) = last_event_id {
        request = request.data(ResumeAfter(cursor));
    }
    let plan = match probe(&state.schema, request).await {
        Ok(Some(plan)) => plan,
        Ok(None) => return Err(refused("a subscription must select exactly one field")),
        Err(errors) => return Err(classify_response(GraphqlResponse::from_errors(errors)).errors),
    };
    let spec = state.renders.spec(
        query,
        raw.operation_name,
        variables,
        prepared.document.clone(),
        plan.cursor_variable.as_deref(),
    );
    Ok(Subscribed {
        events: only(plan.feed.events, &plan.relevant),
        spec,
    })
}

/// Renders each event onto the stream until it ends, the client goes or
/// the node shuts down (the client then reconnects, to this node or
/// another, with the last id it received).
async fn forward(
    subscribed: Subscribed,
    mut out: mpsc::Sender<Result<Bytes, Infallible>>,
    state: &AppState,
) {
    let Subscribed { mut events, spec } = subscribed;
    let shutting_down = state.shutdown.triggered();
    futures::pin_mut!(shutting_down);
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.tick().await;
    loop {
        let frame = tokio::select! {
            item = events.next() => match item {
                Some(Ok(record)) => {
                    let rendered = state.renders.render(&state.schema, &spec, &record).await;
                    let id = EventCursor { stream: record.stream, seq: record.seq }.encode();
                    let mut frame = String::new();
                    if let Some(payload) = &rendered.payload {
                        state.renders.delivered(1);
                        frame = format!("event: next\nid: {id}\ndata: {payload}\n\n");
                    }
                    if rendered.ends {
                        frame.push_str(COMPLETE);
                        let _ = out.send(Ok(Bytes::from(frame))).await;
                        return;
                    }
                    frame
                }
                Some(Err(error)) => {
                    let error = to_graphql(&error).into_server_error(Pos::default());
                    let payload = serde_json::to_string(&GraphqlResponse::from_errors(vec![error]))
                        .unwrap_or_default();
                    let frame = format!("event: next\ndata: {payload}\n\n{COMPLETE}");
                    let _ = out.send(Ok(Bytes::from(frame))).await;
                    return;
                }
                None => {
                    let _ = out.send(Ok(Bytes::from_static(COMPLETE.as_bytes()))).await;
                    return;
                }
            },
            _ = keep_alive.tick() => ":\n\n".to_owned(),
            () = &mut shutting_down => return,
        };
        if !frame.is_empty() && out.send(Ok(Bytes::from(frame))).await.is_err() {
            return;
        }
    }
}

const COMPLETE: &str = "event: complete\ndata:\n\n";

fn refuse(status: StatusCode, message: &str) -> Response {
    reply::request_error(status, MediaType::Json, code::BAD_USER_INPUT, message)
}
