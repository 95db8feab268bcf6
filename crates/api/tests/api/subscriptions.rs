//! The `Subscription` root through the schema's own streams (no socket):
//! every event type, replay from a cursor, filters, errors at subscribe
//! time and while running, and that subscriptions show public content
//! only. The transports are tested in `ws.rs`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_graphql::Variables;
use domain::events::Stream;
use domain::ports::BusMessage;
use domain::{Caller, Role};
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use serde_json::{Value, json};

use crate::TestApp;

/// A running subscription, its responses collected as JSON.
struct Subscriber(UnboundedReceiver<Value>);

impl Subscriber {
    fn start(app: &TestApp, query: &str, variables: Value, caller: Caller) -> Self {
        let schema = api::graphql::schema(app.newsroom.clone(), api::SiteConfig::default());
        // The caller's token must make no difference: subscriptions run
        // as anonymous readers.
        let request = async_graphql::Request::new(query)
            .variables(Variables::from_json(variables))
            .data(caller);
        let mut responses = api::graphql::execute::execute_stream(&schema, request);
        let (tx, rx) = unbounded();
        tokio::spawn(async move {
            while let Some(response) = responses.next().await {
                if tx
                    .unbounded_send(serde_json::to_value(&response).unwrap())
                    .is_err()
                {
                    break;
                }
            }
        });
        Subscriber(rx)
    }

    /// The next response; `None` once the subscription completed.
    async fn next(&mut self) -> Option<Value> {
        tokio::time::timeout(Duration::from_secs(5), self.0.next())
            .await
            .expect("a response within 5 s")
    }

    /// The next response's data, which must have no errors.
    async fn data(&mut self) -> Value {
        let response = self.next().await.expect("an event");
        assert!(response.get("errors").is_none(), "{response}");
        response["data"].clone()
    }

    /// The code of the error in the next response, after which the
    /// subscription must complete.
    async fn error_and_end(&mut self) -> String {
        let response = self.next().await.expect("an error");
        let code = response["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code in {response}"))
            .to_owned();
        assert_eq!(self.next().await, None, "completes after the error");
        code
    }

    /// Nothing arrives for a little while.
    async fn quiet(&mut self) {
        let next = tokio::time::timeout(Duration::from_millis(100), self.0.next()).await;
        assert!(next.is_err(), "unexpected {next:?}");
    }
}

const LIVE_BLOG: &str = "subscription($id: ID!, $after: String) {
  liveBlog(id: $id, after: $after) {
    __typename cursor occurredAt
    ... on LiveEntryPosted { entry { id bodyText } }
    ... on LiveEntryEdited { entry { id bodyText } }
    ... on LiveEntryDeleted { entryId }
    ... on LiveEntryPinned { pinned entry { id pinned } }
    ... on LiveBlogStatusChanged { status liveBlog { id status } }
  }
}";

struct Desk<'a> {
    app: &'a TestApp,
    token: String,
}

impl Desk<'_> {
    async fn new(app: &TestApp) -> Desk<'_> {
        Desk {
            token: app.token(Role::Admin).await,
            app,
        }
    }

    async fn run(&self, query: &str, variables: Value) -> Value {
        let reply = self.app.query(query, variables, Some(&self.token)).await;
        assert!(reply.body.get("errors").is_none(), "{}", reply.body);
        reply.body["data"].clone()
    }

    /// A new live blog: its id and cursor.
    async fn live_blog(&self) -> (Value, String) {
        let data = self
            .run(
                "mutation { createLiveBlog(input: { title: \"Budget vote\", section: \"legislative-updates\" }) { id cursor } }",
                json!({}),
            )
            .await;
        let blog = &data["createLiveBlog"];
        (
            blog["id"].clone(),
            blog["cursor"].as_str().unwrap().to_owned(),
        )
    }

    async fn post(&self, blog: &Value, body: &str) -> Value {
        let data = self
            .run(
                "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
                json!({ "input": { "liveBlog": blog, "body": body } }),
            )
            .await;
        data["postLiveEntry"]["id"].clone()
    }
}

#[tokio::test]
async fn subscriptions_that_start_together_share_their_reads() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    let (blog, cursor) = desk.live_blog().await;
    let start_reads = || app.store.start_reads.load(Ordering::SeqCst);
    // What a post costs of those reads by itself, to leave out below.
    let before = start_reads();
    desk.post(&blog, "<p>Doors open</p>").await;
    let cursor_after_first = {
        let mut one = Subscriber::start(
            &app,
            LIVE_BLOG,
            json!({ "id": blog, "after": cursor }),
            Caller::anonymous(),
        );
        one.data().await["liveBlog"]["cursor"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let per_post = start_reads() - before - 2;

    // 50 widgets reconnect at once to a database that takes its time.
    app.store.slow_start_reads.store(true, Ordering::SeqCst);
    let before = start_reads();
    let mut widgets: Vec<Subscriber> = (0..50)
        .map(|_| {
            Subscriber::start(
                &app,
                LIVE_BLOG,
                json!({ "id": blog, "after": cursor_after_first }),
                Caller::anonymous(),
            )
        })
        .collect();
    desk.post(&blog, "<p>First results</p>").await;
    for widget in &mut widgets {
        let event = widget.data().await;
        assert_eq!(
            event["liveBlog"]["entry"]["bodyText"], "First results",
            "every widget has exactly the entry after its cursor"
        );
    }
    let reads = start_reads() - before - per_post;
    // One at a time, that is 100: whether the blog exists and where its
    // stream is, for each. Batched, each is read by the one read in flight
    // when they asked and by the next, which serves all who asked meanwhile.
    assert!(reads <= 6, "{reads} reads for 50 subscriptions");
}

#[tokio::test]
async fn every_live_blog_event_arrives_in_order_and_a_cursor_resumes_after_it() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    let (blog, cursor) = desk.live_blog().await;
    let mut sub = Subscriber::start(
        &app,
        LIVE_BLOG,
        json!({ "id": blog, "after": cursor }),
        Caller::anonymous(),
    );

    let entry = desk.post(&blog, "<p>Polls open</p>").await;
    desk.run(
        "mutation($id: ID!) { editLiveEntry(input: { id: $id, body: \"<p>Polls are open</p>\" }) { id } }",
        json!({ "id": entry }),
    )
    .await;
    desk.run(
        "mutation($id: ID!) { pinLiveEntry(id: $id) { id } }",
        json!({ "id": entry }),
    )
    .await;
    desk.run(
        "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: LIVE) { id } }",
        json!({ "id": blog }),
    )
    .await;
    desk.run(
        "mutation($id: ID!) { deleteLiveEntry(id: $id) }",
        json!({ "id": entry }),
    )
    .await;

    let mut events = Vec::new();
    for _ in 0..5 {
        events.push(sub.data().await["liveBlog"].clone());
    }
    let kinds: Vec<_> = events.iter().map(|e| e["__typename"].clone()).collect();
    assert_eq!(
        kinds,
        [
            "LiveEntryPosted",
            "LiveEntryEdited",
            "LiveEntryPinned",
            "LiveBlogStatusChanged",
            "LiveEntryDeleted"
        ]
    );
    assert_eq!(events[0]["entry"]["bodyText"], "Polls open");
    assert_eq!(events[1]["entry"]["bodyText"], "Polls are open");
    assert_eq!(
        (&events[2]["pinned"], &events[2]["entry"]["pinned"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(events[3]["status"], "LIVE");
    assert_eq!(events[3]["liveBlog"]["status"], "LIVE");
    assert_eq!(events[4]["entryId"], entry);
    let cursors: std::collections::HashSet<_> = events
        .iter()
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    assert_eq!(cursors.len(), 5, "every event has its own cursor");
    assert!(!cursors.contains(cursor.as_str()));
    assert!(events.iter().all(|e| e["occurredAt"].is_string()));
    sub.quiet().await;

    // A subscriber that handled the first two resumes with the third.
    let mut resumed = Subscriber::start(
        &app,
        LIVE_BLOG,
        json!({ "id": blog, "after": events[1]["cursor"] }),
        Caller::anonymous(),
    );
    for expected in &events[2..] {
        assert_eq!(&resumed.data().await["liveBlog"], expected);
    }
    resumed.quiet().await;

    // The blog's cursor is now the position of its last event.
    let reply = app
        .query(
            "query($id: ID) { liveBlog(id: $id) { cursor } }",
            json!({ "id": blog }),
            None,
        )
        .await;
    assert_eq!(
        reply.body["data"]["liveBlog"]["cursor"],
        events[4]["cursor"]
    );
}

#[tokio::test]
async fn subscribing_wrongly_is_a_coded_error_not_a_hang() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    let (blog, cursor) = desk.live_blog().await;
    let (_, other_cursor) = desk.live_blog().await;
    let breaking = app
        .query("{ breakingNewsCursor }", json!({}), None)
        .await
        .body["data"]["breakingNewsCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            json!({ "id": blog, "after": "not a cursor" }),
            "CURSOR_INVALID",
        ),
        (
            json!({ "id": blog, "after": other_cursor }),
            "CURSOR_INVALID",
        ),
        (json!({ "id": blog, "after": breaking }), "CURSOR_INVALID"),
        (json!({ "id": "nope" }), "BAD_USER_INPUT"),
        // Another type's id.
        (
            json!({ "id": desk.post(&blog, "<p>x</p>").await }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "id": api::graphql::ids::to_global(domain::ids::LiveBlogId::new()) }),
            "NOT_FOUND",
        ),
    ];
    for (variables, code) in cases {
        let mut sub = Subscriber::start(&app, LIVE_BLOG, variables.clone(), Caller::anonymous());
        assert_eq!(sub.error_and_end().await, code, "{variables}");
    }
    // The blog's own cursor is fine.
    let mut sub = Subscriber::start(
        &app,
        LIVE_BLOG,
        json!({ "id": blog, "after": cursor }),
        Caller::anonymous(),
    );
    // It replays the entry posted above, then waits.
    assert_eq!(
        sub.data().await["liveBlog"]["__typename"],
        "LiveEntryPosted"
    );
    sub.quiet().await;
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_gets_a_last_slow_consumer_error() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    let (blog, _) = desk.live_blog().await;
    let mut sub = Subscriber::start(&app, LIVE_BLOG, json!({ "id": blog }), Caller::anonymous());
    let id: domain::ids::LiveBlogId =
        api::graphql::ids::from_global("id", blog.as_str().unwrap()).unwrap();
    let stream = Stream::LiveBlog(id);
    app.bus.wait_for_subscribers(&stream, 1).await;
    desk.post(&blog, "<p>One</p>").await;
    assert_eq!(
        sub.data().await["liveBlog"]["__typename"],
        "LiveEntryPosted"
    );
    app.bus.inject(&stream, BusMessage::Lagged);
    let response = sub.next().await.unwrap();
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["code"], "SLOW_CONSUMER", "{response}");
    assert!(
        error["message"].as_str().unwrap().contains("cursor"),
        "{response}"
    );
    assert_eq!(sub.next().await, None, "the subscription ends");
}

const BREAKING: &str = "subscription($after: String) {
  breakingNews(after: $after) {
    __typename cursor occurredAt
    ... on BreakingNewsIssued { alert { id headline active } }
    ... on BreakingNewsRetracted { alert { id retractedAt active } }
  }
}";

#[tokio::test]
async fn breaking_news_is_issued_and_retracted_live_from_the_banner_cursor() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    // An alert before the page load: the banner shows it, the cursor is
    // past it.
    desk.run(
        "mutation { issueBreakingNews(input: { headline: \"Earlier\" }) { id } }",
        json!({}),
    )
    .await;
    let page = app
        .query(
            "{ breakingNews { headline } breakingNewsCursor }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(page.body["data"]["breakingNews"][0]["headline"], "Earlier");
    let cursor = page.body["data"]["breakingNewsCursor"].clone();

    let mut sub = Subscriber::start(
        &app,
        BREAKING,
        json!({ "after": cursor }),
        Caller::anonymous(),
    );
    let issued = desk
        .run(
            "mutation { issueBreakingNews(input: { headline: \"Government falls\", priority: URGENT }) { id } }",
            json!({}),
        )
        .await["issueBreakingNews"]["id"]
        .clone();
    desk.run(
        "mutation($id: ID!) { retractBreakingNews(id: $id) { id } }",
        json!({ "id": issued }),
    )
    .await;

    let first = sub.data().await["breakingNews"].clone();
    assert_eq!(first["__typename"], "BreakingNewsIssued");
    assert_eq!(first["alert"]["headline"], "Government falls");
    assert_eq!(first["alert"]["id"], issued);
    let second = sub.data().await["breakingNews"].clone();
    assert_eq!(second["__typename"], "BreakingNewsRetracted");
    assert!(second["alert"]["retractedAt"].is_string());
    assert_eq!(second["alert"]["active"], false);
    assert_ne!(first["cursor"], second["cursor"]);
    sub.quiet().await;

    let mut bad = Subscriber::start(&app, BREAKING, json!({ "after": "x" }), Caller::anonymous());
    assert_eq!(bad.error_and_end().await, "CURSOR_INVALID");
}

const PUBLISHED: &str = "subscription($section: String, $tag: String) {
  articlePublished(section: $section, tag: $tag) {
    headline
    section { slug articles(filter: { status: DRAFT }) { totalCount } }
    tags { slug }
  }
}";

impl Desk<'_> {
    async fn draft(&self, headline: &str, section: &str, tags: &[&str]) -> Value {
        let data = self
            .run(
                "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }",
                json!({ "input": {
                    "headline": headline, "section": section, "tags": tags, "body": "<p>Text</p>"
                } }),
            )
            .await;
        data["createArticle"]["id"].clone()
    }

    async fn publish(&self, id: &Value) {
        self.run(
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    }
}

#[tokio::test]
async fn published_articles_are_filtered_by_section_and_tag_and_show_public_content_only() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    // A draft in the section: the desk would count it, readers do not.
    desk.draft("Still a draft", "domestic-policies", &[]).await;
    // Subscribed with the desk's caller: subscriptions are public anyway.
    let principal = app.newsroom.caller_for_token(&desk.token).await.unwrap();
    let mut all = Subscriber::start(&app, PUBLISHED, json!({}), principal);
    let mut domestic = Subscriber::start(
        &app,
        PUBLISHED,
        json!({ "section": "domestic-policies" }),
        Caller::anonymous(),
    );
    let mut nato = Subscriber::start(
        &app,
        PUBLISHED,
        json!({ "tag": "nato" }),
        Caller::anonymous(),
    );
    // A tag nobody has used yet matches once an article carries it.
    let mut new_tag = Subscriber::start(
        &app,
        PUBLISHED,
        json!({ "tag": "greenland" }),
        Caller::anonymous(),
    );
    app.bus.wait_for_subscribers(&Stream::Articles, 4).await;

    let first = desk.draft("Budget passes", "domestic-policies", &[]).await;
    let second = desk
        .draft("Summit opens", "international-relations", &["NATO"])
        .await;
    let third = desk
        .draft("Island for sale", "international-relations", &["Greenland"])
        .await;
    for id in [&first, &second, &third] {
        desk.publish(id).await;
    }

    let got = all.data().await["articlePublished"].clone();
    assert_eq!(got["headline"], "Budget passes");
    assert_eq!(
        got["section"]["articles"]["totalCount"], 0,
        "a subscription sees published content only, whatever the token"
    );
    assert_eq!(
        all.data().await["articlePublished"]["headline"],
        "Summit opens"
    );
    assert_eq!(
        all.data().await["articlePublished"]["headline"],
        "Island for sale"
    );
    assert_eq!(
        domestic.data().await["articlePublished"]["headline"],
        "Budget passes"
    );
    domestic.quiet().await;
    let got = nato.data().await["articlePublished"].clone();
    assert_eq!(got["headline"], "Summit opens");
    assert_eq!(got["tags"][0]["slug"], "nato");
    nato.quiet().await;
    assert_eq!(
        new_tag.data().await["articlePublished"]["headline"],
        "Island for sale"
    );
    // Republishing a published article publishes nothing new.
    desk.publish(&first).await;
    all.quiet().await;

    let mut unknown = Subscriber::start(
        &app,
        PUBLISHED,
        json!({ "section": "sport" }),
        Caller::anonymous(),
    );
    assert_eq!(unknown.error_and_end().await, "BAD_USER_INPUT");
    let mut malformed =
        Subscriber::start(&app, PUBLISHED, json!({ "tag": "" }), Caller::anonymous());
    assert_eq!(malformed.error_and_end().await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_article_is_followed_while_it_is_published() {
    let app = TestApp::with_articles(0);
    let desk = Desk::new(&app).await;
    let id = desk.draft("First take", "economic-developments", &[]).await;

    let updated = "subscription($id: ID!) { articleUpdated(id: $id) { id headline version } }";
    let mut draft = Subscriber::start(&app, updated, json!({ "id": id }), Caller::anonymous());
    assert_eq!(
        draft.error_and_end().await,
        "NOT_FOUND",
        "a draft is not there for readers"
    );
    let mut malformed = Subscriber::start(&app, updated, json!({ "id": "x" }), Caller::anonymous());
    assert_eq!(malformed.error_and_end().await, "BAD_USER_INPUT");

    desk.publish(&id).await;
    let mut sub = Subscriber::start(&app, updated, json!({ "id": id }), Caller::anonymous());
    app.bus.wait_for_subscribers(&Stream::Articles, 1).await;
    let edit = "mutation($id: ID!, $v: Int!, $h: String!) {
      updateArticle(input: { id: $id, expectedVersion: $v, headline: $h }) { version }
    }";
    desk.run(edit, json!({ "id": id, "v": 2, "h": "Second take" }))
        .await;
    let got = sub.data().await["articleUpdated"].clone();
    assert_eq!(
        (&got["id"], &got["headline"], &got["version"]),
        (&id, &json!("Second take"), &json!(3))
    );
    // Unpublished: its changes are not for readers.
    desk.run(
        "mutation($id: ID!) { unpublishArticle(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    desk.run(edit, json!({ "id": id, "v": 4, "h": "Draft again" }))
        .await;
    sub.quiet().await;
    // Published again: followed again.
    desk.publish(&id).await;
    assert_eq!(
        sub.data().await["articleUpdated"]["headline"],
        "Draft again"
    );
    // Another article's changes are not this one's.
    let other = desk.draft("Other", "economic-developments", &[]).await;
    desk.publish(&other).await;
    sub.quiet().await;
}
