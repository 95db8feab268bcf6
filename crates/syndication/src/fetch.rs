//! Reading a feed's bytes from a URL or a file. Over HTTP the reader is a
//! polite client: it names itself, gives up after a timeout, refuses
//! documents beyond a size, takes gzip, and asks only for what changed
//! since its last reading (`ETag`, `Last-Modified`), which most publishers
//! answer with an empty `304`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Feeds beyond this are refused: a feed is a few hundred KiB at most.
pub const MAX_FEED_BYTES: u64 = 10 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: u32 = 5;
const ACCEPT: &str =
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1";

/// What a reading found.
#[derive(Debug)]
pub enum Fetched {
    Document(Vec<u8>),
    /// The publisher says nothing changed since our last reading.
    Unchanged,
}

/// A URL's validators from its last whole reading.
#[derive(Debug, Clone, Default)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
}

#[derive(Clone)]
pub struct Fetcher {
    http: ureq::Agent,
    validators: Arc<Mutex<HashMap<String, Validators>>>,
}

impl Fetcher {
    /// `user_agent` names the reader to publishers, with a way to reach us.
    pub fn new(user_agent: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .user_agent(user_agent)
            .timeout_global(Some(TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .max_redirects(MAX_REDIRECTS)
            // Statuses are answers to report, not transport errors.
            .http_status_as_error(false)
            .build();
        Fetcher {
            http: config.into(),
            validators: Arc::default(),
        }
    }

    /// Reads `location`: a URL (`http`, `https`) or a file path.
    pub async fn fetch(&self, location: &str) -> Result<Fetched, String> {
        if location.starts_with("http://") || location.starts_with("https://") {
            let (fetcher, url) = (self.clone(), location.to_owned());
            // ureq blocks; a reading is a few per interval, off the
            // runtime's threads.
            tokio::task::spawn_blocking(move || fetcher.fetch_url(&url))
                .await
                .unwrap_or_else(|e| Err(format!("the reader failed: {e}")))
        } else {
            read_file(location).await.map(Fetched::Document)
        }
    }

    fn fetch_url(&self, url: &str) -> Result<Fetched, String> {
        let known = self.validators().get(url).cloned().unwrap_or_default();
        let mut request = self.http.get(url).header("Accept", ACCEPT);
        if let Some(etag) = &known.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(modified) = &known.last_modified {
            request = request.header("If-Modified-Since", modified);
        }
        let mut response = request.call().map_err(describe)?;
        let status = response.status();
        if status == 304 {
            return Ok(Fetched::Unchanged);
        }
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let validators = Validators {
            etag: header("etag"),
            last_modified: header("last-modified"),
        };
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_FEED_BYTES)
            .read_to_vec()
            .map_err(describe)?;
        // Remembered only once the whole document arrived: a broken
        // reading must not make the next one ask for "changes since".
        self.validators().insert(url.to_owned(), validators);
        Ok(Fetched::Document(body))
    }

    /// Forgets what `url` looked like, so that its next reading is whole
    /// (after a reading that could not all be imported, say).
    pub fn forget(&self, url: &str) {
        self.validators().remove(url);
    }

    fn validators(&self) -> std::sync::MutexGuard<'_, HashMap<String, Validators>> {
        self.validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let path = path.strip_prefix("file://").unwrap_or(path);
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if metadata.len() > MAX_FEED_BYTES {
        return Err(too_big());
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {path}: {e}"))
}

fn too_big() -> String {
    format!("the feed is larger than {} MiB", MAX_FEED_BYTES >> 20)
}

fn describe(error: ureq::Error) -> String {
    match error {
        ureq::Error::BodyExceedsLimit(_) => too_big(),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::HostNotFound => "no such host".to_owned(),
        ureq::Error::TooManyRedirects => "too many redirects".to_owned(),
        other => other.to_string(),
    }
}
