//! Every request gets an id, in the logs and in the `X-Request-Id`
//! response header, so that a reader's complaint ("this request failed")
//! leads to the log lines of exactly that request, on whichever node.
//!
//! An id sent by the proxy in front (or the client) is kept when it looks
//! like one (up to 64 letters, digits, `-`, `_`, `.`); anything else is
//! replaced, so that a log line never carries what a client made up at
//! length.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware: the request's id, its span, and a line when it is done.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|value| is_plausible_id(value.as_bytes()))
        .cloned()
        .unwrap_or_else(new_id);
    request.headers_mut().insert(&X_REQUEST_ID, id.clone());
    let span = tracing::info_span!(
        "request",
        id = id.to_str().unwrap_or_default(),
        method = %request.method(),
        path = request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request failed");
        } else {
            tracing::debug!(status, elapsed_ms, "request done");
        }
    });
    response.headers_mut().insert(&X_REQUEST_ID, id);
    response
}

fn is_plausible_id(value: &[u8]) -> bool {
    (1..=64).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new id: 16 hex digits random to this process, then 16 of a counter.
/// Unique on the node, and across nodes but for a chance of one in 2^64;
/// made without asking the OS for randomness on every request (a system
/// call each, measured on the cached path).
fn new_id() -> HeaderValue {
    static PROCESS: LazyLock<u64> = LazyLock::new(|| uuid::Uuid::new_v4().as_u64_pair().0);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = format!("{:016x}{n:016x}", *PROCESS);
    // Hex digits are always a valid header value.
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_plausible_id(b"7f3c2a9e-proxy.1_a"));
        assert!(!is_plausible_id(b""));
        assert!(!is_plausible_id(&[b'a'; 65]));
        assert!(!is_plausible_id(b"id with spaces"));
        assert!(!is_plausible_id(b"id\"injected"));
        let (first, second) = (new_id(), new_id());
        assert_eq!(first.len(), 32);
        assert_ne!(first, second);
        assert_eq!(
            first.as_bytes()[..16],
            second.as_bytes()[..16],
            "one process"
        );
    }
}
