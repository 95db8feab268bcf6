//! `POST /graphql` and `GET /graphql`, following the GraphQL-over-HTTP spec,
//! and the hand-off of WebSocket upgrades on the same path.
//!
//! Written by hand rather than with async-graphql-axum's `GraphQL` service
//! because the spec's choices need control that service does not give:
//! status codes that depend on the negotiated media type, 405 for mutations
//! over GET, 401 for a bad token before anything runs, and GraphQL-shaped
//! bodies for malformed requests.

use async_graphql::Variables;
use async_graphql::parser::types::OperationType;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::header::{ACCEPT, ALLOW, CONTENT_TYPE, HeaderValue, IF_NONE_MATCH, UPGRADE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use domain::Caller;
use serde::Deserialize;

use crate::graphql::cache;
use crate::graphql::errors::code;
use crate::graphql::execute::{execute, prepare};
use crate::http::negotiate::{BodyKind, MediaType, body_kind, operation_type, response_media_type};
use crate::http::{AppState, MAX_BODY_BYTES, auth, reply, ws};

pub async fn get(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    if wants_websocket(&parts.headers) {
        return ws::upgrade(state, parts).await;
    }
    let Some(media) = accepted(&parts.headers) else {
        return not_acceptable();
    };
    let caller = match auth::caller_from_headers(&state.newsroom, &parts.headers).await {
        Ok(caller) => caller,
        Err(err) => return reply::domain_error(media, &err),
    };
    let params = match Query::<GetParams>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(rejection) => return reply::bad_request(media, rejection.body_text()),
    };
    let request = match params.into_raw() {
        Ok(request) => request,
        Err(message) => return reply::bad_request(media, message),
    };
    serve(&state, Method::GET, media, caller, request, &parts.headers).await
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Some(media) = accepted(&headers) else {
        return not_acceptable();
    };
    let caller = match auth::caller_from_headers(&state.newsroom, &headers).await {
        Ok(caller) => caller,
        Err(err) => return reply::domain_error(media, &err),
    };
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let kind = match body_kind(content_type) {
        Ok(kind) => kind,
        Err(message) => {
            return reply::request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                code::BAD_USER_INPUT,
                message,
            );
        }
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return reply::request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                code::BAD_USER_INPUT,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            );
        }
    };
    let request = match kind {
        BodyKind::Json => json_request(&bytes),
        BodyKind::Graphql => String::from_utf8(bytes.to_vec())
            .map(RawRequest::document)
            .map_err(|_| "the request body is not UTF-8".to_owned()),
    };
    match request {
        Ok(request) => serve(&state, Method::POST, media, caller, request, &headers).await,
        Err(message) => reply::bad_request(media, message),
    }
}

fn wants_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn accepted(headers: &HeaderMap) -> Option<MediaType> {
    response_media_type(headers.get(ACCEPT).and_then(|v| v.to_str().ok()))
}

fn not_acceptable() -> Response {
    reply::request_error(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        code::BAD_USER_INPUT,
        "accept application/graphql-response+json or application/json",
    )
}

/// Runs a request: its document (sent, or persisted), refused by
/// operation type where HTTP says so, answered from the response cache
/// when an anonymous reader asks what another asked before.
async fn serve(
    state: &AppState,
    method: Method,
    media: MediaType,
    caller: Caller,
    raw: RawRequest,
    headers: &HeaderMap,
) -> Response {
    let query = match state
        .persisted
        .resolve(raw.query, raw.extensions.as_ref())
        .await
    {
        Ok(query) => query,
        Err(error) => return reply::refused_request(media, error),
    };
    let mut request = async_graphql::Request::new(query).variables(raw.variables);
    request.operation_name = raw.operation_name;
    // Looking at the document here lets us refuse by operation type before
    // running anything; it is parsed once per node and kept (see
    // `graphql::documents`). A document that does not parse or is refused
    // is left for the executor to report.
    let prepared = prepare(&state.schema, &request.query).ok();
    let kind = prepared
        .as_ref()
        .and_then(|p| operation_type(&p.document, request.operation_name.as_deref()));
    match kind {
        Some(OperationType::Mutation) if method == Method::GET => {
            let mut reply = reply::request_error(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                code::BAD_USER_INPUT,
                "mutations must be sent with POST",
            );
            reply
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return reply;
        }
        Some(OperationType::Subscription) => {
            let refused = reply::refused(
                "subscriptions are served over WebSocket: GET /graphql with \
                 `Upgrade: websocket`",
            );
            return reply::graphql(media, refused);
        }
        _ => {}
    }
    let anonymous = caller.principal().is_none();
    let (Some(prepared), Some(OperationType::Query), true) = (prepared, kind, anonymous) else {
        let response = if kind == Some(OperationType::Mutation) {
            execute(&state.schema, request, caller).await
        } else {
            let query = execute(&state.schema, request, caller);
            match tokio::time::timeout(state.request_timeout, query).await {
                Ok(response) => response,
                Err(_) => return timed_out(state, media),
            }
        };
        let mut reply = reply::graphql(media, response);
        if !anonymous {
            reply::private(&mut reply);
        }
        return reply;
    };
    let key = cache::key(
        &request.query,
        request.operation_name.as_deref(),
        &request.variables,
    );
    let http = reply::HttpCaching {
        method: &method,
        if_none_match: headers.get(IF_NONE_MATCH),
        max_age: state.max_age,
    };
    let topics = cache::topics(&prepared.document, request.operation_name.as_deref());
    let compute = async {
        // A computation that times out is dropped, and whoever waits for
        // it computes for themselves (see `cache::wait`).
        let query = execute(&state.schema, request, caller);
        let Ok(response) = tokio::time::timeout(state.request_timeout, query).await else {
            return Err(timed_out(state, media));
        };
        // Only what is complete is kept: a response with errors may be a
        // passing failure, and its status depends on the media type.
        if !response.errors.is_empty() {
            return Err(reply::graphql(media, response));
        }
        match serde_json::to_vec(&response) {
            Ok(body) if body.len() <= reply::MAX_RESPONSE_BYTES => Ok(Bytes::from(body)),
            _ => Err(reply::graphql(media, response)),
        }
    };
    match state.cache.get_or_compute(key, topics, compute).await {
        Ok(cached) => reply::cached(media, &cached, &http),
        Err(answer) => answer,
    }
}

/// The answer to a query that ran out of time. Nothing it did is kept:
/// queries only read.
fn timed_out(state: &AppState, media: MediaType) -> Response {
    reply::request_error(
        StatusCode::SERVICE_UNAVAILABLE,
        media,
        code::QUERY_TOO_COMPLEX,
        format!(
            "the query did not finish within {} s: ask for less, or try again",
            state.request_timeout.as_secs_f64()
        ),
    )
}

/// A request as sent, before its document is known: `query` may be left
/// out for a persisted one.
#[derive(Debug, Default)]
pub struct RawRequest {
    pub(crate) query: Option<String>,
    pub(crate) operation_name: Option<String>,
    pub(crate) variables: Variables,
    pub(crate) extensions: Option<serde_json::Value>,
}

impl RawRequest {
    /// The document, unless the request names a persisted one instead.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    fn document(query: String) -> Self {
        RawRequest {
            query: Some(query),
            ..RawRequest::default()
        }
    }
}

/// A request sent as `GET` parameters.
pub(crate) fn get_request(uri: &axum::http::Uri) -> Result<RawRequest, String> {
    let Query(params) = Query::<GetParams>::try_from_uri(uri).map_err(|r| r.body_text())?;
    params.into_raw()
}

/// `GET /graphql` parameters; `variables` and `extensions` are JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    extensions: Option<String>,
}

impl GetParams {
    fn into_raw(self) -> Result<RawRequest, String> {
        let parse_json = |name: &str, text: Option<String>| {
            text.map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| format!("the `{name}` parameter is not valid JSON: {e}"))
            })
            .transpose()
        };
        let variables = parse_json("variables", self.variables)?;
        let extensions = parse_json("extensions", self.extensions)?;
        if self.query.is_none() && extensions.is_none() {
            return Err("the `query` parameter is missing".to_owned());
        }
        build_request(self.query, self.operation_name, variables, extensions)
    }
}

/// Reads a JSON POST body. Checked field by field, so that the message
/// names what is wrong ("`variables` must be an object") rather than
/// quoting a deserialiser.
pub fn json_request(body: &[u8]) -> Result<RawRequest, String> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the request body is not valid JSON: {e}"))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err(if value.is_array() {
            "batched requests are not supported: send one operation per request".to_owned()
        } else {
            "the request body must be a JSON object".to_owned()
        });
    };
    let query = match fields.remove("query") {
        Some(serde_json::Value::String(query)) => Some(query),
        None | Some(serde_json::Value::Null) if fields.contains_key("extensions") => None,
        Some(_) => return Err("`query` must be a string".to_owned()),
        None => return Err("the request has no `query`".to_owned()),
    };
    let operation_name = match fields.remove("operationName") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string".to_owned()),
    };
    build_request(
        query,
        operation_name,
        fields.remove("variables"),
        fields.remove("extensions"),
    )
}

fn build_request(
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
) -> Result<RawRequest, String> {
    let variables = match variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(value @ serde_json::Value::Object(_)) => Variables::from_json(value),
        Some(_) => return Err("`variables` must be an object".to_owned()),
    };
    let extensions = match extensions {
        None | Some(serde_json::Value::Null) => None,
        Some(value @ serde_json::Value::Object(_)) => Some(value),
        Some(_) => return Err("`extensions` must be an object".to_owned()),
    };
    Ok(RawRequest {
        query,
        operation_name: operation_name.filter(|name| !name.is_empty()),
        variables,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_needs_a_query_string() {
        assert!(json_request(br#"{"query":"{ site { name } }"}"#).is_ok());
        for bad in [
            &br#"{"variables":{}}"#[..],
            br#"{"query":1}"#,
            br#"not json"#,
            br#"[{"query":"{ me { name } }"}]"#,
            br#""{ me { name } }""#,
        ] {
            assert!(
                json_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn variables_must_be_an_object_or_null() {
        assert!(json_request(br#"{"query":"{a}","variables":null}"#).is_ok());
        let request = json_request(br#"{"query":"{a}","variables":{"n":1}}"#).unwrap();
        assert_eq!(request.variables.len(), 1);
        // A persisted query may leave the document out.
        let persisted = br#"{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}"#;
        assert!(json_request(persisted).unwrap().query.is_none());
        let err = json_request(br#"{"query":"{a}","variables":[1]}"#).unwrap_err();
        assert!(err.contains("variables"));
    }

    #[test]
    fn get_parameters_carry_json_variables() {
        let params = GetParams {
            query: Some("query($n: Int) { authors(first: $n) { totalCount } }".into()),
            variables: Some(r#"{"n": 2}"#.into()),
            operation_name: None,
            extensions: None,
        };
        assert_eq!(params.into_raw().unwrap().variables.len(), 1);
        let params = GetParams {
            query: Some("{a}".into()),
            variables: Some("{nope".into()),
            operation_name: None,
            extensions: None,
        };
        assert!(params.into_raw().unwrap_err().contains("variables"));
    }
}
