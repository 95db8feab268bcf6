//! The `politmaster` binary's library half: settings, the command line, seed
//! data and the wiring that turns a database URL into a running server. The
//! only crate that knows every other one.

pub mod cli;
pub mod feeds;
pub mod seed;
pub mod settings;
pub mod startup;

pub use api::{
    DEFAULT_CACHE_MAX_AGE, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RESPONSE_CACHE_BYTES, HttpConfig,
    LimitsConfig, Rate, WebSocketConfig,
};
pub use settings::Settings;
pub use startup::Application;
