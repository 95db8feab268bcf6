//! The event bus: carries news of committed events to every subscriber on
//! every node, behind the domain's [`EventBus`](domain::ports::EventBus).
//!
//! - [`hub`]: the in-process fan-out, one bounded `broadcast` channel per
//!   stream somebody on this node watches, which also carries resyncs.
//! - [`LocalBus`]: the embedded default; publishing goes straight to the hub.
//! - [`RedisBus`]: for several nodes; one Redis pattern subscription per
//!   node feeds the hub, publishing goes through Redis, and a lost
//!   connection is re-established with back-off and followed by a resync.
//!
//! The bus is best effort by design. The event log is the truth: the domain's
//! delivery (`domain::delivery`) dedupes by sequence, fills gaps from the log
//! and re-reads it on `Resync`. So nothing here retries forever or returns a
//! publish error; it reports trouble (logs, `is_connected`) and keeps going.
//!
//! Choose the bus once at start-up, from configuration:
//!
//! ```no_run
//! # async fn build(redis_url: Option<&str>) -> Result<(), events::BusError> {
//! use std::sync::Arc;
//! use domain::ports::EventBus;
//!
//! let bus: Arc<dyn EventBus> = match redis_url {
//!     Some(url) => Arc::new(events::RedisBus::connect(url, "politmaster").await?),
//!     None => Arc::new(events::LocalBus::new()),
//! };
//! # Ok(()) }
//! ```
//!
//! This crate depends on the domain only. It must not depend on persistence,
//! api, sea-orm or async-graphql (checked in CI with `cargo tree -i`).

pub mod hub;
mod local;
mod redis;

pub use self::redis::{BusError, RedisBus, RedisBusConfig};
pub use hub::{Hub, STREAM_BUFFER};
pub use local::LocalBus;
