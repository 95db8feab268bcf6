//! The event bus that carries live updates between nodes: an in-process hub
//! for the embedded default and Redis pub/sub for scale-out, both behind the
//! domain's bus trait. Live delivery is built here in the next milestone; the
//! crate exists now so that the dependency rules are checked from day one.
//!
//! Must not depend on persistence, api, sea-orm or async-graphql.
