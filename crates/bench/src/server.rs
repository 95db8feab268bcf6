//! The server under test: either a `politmaster` child process (on a fresh
//! SQLite database in a temporary folder, or on a database given to it), or
//! one already running (`--server-url`).

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::Instant;

/// How long a spawned server may take to migrate and become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A spawned `politmaster serve`. Dropping it kills the process and removes
/// its folder, so that an error, a panic or ctrl-c (which drops the bench
/// future) never leaves a server behind.
pub struct SpawnedServer {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
    pub binary: PathBuf,
    pub addr: SocketAddr,
    /// An editor token created with `politmaster token create`.
    pub token: String,
}

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// [default: `politmaster` next to this binary]
    pub binary: Option<PathBuf>,
    /// A database to serve; `None`: a fresh SQLite file in the server's
    /// temporary folder.
    pub database_url: Option<String>,
    /// More environment for `serve` (`NAME`, `value`).
    pub env: Vec<(String, String)>,
}

impl SpawnedServer {
    /// Creates an editor token, then starts `serve` on a free port and waits
    /// for `/readyz`.
    pub async fn start(binary: Option<PathBuf>, http: &reqwest::Client) -> anyhow::Result<Self> {
        let options = ServerOptions {
            binary,
            ..ServerOptions::default()
        };
        Self::start_with(options, http).await
    }

    pub async fn start_with(
        options: ServerOptions,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let binary = server_binary(options.binary)?;
        let dir = std::env::temp_dir().join(format!("politmaster-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // Until the server owns it, the folder is removed by this guard's
        // drop, should anything below fail.
        let mut guard = TempDir(Some(dir.clone()));
        let log = dir.join("server.log");
        let addr = free_port()?;

        let database_url = options
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}/bench.db?mode=rwc", dir.display()));
        let token = create_token(&binary, &database_url)?;

        let log_file = File::create(&log)?;
        // The load comes from one address, far beyond what one client may
        // do in production: the benchmark measures the server, not its
        // limits. (Its own settings, passed after, may turn them on.)
        let child = server_command(&binary, &database_url)
            .arg("serve")
            .env("POLITMASTER_RATE_LIMIT_PER_IP", "0")
            .env("POLITMASTER_RATE_LIMIT_PER_TOKEN", "0")
            .env("POLITMASTER_WEBSOCKETS_PER_IP", "0")
            .env("POLITMASTER_WEBSOCKETS_PER_NODE", "0")
            .envs(options.env)
            .env("POLITMASTER_BIND", addr.to_string())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        guard.0 = None;
        let mut server = SpawnedServer {
            child,
            dir,
            log,
            binary,
            addr,
            token,
        };
        server.wait_ready(http).await?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's warnings and errors so far (it runs with
    /// `RUST_LOG=warn`, so that is every line it wrote).
    pub fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.addr);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited ({status}) before it was ready:\n{}",
                    self.log_lines().join("\n")
                );
            }
            // Connection refused until it listens; 503 until the database
            // and bus are up.
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready within {READY_TIMEOUT:?}:\n{}",
                    self.log_lines().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        // SIGKILL: nothing of the run needs to survive, and the std library
        // cannot send SIGTERM without libc.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes a folder when dropped, unless disarmed.
struct TempDir(Option<PathBuf>);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The given binary, or `politmaster` next to this one, if it exists.
pub fn server_binary(binary: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let binary = match binary {
        Some(binary) => binary,
        None => default_binary()?,
    };
    if !binary.is_file() {
        bail!(
            "no server binary at {}: build it with `cargo build --release -p politmaster` \
             or pass --server-bin",
            binary.display()
        );
    }
    Ok(binary)
}

/// Runs `politmaster seed --bench` with `sizes` (its own flags) on a
/// database; returns what it printed.
pub fn seed_bench(binary: &Path, database_url: &str, sizes: &[String]) -> anyhow::Result<String> {
    let output = server_command(binary, database_url)
        .args(["seed", "--bench"])
        .args(sizes)
        .output()
        .with_context(|| format!("running {} seed --bench", binary.display()))?;
    if !output.status.success() {
        bail!(
            "`seed --bench` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `politmaster` next to this binary: `cargo build --release` puts both in
/// `target/release`.
fn default_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let dir = exe.parent().context("the bench binary has no folder")?;
    Ok(dir.join("politmaster"))
}

/// The environment of every server command: its own database, no Redis
/// (the in-process bus), no demo content, quiet logs.
fn server_command(binary: &Path, database_url: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env("DATABASE_URL", database_url)
        .env("POLITMASTER_DEMO", "false")
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null());
    command
}

/// Runs `token create` (which also migrates the fresh database); the token
/// is its standard output.
fn create_token(binary: &Path, database_url: &str) -> anyhow::Result<String> {
    let output = server_command(binary, database_url)
        .args(["token", "create", "--name", "bench", "--role", "editor"])
        .output()
        .with_context(|| format!("running {} token create", binary.display()))?;
    if !output.status.success() {
        bail!(
            "`token create` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let token = String::from_utf8(output.stdout)?.trim().to_owned();
    if token.is_empty() {
        bail!("`token create` printed no token");
    }
    Ok(token)
}

/// A port nobody listens on right now. The server binds it a moment later;
/// another process taking it in between is unlikely on a bench machine and
/// would show as a start-up failure.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}
