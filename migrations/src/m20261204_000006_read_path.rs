//! Indexes for the read path. A section's page lists its newest published
//! articles: with the id at the end of the index, as in every other list's
//! index, the page's order (time, then id) is the index's own, and the page
//! is a short range scan. The index it replaces lacked the id, so the
//! database read and sorted the whole section to find twenty articles.

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
                    .name("idx_articles_section_published")
                    .table("articles")
                    .col("section_id")
                    .col("status")
                    .col("published_at")
                    .col("id")
                    .take(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_articles_section_status_published")
                    .table("articles")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_section_status_published")
                    .table("articles")
                    .col("section_id")
                    .col("status")
                    .col("published_at")
                    .take(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_articles_section_published")
                    .table("articles")
                    .to_owned(),
            )
            .await
    }
}
