//! Full-text search over headline, standfirst and body text. The one step
//! that differs by database: PostgreSQL gets a generated, weighted `tsvector`
//! column with a GIN index; SQLite gets an FTS5 table that triggers keep in
//! sync, inside the same transaction as every write to `articles`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(headline, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(standfirst, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(body_text, '')), 'C')
    ) STORED",
    "CREATE INDEX idx_articles_search ON articles USING GIN (search)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_articles_search",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search",
];

// FTS5 rows are found by rowid; `article_search_keys` gives every article a
// stable integer key for that, so the triggers update one row instead of
// scanning the index for an `article_id` (UNINDEXED columns cannot be
// searched efficiently). The articles table's own rowid is not usable: it is
// not an INTEGER PRIMARY KEY, so VACUUM may renumber it.
// The porter stemmer makes "votes" find "vote", as the english configuration
// does on PostgreSQL.
const SQLITE_UP: &[&str] = &[
    "CREATE TABLE article_search_keys (
        key INTEGER PRIMARY KEY,
        article_id uuid_text NOT NULL UNIQUE
    )",
    "CREATE VIRTUAL TABLE article_search USING fts5(
        article_id UNINDEXED,
        headline,
        standfirst,
        body_text,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )",
    "CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_keys (article_id) VALUES (new.id);
        INSERT INTO article_search (rowid, article_id, headline, standfirst, body_text)
        VALUES (
            (SELECT key FROM article_search_keys WHERE article_id = new.id),
            new.id, new.headline, new.standfirst, new.body_text
        );
    END",
    "CREATE TRIGGER articles_search_update AFTER UPDATE OF headline, standfirst, body_text ON articles BEGIN
        UPDATE article_search
        SET headline = new.headline, standfirst = new.standfirst, body_text = new.body_text
        WHERE rowid = (SELECT key FROM article_search_keys WHERE article_id = old.id);
    END",
    "CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
        DELETE FROM article_search
        WHERE rowid = (SELECT key FROM article_search_keys WHERE article_id = old.id);
        DELETE FROM article_search_keys WHERE article_id = old.id;
    END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS articles_search_delete",
    "DROP TRIGGER IF EXISTS articles_search_update",
    "DROP TRIGGER IF EXISTS articles_search_insert",
    "DROP TABLE IF EXISTS article_search",
    "DROP TABLE IF EXISTS article_search_keys",
];

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

fn unsupported(backend: DbBackend) -> DbErr {
    DbErr::Migration(format!(
        "full-text search is implemented for PostgreSQL and SQLite, not {backend:?}"
    ))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, POSTGRES_UP).await,
            DbBackend::Sqlite => run(manager, SQLITE_UP).await,
            other => Err(unsupported(other)),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, POSTGRES_DOWN).await,
            DbBackend::Sqlite => run(manager, SQLITE_DOWN).await,
            other => Err(unsupported(other)),
        }
    }
}
