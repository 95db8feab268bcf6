//! The one place where errors become GraphQL errors.
//!
//! Resolvers return [`ApiResult`], whose error type wraps [`domain::Error`]
//! and deliberately does *not* implement `Display`: async-graphql converts
//! any `Display` type into an error without a code, so a `?` on a domain
//! result inside a resolver returning `async_graphql::Result` would compile
//! and silently drop the code (and leak internal messages). With
//! [`ApiError`] the only way out is [`From<ApiError> for async_graphql::Error`],
//! which assigns the closed set of `extensions.code` values.
//!
//! Errors async-graphql raises itself (parse, validation, input coercion)
//! carry no code; [`classify_response`] gives them one after execution.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ServerError, Value};

/// The closed list of `extensions.code` values (API.md, "Errors").
pub mod code {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const CURSOR_INVALID: &str = "CURSOR_INVALID";
    /// A subscription fell too far behind the events it follows and was
    /// ended: the subscriber fell behind; resubscribe with the cursor of
    /// the last event you received (`after:`) to get everything since.
    pub const SLOW_CONSUMER: &str = "SLOW_CONSUMER";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// A limit on what one client may hold open was reached (subscriptions
    /// per WebSocket connection).
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL: &str = "INTERNAL";
}

/// What every resolver returns.
pub type ApiResult<T> = Result<T, ApiError>;

/// A domain error on its way to the client. Data loaders share one error
/// between every key of a batch, hence the `Arc`.
#[derive(Debug, Clone)]
pub struct ApiError(Arc<domain::Error>);

impl ApiError {
    pub fn domain(&self) -> &domain::Error {
        &self.0
    }
}

impl From<domain::Error> for ApiError {
    fn from(err: domain::Error) -> Self {
        ApiError(Arc::new(err))
    }
}

impl From<Arc<domain::Error>> for ApiError {
    fn from(err: Arc<domain::Error>) -> Self {
        ApiError(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        to_graphql(err.domain())
    }
}

/// Maps a domain error to the message and `extensions` a client sees.
pub fn to_graphql(err: &domain::Error) -> async_graphql::Error {
    use domain::Error as E;
    let (message, code) = match err {
        E::Invalid { .. } => (err.to_string(), code::BAD_USER_INPUT),
        E::NotFound(_) => (err.to_string(), code::NOT_FOUND),
        E::Conflict(_) => (err.to_string(), code::CONFLICT),
        E::Unauthenticated => (err.to_string(), code::UNAUTHENTICATED),
        E::Forbidden(_) => (err.to_string(), code::FORBIDDEN),
        E::CursorInvalid(_) => (err.to_string(), code::CURSOR_INVALID),
        E::SlowConsumer => (
            "the subscriber fell behind; resubscribe with the cursor of the last event you received"
                .to_owned(),
            code::SLOW_CONSUMER,
        ),
        E::Internal(detail) => {
            // The detail may name tables, hosts or SQL: logs only.
            tracing::error!(error = %detail, "internal error answered to a client");
            ("internal error".to_owned(), code::INTERNAL)
        }
    };
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    match err {
        E::Invalid { field, .. } => extensions.set("field", field.as_str()),
        E::Forbidden(role) => extensions.set("requiredRole", role.to_string()),
        _ => {}
    }
    let mut error = async_graphql::Error::new(message);
    error.extensions = Some(extensions);
    error
}

/// `error` with `code`, for errors the API raises outside resolvers.
pub fn coded(mut error: ServerError, code: &str) -> ServerError {
    set_code(&mut error, code);
    error
}

/// Whether an error already carries an `extensions.code`.
fn has_code(err: &ServerError) -> bool {
    err.extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

fn set_code(err: &mut ServerError, code: &str) {
    err.extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code);
}

/// Whether the operation ran at all. Errors raised before execution (the
/// document did not parse or validate, the operation name is unknown) have
/// no path and leave no data; the GraphQL-over-HTTP spec calls these
/// "request errors" and answers them without a `data` entry.
pub fn executed(response: &async_graphql::Response) -> bool {
    !(response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty()))
}

/// Gives async-graphql's own errors a code from the closed list, so that
/// clients can switch on `extensions.code` for every error they see.
pub fn classify_response(mut response: async_graphql::Response) -> async_graphql::Response {
    let before_execution = !executed(&response);
    for err in response.errors.iter_mut() {
        if !has_code(err) {
            let code = classify(err, before_execution);
            if code == code::INTERNAL {
                tracing::error!(error = %err.message, path = ?err.path, "uncoded GraphQL error");
                err.message = "internal error".to_owned();
            }
            set_code(err, code);
        }
        shorten(&mut err.message);
    }
    response
}

/// The longest error message sent, in bytes. Messages quote what the
/// client sent (an unknown field's name, a value that did not parse); a
/// client that sends megabytes must not get them back, once per error.
pub const MAX_MESSAGE_BYTES: usize = 240;

fn shorten(message: &mut String) {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
}

fn classify(err: &ServerError, before_execution: bool) -> &'static str {
    // Messages of async-graphql 7.2 (`validation/mod.rs`); pinned version.
    if err.message == "Query is too complex." || err.message == "Query is nested too deep." {
        return code::QUERY_TOO_COMPLEX;
    }
    if before_execution {
        // Parse errors, validation errors, bad variables, unknown operation:
        // all things the client sent.
        return code::BAD_USER_INPUT;
    }
    // Input coercion that only fails at execution time (custom scalars such
    // as DateTime, argument defaults): also the client's doing.
    if err.message.starts_with("Failed to parse") || err.message.starts_with("Invalid value for") {
        return code::BAD_USER_INPUT;
    }
    code::INTERNAL
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Error, Role};

    fn code_of(err: Error) -> (String, Option<Value>, Option<Value>) {
        let gql = to_graphql(&err);
        let ext = gql.extensions.expect("extensions are always set");
        (
            gql.message,
            ext.get("code").cloned(),
            ext.get("field").cloned(),
        )
    }

    #[test]
    fn every_domain_error_gets_its_code() {
        let cases = [
            (
                Error::invalid("input.headline", "must not be empty"),
                "BAD_USER_INPUT",
            ),
            (Error::NotFound("article"), "NOT_FOUND"),
            (Error::Conflict("stale".into()), "CONFLICT"),
            (Error::Unauthenticated, "UNAUTHENTICATED"),
            (Error::Forbidden(Role::Admin), "FORBIDDEN"),
            (Error::CursorInvalid("x".into()), "CURSOR_INVALID"),
            (Error::SlowConsumer, "SLOW_CONSUMER"),
            (Error::internal("db down"), "INTERNAL"),
        ];
        for (err, expected) in cases {
            assert_eq!(code_of(err).1, Some(Value::from(expected)));
        }
    }

    #[test]
    fn invalid_input_names_its_field() {
        let (message, _, field) = code_of(Error::invalid("input.headline", "must not be empty"));
        assert_eq!(field, Some(Value::from("input.headline")));
        assert_eq!(message, "input.headline: must not be empty");
    }

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let (message, _, _) = code_of(Error::internal("connection to 10.0.0.5 refused"));
        assert_eq!(message, "internal error");
    }

    #[test]
    fn an_api_error_converts_with_its_code() {
        let err: ApiError = Error::NotFound("tag").into();
        let gql: async_graphql::Error = err.into();
        assert_eq!(
            gql.extensions.and_then(|e| e.get("code").cloned()),
            Some(Value::from("NOT_FOUND"))
        );
    }

    #[test]
    fn request_errors_become_bad_user_input_and_complexity_its_own_code() {
        let response = async_graphql::Response::from_errors(vec![
            ServerError::new("Unknown field \"nope\"", None),
            ServerError::new("Query is nested too deep.", None),
        ]);
        assert!(!executed(&response));
        let response = classify_response(response);
        let codes: Vec<_> = response
            .errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect();
        assert_eq!(
            codes,
            [
                Some(Value::from("BAD_USER_INPUT")),
                Some(Value::from("QUERY_TOO_COMPLEX"))
            ]
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let mut response = async_graphql::Response::from_errors(vec![ServerError::new(
            format!("Unknown field \"{}\"", "é".repeat(500)),
            None,
        )]);
        response = classify_response(response);
        let message = &response.errors[0].message;
        assert!(message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
        assert!(message.ends_with('…'));
    }

    #[test]
    fn uncoded_execution_errors_are_internal_and_generic() {
        let mut err = ServerError::new("Data `X` does not exist.", None);
        err.path = vec![async_graphql::PathSegment::Field("me".into())];
        let mut response = async_graphql::Response::new(
            Value::from_json(serde_json::json!({ "me": null })).unwrap(),
        );
        response.errors.push(err);
        let response = classify_response(response);
        assert_eq!(response.errors[0].message, "internal error");
    }
}
