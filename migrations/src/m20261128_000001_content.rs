//! Sections, authors, tags and articles with their byline and tag links.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A foreign key from `from.column` to `to.id`.
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
                    .table("sections")
                    .col(pk_uuid("id"))
                    .col(string_uniq("slug"))
                    .col(string("name"))
                    .col(text("description"))
                    .col(integer("position"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("authors")
                    .col(pk_uuid("id"))
                    .col(string_uniq("slug"))
                    .col(string("name"))
                    .col(string("title"))
                    .col(text("bio"))
                    .col(text_null("avatar_url"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("tags")
                    .col(pk_uuid("id"))
                    .col(string_uniq("slug"))
                    .col(string("name"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("articles")
                    .col(pk_uuid("id"))
                    .col(string_uniq("slug"))
                    .col(text("headline"))
                    .col(text("standfirst"))
                    .col(text("body_html"))
                    .col(text("body_text"))
                    .col(integer("word_count"))
                    .col(string("kind"))
                    .col(string("status"))
                    .col(uuid("section_id"))
                    .col(boolean("breaking"))
                    // Media as JSON text rather than a JSON type: the same on
                    // both databases, and nothing queries inside it.
                    .col(text_null("hero"))
                    .col(text("media"))
                    .col(text_null("source_name"))
                    .col(text_null("source_url"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(timestamp_with_time_zone_null("scheduled_at"))
                    .col(integer("version"))
                    .foreign_key(&mut fk(
                        "articles",
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
                    .table("article_authors")
                    .col(uuid("article_id"))
                    .col(uuid("author_id"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("article_id").col("author_id"))
                    .foreign_key(&mut fk(
                        "article_authors",
                        "article_id",
                        "articles",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "article_authors",
                        "author_id",
                        "authors",
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("article_tags")
                    .col(uuid("article_id"))
                    .col(uuid("tag_id"))
                    // The editor's order: the first tag is the main topic.
                    .col(integer("position"))
                    .primary_key(Index::create().col("article_id").col("tag_id"))
                    .foreign_key(&mut fk(
                        "article_tags",
                        "article_id",
                        "articles",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "article_tags",
                        "tag_id",
                        "tags",
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;

        // One index per list the API serves; the id at the end of each is the
        // keyset tie-breaker, so a page is a range scan, not a sort.
        for statement in [
            index(
                "articles",
                "idx_articles_status_published",
                &["status", "published_at", "id"],
            ),
            index(
                "articles",
                "idx_articles_section_status_published",
                &["section_id", "status", "published_at"],
            ),
            index("articles", "idx_articles_updated", &["updated_at", "id"]),
            index("articles", "idx_articles_created", &["created_at", "id"]),
            // Scheduled publishing looks for due items by time.
            index(
                "articles",
                "idx_articles_status_scheduled",
                &["status", "scheduled_at"],
            ),
            index(
                "article_tags",
                "idx_article_tags_tag",
                &["tag_id", "article_id"],
            ),
            index(
                "article_authors",
                "idx_article_authors_author",
                &["author_id", "article_id"],
            ),
            index("tags", "idx_tags_name", &["name", "id"]),
            index("authors", "idx_authors_name", &["name", "id"]),
        ] {
            manager.create_index(statement).await?;
        }
        // The desk's "published" order, where never-published items sort by
        // creation time. Raw SQL because sea-query cannot write expression
        // indexes for SQLite; this one statement is valid on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_articles_published_or_created \
                 ON articles ((COALESCE(published_at, created_at)), id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "article_tags",
            "article_authors",
            "articles",
            "tags",
            "authors",
            "sections",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
