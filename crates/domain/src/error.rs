//! The closed set of things that can go wrong in the newsroom, independent of
//! how they are reported. The API layer maps each variant to one
//! `extensions.code`; nothing else crosses that edge.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// An input broke a rule. `field` names the input path the client sent.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write lost a race or contradicts the current state (stale version,
    /// taken slug, posting to an ended live blog).
    #[error("{0}")]
    Conflict(String),
    #[error("a valid token is required")]
    Unauthenticated,
    #[error("this needs the {0} role")]
    Forbidden(Role),
    #[error("{0}")]
    CursorInvalid(String),
    /// A subscriber fell too far behind to be kept up; it may resume from
    /// the cursor of the last event it received.
    #[error("the subscriber fell too far behind and was closed; resume from your last cursor")]
    SlowConsumer,
    /// Anything the client cannot fix. The message is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }

    pub fn internal(source: impl fmt::Display) -> Self {
        Error::Internal(source.to_string())
    }

    /// Re-labels a validation error with the path of the input it came from,
    /// so `ArticleInput.headline` errors read `input.headline`.
    pub fn at(self, prefix: &str) -> Self {
        match self {
            Error::Invalid { field, message } if field.is_empty() => Error::Invalid {
                field: prefix.to_owned(),
                message,
            },
            Error::Invalid { field, message } => Error::Invalid {
                field: format!("{prefix}.{field}"),
                message,
            },
            other => other,
        }
    }
}

use crate::auth::Role;
