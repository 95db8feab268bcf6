//! The event log that live subscriptions replay from.
//!
//! `event_streams` holds one counter row per stream (a live blog, breaking
//! news, articles). A write appends its events by bumping that row in its
//! own transaction: on PostgreSQL the row lock makes writers of one stream
//! queue until commit, so sequence order is commit order; SQLite has a
//! single writer anyway. `events` holds the events themselves, keyed by
//! stream and sequence so that "after sequence N" is a range scan of the
//! primary key. The payload is the event as JSON text, which reads the same
//! on both databases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("event_streams")
                    .col(text("stream").primary_key())
                    .col(big_integer("last_seq"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("events")
                    .col(text("stream"))
                    .col(big_integer("seq"))
                    .col(string("kind"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .primary_key(Index::create().col("stream").col("seq"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["events", "event_streams"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
