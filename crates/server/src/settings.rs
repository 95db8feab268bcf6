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
    /// The feeds file: `serve` imports its feeds on its interval.
    pub feeds: Option<std::path::PathBuf>,
}

/// Declares every setting once: a field of [`Config`], its environment
/// variable, and (from the field's name) its `politmaster serve` flag.
macro_rules! config {
    ($( $(#[doc = $doc:literal])* $field:ident = $env:literal, )*) => {
        /// Every setting as given: a `politmaster serve` flag, or else its
        /// environment variable (`--rate-limit-per-ip` and
        /// `POLITMASTER_RATE_LIMIT_PER_IP`, say). [`Settings::from_config`]
        /// checks and types them.
        #[derive(clap::Args, Debug, Clone, Default)]
        pub struct Config {
            $(
                $(#[doc = $doc])*
                #[arg(long, env = $env, value_name = "VALUE", hide_env_values = true)]
                pub $field: Option<String>,
            )*
        }

        impl Config {
            /// Each setting's environment variable and field.
            pub const VARIABLES: &[(&str, &str)] = &[$(($env, stringify!($field))),*];

            /// The value given for the setting of this variable; blank
            /// counts as not given.
            fn value(&self, env: &str) -> Option<String> {
                let value = match env {
                    $($env => self.$field.as_deref(),)*
                    _ => {
                        debug_assert!(false, "no setting reads {env}");
                        None
                    }
                };
                value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
            }
        }
    };
}

config! {
    /// `sqlite://…` or `postgres://…` [default: sqlite://data/politmaster.db?mode=rwc]
    database_url = "DATABASE_URL",
    /// Redis for the event bus across nodes; unset: in-process bus
    redis_url = "REDIS_URL",
    /// Prefix of the Redis channels [default: politmaster]
    redis_prefix = "POLITMASTER_REDIS_PREFIX",
    /// Address and port to serve on [default: 127.0.0.1:8080]
    bind = "POLITMASTER_BIND",
    /// Seed demo content into an empty database [default: true without a database URL]
    demo = "POLITMASTER_DEMO",
    /// How often scheduled articles are checked, in ms [default: 5000]
    scheduler_interval_ms = "POLITMASTER_SCHEDULER_INTERVAL_MS",
    /// The site's public address [default: https://politmaster.example]
    public_url = "POLITMASTER_PUBLIC_URL",
    /// MiB of anonymous responses kept; 0: no cache [default: 64]
    response_cache_mb = "POLITMASTER_RESPONSE_CACHE_MB",
    /// Seconds HTTP caches may keep an anonymous GET response [default: 5]
    cache_max_age_seconds = "POLITMASTER_CACHE_MAX_AGE_SECONDS",
    /// Requests per second per client address, RATE[:BURST]; 0: off [default: 100:200]
    rate_limit_per_ip = "POLITMASTER_RATE_LIMIT_PER_IP",
    /// Requests per second per desk token, RATE[:BURST]; 0: off [default: 50:100]
    rate_limit_per_token = "POLITMASTER_RATE_LIMIT_PER_TOKEN",
    /// The header a trusted proxy puts the client's address in
    client_ip_header = "POLITMASTER_CLIENT_IP_HEADER",
    /// Open WebSockets per client address; 0: no limit [default: 200]
    websockets_per_ip = "POLITMASTER_WEBSOCKETS_PER_IP",
    /// Open WebSockets on this node; 0: no limit [default: 50000]
    websockets_per_node = "POLITMASTER_WEBSOCKETS_PER_NODE",
    /// Subscriptions a WebSocket may start per second, RATE[:BURST] [default: 10:100]
    subscribes_per_connection = "POLITMASTER_SUBSCRIBES_PER_CONNECTION",
    /// Bytes of subscription documents one WebSocket may hold [default: 262144]
    subscription_bytes_per_connection = "POLITMASTER_SUBSCRIPTION_BYTES_PER_CONNECTION",
    /// Seconds a connection may take to send a request head [default: 20]
    request_head_timeout_seconds = "POLITMASTER_REQUEST_HEAD_TIMEOUT_SECONDS",
    /// Seconds a query may run [default: 15]
    request_timeout_seconds = "POLITMASTER_REQUEST_TIMEOUT_SECONDS",
    /// Answer `__schema` and `__type` [default: true]
    introspection = "POLITMASTER_INTROSPECTION",
    /// Serve GraphiQL at /graphiql [default: true]
    graphiql = "POLITMASTER_GRAPHIQL",
    /// `text` or `json` (one object a line, with request ids) [default: text]
    log_format = "POLITMASTER_LOG_FORMAT",
    /// A feeds file (TOML): serve imports its feeds on its interval, on one node at a time
    feeds = "POLITMASTER_FEEDS",
}

/// Only the settings, for reading them from the environment alone.
#[derive(clap::Parser)]
struct EnvironmentOnly {
    #[command(flatten)]
    config: Config,
}

impl Config {
    /// The settings from the environment alone.
    pub fn from_env() -> anyhow::Result<Self> {
        use clap::Parser;
        let parsed =
            EnvironmentOnly::try_parse_from(["politmaster"]).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(parsed.config)
    }

    /// How to log: `text` (the default) or `json`.
    pub fn log_format(&self) -> anyhow::Result<LogFormat> {
        match self.value("POLITMASTER_LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => bail!("POLITMASTER_LOG_FORMAT must be `text` or `json`, not `{other}`"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// The settings from the environment alone (see [`Config`]).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_config(&Config::from_env()?)
    }

    /// Checks and types what was given; what was not takes its default.
    /// Errors name the environment variable (the flag is its name in
    /// lower case, after `--`).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let var = |name: &str| config.value(name);
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
            feeds: var("POLITMASTER_FEEDS").map(std::path::PathBuf::from),
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
            .field("feeds", &self.feeds)
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
    fn every_flag_is_named_after_its_variable() {
        for (env, field) in Config::VARIABLES {
            let expected = env.trim_start_matches("POLITMASTER_").to_ascii_lowercase();
            assert_eq!(*field, expected, "{env}");
        }
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../../../README.md");
        for (env, field) in Config::VARIABLES {
            let row = format!("| `{env}` | `--{}` |", field.replace('_', "-"));
            assert!(readme.contains(&row), "the README has no row `{row}`");
        }
    }

    #[test]
    fn nothing_given_is_every_default() {
        let settings = Settings::from_config(&Config::default()).expect("defaults");
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(settings.limits, api::LimitsConfig::default());
        assert_eq!(settings.http, api::HttpConfig::default());
        assert!(settings.seed_demo && settings.introspection && settings.graphiql);
        assert_eq!(
            Config::default().log_format().expect("text"),
            LogFormat::Text
        );
    }

    #[test]
    fn flags_are_checked_like_variables() {
        let config = Config {
            rate_limit_per_ip: Some("0".into()),
            bind: Some("0.0.0.0:9000".into()),
            introspection: Some("off".into()),
            ..Config::default()
        };
        let settings = Settings::from_config(&config).expect("valid");
        assert_eq!(settings.limits.requests_per_ip, api::Rate::UNLIMITED);
        assert_eq!(settings.bind.port(), 9000);
        assert!(!settings.introspection);
        let bad = Config {
            websockets_per_ip: Some("many".into()),
            ..Config::default()
        };
        let error = Settings::from_config(&bad)
            .expect_err("refused")
            .to_string();
        assert!(error.contains("POLITMASTER_WEBSOCKETS_PER_IP"), "{error}");
    }

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
