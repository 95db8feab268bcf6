//! Turning GraphQL responses and request-level failures into HTTP
//! responses. Every body this endpoint sends is GraphQL-shaped
//! (`{"errors":[{"message","extensions":{"code"}}]}` at the least), so a
//! client has one format to read whatever went wrong.

use std::time::Duration;

use async_graphql::ServerError;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderValue, RETRY_AFTER, VARY};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::graphql::cache::Cached;
use crate::graphql::errors::{self, code};
use crate::http::limits::{LimitsConfig, Refusal, Refused};
use crate::http::negotiate::MediaType;

/// The largest response body sent. The complexity limit bounds how many
/// rows a query reads; this bounds what those rows add up to (a hundred
/// articles with their bodies is about 1.5 MB).
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// The spec's status code for an executed or refused GraphQL response.
pub fn status_for(media: MediaType, executed: bool) -> StatusCode {
    match (media, executed) {
        // application/json: a well-formed request is always 200.
        (MediaType::Json, _) => StatusCode::OK,
        (MediaType::GraphqlResponseJson, true) => StatusCode::OK,
        // The document did not parse or validate: nothing ran.
        (MediaType::GraphqlResponseJson, false) => StatusCode::BAD_REQUEST,
    }
}

/// Answers an executed (or refused by the executor) GraphQL request.
pub fn graphql(media: MediaType, response: async_graphql::Response) -> Response {
    let executed = errors::executed(&response);
    let status = status_for(media, executed);
    let extra_headers = response.http_headers.clone();
    // Request errors carry no `data` entry at all (spec: "the response
    // MUST NOT contain data"); async-graphql would print `"data": null`.
    let body = if executed {
        serde_json::to_vec(&response)
    } else {
        serde_json::to_vec(&ErrorsOnly {
            errors: &response.errors,
        })
    };
    if let Ok(bytes) = &body
        && bytes.len() > MAX_RESPONSE_BYTES
    {
        return request_error(
            StatusCode::OK,
            media,
            code::QUERY_TOO_COMPLEX,
            format!(
                "the response would be larger than {} MiB: ask for fewer or smaller pages",
                MAX_RESPONSE_BYTES >> 20
            ),
        );
    }
    let mut reply = json(status, media, body);
    reply.headers_mut().extend(extra_headers);
    reply
}

/// Answers a request refused before its document was known (a persisted
/// query this node does not know, a hash that does not match).
pub fn refused_request(media: MediaType, error: ServerError) -> Response {
    let status = status_for(media, false);
    errors_response(status, media, vec![error])
}

/// Marks a response as for its caller alone: no cache may keep it.
pub fn private(reply: &mut Response) {
    reply
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

/// What the request says about caching, for [`cached`].
pub struct HttpCaching<'a> {
    pub method: &'a Method,
    pub if_none_match: Option<&'a HeaderValue>,
    /// How long HTTP caches may keep an anonymous `GET` response.
    pub max_age: Duration,
}

/// Answers from a response fit for every reader (anonymous, complete).
/// To a `GET` it adds what HTTP caches need: `Cache-Control: public`, a
/// strong `ETag` (the same bytes give the same tag on every node), and
/// `304 Not Modified` when the client already holds those bytes. It varies
/// by `Accept` (the content type) and `Authorization` (a token holder may
/// see drafts).
pub fn cached(media: MediaType, cached: &Cached, http: &HttpCaching<'_>) -> Response {
    cached_as(media.content_type(), cached, http)
}

/// [`cached`], for a body of any content type (feeds, sitemaps).
pub fn cached_as(content_type: &'static str, cached: &Cached, http: &HttpCaching<'_>) -> Response {
    let get = *http.method == Method::GET;
    let mut headers = HeaderMap::new();
    headers.insert(VARY, HeaderValue::from_static("Accept, Authorization"));
    if get {
        if let Ok(etag) = HeaderValue::from_str(&cached.etag) {
            headers.insert(ETAG, etag);
        }
        let cache_control = format!("public, max-age={}", http.max_age.as_secs());
        if let Ok(value) = HeaderValue::from_str(&cache_control) {
            headers.insert(CACHE_CONTROL, value);
        }
        if http
            .if_none_match
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| matches_etag(tags, &cached.etag))
        {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, cached.body.clone()).into_response()
}

/// `If-None-Match`: a list of entity tags, or `*`. The weak comparison of
/// RFC 9110 applies to it: `W/"x"` matches `"x"`.
fn matches_etag(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// Answers a request that never reached the executor: bad HTTP, a bad
/// token, a mutation over GET.
pub fn request_error(
    status: StatusCode,
    media: MediaType,
    code: &str,
    message: impl Into<String>,
) -> Response {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    errors_response(status, media, vec![error])
}

/// Answers a request a limit refused: `429 Too Many Requests` (`503` when
/// the node is full), with `Retry-After` in whole seconds, rounded up.
pub fn rate_limited(media: MediaType, refused: &Refused, config: &LimitsConfig) -> Response {
    let status = match refused.why {
        Refusal::WebSocketsPerNode => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::TOO_MANY_REQUESTS,
    };
    let mut reply = request_error(
        status,
        media,
        code::RATE_LIMITED,
        refused.why.message(config),
    );
    let seconds = refused.retry_after.as_secs() + u64::from(refused.retry_after.subsec_nanos() > 0);
    reply
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    reply
}

/// Answers a domain error raised outside the executor (resolving a bearer
/// token), with the same message and code a resolver would give.
pub fn domain_error(media: MediaType, err: &domain::Error) -> Response {
    let status = match err {
        domain::Error::Unauthenticated => StatusCode::UNAUTHORIZED,
        domain::Error::Forbidden(_) => StatusCode::FORBIDDEN,
        domain::Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let gql = errors::to_graphql(err);
    let mut error = ServerError::new(gql.message, None);
    error.extensions = gql.extensions;
    let mut reply = errors_response(status, media, vec![error]);
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750: tell the client which scheme to use.
        reply.headers_mut().insert(
            HeaderName::from_static("www-authenticate"),
            HeaderValue::from_static("Bearer"),
        );
    }
    reply
}

pub fn bad_request(media: MediaType, message: impl Into<String>) -> Response {
    request_error(
        StatusCode::BAD_REQUEST,
        media,
        code::BAD_USER_INPUT,
        message,
    )
}

fn errors_response(status: StatusCode, media: MediaType, errors: Vec<ServerError>) -> Response {
    json(
        status,
        media,
        serde_json::to_vec(&ErrorsOnly { errors: &errors }),
    )
}

#[derive(Serialize)]
struct ErrorsOnly<'a> {
    errors: &'a [ServerError],
}

fn json(status: StatusCode, media: MediaType, body: serde_json::Result<Vec<u8>>) -> Response {
    match body {
        Ok(body) => {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
            (status, headers, body).into_response()
        }
        Err(err) => {
            // Only a non-string map key could cause this; there is none.
            tracing::error!(error = %err, "could not serialise a GraphQL response");
            let body =
                r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#;
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, media.content_type())],
                body,
            )
                .into_response()
        }
    }
}

/// A one-error GraphQL response, for errors found before execution that
/// should still follow the executed-response status rules.
pub fn refused(message: &str) -> async_graphql::Response {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code::BAD_USER_INPUT);
    async_graphql::Response::from_errors(vec![error])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        assert!(matches_etag("\"a\"", "\"a\""));
        assert!(matches_etag("\"b\", W/\"a\"", "\"a\""));
        assert!(matches_etag("*", "\"a\""));
        assert!(!matches_etag("\"b\"", "\"a\""));
    }

    #[test]
    fn request_errors_are_400_only_for_the_spec_media_type() {
        assert_eq!(
            status_for(MediaType::GraphqlResponseJson, false),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status_for(MediaType::Json, false), StatusCode::OK);
        assert_eq!(
            status_for(MediaType::GraphqlResponseJson, true),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_request_error_has_no_data_entry() {
        let reply = graphql(MediaType::GraphqlResponseJson, refused("no"));
        assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            reply.headers()[CONTENT_TYPE],
            "application/graphql-response+json; charset=utf-8"
        );
        let body = axum::body::to_bytes(reply.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json.get("data").is_none());
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    #[tokio::test]
    async fn an_unknown_token_is_401_with_a_challenge() {
        let reply = domain_error(MediaType::Json, &domain::Error::Unauthenticated);
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(reply.headers()["www-authenticate"], "Bearer");
    }
}
