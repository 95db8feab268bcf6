//! Configuration, read once from the environment (and the command line) into
//! typed values and passed down. Nothing reads the environment after start.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};

/// The embedded default: a SQLite file in `./data`, created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/politmaster.db?mode=rwc";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Clone)]
pub struct Settings {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Set: Redis pub/sub event bus; unset: in-process bus.
    pub redis_url: Option<String>,
    /// Prefix of the Redis channels, so that several deployments (or test
    /// runs) can share one Redis without hearing each other.
    pub redis_prefix: String,
    pub bind: SocketAddr,
    /// Seed the demo content into an empty database at start-up.
    pub seed_demo: bool,
    /// How often the scheduler looks for articles due to be published.
    pub scheduler_interval: std::time::Duration,
    /// The site's public web address (no trailing slash), shown by `site`
    /// and used for links readers follow.
    pub public_url: String,
    /// Keep-alive and timeouts of WebSocket connections.
    pub websocket: api::WebSocketConfig,
    /// Bytes of anonymous query responses each node keeps (0: none).
    pub response_cache_bytes: usize,
    /// How long HTTP caches may keep an anonymous `GET` response, and the
    /// node's cache one that shows breaking news.
    pub cache_max_age: std::time::Duration,
}

impl Settings {
    /// Reads `DATABASE_URL`, `REDIS_URL`, `POLITMASTER_BIND`,
    /// `POLITMASTER_REDIS_PREFIX`, `POLITMASTER_DEMO`,
    /// `POLITMASTER_SCHEDULER_INTERVAL_MS`, `POLITMASTER_PUBLIC_URL`,
    /// `POLITMASTER_RESPONSE_CACHE_MB` and
    /// `POLITMASTER_CACHE_MAX_AGE_SECONDS`.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let database_url = var("DATABASE_URL");
        // Demo content is for the embedded default; a configured database
        // gets it only when asked.
        let seed_demo = match var("POLITMASTER_DEMO") {
            Some(v) => parse_bool("POLITMASTER_DEMO", &v)?,
            None => database_url.is_none(),
        };
        let bind = var("POLITMASTER_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let scheduler_ms = match var("POLITMASTER_SCHEDULER_INTERVAL_MS") {
            Some(v) => v
                .parse()
                .context("POLITMASTER_SCHEDULER_INTERVAL_MS must be milliseconds")?,
            None => 5_000,
        };
        let response_cache_mb: usize = match var("POLITMASTER_RESPONSE_CACHE_MB") {
            Some(v) => v
                .parse()
                .context("POLITMASTER_RESPONSE_CACHE_MB must be a whole number of MiB (0: off)")?,
            None => api::DEFAULT_RESPONSE_CACHE_BYTES >> 20,
        };
        let cache_max_age = match var("POLITMASTER_CACHE_MAX_AGE_SECONDS") {
            Some(v) => std::time::Duration::from_secs(
                v.parse()
                    .context("POLITMASTER_CACHE_MAX_AGE_SECONDS must be whole seconds")?,
            ),
            None => api::DEFAULT_CACHE_MAX_AGE,
        };
        Ok(Settings {
            database_url: database_url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            redis_url: var("REDIS_URL"),
            redis_prefix: var("POLITMASTER_REDIS_PREFIX")
                .unwrap_or_else(|| "politmaster".to_owned()),
            bind: bind
                .parse()
                .with_context(|| format!("POLITMASTER_BIND `{bind}` is not host:port"))?,
            seed_demo,
            scheduler_interval: std::time::Duration::from_millis(scheduler_ms),
            public_url: public_url(var("POLITMASTER_PUBLIC_URL"))?,
            websocket: api::WebSocketConfig::default(),
            response_cache_bytes: response_cache_mb.saturating_mul(1 << 20),
            cache_max_age,
        })
    }

    /// SQLite needs the directory of its file to exist.
    pub fn prepare_storage(&self) -> anyhow::Result<()> {
        if let Some(path) = sqlite_file(&self.database_url)
            && let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(())
    }
}

/// Passwords in URLs stay out of logs.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact(&self.database_url))
            .field("redis_url", &self.redis_url.as_deref().map(redact))
            .field("redis_prefix", &self.redis_prefix)
            .field("bind", &self.bind)
            .field("seed_demo", &self.seed_demo)
            .field("scheduler_interval", &self.scheduler_interval)
            .field("public_url", &self.public_url)
            .field("websocket", &self.websocket)
            .field("response_cache_bytes", &self.response_cache_bytes)
            .field("cache_max_age", &self.cache_max_age)
            .finish()
    }
}

pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

pub const DEFAULT_PUBLIC_URL: &str = "https://politmaster.example";

fn public_url(value: Option<String>) -> anyhow::Result<String> {
    let url = value.unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned());
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("POLITMASTER_PUBLIC_URL must be an http(s) URL, not `{url}`");
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn parse_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name} must be true or false, not `{value}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/news"),
            "postgres://***@db:5432/news"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn the_sqlite_file_path_is_found_in_the_url() {
        assert_eq!(
            sqlite_file(DEFAULT_DATABASE_URL),
            Some("data/politmaster.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x/y"), None);
    }
}
