//! Configuration, read once from the environment (and the command line) into
//! typed values and passed down. Nothing reads the environment after start.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

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
    /// Timeouts of HTTP connections.
    pub http: api::HttpConfig,
    /// How long a query may run.
    pub request_timeout: Duration,
    /// Rate and connection limits.
    pub limits: api::LimitsConfig,
    /// Whether `__schema` and `__type` are answered.
    pub introspection: bool,
    /// Whether `/graphiql` is served.
    pub graphiql: bool,
}

impl Settings {
    /// Reads `DATABASE_URL`, `REDIS_URL` and the `POLITMASTER_…` variables
    /// of the README's configuration table (all but `POLITMASTER_LOG_FORMAT`,
    /// which `main` reads before anything else, to set up logging).
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
        let seconds = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            match var(name) {
                Some(v) => parse_seconds(&v)
                    .with_context(|| format!("{name} must be seconds, like 20 or 0.5")),
                None => Ok(default),
            }
        };
        let count = |name: &str, default: usize| -> anyhow::Result<usize> {
            match var(name) {
                Some(v) => v
                    .trim()
                    .parse()
                    .with_context(|| format!("{name} must be a whole number (0: no limit)")),
                None => Ok(default),
            }
        };
        let rate = |name: &str, default: api::Rate| -> anyhow::Result<api::Rate> {
            match var(name) {
                Some(v) => parse_rate(&v).with_context(|| {
                    format!("{name} must be a rate per second and optionally a burst, like 100 or 100:200 (0: no limit)")
                }),
                None => Ok(default),
            }
        };
        let flag = |name: &str, default: bool| -> anyhow::Result<bool> {
            var(name).map_or(Ok(default), |v| parse_bool(name, &v))
        };
        let defaults = api::LimitsConfig::default();
        let client_ip_header = var("POLITMASTER_CLIENT_IP_HEADER")
            .map(|name| {
                axum::http::HeaderName::try_from(name.trim()).with_context(|| {
                    format!("POLITMASTER_CLIENT_IP_HEADER `{name}` is not a header name")
                })
            })
            .transpose()?;
        let limits = api::LimitsConfig {
            requests_per_ip: rate("POLITMASTER_RATE_LIMIT_PER_IP", defaults.requests_per_ip)?,
            requests_per_token: rate(
                "POLITMASTER_RATE_LIMIT_PER_TOKEN",
                defaults.requests_per_token,
            )?,
            websockets_per_ip: count("POLITMASTER_WEBSOCKETS_PER_IP", defaults.websockets_per_ip)?,
            websockets_per_node: count(
                "POLITMASTER_WEBSOCKETS_PER_NODE",
                defaults.websockets_per_node,
            )?,
            subscribes_per_connection: rate(
                "POLITMASTER_SUBSCRIBES_PER_CONNECTION",
                defaults.subscribes_per_connection,
            )?,
            subscription_bytes_per_connection: count(
                "POLITMASTER_SUBSCRIPTION_BYTES_PER_CONNECTION",
                defaults.subscription_bytes_per_connection,
            )?,
            client_ip_header,
        };
        let http = api::HttpConfig {
            request_head_timeout: seconds(
                "POLITMASTER_REQUEST_HEAD_TIMEOUT_SECONDS",
                api::HttpConfig::default().request_head_timeout,
            )?,
        };
        Ok(Settings {
            http,
            request_timeout: seconds(
                "POLITMASTER_REQUEST_TIMEOUT_SECONDS",
                api::DEFAULT_REQUEST_TIMEOUT,
            )?,
            limits,
            introspection: flag("POLITMASTER_INTROSPECTION", true)?,
            graphiql: flag("POLITMASTER_GRAPHIQL", true)?,
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
            .field("http", &self.http)
            .field("request_timeout", &self.request_timeout)
            .field("limits", &self.limits)
            .field("introspection", &self.introspection)
            .field("graphiql", &self.graphiql)
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

/// Seconds, whole or not, more than zero.
fn parse_seconds(value: &str) -> anyhow::Result<Duration> {
    let seconds: f64 = value.trim().parse()?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        bail!("between 0 and a day");
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `RATE` or `RATE:BURST` per second; the burst is twice the rate unless
/// given; `0` turns the limit off.
fn parse_rate(value: &str) -> anyhow::Result<api::Rate> {
    let (rate, burst) = match value.trim().split_once(':') {
        Some((rate, burst)) => (
            rate.trim().parse::<u32>()?,
            Some(burst.trim().parse::<u32>()?),
        ),
        None => (value.trim().parse::<u32>()?, None),
    };
    if rate == 0 {
        return Ok(api::Rate::UNLIMITED);
    }
    Ok(api::Rate::new(
        rate,
        burst.unwrap_or(rate.saturating_mul(2)),
    ))
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
    fn rates_are_a_number_and_an_optional_burst() {
        assert_eq!(parse_rate("100").unwrap(), api::Rate::new(100, 200));
        assert_eq!(parse_rate(" 5:7 ").unwrap(), api::Rate::new(5, 7));
        assert_eq!(parse_rate("0").unwrap(), api::Rate::UNLIMITED);
        for bad in ["", "x", "-1", "1:", "1:x", "1.5"] {
            assert!(parse_rate(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["0", "-1", "x", "NaN", "1e9"] {
            assert!(parse_seconds(bad).is_err(), "{bad:?}");
        }
    }

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
