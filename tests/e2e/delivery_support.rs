//! Helpers for the live-delivery suites: a live blog to write to, and a
//! subscription to read from, over either WebSocket protocol.

use std::time::Duration;

use e2e::ws::{Connection, Protocol, Received};
use e2e::{TestApp, data};
use serde_json::{Value, json};

/// Generous: CI machines are slow, and a missing event must still fail
/// rather than hang.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) const LIVE_BLOG_EVENTS: &str = "subscription($id: ID!, $after: String) {
  liveBlog(id: $id, after: $after) {
    __typename cursor occurredAt
    ... on LiveEntryPosted { entry { id bodyText pinned keyEvent } }
    ... on LiveEntryEdited { entry { id bodyText } }
    ... on LiveEntryDeleted { entryId }
    ... on LiveEntryPinned { entry { id } pinned }
    ... on LiveBlogStatusChanged { status liveBlog { id } }
  }
}";

pub(crate) const BREAKING_EVENTS: &str = "subscription($after: String) {
  breakingNews(after: $after) {
    __typename cursor occurredAt
    ... on BreakingNewsIssued { alert { id headline priority } }
    ... on BreakingNewsRetracted { alert { id retractedAt } }
  }
}";

/// A live blog, already LIVE; returns its id.
pub(crate) async fn live_blog(app: &TestApp, title: &str) -> String {
    let created = app
        .as_editor(
            "mutation($input: CreateLiveBlogInput!) { createLiveBlog(input: $input) { id } }",
            json!({ "input": { "title": title, "section": "legislative-updates" } }),
        )
        .await;
    let id = data(&created)["createLiveBlog"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let live = app
        .as_editor(
            "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: LIVE) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&live)["setLiveBlogStatus"]["status"], "LIVE");
    id
}

/// The blog's cursor: the position of its latest event.
pub(crate) async fn blog_cursor(app: &TestApp, blog: &str) -> String {
    let response = app
        .query(
            "query($id: ID!) { liveBlog(id: $id) { cursor } }",
            json!({ "id": blog }),
        )
        .await;
    data(&response)["liveBlog"]["cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned()
}

/// Posts an entry and returns its id.
pub(crate) async fn post(app: &TestApp, blog: &str, body: &str) -> String {
    let response = app
        .as_editor(
            "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
            json!({ "input": { "liveBlog": blog, "body": format!("<p>{body}</p>") } }),
        )
        .await;
    data(&response)["postLiveEntry"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// Opens a connection and subscribes to a live blog's events.
pub(crate) async fn subscribe_blog(
    app: &TestApp,
    protocol: Protocol,
    blog: &str,
    after: Option<&str>,
) -> Connection {
    let mut connection = app.ws(protocol).await;
    connection
        .subscribe(LIVE_BLOG_EVENTS, json!({ "id": blog, "after": after }))
        .await
        .expect("subscribed");
    connection
}

/// The next `n` events of a live-blog subscription (the `liveBlog` objects).
pub(crate) async fn blog_events(connection: &mut Connection, n: usize) -> Vec<Value> {
    let results = connection
        .next_results(n, WAIT)
        .await
        .unwrap_or_else(|e| panic!("expected {n} events: {e:#}"));
    results
        .into_iter()
        .map(|payload| {
            assert!(
                payload.get("errors").is_none_or(Value::is_null),
                "errors: {payload}"
            );
            payload["data"]["liveBlog"].clone()
        })
        .collect()
}

/// The first error of the next message, which must be an error: either an
/// `error` message or a result carrying `errors`.
pub(crate) async fn next_error(connection: &mut Connection) -> Value {
    match connection.next(WAIT).await.expect("a message") {
        (_, Received::Error(errors)) => errors[0].clone(),
        (_, Received::Next(payload)) if payload["errors"].is_array() => {
            payload["errors"][0].clone()
        }
        (_, other) => panic!("expected an error, got {other:?}"),
    }
}

/// The body texts of `LiveEntryPosted` events, in order.
pub(crate) fn posted_texts(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            assert_eq!(e["__typename"], "LiveEntryPosted", "{e}");
            e["entry"]["bodyText"].as_str().expect("text").to_owned()
        })
        .collect()
}

pub(crate) fn texts(prefix: &str, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} {i}")).collect()
}
