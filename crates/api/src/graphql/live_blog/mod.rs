//! Live blogs and their entries: the type, the root fields that read them,
//! the desk's writes, and the subscription that follows one live.

pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;
