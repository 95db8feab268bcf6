//! API tokens of the desk. Only SHA-256 hashes of the secrets are stored; the
//! hash is also the lookup key, hence unique.

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
                    .table("api_tokens")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    .col(string("role"))
                    .col(string_uniq("hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .take(),
            )
            .await?;
        // `token revoke --name` finds a holder's tokens by name.
        manager
            .create_index(
                Index::create()
                    .name("idx_api_tokens_name")
                    .table("api_tokens")
                    .col("name")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("api_tokens").take())
            .await
    }
}
