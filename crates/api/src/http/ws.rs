//! GraphQL over WebSocket on `GET /graphql`: both `graphql-transport-ws`
//! and the legacy `graphql-ws` subprotocol, served by async-graphql-axum.
//!
//! The connection is built here rather than with its `GraphQLSubscription`
//! service so that it knows its caller: from the upgrade request's
//! `Authorization` header (refused with 401 before upgrading when bad), or
//! from the `connection_init` payload, which is where browser clients put
//! tokens since they cannot set headers on a WebSocket.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{FromRequestParts, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use domain::{Caller, Newsroom};

use crate::graphql::errors::{code, to_graphql};
use crate::http::auth::{InitToken, caller_from_headers, token_from_init_payload};
use crate::http::negotiate::MediaType;
use crate::http::{AppState, reply};

pub async fn upgrade(state: AppState, mut parts: Parts) -> Response {
    let caller = match caller_from_headers(&state.newsroom, &parts.headers).await {
        Ok(caller) => caller,
        Err(err) => return reply::domain_error(MediaType::Json, &err),
    };
    let Ok(protocol) = GraphQLProtocol::from_request_parts(&mut parts, &()).await else {
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
    let schema = state.schema.clone();
    let newsroom = state.newsroom.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let mut data = Data::default();
            data.insert(caller);
            GraphQLWebSocket::new(socket, schema, protocol)
                .with_data(data)
                .on_connection_init(move |payload| connection_init(newsroom, payload))
                .serve()
        })
}

/// Data from `connection_init` is merged over the upgrade request's, so a
/// token here replaces the header's caller; without one, it stays.
async fn connection_init(
    newsroom: Newsroom,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let mut data = Data::default();
    let caller: Caller = match token_from_init_payload(&payload) {
        InitToken::Absent => return Ok(data),
        InitToken::Token(token) => newsroom
            .caller_for_token(token)
            .await
            .map_err(|e| to_graphql(&e))?,
        InitToken::Malformed => return Err(to_graphql(&domain::Error::Unauthenticated)),
    };
    data.insert(caller);
    Ok(data)
}
