//! End-to-end tests: the real server on a random port, spoken to over real
//! HTTP, each test on a fresh SQLite file and on its own PostgreSQL database.

mod smoke;
