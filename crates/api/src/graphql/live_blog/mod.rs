//! Live blogs and their entries: the type, the root fields that read them,
//! and the desk's writes. Subscriptions will join as `subscription.rs`.

pub mod mutation;
pub mod query;
pub mod types;
