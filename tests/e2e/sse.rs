//! GraphQL over Server-Sent Events (`graphql-sse`, distinct connections):
//! the same events as over WebSocket, each with its cursor as the event id,
//! and a reconnect with `Last-Event-ID` resumes with no gap and no
//! duplicate.

use std::time::Duration;

use e2e::{TestApp, both_backends, error_code};
use serde_json::{Value, json};

use crate::delivery_support::{LIVE_BLOG_EVENTS, blog_cursor, live_blog, post};

/// One event of the stream.
#[derive(Debug)]
struct Event {
    kind: String,
    id: Option<String>,
    data: String,
}

/// An open stream and what has been read of it.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Subscribes to `blog` from `after` (as a widget does, with the
    /// cursor it read with the page), resuming from `last_event_id`.
    async fn open(app: &TestApp, blog: &str, after: &str, last_event_id: Option<&str>) -> Stream {
        let url = reqwest::Url::parse_with_params(
            &app.url("/graphql/stream"),
            &[
                ("query", LIVE_BLOG_EVENTS.to_owned()),
                (
                    "variables",
                    json!({ "id": blog, "after": after }).to_string(),
                ),
            ],
        )
        .expect("a URL");
        let mut request = app.http.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped).
    async fn next(&mut self) -> Event {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event {
                    kind: "message".into(),
                    id: None,
                    data: String::new(),
                };
                let mut comment_only = true;
                for line in block.lines() {
                    if let Some(kind) = line.strip_prefix("event:") {
                        event.kind = kind.trim().to_owned();
                        comment_only = false;
                    } else if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.trim().to_owned());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        event.data.push_str(data.trim_start());
                        comment_only = false;
                    }
                }
                if !comment_only {
                    return event;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event in time")
                .expect("the stream reads");
            let chunk = chunk.expect("the stream stays open");
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// The next event, which must be a posted entry; its text and id.
    async fn entry(&mut self) -> (String, String) {
        let event = self.next().await;
        assert_eq!(event.kind, "next", "{event:?}");
        let payload: Value = serde_json::from_str(&event.data).expect("JSON");
        let update = &payload["data"]["liveBlog"];
        assert_eq!(update["__typename"], "LiveEntryPosted", "{payload}");
        let text = update["entry"]["bodyText"]
            .as_str()
            .expect("text")
            .to_owned();
        assert_eq!(
            event.id.as_deref(),
            update["cursor"].as_str(),
            "the id is the cursor"
        );
        (text, event.id.expect("an id"))
    }
}

async fn a_live_blog_streams_and_resumes_from_the_last_event_id(app: &TestApp) {
    let blog = live_blog(app, "Count night").await;
    let page_cursor = blog_cursor(app, &blog).await;
    let mut stream = Stream::open(app, &blog, &page_cursor, None).await;
    // The stream is open once the response is; what is posted now arrives.
    for i in 1..=3 {
        post(app, &blog, &format!("Result {i}")).await;
    }
    let mut last = String::new();
    for i in 1..=3 {
        let (text, id) = stream.entry().await;
        assert_eq!(text, format!("Result {i}"));
        last = id;
    }
    drop(stream);
    // Missed while away.
    for i in 4..=5 {
        post(app, &blog, &format!("Result {i}")).await;
    }
    // The reconnect sends the same request, the page's cursor included:
    // the last event id wins.
    let mut resumed = Stream::open(app, &blog, &page_cursor, Some(&last)).await;
    for i in 4..=5 {
        assert_eq!(
            resumed.entry().await.0,
            format!("Result {i}"),
            "replayed in order"
        );
    }
    post(app, &blog, "Result 6").await;
    assert_eq!(
        resumed.entry().await.0,
        "Result 6",
        "then live, nothing twice"
    );
}

async fn what_is_not_a_subscription_is_refused(app: &TestApp) {
    let blog = live_blog(app, "Refusals").await;
    let send = |query: &str, accept: &str, last_event_id: Option<&str>| {
        let mut request = app
            .http
            .post(app.url("/graphql/stream"))
            .header("accept", accept)
            .json(&json!({ "query": query, "variables": { "id": blog } }));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send()
    };
    let response = send("{ sections { slug } }", "text/event-stream", None)
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    let response = send(LIVE_BLOG_EVENTS, "application/json", None)
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 406);

    let response = send(LIVE_BLOG_EVENTS, "text/event-stream", Some("not-a-cursor"))
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(error_code(&body), "CURSOR_INVALID", "{body}");

    // POST works as GET does.
    let response = send(LIVE_BLOG_EVENTS, "text/event-stream", None)
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
}

both_backends! {
    sse_streams_and_resumes => a_live_blog_streams_and_resumes_from_the_last_event_id;
    sse_refusals => what_is_not_a_subscription_is_refused;
}
