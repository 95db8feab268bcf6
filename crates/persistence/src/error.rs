//! Translating database errors into the domain's closed set. Constraint
//! violations are recognised by their code (`DbErr::sql_err`), never by
//! message text, which differs between databases, versions and locales.
//! Everything unexpected is logged here, once, and leaves as
//! `Error::Internal`, so no SQL reaches a client.

use domain::Error;
use sea_orm::{DbErr, SqlErr};

/// Any database error the caller gives no specific meaning.
pub(crate) fn internal(err: DbErr) -> Error {
    tracing::error!(error = %err, "database error");
    Error::internal(err)
}

/// `?` for database calls without a constraint to interpret.
pub(crate) trait DbResultExt<T> {
    fn db(self) -> domain::Result<T>;
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn db(self) -> domain::Result<T> {
        self.map_err(internal)
    }
}

/// A broken constraint. Only the statement knows which constraint it can be
/// (SQLite does not name the foreign key that failed), so each write maps
/// these to what they mean for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
}

pub(crate) fn violation(err: &DbErr) -> Option<Violation> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Some(Violation::Unique),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => Some(Violation::ForeignKey),
        _ => None,
    }
}

/// For writes whose only expected violation is a taken unique key.
pub(crate) fn conflict_on_unique(err: DbErr, conflict: impl FnOnce() -> Error) -> Error {
    match violation(&err) {
        Some(Violation::Unique) => conflict(),
        _ => internal(err),
    }
}

pub(crate) fn taken(what: &str, slug: &str) -> Error {
    Error::Conflict(format!("{what} slug `{slug}` is taken"))
}

/// Rows hold what the domain validated on the way in; one that no longer
/// parses was changed behind the service's back.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> Error {
    tracing::error!(%detail, "stored {what} does not parse");
    Error::internal(format!("stored {what} does not parse: {detail}"))
}
