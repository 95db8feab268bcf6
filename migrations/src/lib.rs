//! The database schema, as an ordered list of migration steps that run on
//! SQLite and PostgreSQL alike (sea-orm-migration's schema builder; raw SQL
//! only where full-text search differs between the two).
//!
//! Rules (see `README.md`): a step that has been applied anywhere is never
//! edited, only followed by a new one; steps import no entities, so that
//! changing an entity can never rewrite history; every step is self-contained
//! and does not share helpers with other steps for the same reason.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

mod m20261128_000001_content;
mod m20261128_000002_search;
mod m20261128_000003_live;
mod m20261128_000004_tokens;
mod m20261128_000005_events;
mod m20261204_000006_read_path;
mod m20261204_000007_search_lookups;
mod m20261204_000008_token_expiry;
mod m20261204_000009_syndication;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_content::Migration),
            Box::new(m20261128_000002_search::Migration),
            Box::new(m20261128_000003_live::Migration),
            Box::new(m20261128_000004_tokens::Migration),
            Box::new(m20261128_000005_events::Migration),
            Box::new(m20261204_000006_read_path::Migration),
            Box::new(m20261204_000007_search_lookups::Migration),
            Box::new(m20261204_000008_token_expiry::Migration),
            Box::new(m20261204_000009_syndication::Migration),
        ]
    }
}
