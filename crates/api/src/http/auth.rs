//! Who is calling: `Authorization: Bearer <token>` resolved by the
//! newsroom. No header means an anonymous reader; a header that is
//! malformed, unknown or revoked is an error rather than anonymity, so a
//! desk tool with a bad token hears so instead of silently seeing only
//! published content.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use domain::{Caller, Newsroom};

/// The token in an `Authorization` header value, if it is a bearer token.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub async fn caller_from_headers(
    newsroom: &Newsroom,
    headers: &HeaderMap,
) -> domain::Result<Caller> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(Caller::anonymous());
    };
    let token = value
        .to_str()
        .ok()
        .and_then(bearer)
        .ok_or(domain::Error::Unauthenticated)?;
    newsroom.caller_for_token(token).await
}

/// The token a WebSocket client sent in its `connection_init` payload, in
/// the shapes common clients use: `{"Authorization": "Bearer …"}`, the same
/// under `headers`, or `{"authToken": "…"}`.
pub fn token_from_init_payload(payload: &serde_json::Value) -> InitToken<'_> {
    fn header(v: &serde_json::Value) -> Option<&str> {
        v.get("Authorization")
            .or_else(|| v.get("authorization"))
            .and_then(serde_json::Value::as_str)
    }
    if let Some(value) = header(payload).or_else(|| payload.get("headers").and_then(header)) {
        return bearer(value).map_or(InitToken::Malformed, InitToken::Token);
    }
    match payload.get("authToken").and_then(serde_json::Value::as_str) {
        Some(token) => InitToken::Token(token),
        None => InitToken::Absent,
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum InitToken<'a> {
    /// No credentials: keep the caller of the upgrade request.
    Absent,
    Token(&'a str),
    /// An `Authorization` value that is not a bearer token.
    Malformed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        assert_eq!(bearer("Bearer pm_abc"), Some("pm_abc"));
        assert_eq!(bearer("bearer   pm_abc "), Some("pm_abc"));
        assert_eq!(bearer("Basic dXNlcjpwdw=="), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("pm_abc"), None);
    }

    #[test]
    fn init_payload_tokens_come_in_three_shapes() {
        for payload in [
            json!({ "Authorization": "Bearer t" }),
            json!({ "headers": { "authorization": "Bearer t" } }),
            json!({ "authToken": "t" }),
        ] {
            assert_eq!(
                token_from_init_payload(&payload),
                InitToken::Token("t"),
                "{payload}"
            );
        }
        assert_eq!(token_from_init_payload(&json!({})), InitToken::Absent);
        assert_eq!(
            token_from_init_payload(&json!({ "Authorization": "Basic x" })),
            InitToken::Malformed
        );
    }
}
