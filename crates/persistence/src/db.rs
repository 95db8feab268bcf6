//! The connection: opening it with settings that suit each database,
//! migrating, counting statements, and the write transaction every write
//! method runs in.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::{Error, Result};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgSslMode;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::error::DbResultExt;

/// The newsroom's store on one database. Cheap to clone: clones share the
/// connection pool and the statement counter.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("statements", &self.statements.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Key of the PostgreSQL advisory lock that serialises migrations when
/// several nodes start at once ("politmst" in ASCII).
const MIGRATION_LOCK: i64 = 0x706f_6c69_746d_7374;

impl Database {
    /// Opens `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://…`.
    /// Statement logging is off: statements are counted instead, and errors
    /// are logged where they are interpreted.
    pub async fn connect(url: &str) -> Result<Database> {
        let mut options = ConnectOptions::new(url);
        options.sqlx_logging(false);
        // sqlx pings a connection every time it is taken from the pool by
        // default: a round trip more per statement, to find a connection
        // that died while idle. Only one idle for a while can have.
        options.test_before_acquire_if_idle_for(IDLE_BEFORE_PING);
        // On SQLite, sqlx turns `foreign_keys` on for every connection; the
        // cascades and SET NULLs of the schema (and the tests) rely on it.
        if url.starts_with("sqlite:") {
            if is_memory(url) {
                // An in-memory database lives as long as its last connection,
                // and several connections would share it in SQLite's shared
                // cache mode, whose table locks fail at once instead of
                // waiting: keep exactly one connection, forever.
                options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            } else {
                // WAL lets readers run while one writer writes. Writers queue
                // on the busy timeout (10 s, up from sqlx's 5 s) and begin
                // IMMEDIATE (see `begin_write`), so they never fail with
                // SQLITE_BUSY midway.
                //
                // Reads go through a memory map of the file instead of
                // copying each page out of the OS cache with a read call: a
                // search that ranks hundreds of matches reads hundreds of
                // scattered rows, and measured 3.5 times faster mapped. The
                // mapped pages are the OS cache's, shared and reclaimable,
                // but `ps` counts them in the server's resident memory (once
                // per connection that touched them). Each connection also
                // keeps more pages of its own than SQLite's 2 MiB default.
                options.max_connections(8).map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                        .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                });
            }
        } else if plain_tcp_is_safe(url) {
            // sqlx asks PostgreSQL for TLS unless told otherwise, and a
            // local server usually offers it: every statement then pays for
            // encryption on a connection that never leaves the machine.
            options.map_sqlx_postgres_opts(|o| o.ssl_mode(PgSslMode::Disable));
        }
        let mut conn = sea_orm::Database::connect(options)
            .await
            .map_err(|e| Error::internal(format!("cannot connect: {e}")))?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&statements);
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(Database { conn, statements })
    }

    /// Brings the schema up to date. Safe to run from several nodes at once,
    /// and a no-op when nothing is pending. All pending steps run in one
    /// transaction: a failure leaves the schema as it was.
    pub async fn migrate(&self) -> Result<()> {
        let txn = self.begin_write().await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [MIGRATION_LOCK.into()],
            ))
            .await
            .db()?;
        }
        Migrator::up(&txn, None).await.db()?;
        txn.commit().await.db()
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Starts the transaction of a write method. On SQLite it begins
    /// IMMEDIATE: the write lock is taken (or waited for) up front, so a
    /// transaction that reads before it writes cannot hit SQLITE_BUSY on its
    /// first write when another writer got in between.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
            .db()
    }
}

/// How long a pooled connection may sit idle before it is pinged when taken.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// How much of a SQLite file reads may map into memory. Address space,
/// not memory: pages are shared with the OS cache.
const SQLITE_MMAP_BYTES: u64 = 1 << 30;

/// Pages each SQLite connection keeps of its own (in KiB).
const SQLITE_CACHE_KIB: u64 = 16 * 1024;

/// A PostgreSQL URL naming the loopback interface (or a Unix socket) and no
/// `sslmode` of its own: TLS would protect nothing there. A URL that sets
/// `sslmode` gets exactly what it asks for.
fn plain_tcp_is_safe(url: &str) -> bool {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return false;
    }
    let (rest, query) = url.split_once('?').unwrap_or((url, ""));
    if query.split('&').any(|pair| pair.starts_with("sslmode=")) {
        return false;
    }
    let authority = rest
        .split_once("://")
        .map_or(rest, |(_, r)| r)
        .split('/')
        .next()
        .unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let socket_in_query = query.split('&').any(|pair| pair.starts_with("host=/"));
    matches!(host, "localhost" | "127.0.0.1" | "::1") || (host.is_empty() && socket_in_query)
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[async_trait]
impl domain::ports::Store for Database {
    async fn ping(&self) -> Result<()> {
        // A prepared statement, unlike `execute_unprepared`, is counted.
        self.conn
            .execute_raw(Statement::from_string(self.backend(), "SELECT 1"))
            .await
            .map(|_| ())
            .db()
    }

    async fn refresh_statistics(&self) -> Result<()> {
        self.conn
            .execute_unprepared("ANALYZE")
            .await
            .map(|_| ())
            .db()
    }

    fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_left_out_only_on_the_loopback_and_only_unless_asked_for() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/news",
            "postgres://app:secret@localhost/news",
            "postgresql://app@[::1]:5432/news?application_name=x",
            "postgres:///news?host=/var/run/postgresql",
        ] {
            assert!(plain_tcp_is_safe(url), "{url}");
        }
        for url in [
            "postgres://app@db.internal:5432/news",
            "postgres://app@10.0.0.5/news",
            "postgres://app@127.0.0.1/news?sslmode=require",
            "postgres://app@localhost.evil.example/news",
            "sqlite://data/x.db",
        ] {
            assert!(!plain_tcp_is_safe(url), "{url}");
        }
    }
}
