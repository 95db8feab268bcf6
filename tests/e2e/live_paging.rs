//! Paging through a live blog's entries: newest first, both ways, key
//! events only, and centred on one shared entry.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

const ENTRIES: &str = "query($id: ID, $first: Int, $after: String, $last: Int, $before: String, $keyEventsOnly: Boolean!, $around: ID) {
    liveBlog(id: $id) { entries(first: $first, after: $after, last: $last, before: $before, keyEventsOnly: $keyEventsOnly, around: $around) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id bodyText pinned } } } } }";
/// base64url("LiveEntry:01930000-0000-7000-8000-000000000000"): well formed, never issued.
const UNKNOWN_ENTRY: &str = "TGl2ZUVudHJ5OjAxOTMwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA";

async fn live_blog(app: &TestApp, title: &str) -> Value {
    let response = app
        .as_editor(
            "mutation($input: CreateLiveBlogInput!) { createLiveBlog(input: $input) { id } }",
            json!({ "input": { "title": title, "section": "legislative-updates" } }),
        )
        .await;
    let id = data(&response)["createLiveBlog"]["id"].clone();
    let live = app
        .as_editor(
            "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: LIVE) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&live)["setLiveBlogStatus"]["status"], "LIVE");
    id
}

/// Posts entries "Update 1" to "Update n"; every third is a key event.
async fn post_numbered(app: &TestApp, blog: &Value, n: usize) -> Vec<Value> {
    let mut ids = Vec::new();
    for i in 1..=n {
        let entry = post(app, json!({ "liveBlog": blog, "body": format!("<p>Update {i}</p>"), "keyEvent": i % 3 == 0 })).await;
        ids.push(entry["id"].clone());
    }
    ids
}

async fn post(app: &TestApp, input: Value) -> Value {
    let response = app
        .as_editor(
            "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    data(&response)["postLiveEntry"].clone()
}

async fn entries(app: &TestApp, blog: &Value, args: Value) -> Value {
    let mut variables = json!({ "id": blog, "keyEventsOnly": false });
    for (key, value) in args.as_object().expect("an object") {
        variables[key] = value.clone();
    }
    app.query(ENTRIES, variables).await
}

async fn page(app: &TestApp, blog: &Value, args: Value) -> Value {
    let response = entries(app, blog, args).await;
    data(&response)["liveBlog"]["entries"].clone()
}

/// The numbers of the entries on a page, in page order.
fn numbers(page: &Value) -> Vec<u32> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let text = e["node"]["bodyText"].as_str().expect("text").trim();
            text.trim_start_matches("Update ")
                .parse()
                .unwrap_or_else(|_| panic!("unexpected entry {text:?}"))
        })
        .collect()
}

async fn entries_page_newest_first_both_ways(app: &TestApp) {
    let blog = live_blog(app, "Paging blog").await;
    post_numbered(app, &blog, 11).await;

    let all = page(app, &blog, json!({})).await;
    assert_eq!(
        numbers(&all),
        [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        "newest first"
    );
    assert_eq!(all["totalCount"], 11);

    let one = page(app, &blog, json!({ "first": 4 })).await;
    assert_eq!(numbers(&one), [11, 10, 9, 8]);
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = page(
        app,
        &blog,
        json!({ "first": 4, "after": one["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(numbers(&two), [7, 6, 5, 4]);
    let three = page(
        app,
        &blog,
        json!({ "first": 4, "after": two["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(numbers(&three), [3, 2, 1]);
    assert_eq!(three["pageInfo"]["hasNextPage"], false);
    assert_eq!(three["totalCount"], 11);

    let oldest = page(app, &blog, json!({ "last": 3 })).await;
    assert_eq!(
        numbers(&oldest),
        [3, 2, 1],
        "last pages from the oldest end, in list order"
    );
    assert_eq!(oldest["pageInfo"]["hasPreviousPage"], true);
    let before = page(
        app,
        &blog,
        json!({ "last": 3, "before": oldest["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(numbers(&before), [6, 5, 4]);
    let newest = page(
        app,
        &blog,
        json!({ "last": 5, "before": before["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(numbers(&newest), [11, 10, 9, 8, 7]);
    assert_eq!(newest["pageInfo"]["hasPreviousPage"], false);

    let keys = page(app, &blog, json!({ "keyEventsOnly": true })).await;
    assert_eq!(numbers(&keys), [9, 6, 3]);
    assert_eq!(keys["totalCount"], 3);
    let keys_page = page(app, &blog, json!({ "keyEventsOnly": true, "first": 2 })).await;
    assert_eq!(numbers(&keys_page), [9, 6]);
    let keys_rest = page(
        app,
        &blog,
        json!({ "keyEventsOnly": true, "first": 2, "after": keys_page["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(numbers(&keys_rest), [3]);
    let key_events = app
        .query("query($id: ID) { liveBlog(id: $id) { keyEvents(first: 2) { bodyText keyEvent } all: keyEvents { bodyText } } }", json!({ "id": blog }))
        .await;
    let key_events = &data(&key_events)["liveBlog"];
    assert_eq!(key_events["keyEvents"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        key_events["keyEvents"][0]["bodyText"]
            .as_str()
            .map(str::trim),
        Some("Update 9")
    );
    assert_eq!(
        key_events["keyEvents"][1]["bodyText"]
            .as_str()
            .map(str::trim),
        Some("Update 6")
    );
    assert_eq!(key_events["all"].as_array().map(Vec::len), Some(3));

    for (args, code) in [
        (json!({ "after": "bm90IGEgY3Vyc29y" }), "CURSOR_INVALID"),
        (json!({ "before": "%%%" }), "CURSOR_INVALID"),
        (json!({ "first": 2, "last": 2 }), "BAD_USER_INPUT"),
        (json!({ "first": -1 }), "BAD_USER_INPUT"),
        (json!({ "last": 101 }), "BAD_USER_INPUT"),
    ] {
        let response = entries(app, &blog, args.clone()).await;
        assert_eq!(error_code(&response), code, "{args}");
    }
    // A cursor from another list is not a cursor of this one.
    let blogs = app
        .query("{ liveBlogs(first: 1) { edges { cursor } } }", json!({}))
        .await;
    let foreign = data(&blogs)["liveBlogs"]["edges"][0]["cursor"].clone();
    assert_eq!(
        error_code(&entries(app, &blog, json!({ "after": foreign })).await),
        "CURSOR_INVALID"
    );
}

async fn around_centres_a_page_on_one_entry(app: &TestApp) {
    let blog = live_blog(app, "Around blog").await;
    let ids = post_numbered(app, &blog, 11).await;

    let centred = page(app, &blog, json!({ "around": ids[5], "first": 5 })).await;
    assert_eq!(
        numbers(&centred),
        [8, 7, 6, 5, 4],
        "two newer, the entry, two older"
    );
    assert_eq!(centred["pageInfo"]["hasNextPage"], true);
    assert_eq!(centred["pageInfo"]["hasPreviousPage"], true);
    // Its cursors page on from either end.
    let older = page(
        app,
        &blog,
        json!({ "first": 2, "after": centred["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(numbers(&older), [3, 2]);
    let newer = page(
        app,
        &blog,
        json!({ "last": 2, "before": centred["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(numbers(&newer), [10, 9]);

    let at_top = page(app, &blog, json!({ "around": ids[10], "first": 5 })).await;
    assert_eq!(
        numbers(&at_top),
        [11, 10, 9, 8, 7],
        "nothing newer: the rest are older"
    );
    assert_eq!(at_top["pageInfo"]["hasPreviousPage"], false);
    // Around the oldest: nothing older, so the page is filled with newer.
    let at_bottom = page(app, &blog, json!({ "around": ids[0], "first": 3 })).await;
    assert_eq!(
        numbers(&at_bottom),
        [3, 2, 1],
        "nothing older: the rest are newer"
    );
    assert_eq!(at_bottom["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(at_bottom["pageInfo"]["hasNextPage"], false);
    let key_around = page(
        app,
        &blog,
        json!({ "around": ids[5], "first": 3, "keyEventsOnly": true }),
    )
    .await;
    assert_eq!(numbers(&key_around), [9, 6, 3]);

    let other = live_blog(app, "Another blog").await;
    let foreign = post(
        app,
        json!({ "liveBlog": other, "body": "<p>Elsewhere</p>" }),
    )
    .await;
    for (args, why) in [
        (
            json!({ "around": foreign["id"], "first": 5 }),
            "an entry of another blog",
        ),
        (
            json!({ "around": ids[1], "first": 5, "keyEventsOnly": true }),
            "not a key event",
        ),
        (
            json!({ "around": UNKNOWN_ENTRY, "first": 5 }),
            "no such entry",
        ),
        (json!({ "around": blog, "first": 5 }), "a blog's id"),
        (
            json!({ "around": ids[5], "after": centred["pageInfo"]["endCursor"] }),
            "around with after",
        ),
    ] {
        let response = entries(app, &blog, args).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{why}: {response:#}"
        );
    }
}

both_backends! {
    entries_page_both_ways => entries_page_newest_first_both_ways;
    around_centres_a_page => around_centres_a_page_on_one_entry;
}
