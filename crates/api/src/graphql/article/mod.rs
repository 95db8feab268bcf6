//! Articles: the type, its inputs, and the root fields that read and write
//! them.

pub mod inputs;
pub mod mutation;
pub mod query;
pub mod types;
