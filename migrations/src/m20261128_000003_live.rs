//! Live blogs, their entries, and breaking-news alerts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    from: &'static str,
    column: &'static str,
    to: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{column}"))
        .from(from, column)
        .to(to, "id")
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .take()
}

fn index(
    table: &'static str,
    name: &'static str,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("live_blogs")
                    .col(pk_uuid("id"))
                    .col(string_uniq("slug"))
                    .col(text("title"))
                    .col(text("summary"))
                    .col(uuid("section_id"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(
                        "live_blogs",
                        "section_id",
                        "sections",
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("live_entries")
                    .col(pk_uuid("id"))
                    .col(uuid("live_blog_id"))
                    .col(text("body_html"))
                    .col(text("body_text"))
                    .col(uuid_null("author_id"))
                    .col(boolean("key_event"))
                    .col(boolean("pinned"))
                    .col(text("media"))
                    .col(timestamp_with_time_zone("posted_at"))
                    .col(timestamp_with_time_zone_null("edited_at"))
                    .foreign_key(&mut fk(
                        "live_entries",
                        "live_blog_id",
                        "live_blogs",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "live_entries",
                        "author_id",
                        "authors",
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("breaking_news")
                    .col(pk_uuid("id"))
                    .col(text("headline"))
                    .col(uuid_null("article_id"))
                    .col(text_null("url"))
                    .col(string("priority"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("retracted_at"))
                    .foreign_key(&mut fk(
                        "breaking_news",
                        "article_id",
                        "articles",
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;

        for statement in [
            index(
                "live_entries",
                "idx_live_entries_blog_posted",
                &["live_blog_id", "posted_at", "id"],
            ),
            index(
                "live_entries",
                "idx_live_entries_blog_pinned",
                &["live_blog_id", "pinned"],
            ),
            index(
                "breaking_news",
                "idx_breaking_news_active",
                &["retracted_at", "issued_at"],
            ),
            index(
                "live_blogs",
                "idx_live_blogs_status_created",
                &["status", "created_at", "id"],
            ),
            // The unfiltered list of live blogs, newest first.
            index(
                "live_blogs",
                "idx_live_blogs_created",
                &["created_at", "id"],
            ),
        ] {
            manager.create_index(statement).await?;
        }

        // At most one pinned entry per blog, whatever races the writers run.
        // A partial index: PostgreSQL and SQLite (>= 3.8) both have them.
        manager
            .create_index(
                Index::create()
                    .name("uq_live_entries_one_pinned")
                    .table("live_entries")
                    .col("live_blog_id")
                    .unique()
                    .and_where(Expr::col("pinned").eq(true))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["breaking_news", "live_entries", "live_blogs"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
