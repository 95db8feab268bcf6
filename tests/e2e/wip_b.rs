//! Work in progress: suites being written; merged into main.rs when done.

mod authors;
mod breaking;
mod demo;
mod http;
mod live_blogs;
mod live_entries;
mod live_paging;
mod live_pins;
mod operations;
mod site;
mod tags;
