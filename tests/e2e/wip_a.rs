//! Work in progress: suites being written; merged into main.rs when done.

mod article_support;
mod articles;
mod atomicity;
mod auth;
mod filters;
mod listing;
mod publishing;
mod search;
mod validation;
