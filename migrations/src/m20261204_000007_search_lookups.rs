//! An index that answers, for an article id, everything a search needs to
//! rank and filter a match (status, publication and creation time) without
//! reading the article's row. A search for a topic matches hundreds of
//! articles, and their rows, bodies inline, are large and scattered: on
//! SQLite each lookup read a page of the row for three small columns. With
//! the index covering them, the lookups stay in one small index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_id_visibility")
                    .table("articles")
                    .col("id")
                    .col("status")
                    .col("published_at")
                    .col("created_at")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_articles_id_visibility")
                    .table("articles")
                    .to_owned(),
            )
            .await
    }
}
