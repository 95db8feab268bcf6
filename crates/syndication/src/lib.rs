//! Feeds in. Reads other publishers' RSS and Atom feeds from files and
//! URLs ([`fetch`], [`parse`]) and hands their items to the newsroom, which
//! makes each a syndicated article or says why not ([`import`]). `serve`
//! reads the configured feeds ([`config`]) on an interval, on one node at a
//! time ([`poll`]).
//!
//! An adapter like persistence and the event bus: it depends on the domain,
//! and the domain knows nothing of feeds' formats or of HTTP.

pub mod config;
pub mod fetch;
pub mod import;
pub mod parse;
pub mod poll;

pub use config::FeedsConfig;
pub use fetch::Fetcher;
pub use import::{FeedReport, Importer, ItemOutcome};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("feeds configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Newsroom(#[from] domain::Error),
}
