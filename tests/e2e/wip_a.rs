//! Work in progress: suites being written; merged into main.rs when done.
