//! Live delivery on one node (the in-process bus): every subscription and
//! event type, over both WebSocket protocols; resuming from a cursor; bad
//! cursors; order under concurrent writes.

use std::collections::HashSet;
use std::time::Duration;

use e2e::ws::Protocol;
use e2e::{TestApp, both_backends, data};
use serde_json::{Value, json};

use crate::delivery_support::*;

async fn every_live_blog_event_arrives_in_order(app: &TestApp) {
    for protocol in Protocol::BOTH {
        let blog = live_blog(app, &format!("Events over {protocol:?}")).await;
        let mut widget =
            subscribe_blog(app, protocol, &blog, Some(&blog_cursor(app, &blog).await)).await;

        let entry = post(app, &blog, "Polls open").await;
        app.as_editor(
            "mutation($i: EditLiveEntryInput!) { editLiveEntry(input: $i) { id } }",
            json!({ "i": { "id": entry, "body": "<p>Polls are open</p>" } }),
        )
        .await;
        app.as_editor(
            "mutation($id: ID!) { pinLiveEntry(id: $id) { id } }",
            json!({ "id": entry }),
        )
        .await;
        app.as_editor(
            "mutation($id: ID!) { deleteLiveEntry(id: $id) }",
            json!({ "id": entry }),
        )
        .await;
        app.as_editor(
            "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: ENDED) { id } }",
            json!({ "id": blog }),
        )
        .await;

        let events = blog_events(&mut widget, 5).await;
        let kinds: Vec<_> = events
            .iter()
            .map(|e| e["__typename"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            kinds,
            [
                "LiveEntryPosted",
                "LiveEntryEdited",
                "LiveEntryPinned",
                "LiveEntryDeleted",
                "LiveBlogStatusChanged"
            ],
            "{protocol:?}"
        );
        assert_eq!(events[0]["entry"]["id"], entry.as_str());
        assert_eq!(events[0]["entry"]["bodyText"], "Polls open");
        assert_eq!(events[1]["entry"]["bodyText"], "Polls are open");
        assert_eq!(events[2]["pinned"], true);
        assert_eq!(events[3]["entryId"], entry.as_str());
        assert_eq!(events[4]["status"], "ENDED");
        let cursors: HashSet<_> = events
            .iter()
            .map(|e| e["cursor"].as_str().expect("cursor"))
            .collect();
        assert_eq!(cursors.len(), 5, "every event has its own cursor");
        assert!(events.iter().all(|e| e["occurredAt"].is_string()));
        widget
            .expect_silence(Duration::from_millis(300))
            .await
            .expect("nothing more");
    }
}

async fn a_widget_resumes_with_exactly_what_it_missed(app: &TestApp) {
    for protocol in Protocol::BOTH {
        let blog = live_blog(app, &format!("Resume over {protocol:?}")).await;
        let start = blog_cursor(app, &blog).await;
        let mut widget = subscribe_blog(app, protocol, &blog, Some(&start)).await;
        for i in 1..=3 {
            post(app, &blog, &format!("Update {i}")).await;
        }
        let seen = blog_events(&mut widget, 3).await;
        assert_eq!(posted_texts(&seen), texts("Update", 1..=3));
        let last_seen = seen[2]["cursor"].as_str().expect("cursor").to_owned();
        widget.close().await;

        // Away: the newsroom goes on.
        for i in 4..=7 {
            post(app, &blog, &format!("Update {i}")).await;
        }
        let mut widget = subscribe_blog(app, protocol, &blog, Some(&last_seen)).await;
        post(app, &blog, "Update 8").await;
        let caught_up = blog_events(&mut widget, 5).await;
        assert_eq!(
            posted_texts(&caught_up),
            texts("Update", 4..=8),
            "{protocol:?}"
        );
        widget
            .expect_silence(Duration::from_millis(300))
            .await
            .expect("no duplicate");

        // From the very start of the stream, everything replays.
        let mut historian = subscribe_blog(app, protocol, &blog, Some(&start)).await;
        assert_eq!(
            posted_texts(&blog_events(&mut historian, 8).await),
            texts("Update", 1..=8)
        );
    }
}

async fn without_a_cursor_a_widget_gets_what_comes_next(app: &TestApp) {
    let blog = live_blog(app, "From now on").await;
    post(app, &blog, "Before").await;
    let mut widget = subscribe_blog(app, Protocol::TransportWs, &blog, None).await;
    widget.sync().await.expect("the subscription is live");
    post(app, &blog, "After").await;
    assert_eq!(posted_texts(&blog_events(&mut widget, 1).await), ["After"]);
}

async fn bad_cursors_are_errors_not_hangs(app: &TestApp) {
    let blog = live_blog(app, "Cursor checks").await;
    let other = live_blog(app, "Another blog").await;
    let foreign = blog_cursor(app, &other).await;
    let breaking =
        data(&app.query("{ breakingNewsCursor }", json!({})).await)["breakingNewsCursor"]
            .as_str()
            .expect("a cursor")
            .to_owned();
    for protocol in Protocol::BOTH {
        for (cursor, why) in [
            ("not-a-cursor", "garbage"),
            (foreign.as_str(), "another blog"),
            (breaking.as_str(), "breaking news"),
        ] {
            let mut widget = subscribe_blog(app, protocol, &blog, Some(cursor)).await;
            let error = next_error(&mut widget).await;
            assert_eq!(
                error["extensions"]["code"], "CURSOR_INVALID",
                "{why} over {protocol:?}: {error}"
            );
        }
        let mut widget = app.ws(protocol).await;
        widget
            .subscribe(
                LIVE_BLOG_EVENTS,
                json!({ "id": "TGl2ZUJsb2c6MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw" }),
            )
            .await
            .expect("sent");
        assert_eq!(
            next_error(&mut widget).await["extensions"]["code"],
            "NOT_FOUND",
            "{protocol:?}"
        );
        let mut widget = app.ws(protocol).await;
        widget
            .subscribe(LIVE_BLOG_EVENTS, json!({ "id": "nonsense" }))
            .await
            .expect("sent");
        assert_eq!(
            next_error(&mut widget).await["extensions"]["code"],
            "BAD_USER_INPUT",
            "{protocol:?}"
        );
    }
}

async fn breaking_news_is_issued_and_retracted_live(app: &TestApp) {
    let article = app
        .as_editor(
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }",
            json!({ "input": { "headline": "Government falls", "body": "<p>The vote of no confidence passed.</p>", "section": "domestic-policies" } }),
        )
        .await;
    let article = data(&article)["createArticle"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.as_editor(
        "mutation($id: ID!) { publishArticle(id: $id) { id } }",
        json!({ "id": article }),
    )
    .await;

    for protocol in Protocol::BOTH {
        let cursor =
            data(&app.query("{ breakingNewsCursor }", json!({})).await)["breakingNewsCursor"]
                .as_str()
                .expect("a cursor")
                .to_owned();
        let mut banner = app.ws(protocol).await;
        banner
            .subscribe(BREAKING_EVENTS, json!({ "after": cursor }))
            .await
            .expect("subscribed");
        let issued = app
            .as_editor(
                "mutation($i: IssueBreakingNewsInput!) { issueBreakingNews(input: $i) { id } }",
                json!({ "i": { "headline": format!("Government falls ({protocol:?})"), "article": article, "priority": "URGENT" } }),
            )
            .await;
        let alert = data(&issued)["issueBreakingNews"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        app.as_editor(
            "mutation($id: ID!) { retractBreakingNews(id: $id) { id } }",
            json!({ "id": alert }),
        )
        .await;

        let results = banner.next_results(2, WAIT).await.expect("two events");
        let events: Vec<&Value> = results.iter().map(|r| &r["data"]["breakingNews"]).collect();
        assert_eq!(events[0]["__typename"], "BreakingNewsIssued");
        assert_eq!(events[0]["alert"]["id"], alert.as_str());
        assert_eq!(events[0]["alert"]["priority"], "URGENT");
        assert_eq!(events[1]["__typename"], "BreakingNewsRetracted");
        assert!(events[1]["alert"]["retractedAt"].is_string());
    }
}

const ARTICLE_PUBLISHED: &str = "subscription($section: String, $tag: String) {
  articlePublished(section: $section, tag: $tag) { id headline section { slug } tags { slug } }
}";

async fn create_article(app: &TestApp, headline: &str, section: &str, tags: &[&str]) -> String {
    let response = app
        .as_editor(
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id } }",
            json!({ "input": { "headline": headline, "body": "<p>Text.</p>", "section": section, "tags": tags } }),
        )
        .await;
    data(&response)["createArticle"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn publish(app: &TestApp, id: &str) {
    let response = app
        .as_editor(
            "mutation($id: ID!) { publishArticle(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&response)["publishArticle"]["status"], "PUBLISHED");
}

async fn article_publication_is_pushed_with_filters(app: &TestApp) {
    let mut everything = app.ws(Protocol::TransportWs).await;
    everything
        .subscribe(ARTICLE_PUBLISHED, json!({}))
        .await
        .expect("subscribed");
    let mut economy = app.ws(Protocol::Legacy).await;
    economy
        .subscribe(
            ARTICLE_PUBLISHED,
            json!({ "section": "economic-developments" }),
        )
        .await
        .expect("subscribed");
    let mut nato = app.ws(Protocol::TransportWs).await;
    nato.subscribe(ARTICLE_PUBLISHED, json!({ "tag": "nato" }))
        .await
        .expect("subscribed");
    for connection in [&mut everything, &mut economy, &mut nato] {
        connection.sync().await.expect("the subscription is live");
    }

    let budget = create_article(
        app,
        "Budget deficit narrows",
        "economic-developments",
        &["Budget"],
    )
    .await;
    let summit = create_article(
        app,
        "NATO summit opens",
        "international-relations",
        &["NATO"],
    )
    .await;
    let draft = create_article(app, "Draft only", "economic-developments", &["NATO"]).await;
    publish(app, &budget).await;
    publish(app, &summit).await;

    let all = everything
        .next_results(2, WAIT)
        .await
        .expect("two publications");
    let ids: Vec<_> = all
        .iter()
        .map(|r| {
            r["data"]["articlePublished"]["id"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(ids, [budget.as_str(), summit.as_str()]);
    let only_economy = economy.next_results(1, WAIT).await.expect("one");
    assert_eq!(
        only_economy[0]["data"]["articlePublished"]["id"],
        budget.as_str()
    );
    let only_nato = nato.next_results(1, WAIT).await.expect("one");
    assert_eq!(
        only_nato[0]["data"]["articlePublished"]["id"],
        summit.as_str()
    );
    assert_eq!(
        only_nato[0]["data"]["articlePublished"]["tags"][0]["slug"],
        "nato"
    );
    for connection in [&mut everything, &mut economy, &mut nato] {
        connection
            .expect_silence(Duration::from_millis(300))
            .await
            .expect("drafts are not published");
    }
    let _ = draft;

    let mut bad = app.ws(Protocol::TransportWs).await;
    bad.subscribe(ARTICLE_PUBLISHED, json!({ "section": "no-such-section" }))
        .await
        .expect("sent");
    assert_eq!(
        next_error(&mut bad).await["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

async fn article_updates_are_pushed(app: &TestApp) {
    let id = create_article(app, "Coalition talks", "domestic-policies", &[]).await;
    publish(app, &id).await;
    let mut reader = app.ws(Protocol::Legacy).await;
    reader
        .subscribe(
            "subscription($id: ID!) { articleUpdated(id: $id) { id headline version } }",
            json!({ "id": id }),
        )
        .await
        .expect("subscribed");
    reader.sync().await.expect("the subscription is live");
    let update = app
        .as_editor(
            "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { version } }",
            json!({ "i": { "id": id, "expectedVersion": 2, "headline": "Coalition talks collapse" } }),
        )
        .await;
    assert_eq!(data(&update)["updateArticle"]["version"], 3);
    let pushed = reader.next_results(1, WAIT).await.expect("an update");
    assert_eq!(
        pushed[0]["data"]["articleUpdated"]["headline"],
        "Coalition talks collapse"
    );
    assert_eq!(pushed[0]["data"]["articleUpdated"]["version"], 3);
}

/// 200 entries posted at once: every widget sees all of them, once each,
/// in the order of their cursors.
async fn order_holds_under_concurrent_writes(app: &TestApp) {
    let blog = live_blog(app, "Busy night").await;
    let start = blog_cursor(app, &blog).await;
    let mut widgets = Vec::new();
    for protocol in [
        Protocol::TransportWs,
        Protocol::Legacy,
        Protocol::TransportWs,
    ] {
        widgets.push(subscribe_blog(app, protocol, &blog, Some(&start)).await);
    }
    let writes: Vec<_> = (1..=200)
        .map(|i| {
            let (http, url, token, blog) = (app.http.clone(), app.url("/graphql"), app.editor_token.clone(), blog.clone());
            tokio::spawn(async move {
                let body = json!({
                    "query": "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
                    "variables": { "input": { "liveBlog": blog, "body": format!("<p>Burst {i}</p>") } },
                });
                let response: Value = http.post(url).bearer_auth(token).json(&body).send().await?.json().await?;
                anyhow::Ok(response["data"]["postLiveEntry"]["id"].as_str().unwrap_or_default().to_owned())
            })
        })
        .collect();
    let mut posted = HashSet::new();
    for write in writes {
        posted.insert(write.await.expect("joined").expect("posted"));
    }
    assert_eq!(posted.len(), 200);

    let mut orders = Vec::new();
    for widget in &mut widgets {
        let events = blog_events(widget, 200).await;
        let ids: Vec<String> = events
            .iter()
            .map(|e| e["entry"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            200,
            "no duplicates"
        );
        assert_eq!(
            ids.iter().cloned().collect::<HashSet<_>>(),
            posted,
            "nothing missing"
        );
        widget
            .expect_silence(Duration::from_millis(200))
            .await
            .expect("nothing more");
        orders.push(ids);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "every widget sees the same order"
    );
    // That order is the stream's: a replay from the start gives the same.
    let mut replay = subscribe_blog(app, Protocol::TransportWs, &blog, Some(&start)).await;
    let replayed: Vec<String> = blog_events(&mut replay, 200)
        .await
        .iter()
        .map(|e| e["entry"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(replayed, orders[0]);
}

both_backends! {
    every_live_blog_event_arrives_in_order => every_live_blog_event_arrives_in_order;
    a_widget_resumes_with_exactly_what_it_missed => a_widget_resumes_with_exactly_what_it_missed;
    without_a_cursor_a_widget_gets_what_comes_next => without_a_cursor_a_widget_gets_what_comes_next;
    bad_cursors_are_errors_not_hangs => bad_cursors_are_errors_not_hangs;
    breaking_news_is_issued_and_retracted_live => breaking_news_is_issued_and_retracted_live;
    article_publication_is_pushed_with_filters => article_publication_is_pushed_with_filters;
    article_updates_are_pushed => article_updates_are_pushed;
    order_holds_under_concurrent_writes => order_holds_under_concurrent_writes;
}
