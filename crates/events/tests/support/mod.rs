//! Helpers shared by the test binaries of this crate.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::events::{Event, EventRecord, Stream};
use domain::ids::{ArticleId, LiveBlogId, LiveEntryId, SectionId};
use domain::ports::BusMessage;
use futures::StreamExt;
use futures::stream::BoxStream;

/// The longest any single step of a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Whether a missing service fails the test instead of skipping it.
pub fn services_required() -> bool {
    std::env::var("POLITMASTER_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Skips the current test, visibly, unless services are required.
pub fn skip<T>(why: &str) -> Option<T> {
    assert!(
        !services_required(),
        "{why} (POLITMASTER_REQUIRE_SERVICES=1)"
    );
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test");
    // Straight to stderr: the harness captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    None
}

/// The Redis the tests share (`REDIS_URL`, else the local default), if it
/// answers.
pub async fn redis_url() -> Option<String> {
    init_tracing();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match ping(&url).await {
        Ok(()) => Some(url),
        Err(error) => skip(&format!("Redis at {url} is unreachable: {error}")),
    }
}

pub async fn ping(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let attempt = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(2), attempt).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 2 s".to_owned()),
    }
}

/// A channel prefix no other test uses.
pub fn random_prefix() -> String {
    format!("pm-test-{}", LiveBlogId::new().0.simple())
}

pub fn blog() -> Stream {
    Stream::LiveBlog(LiveBlogId::new())
}

/// A committed event of `stream` at `seq`.
pub fn record(stream: Stream, seq: i64) -> EventRecord {
    let event = match stream {
        Stream::LiveBlog(live_blog_id) => Event::LiveEntryDeleted {
            live_blog_id,
            entry_id: LiveEntryId::new(),
        },
        Stream::Breaking | Stream::Articles => Event::ArticlePublished {
            article_id: ArticleId::new(),
            section_id: SectionId::new(),
            version: 1,
        },
    };
    EventRecord {
        stream,
        seq,
        occurred_at: Utc::now(),
        event,
    }
}

pub fn records(stream: Stream, seqs: std::ops::RangeInclusive<i64>) -> Vec<EventRecord> {
    seqs.map(|seq| record(stream, seq)).collect()
}

/// The next message; `None` if the stream ended. Panics after [`WAIT`].
pub async fn next(sub: &mut BoxStream<'static, BusMessage>) -> Option<BusMessage> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("no bus message in time")
}

/// The next message, which must be an event.
pub async fn next_event(sub: &mut BoxStream<'static, BusMessage>) -> Arc<EventRecord> {
    match next(sub).await {
        Some(BusMessage::Event(record)) => record,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Polls `condition` until it holds; panics after `limit`.
pub async fn wait_until(what: &str, limit: Duration, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
