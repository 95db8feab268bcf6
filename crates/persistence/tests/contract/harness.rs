//! A fresh database per test: SQLite in memory, or a PostgreSQL database
//! created for the test and dropped after it, even when the test panics.

use std::ops::Deref;
use std::sync::OnceLock;
use std::time::Duration;

use persistence::Database;
use sea_orm::{ConnectOptions, ConnectionTrait};

pub struct TestDb {
    db: Database,
    // Declared after `db`, so the pool is dropped before the database.
    _postgres: Option<DropDatabase>,
}

impl Deref for TestDb {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

pub async fn sqlite() -> TestDb {
    let db = Database::connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite opens");
    db.migrate().await.expect("migrations run on SQLite");
    TestDb {
        db,
        _postgres: None,
    }
}

/// A SQLite file of the test's own (several connections, WAL, as in
/// production), removed with its WAL files when the guard drops.
pub struct SqliteFile {
    path: std::path::PathBuf,
}

impl SqliteFile {
    pub fn new() -> SqliteFile {
        let name = format!("pm-{}.db", uuid::Uuid::new_v4().simple());
        SqliteFile {
            path: std::env::temp_dir().join(name),
        }
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path.display())
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

fn admin_url() -> String {
    std::env::var("POLITMASTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn services_required() -> bool {
    std::env::var("POLITMASTER_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

async fn admin(url: &str) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(1)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3));
    sea_orm::Database::connect(options).await
}

/// A migrated PostgreSQL database of the test's own; `None` (after saying
/// so) when PostgreSQL cannot be reached and is not required.
pub async fn postgres() -> Option<TestDb> {
    let (url, guard) = postgres_database().await?;
    let db = Database::connect(&url)
        .await
        .expect("the test database opens");
    db.migrate().await.expect("migrations run on PostgreSQL");
    Some(TestDb {
        db,
        _postgres: Some(guard),
    })
}

/// An empty PostgreSQL database: its URL, and the guard that drops it.
pub async fn postgres_database() -> Option<(String, DropDatabase)> {
    // Remembered so that only the first test waits for the connect timeout.
    static UNREACHABLE: OnceLock<String> = OnceLock::new();
    let admin_url = admin_url();
    if let Some(reason) = UNREACHABLE.get() {
        eprintln!("skipping: PostgreSQL at {admin_url} is unreachable ({reason})");
        return None;
    }
    let conn = match admin(&admin_url).await {
        Ok(conn) => conn,
        Err(e) if !services_required() => {
            eprintln!("skipping: PostgreSQL at {admin_url} is unreachable ({e})");
            let _ = UNREACHABLE.set(e.to_string());
            return None;
        }
        Err(e) => panic!("PostgreSQL at {admin_url} is required but unreachable: {e}"),
    };
    let name = format!("pm_{}", uuid::Uuid::new_v4().simple());
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    let guard = DropDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let (base, _) = admin_url
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .expect("the PostgreSQL URL names a database");
    Some((format!("{base}/{name}"), guard))
}

pub struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await, and may run inside the test's runtime: do the
        // work on a thread with a runtime of its own.
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let conn = admin(&admin_url).await.map_err(|e| e.to_string())?;
                conn.execute_unprepared(&sql)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = outcome {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Runs each named `async fn(&TestDb)` of the calling module on SQLite and
/// on PostgreSQL, as tests `sqlite::NAME` and `postgres::NAME`.
macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::harness::sqlite().await;
                    super::$name(&db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = $crate::harness::postgres().await else {
                        return;
                    };
                    super::$name(&db).await;
                }
            )+
        }
    };
}
