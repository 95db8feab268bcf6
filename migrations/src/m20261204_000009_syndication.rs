//! Syndication: which feed items became articles, so that importing a feed
//! again (or from another node) creates nothing twice; and leases, so that
//! of several nodes exactly one polls the feeds.

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
                    .table("syndicated_items")
                    .col(pk_uuid("id"))
                    // A GUID is unique within its publisher's feeds, a link
                    // anywhere; NULL GUIDs do not collide with each other.
                    .col(text("guid_scope"))
                    .col(text_null("guid"))
                    .col(text_uniq("link"))
                    // The record outlives its article: a syndicated story an
                    // editor deleted must not come back with the next poll.
                    .col(uuid_null("article_id"))
                    .col(timestamp_with_time_zone("imported_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_syndicated_items_article_id")
                            .from("syndicated_items", "article_id")
                            .to("articles", "id")
                            .on_delete(ForeignKeyAction::SetNull)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_syndicated_items_guid")
                    .table("syndicated_items")
                    .col("guid_scope")
                    .col("guid")
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("leases")
                    .col(string("name").primary_key())
                    .col(string("holder"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("leases").take())
            .await?;
        manager
            .drop_table(Table::drop().table("syndicated_items").take())
            .await
    }
}
