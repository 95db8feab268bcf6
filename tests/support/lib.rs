//! Test support: the real server on port 0, against a fresh database of
//! either backend, with typed helpers to talk GraphQL to it over HTTP.
//!
//! PostgreSQL tests create and drop their own database. Without a reachable
//! server they skip with a message, unless `POLITMASTER_REQUIRE_SERVICES=1`
//! (as in CI), where a missing service fails the test.

pub mod redis;
pub mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use domain::Role;
use politmaster::{Application, HttpConfig, LimitsConfig, Settings, WebSocketConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL tests create their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("POLITMASTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn services_required() -> bool {
    std::env::var("POLITMASTER_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

#[derive(Clone)]
pub struct Options {
    pub demo: bool,
    pub scheduler_interval: Duration,
    /// Use the Redis bus at this URL; `None`: the in-process bus.
    pub redis_url: Option<String>,
    pub websocket: WebSocketConfig,
    /// The response cache, on as in production.
    pub response_cache_bytes: usize,
    pub cache_max_age: Duration,
    /// Rate and connection limits: off, since tests send a lot from one
    /// address; the tests of the limits set their own.
    pub limits: LimitsConfig,
    pub http: HttpConfig,
    pub request_timeout: Duration,
    pub introspection: bool,
    pub graphiql: bool,
    /// A feeds file the node polls.
    pub feeds: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            demo: false,
            scheduler_interval: Duration::from_secs(3600),
            redis_url: None,
            websocket: WebSocketConfig::default(),
            response_cache_bytes: politmaster::DEFAULT_RESPONSE_CACHE_BYTES,
            cache_max_age: politmaster::DEFAULT_CACHE_MAX_AGE,
            limits: LimitsConfig::unlimited(),
            http: HttpConfig::default(),
            request_timeout: politmaster::DEFAULT_REQUEST_TIMEOUT,
            introspection: true,
            graphiql: true,
            feeds: None,
        }
    }
}

/// The shared Redis of the machine, for tests of the Redis bus.
pub fn redis_url() -> String {
    std::env::var("POLITMASTER_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// `options` with the Redis bus on the shared Redis, or `None` (after
/// saying why) when Redis is unreachable and not required.
pub async fn with_redis(options: Options) -> Option<Options> {
    let url = redis_url();
    let host = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let connect = tokio::net::TcpStream::connect(host);
    let reachable = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .is_ok_and(|r| r.is_ok());
    if reachable {
        return Some(Options {
            redis_url: Some(url),
            ..options
        });
    }
    if services_required() {
        panic!("Redis is required but not reachable at {url}");
    }
    eprintln!(
        "SKIPPED: Redis is not reachable at {url}; set POLITMASTER_REQUIRE_SERVICES=1 to fail instead"
    );
    None
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub http: reqwest::Client,
    pub editor_token: String,
    pub admin_token: String,
    database_url: String,
    options: Options,
    redis_prefix: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase(String),
    /// Another node of a database that some other app owns.
    Nothing,
}

/// Starts the app on `backend`, or returns `None` (after saying why) when
/// that backend is unavailable and not required.
pub async fn spawn_app(backend: Backend, options: Options) -> Option<TestApp> {
    let (database_url, cleanup) = match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!(
                "politmaster-test-{}.db",
                uuid::Uuid::new_v4().simple()
            ));
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                Cleanup::SqliteFile(path),
            )
        }
        Backend::Postgres => match create_postgres_database().await {
            Ok((url, name)) => (url, Cleanup::PostgresDatabase(name)),
            Err(error) if !services_required() => {
                eprintln!(
                    "SKIPPED: PostgreSQL is not reachable ({error:#}); set POLITMASTER_REQUIRE_SERVICES=1 to fail instead"
                );
                return None;
            }
            Err(error) => panic!("PostgreSQL is required but not reachable: {error:#}"),
        },
    };
    // Each app family gets its own channels, so parallel tests sharing one
    // Redis never hear each other.
    let redis_prefix = format!("pmtest-{}", uuid::Uuid::new_v4().simple());
    Some(start(backend, database_url, cleanup, options, redis_prefix).await)
}

fn settings(database_url: &str, options: &Options, redis_prefix: &str) -> Settings {
    Settings {
        database_url: database_url.to_owned(),
        redis_url: options.redis_url.clone(),
        redis_prefix: redis_prefix.to_owned(),
        bind: "127.0.0.1:0".parse().expect("valid address"),
        seed_demo: options.demo,
        scheduler_interval: options.scheduler_interval,
        public_url: "http://news.test".to_owned(),
        websocket: options.websocket,
        response_cache_bytes: options.response_cache_bytes,
        cache_max_age: options.cache_max_age,
        http: options.http,
        request_timeout: options.request_timeout,
        limits: options.limits.clone(),
        introspection: options.introspection,
        graphiql: options.graphiql,
        feeds: options.feeds.clone(),
    }
}

/// Builds and runs one node; tokens are issued through it.
async fn start(
    backend: Backend,
    database_url: String,
    cleanup: Cleanup,
    options: Options,
    redis_prefix: String,
) -> TestApp {
    let settings = settings(&database_url, &options, &redis_prefix);
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    let newsroom = app.newsroom();
    let editor = newsroom
        .issue_token("test-editor", Role::Editor, None, random())
        .await
        .expect("token");
    let admin = newsroom
        .issue_token("test-admin", Role::Admin, None, random())
        .await
        .expect("token");
    let addr = app.local_addr();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    TestApp {
        addr,
        backend,
        http: reqwest::Client::new(),
        editor_token: editor.secret,
        admin_token: admin.secret,
        database_url,
        options,
        redis_prefix,
        shutdown: Some(shutdown),
        server: Some(server),
        cleanup,
    }
}

fn random() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
}

async fn create_postgres_database() -> anyhow::Result<(String, String)> {
    let admin_url = postgres_admin_url();
    let admin = tokio::time::timeout(Duration::from_secs(5), Database::connect(&admin_url))
        .await
        .context("timed out")??;
    let name = format!("pm_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin_url);
    Ok((format!("{base}/{name}"), name))
}

impl TestApp {
    /// Another node of the same deployment: same database, same bus.
    pub async fn another_node(&self) -> TestApp {
        self.another_node_with(self.options.clone()).await
    }

    /// Another node on the same database and Redis channels, with options
    /// of its own (another scheduler interval, say).
    pub async fn another_node_with(&self, options: Options) -> TestApp {
        let (url, prefix) = (self.database_url.clone(), self.redis_prefix.clone());
        start(self.backend, url, Cleanup::Nothing, options, prefix).await
    }

    /// Stops the server gracefully (open sockets are closed) and waits for
    /// it to finish.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }

    /// Stops the server and starts it again on the same address and
    /// database, as a deploy does; `meanwhile` runs while it is down. The
    /// tokens stay valid (they are in the database).
    pub async fn restart<F: std::future::Future<Output = ()>>(&mut self, meanwhile: F) {
        self.stop().await;
        meanwhile.await;
        let mut settings = settings(&self.database_url, &self.options, &self.redis_prefix);
        settings.bind = self.addr;
        let app = Application::build(settings)
            .await
            .expect("the application builds again");
        let (shutdown, stopped) = oneshot::channel::<()>();
        self.server = Some(tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
        }));
        self.shutdown = Some(shutdown);
    }

    /// The newsroom as the `politmaster token` commands open it: a process
    /// of its own on the same database, with no bus to tell the nodes.
    pub async fn command_line(&self) -> domain::Newsroom {
        let settings = settings(&self.database_url, &self.options, &self.redis_prefix);
        politmaster::startup::open_newsroom(&settings, politmaster::startup::Bus::Local)
            .await
            .expect("the command line opens the database")
    }

    /// The Redis URL of this app's bus, if it uses Redis.
    pub fn redis_url(&self) -> Option<&str> {
        self.options.redis_url.as_deref()
    }

    /// A WebSocket connection speaking `protocol`, anonymous.
    pub async fn ws(&self, protocol: ws::Protocol) -> ws::Connection {
        ws::Connection::open(self.addr, protocol, None)
            .await
            .expect("the WebSocket opens")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// POSTs a GraphQL request, optionally with a bearer token, and returns
    /// the whole JSON response (`data` and `errors`).
    pub async fn graphql_with(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        response.json().await.expect("a JSON response")
    }

    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.graphql_with(None, query, variables).await
    }

    pub async fn as_editor(&self, query: &str, variables: Value) -> Value {
        self.graphql_with(Some(&self.editor_token.clone()), query, variables)
            .await
    }

    pub async fn as_admin(&self, query: &str, variables: Value) -> Value {
        self.graphql_with(Some(&self.admin_token.clone()), query, variables)
            .await
    }

    /// Current value of a counter on `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name || key.starts_with(&format!("{name}{{")))
                    .then(|| value.trim().parse::<f64>().ok())?
            })
            .map(|v| v as u64)
            .unwrap_or_else(|| panic!("metric {name} not found in:\n{text}"))
    }
}

/// Asserts a response has no errors and returns its `data`.
/// Asserts that a bigger page cost exactly what a smaller one did (an N+1
/// costs one more per extra row for each nested field), and `expected` in
/// all. Batches do not depend on timing (see `api::graphql::batch`), so
/// the count is exact on any machine.
pub fn assert_flat(bigger_page: u64, smaller_page: u64, expected: u64, what: &str) {
    assert_eq!(
        bigger_page, smaller_page,
        "{what}: {bigger_page} statements for the bigger page, {smaller_page} for the smaller: \
         the count grows with the page size"
    );
    assert_eq!(bigger_page, expected, "{what}: statements for one page");
}

pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none_or(Value::is_null),
        "unexpected errors: {response:#}"
    );
    &response["data"]
}

/// The `extensions.code` of the first error; panics when there is none.
pub fn error_code(response: &Value) -> String {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code, got: {response:#}"))
        .to_owned()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Nothing => {}
            Cleanup::PostgresDatabase(name) => {
                // Drop runs outside async context guarantees, so the database
                // is dropped from a thread with its own small runtime.
                let name = name.clone();
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async {
                        if let Ok(admin) = Database::connect(&postgres_admin_url()).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Runs a test body against both backends: `both_backends!(name => body_fn)`
/// makes `name::sqlite` and `name::postgres` tests, each with a fresh app.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident => $body:path $(, $options:expr)?);+ $(;)?) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::spawn_app($crate::Backend::Sqlite, $crate::both_backends!(@options $($options)?)).await
                    .expect("SQLite is always available");
                $body(&app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::spawn_app($crate::Backend::Postgres, $crate::both_backends!(@options $($options)?)).await {
                    $body(&app).await;
                }
            }
        }
    )+};
    (@options) => { $crate::Options::default() };
    (@options $options:expr) => { $options };
}
