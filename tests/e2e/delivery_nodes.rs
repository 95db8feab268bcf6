//! Live delivery across nodes and through faults: two nodes on one
//! database and one Redis, Redis dying mid-stream, a node shutting down, a
//! widget too slow to keep up, and schedulers racing to publish.

use std::collections::HashSet;
use std::time::Duration;

use e2e::redis::RedisServer;
use e2e::ws::{Connection, Protocol, Received};
use e2e::{Backend, Options, TestApp, data, spawn_app, with_redis};
use politmaster::WebSocketConfig;
use serde_json::json;

use crate::delivery_support::*;

/// Runs a test body on both databases, with the Redis bus options that
/// `$options` (an async fn returning `Option<Options>`) gives, skipping
/// when it gives none.
macro_rules! on_both_backends_with {
    ($($name:ident => $body:path, $options:path;)+) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres).await
            }

            async fn run(backend: Backend) {
                let Some((options, redis)) = $options().await else { return };
                if let Some(app) = spawn_app(backend, options).await {
                    $body(&app, redis).await;
                }
            }
        }
    )+};
}

async fn shared_redis() -> Option<(Options, Option<RedisServer>)> {
    Some((with_redis(Options::default()).await?, None))
}

async fn private_redis() -> Option<(Options, Option<RedisServer>)> {
    let server = RedisServer::start().await?;
    let options = Options {
        redis_url: Some(server.url()),
        ..Options::default()
    };
    Some((options, Some(server)))
}

/// In-process, with a server that waits minutes (not the default 30 s) for
/// a client that stopped reading: the slow widget below reads nothing until
/// thousands of posts are in, which takes longer than that on a busy CI
/// machine, and the test is about what it reads then, not about the drop.
async fn patient_in_process() -> Option<(Options, Option<RedisServer>)> {
    let patient = Duration::from_secs(600);
    let options = Options {
        websocket: WebSocketConfig {
            write_timeout: patient,
            idle_timeout: patient,
            ..WebSocketConfig::default()
        },
        ..Options::default()
    };
    Some((options, None))
}

async fn a_write_on_one_node_reaches_widgets_on_another(a: &TestApp, _: Option<RedisServer>) {
    let b = a.another_node().await;
    for protocol in Protocol::BOTH {
        let blog = live_blog(a, &format!("Two nodes over {protocol:?}")).await;
        let start = blog_cursor(&b, &blog).await;
        let mut on_b = subscribe_blog(&b, protocol, &blog, Some(&start)).await;
        let mut on_a = subscribe_blog(a, protocol, &blog, Some(&start)).await;
        for i in 1..=10 {
            let node = if i % 2 == 0 { a } else { &b };
            post(node, &blog, &format!("Update {i}")).await;
        }
        for widget in [&mut on_b, &mut on_a] {
            assert_eq!(
                posted_texts(&blog_events(widget, 10).await),
                texts("Update", 1..=10),
                "{protocol:?}"
            );
            widget
                .expect_silence(Duration::from_millis(300))
                .await
                .expect("exactly once");
        }
    }
}

async fn ready(app: &TestApp) -> bool {
    let response = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz answers");
    response.status().is_success()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn a_redis_restart_loses_nothing(a: &TestApp, redis: Option<RedisServer>) {
    let mut redis = redis.expect("a private redis-server");
    let b = a.another_node().await;
    let blog = live_blog(a, "Through a Redis restart").await;
    let mut widget = subscribe_blog(
        &b,
        Protocol::TransportWs,
        &blog,
        Some(&blog_cursor(a, &blog).await),
    )
    .await;
    for i in 1..=3 {
        post(a, &blog, &format!("Update {i}")).await;
    }
    assert_eq!(
        posted_texts(&blog_events(&mut widget, 3).await),
        texts("Update", 1..=3)
    );

    redis.kill();
    // The newsroom keeps writing while the bus is down.
    for i in 4..=6 {
        post(a, &blog, &format!("Update {i}")).await;
    }
    eventually("readiness reports the bus down", async || !ready(a).await).await;
    redis.restart().await;
    eventually("the nodes reconnect", async || {
        ready(a).await && ready(&b).await
    })
    .await;
    for i in 7..=9 {
        post(a, &blog, &format!("Update {i}")).await;
    }
    assert_eq!(
        posted_texts(&blog_events(&mut widget, 6).await),
        texts("Update", 4..=9)
    );
    widget
        .expect_silence(Duration::from_millis(300))
        .await
        .expect("exactly once");
}

async fn a_node_shutting_down_sends_widgets_elsewhere(a: &TestApp, _: Option<RedisServer>) {
    let mut b = a.another_node().await;
    let blog = live_blog(a, "Rolling restart").await;
    let mut widget = subscribe_blog(
        &b,
        Protocol::Legacy,
        &blog,
        Some(&blog_cursor(a, &blog).await),
    )
    .await;
    post(a, &blog, "Update 1").await;
    post(a, &blog, "Update 2").await;
    let seen = blog_events(&mut widget, 2).await;
    let last = seen[1]["cursor"].as_str().expect("cursor").to_owned();

    b.stop().await;
    // The node says why it closes the socket: widgets reconnect elsewhere.
    let closed = widget
        .next(WAIT)
        .await
        .expect("the socket is closed, not left hanging");
    match closed {
        (_, Received::Closed(Some((code, reason)))) => {
            assert_eq!(code, 1012, "service restart: {reason}");
            assert!(reason.contains("cursor"), "{reason}");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    post(a, &blog, "Update 3").await;
    post(a, &blog, "Update 4").await;
    let mut widget = subscribe_blog(a, Protocol::Legacy, &blog, Some(&last)).await;
    assert_eq!(
        posted_texts(&blog_events(&mut widget, 2).await),
        texts("Update", 3..=4)
    );
}

async fn a_slow_widget_is_closed_and_resumes(app: &TestApp, _: Option<RedisServer>) {
    let blog = live_blog(app, "Firehose").await;
    // A reader with a tiny socket buffer: the server's writes back up
    // quickly instead of vanishing into megabytes of kernel buffers.
    let cursor = blog_cursor(app, &blog).await;
    let mut slow = Connection::open_with(app.addr, Protocol::TransportWs, None, Some(8 * 1024))
        .await
        .expect("connected");
    slow.subscribe(LIVE_BLOG_EVENTS, json!({ "id": blog, "after": cursor }))
        .await
        .expect("subscribed");
    // One writer, so that events reach the bus in sequence order and the
    // widget stays on the live path (a gap would send it to the log, which
    // serves it at its own pace instead).
    let padding = "x".repeat(4_000);
    let total = 3_000;
    for i in 1..=total {
        post(app, &blog, &format!("Entry {i} {padding}")).await;
    }
    // Only now does the widget read: it gets what was buffered, then the
    // reason it was closed. (On a loaded machine the widget may not have
    // reached the live edge before the writes outran it: then it is never
    // "behind the live edge" and reads everything from the log at its own
    // pace, which is as good: nothing lost, nothing twice.)
    let mut received = Vec::new();
    let error = loop {
        if received.len() == total {
            break None;
        }
        let message = slow.next(WAIT).await;
        let message = message.unwrap_or_else(|e| panic!("after {} events: {e:#}", received.len()));
        match message {
            (_, Received::Next(payload)) if payload["errors"].is_array() => {
                break Some(payload["errors"][0].clone());
            }
            (_, Received::Next(payload)) => received.push(payload["data"]["liveBlog"].clone()),
            (_, Received::Error(errors)) => break Some(errors[0].clone()),
            (_, other) => panic!("after {} events: {other:?}", received.len()),
        }
    };
    let mut rest = Vec::new();
    if let Some(error) = error {
        assert_eq!(error["extensions"]["code"], "SLOW_CONSUMER", "{error}");
        let last = received
            .last()
            .map(|e| e["cursor"].as_str().expect("cursor").to_owned());
        let resume = last.unwrap_or(blog_cursor(app, &blog).await);
        let mut resumed = subscribe_blog(app, Protocol::TransportWs, &blog, Some(&resume)).await;
        rest = blog_events(&mut resumed, total - received.len()).await;
    }
    let mut ids = HashSet::new();
    for event in received.iter().chain(&rest) {
        assert!(
            ids.insert(event["entry"]["id"].as_str().expect("id").to_owned()),
            "a duplicate"
        );
    }
    assert_eq!(ids.len(), total);
}

async fn racing_schedulers_publish_each_article_once(a: &TestApp, _: Option<RedisServer>) {
    let fast = Options {
        scheduler_interval: Duration::from_millis(100),
        ..Options::default()
    };
    // Two nodes whose schedulers race every 100 ms (the first node's never
    // runs in time), all on one bus.
    let b = a.another_node_with(fast.clone().with_bus_of(a)).await;
    let c = a.another_node_with(fast.with_bus_of(a)).await;
    let mut reader = a.ws(Protocol::TransportWs).await;
    reader
        .subscribe("subscription { articlePublished { id } }", json!({}))
        .await
        .expect("subscribed");
    reader.sync().await.expect("the subscription is live");

    let at = chrono_in(1_500);
    let mut scheduled = HashSet::new();
    for i in 1..=5 {
        let created = a
            .as_editor(
                "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }",
                json!({ "input": { "headline": format!("Scheduled {i}"), "body": "<p>Text.</p>", "section": "domestic-policies" } }),
            )
            .await;
        let id = data(&created)["createArticle"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let published = a
            .as_editor("mutation($id: ID!, $at: DateTime!) { publishArticle(id: $id, at: $at) { status } }", json!({ "id": id, "at": at }))
            .await;
        assert_eq!(data(&published)["publishArticle"]["status"], "SCHEDULED");
        scheduled.insert(id);
    }
    let events = reader
        .next_results(5, WAIT)
        .await
        .expect("five publications");
    let ids: HashSet<String> = events
        .iter()
        .map(|e| {
            e["data"]["articlePublished"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, scheduled, "each article published once");
    reader
        .expect_silence(Duration::from_millis(1_000))
        .await
        .expect("and only once");
    for id in &scheduled {
        let article = a
            .query(
                "query($id: ID!) { article(id: $id) { status version } }",
                json!({ "id": id }),
            )
            .await;
        // created (1), scheduled (2), published (3): one publication.
        assert_eq!(
            data(&article)["article"],
            json!({ "status": "PUBLISHED", "version": 3 })
        );
    }
    drop((b, c));
}

/// An RFC 3339 time `millis` from now.
fn chrono_in(millis: i64) -> String {
    let at = domain::clock::now()
        + sea_orm::sea_query::value::prelude::chrono::Duration::milliseconds(millis);
    at.to_rfc3339()
}

trait WithBusOf {
    fn with_bus_of(self, app: &TestApp) -> Self;
}

impl WithBusOf for Options {
    /// The same bus as `app`'s nodes (Redis URL or in-process).
    fn with_bus_of(self, app: &TestApp) -> Self {
        Options {
            redis_url: app.redis_url().map(str::to_owned),
            ..self
        }
    }
}

on_both_backends_with! {
    a_write_on_one_node_reaches_widgets_on_another => a_write_on_one_node_reaches_widgets_on_another, shared_redis;
    a_redis_restart_loses_nothing => a_redis_restart_loses_nothing, private_redis;
    a_node_shutting_down_sends_widgets_elsewhere => a_node_shutting_down_sends_widgets_elsewhere, shared_redis;
    a_slow_widget_is_closed_and_resumes => a_slow_widget_is_closed_and_resumes, patient_in_process;
    racing_schedulers_publish_each_article_once => racing_schedulers_publish_each_article_once, shared_redis;
}
