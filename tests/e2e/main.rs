//! End-to-end tests: the real server on a random port, spoken to over real
//! HTTP, each test on a fresh SQLite file and on its own PostgreSQL database
//! (see `support/lib.rs` and its `both_backends!`).

// The milestone's promise in one test.
mod smoke;

// Articles: writing, publishing, reading, finding.
mod article_support;
mod articles;
mod atomicity;
mod auth;
mod feeds;
mod filters;
mod listing;
mod publishing;
mod readme;
mod search;
mod validation;

// Live delivery: subscriptions, resuming, nodes, faults.
mod delivery;
mod delivery_nodes;
mod delivery_support;

// Everything around them.
mod authors;
mod breaking;
mod browser;
mod demo;
mod embed;
mod feeds_in;
mod hostile;
mod http;
mod limits;
mod live_blogs;
mod live_entries;
mod live_paging;
mod live_pins;
mod operations;
mod responses;
mod revocation;
mod site;
mod sse;
mod structured_data;
mod tags;
mod under_attack;
