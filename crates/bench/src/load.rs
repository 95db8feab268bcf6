//! Closed-loop HTTP load at a fixed concurrency: C connections, each
//! sending its next request as soon as the last response is in, as wrk
//! does. The client is a minimal HTTP/1.1 keep-alive client of its own
//! (pre-built request bytes out, `Content-Length` bodies in) on one thread:
//! on a 2-core machine shared with the server, every microsecond the client
//! spends per request is taken from the server it measures.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response the client takes; a bigger one is an error.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// One request, ready to write: request line, headers and body.
#[derive(Debug, Clone)]
pub struct PreparedRequest(Vec<u8>);

impl PreparedRequest {
    /// `POST /graphql` with a JSON body.
    pub fn post_json(host: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> Self {
        let mut bytes = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
             accept: application/graphql-response+json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            bytes.push_str(&format!("{name}: {value}\r\n"));
        }
        bytes.push_str("\r\n");
        bytes.push_str(body);
        PreparedRequest(bytes.into_bytes())
    }

    /// `GET path` (the query string already encoded in `path`).
    pub fn get(host: &str, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut bytes = format!(
            "GET {path} HTTP/1.1\r\nhost: {host}\r\naccept: application/graphql-response+json\r\n"
        );
        for (name, value) in headers {
            bytes.push_str(&format!("{name}: {value}\r\n"));
        }
        bytes.push_str("\r\n");
        PreparedRequest(bytes.into_bytes())
    }
}

/// A response as far as the load generator looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub body_bytes: usize,
    /// The body carries GraphQL `errors`.
    pub graphql_errors: bool,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        (self.status == 200 || self.status == 304) && !self.graphql_errors
    }
}

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `request` and reads its whole response; the body is left in
    /// [`Connection::body`].
    pub async fn round_trip(&mut self, request: &PreparedRequest) -> anyhow::Result<Outcome> {
        self.stream.write_all(&request.0).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end]).context("a non-UTF-8 head")?;
        let status = parse_status(head)?;
        let length = content_length(head)?;
        if length > MAX_RESPONSE {
            bail!("a response of {length} bytes");
        }
        while self.buffer.len() < head_end + length {
            self.read_more().await?;
        }
        let body = &self.buffer[head_end..head_end + length];
        // GraphQL responses put `data` first: an `errors` key can only
        // follow it, and the text scan is cheaper than parsing.
        let graphql_errors = std::str::from_utf8(body).is_ok_and(|b| b.contains("\"errors\""));
        self.buffer.truncate(head_end + length);
        self.buffer.drain(..head_end);
        Ok(Outcome {
            status,
            body_bytes: length,
            graphql_errors,
        })
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        &self.buffer
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.buffer.len() > MAX_RESPONSE {
            bail!("a response over {MAX_RESPONSE} bytes");
        }
        let len = self.buffer.len();
        self.buffer.resize(len + 16 * 1024, 0);
        let read = self.stream.read(&mut self.buffer[len..]).await?;
        self.buffer.truncate(len + read);
        if read == 0 {
            bail!("the server closed the connection mid-response");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_status(head: &str) -> anyhow::Result<u16> {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code
            .parse()
            .with_context(|| format!("a bad status line: {line}")),
        _ => bail!("a bad status line: {line}"),
    }
}

/// The body length: the server answers every GraphQL request with a
/// complete body, so `Content-Length` is required (no chunked bodies).
fn content_length(head: &str) -> anyhow::Result<usize> {
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            return value
                .trim()
                .parse()
                .with_context(|| format!("a bad content-length: {line}"));
        }
    }
    if parse_status(head).is_ok_and(|s| s == 304 || s == 204) {
        return Ok(0);
    }
    bail!("a response without content-length")
}

/// What one load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub duration: Duration,
    /// Latency of every request completed in the measured window, sorted.
    pub latencies: Vec<Duration>,
    pub errors: usize,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    pub body_bytes: u64,
}

impl LoadResult {
    pub fn requests_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.duration.as_secs_f64().max(f64::EPSILON)
    }

    /// Nearest rank.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank = ((p * self.latencies.len() as f64).ceil() as usize).max(1);
        self.latencies
            .get(rank.min(self.latencies.len()) - 1)
            .copied()
    }

    pub fn max(&self) -> Option<Duration> {
        self.latencies.last().copied()
    }
}

/// Runs `concurrency` connections against `addr` for `warmup` and then
/// `duration`, each cycling through `requests` from its own offset.
/// Requests that end inside the measured window count; errors (a status
/// other than 200/304, GraphQL errors, a broken connection) are counted and
/// their latency is left out. A broken connection is reopened.
pub async fn run(
    addr: SocketAddr,
    requests: &[PreparedRequest],
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    on_measure_start: impl FnOnce(),
) -> anyhow::Result<LoadResult> {
    if requests.is_empty() {
        bail!("no requests to send");
    }
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(Connection::open(addr).await?);
    }
    let start = Instant::now();
    let measure_from = start + warmup;
    let measure_to = measure_from + duration;
    let workers = connections
        .into_iter()
        .enumerate()
        .map(|(worker, conn)| worker_loop(addr, conn, requests, worker, measure_from, measure_to));
    let (results, ()) = tokio::join!(futures::future::join_all(workers), async {
        tokio::time::sleep_until(measure_from.into()).await;
        on_measure_start();
    });
    let mut total = LoadResult {
        duration,
        ..LoadResult::default()
    };
    for result in results {
        let result = result?;
        total.latencies.extend(result.latencies);
        total.errors += result.errors;
        total.body_bytes += result.body_bytes;
        if total.first_error.is_none() {
            total.first_error = result.first_error;
        }
    }
    total.latencies.sort_unstable();
    Ok(total)
}

async fn worker_loop(
    addr: SocketAddr,
    mut conn: Connection,
    requests: &[PreparedRequest],
    worker: usize,
    measure_from: Instant,
    measure_to: Instant,
) -> anyhow::Result<LoadResult> {
    let mut result = LoadResult::default();
    // Spread the workers over the request list, so that concurrent
    // requests ask for different things.
    let mut next = worker.wrapping_mul(7919) % requests.len();
    loop {
        let sent = Instant::now();
        if sent >= measure_to {
            return Ok(result);
        }
        let request = &requests[next];
        next = (next + 1) % requests.len();
        let outcome = conn.round_trip(request).await;
        let done = Instant::now();
        let counted = sent >= measure_from && done <= measure_to;
        match outcome {
            Ok(outcome) if outcome.ok() => {
                if counted {
                    result.latencies.push(done - sent);
                    result.body_bytes += outcome.body_bytes as u64;
                }
            }
            Ok(outcome) => {
                if counted {
                    result.errors += 1;
                }
                if result.first_error.is_none() {
                    let body = String::from_utf8_lossy(conn.body());
                    result.first_error = Some(format!(
                        "HTTP {}: {}",
                        outcome.status,
                        body.chars().take(300).collect::<String>()
                    ));
                }
            }
            Err(error) => {
                if counted {
                    result.errors += 1;
                }
                if result.first_error.is_none() {
                    result.first_error = Some(format!("{error:#}"));
                }
                conn = Connection::open(addr).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_length_from_a_head() {
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 42\r\n\r\n";
        assert_eq!(parse_status(head).unwrap(), 200);
        assert_eq!(content_length(head).unwrap(), 42);
        let not_modified = "HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n";
        assert_eq!(content_length(not_modified).unwrap(), 0);
        assert!(content_length("HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_status("garbage\r\n").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let result = LoadResult {
            duration: Duration::from_secs(2),
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..LoadResult::default()
        };
        assert_eq!(result.requests_per_second(), 50.0);
        assert_eq!(result.percentile(0.5), Some(Duration::from_millis(50)));
        assert_eq!(result.percentile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(result.max(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn a_post_carries_its_length() {
        let request = PreparedRequest::post_json("h", "/graphql", "{\"query\":\"{a}\"}", &[]);
        let text = String::from_utf8(request.0).unwrap();
        assert!(text.contains("content-length: 15\r\n"));
        assert!(text.ends_with("\r\n\r\n{\"query\":\"{a}\"}"));
    }
}
