//! Articles: the type, its inputs, the root fields that read and write
//! them, and the subscriptions that follow their publication and changes.

pub mod inputs;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;
