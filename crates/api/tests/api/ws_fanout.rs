//! Fan-out over WebSocket: an event is rendered once per distinct
//! subscription (document and variables apart from the cursor), however
//! many connections subscribe to it, and those bytes reach every one.
//! Counted through `/metrics`.

use axum::body::Body;
use axum::http::Request;
use domain::Role;
use serde_json::{Value, json};

use crate::TestApp;
use crate::ws::{
    LEGACY, LIVE_BLOG, Socket, TRANSPORT_WS, live_blog, next_json, open, post, serve, subscribe,
    sync,
};

/// A value from `/metrics`.
async fn metric(app: &TestApp, name: &str) -> u64 {
    let reply = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    let text = reply.body.as_str().unwrap().to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

/// `(renders, deliveries)` from `/metrics`.
async fn counts(app: &TestApp) -> (u64, u64) {
    (
        metric(app, "politmaster_subscription_renders_total").await,
        metric(app, "politmaster_subscription_deliveries_total").await,
    )
}

/// Waits (up to five seconds) until `/metrics` shows `name` at `value`.
async fn until_metric(app: &TestApp, name: &str, value: u64) {
    let wait = async {
        while metric(app, name).await != value {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("{name} did not reach {value}"));
}

/// Subscribers at the live edge are written to by their stream's pump,
/// which lets go of each as it leaves: of its socket too, which closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pump_serves_subscribers_at_the_live_edge_and_lets_go_of_those_who_leave() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let (blog, _) = live_blog(&app, &editor).await;
    let addr = serve(&app).await;
    let mut sockets = Vec::new();
    for protocol in [TRANSPORT_WS, LEGACY, TRANSPORT_WS] {
        let mut socket = open(addr, protocol, json!({})).await;
        subscribe(&mut socket, protocol, "1", LIVE_BLOG, json!({ "id": blog })).await;
        sync(&mut socket, protocol).await;
        sockets.push(socket);
    }
    until_metric(&app, "politmaster_subscription_pumped", 3).await;
    post(&app, &editor, &blog, "One").await;
    for socket in &mut sockets {
        assert_eq!(texts(socket, 1).await, ["One"]);
    }
    // One stops its subscription, one hangs up.
    crate::ws::send(&mut sockets[0], json!({ "id": "1", "type": "complete" })).await;
    let gone = sockets.remove(1);
    drop(gone);
    until_metric(&app, "politmaster_subscription_pumped", 1).await;
    post(&app, &editor, &blog, "Two").await;
    assert_eq!(texts(&mut sockets[1], 1).await, ["Two"]);
    assert_eq!(
        metric(&app, "politmaster_subscription_handbacks_total").await,
        0
    );
    // The stopped one hears nothing more, and its connection lives on.
    sync(&mut sockets[0], TRANSPORT_WS).await;
}

async fn blog_cursor(app: &TestApp, blog: &Value) -> String {
    let reply = app
        .query(
            "query($id: ID) { liveBlog(id: $id) { cursor } }",
            json!({ "id": blog }),
            None,
        )
        .await;
    reply.body["data"]["liveBlog"]["cursor"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The body texts of the next `n` events on `socket`.
async fn texts(socket: &mut Socket, n: usize) -> Vec<String> {
    let mut texts = Vec::new();
    for _ in 0..n {
        let message = next_json(socket).await;
        let event = &message["payload"]["data"]["liveBlog"];
        texts.push(
            event["entry"]["bodyText"]
                .as_str()
                .unwrap_or_else(|| panic!("an entry in {message}"))
                .to_owned(),
        );
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_subscribers_with_one_document_cost_one_render_per_event() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let (blog, start) = live_blog(&app, &editor).await;
    // Four positions in the blog: before, and after each of three entries.
    let mut cursors = vec![start];
    for i in 1..=3 {
        post(&app, &editor, &blog, &format!("<p>Entry {i}</p>")).await;
        cursors.push(blog_cursor(&app, &blog).await);
    }
    let addr = serve(&app).await;
    assert_eq!(counts(&app).await, (0, 0));

    // 200 widgets over both protocols, resuming from different cursors:
    // one render key, since only the cursor differs.
    let mut widgets = Vec::new();
    for i in 0..200 {
        let protocol = if i % 2 == 0 { TRANSPORT_WS } else { LEGACY };
        let position = i % cursors.len();
        let mut socket = open(addr, protocol, json!({})).await;
        let variables = json!({ "id": blog, "after": cursors[position] });
        subscribe(&mut socket, protocol, "blog", LIVE_BLOG, variables).await;
        widgets.push((socket, position));
    }
    // Each replays what it missed.
    for (socket, position) in &mut widgets {
        let expected: Vec<String> = (*position + 1..=3).map(|i| format!("Entry {i}")).collect();
        assert_eq!(texts(socket, expected.len()).await, expected);
    }
    // And all of them get the next entry live.
    post(&app, &editor, &blog, "<p>Entry 4</p>").await;
    for (socket, _) in &mut widgets {
        assert_eq!(texts(socket, 1).await, ["Entry 4"]);
    }

    let replayed: u64 = (0..200).map(|i| 3 - (i % 4) as u64).sum();
    assert_eq!(
        counts(&app).await,
        (4, replayed + 200),
        "four events, each rendered once, delivered to every widget that wanted it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_that_differ_in_document_or_variables_render_separately() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let (first, first_cursor) = live_blog(&app, &editor).await;
    let (second, second_cursor) = live_blog(&app, &editor).await;
    let addr = serve(&app).await;
    let other_document = "subscription($id: ID!, $after: String) {
      liveBlog(id: $id, after: $after) { cursor ... on LiveEntryPosted { entry { id bodyText } } }
    }";
    let mut widgets = Vec::new();
    for (document, blog, cursor) in [
        (LIVE_BLOG, &first, &first_cursor),
        (other_document, &first, &first_cursor),
        (LIVE_BLOG, &second, &second_cursor),
    ] {
        for _ in 0..10 {
            let mut socket = open(addr, TRANSPORT_WS, json!({})).await;
            let variables = json!({ "id": blog, "after": cursor });
            subscribe(&mut socket, TRANSPORT_WS, "1", document, variables).await;
            widgets.push(socket);
        }
    }
    post(&app, &editor, &first, "<p>On the first</p>").await;
    post(&app, &editor, &second, "<p>On the second</p>").await;
    for (i, socket) in widgets.iter_mut().enumerate() {
        let expected = if i < 20 {
            "On the first"
        } else {
            "On the second"
        };
        assert_eq!(texts(socket, 1).await, [expected]);
    }
    // The first blog's entry in two documents, the second's in one.
    assert_eq!(counts(&app).await, (3, 30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_filtered_out_renders_to_nothing_and_reaches_nobody() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let addr = serve(&app).await;
    let document = "subscription($tag: String) { articlePublished(tag: $tag) { headline } }";
    let mut nato = open(addr, TRANSPORT_WS, json!({})).await;
    subscribe(
        &mut nato,
        TRANSPORT_WS,
        "1",
        document,
        json!({ "tag": "nato" }),
    )
    .await;
    sync(&mut nato, TRANSPORT_WS).await;
    let mut also_nato = open(addr, LEGACY, json!({})).await;
    subscribe(
        &mut also_nato,
        LEGACY,
        "1",
        document,
        json!({ "tag": "nato" }),
    )
    .await;
    sync(&mut also_nato, LEGACY).await;

    for (headline, tags) in [("Untagged", json!([])), ("Summit opens", json!(["NATO"]))] {
        let created = app
            .query(
                "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }",
                json!({ "input": {
                    "headline": headline, "section": "international-relations",
                    "tags": tags, "body": "<p>Text</p>"
                } }),
                Some(&editor),
            )
            .await;
        let id = created.body["data"]["createArticle"]["id"].clone();
        app.query(
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            json!({ "id": id }),
            Some(&editor),
        )
        .await;
    }
    for socket in [&mut nato, &mut also_nato] {
        let message = next_json(socket).await;
        assert_eq!(
            message["payload"]["data"]["articlePublished"]["headline"],
            "Summit opens"
        );
    }
    // Each publication rendered once (the untagged one to nothing; the
    // `ArticleUpdated` events never reach rendering), the tagged one
    // delivered twice.
    assert_eq!(counts(&app).await, (2, 2));
}
