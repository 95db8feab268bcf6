//! The contract of `persistence::Database`: what the domain's ports promise,
//! checked against SQLite always and PostgreSQL when it is reachable
//! (`POLITMASTER_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`;
//! with `POLITMASTER_REQUIRE_SERVICES=1` an unreachable server fails the run
//! instead of skipping). Every test gets a database of its own.

#[macro_use]
mod harness;
mod fixtures;

mod articles;
mod concurrency;
mod events;
mod lists;
mod live;
mod misc;
mod names;
mod search;
