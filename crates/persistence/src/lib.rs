//! Storage for the newsroom: sea-orm repositories on SQLite and PostgreSQL
//! that implement the domain's ports ([`domain::ports`]).
//!
//! This crate owns the mapping between tables and domain types, the SQL of
//! every list (keyset pagination, filters, full-text search) and the
//! translation of database errors into [`domain::Error`]. Its sea-orm entities
//! are private: nothing outside sees a row, only domain values.
//!
//! Rules of the crate:
//! - It depends on `domain` and `migration`, never on `api`, `events`, axum,
//!   async-graphql or redis: storage knows nothing of how it is served.
//! - Every write method is one transaction; unique-key clashes are
//!   [`domain::Error::Conflict`], recognised by error code, not message.
//! - Writes that readers subscribe to append their events to the log
//!   (`events`) in that same transaction: a failed write appends nothing.
//! - A page of a list costs a constant number of statements, whatever its
//!   size (links are fetched for the whole page at once).
//! - The same code runs on both databases; where they differ (full-text
//!   search, row locks) the branch is on the backend, in one place.

pub(crate) mod articles;
mod authors;
mod breaking;
mod columns;
mod db;
mod entity;
mod error;
mod events;
mod keyset;
mod live_blogs;
mod live_entries;
mod search;
mod sections;
mod syndication;
mod tags;
mod tokens;

pub use db::Database;
