//! The newsroom's language: sections, articles, authors, tags, live blogs and
//! breaking news; the rules that make a write valid; the ports through which
//! storage is reached; and the [`Newsroom`] service that applies the rules.
//!
//! This crate does no I/O and knows no database, GraphQL, HTTP or Redis.
//! Everything outside depends on it; it depends on nothing of theirs.

pub mod auth;
pub mod catalog;
pub mod clock;
pub mod content;
pub mod delivery;
pub mod error;
pub mod events;
pub mod html;
pub mod ids;
pub mod inputs;
pub mod live;
pub mod newsroom;
pub mod page;
pub mod ports;
pub mod syndication;
pub mod text;

pub use auth::{Caller, Principal, Role, Visibility};
pub use error::{Error, Result};
pub use newsroom::Newsroom;
