//! Pinning: a live blog has at most one pinned entry, whoever pins what
//! and however many editors pin at once.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

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

/// Posts an entry and returns its id and `pinned` flag.
async fn post(app: &TestApp, input: Value) -> Value {
    let response = app
        .as_editor(
            "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id pinned } }",
            json!({ "input": input }),
        )
        .await;
    data(&response)["postLiveEntry"].clone()
}

async fn post_numbered(app: &TestApp, blog: &Value, n: usize) -> Vec<Value> {
    let mut ids = Vec::new();
    for i in 1..=n {
        let entry = post(
            app,
            json!({ "liveBlog": blog, "body": format!("<p>Update {i}</p>") }),
        )
        .await;
        ids.push(entry["id"].clone());
    }
    ids
}

async fn one_entry_is_pinned_at_a_time(app: &TestApp) {
    let blog = live_blog(app, "Pinning blog").await;
    let ids = post_numbered(app, &blog, 3).await;
    let pin = "mutation($id: ID!, $pinned: Boolean) { pinLiveEntry(id: $id, pinned: $pinned) { id pinned } }";
    let pinned_now = async |app: &TestApp| {
        let response = app
            .query("query($id: ID) { liveBlog(id: $id) { pinnedEntry { id } entries { edges { node { id pinned } } } } }", json!({ "id": blog }))
            .await;
        let blog = &data(&response)["liveBlog"];
        let flagged: Vec<Value> = blog["entries"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter(|e| e["node"]["pinned"] == true)
            .map(|e| e["node"]["id"].clone())
            .collect();
        (blog["pinnedEntry"]["id"].clone(), flagged)
    };
    assert_eq!(pinned_now(app).await, (Value::Null, vec![]));

    let first = app.as_editor(pin, json!({ "id": ids[0] })).await;
    assert_eq!(data(&first)["pinLiveEntry"]["pinned"], true);
    assert_eq!(
        pinned_now(app).await,
        (ids[0].clone(), vec![ids[0].clone()])
    );

    let second = app
        .as_editor(pin, json!({ "id": ids[2], "pinned": true }))
        .await;
    assert_eq!(data(&second)["pinLiveEntry"]["pinned"], true);
    assert_eq!(
        pinned_now(app).await,
        (ids[2].clone(), vec![ids[2].clone()]),
        "pinning another unpins the first"
    );

    // Posting a pinned entry also takes the pin.
    let fresh = post(
        app,
        json!({ "liveBlog": blog, "body": "<p>Pinned on arrival</p>", "pinned": true }),
    )
    .await;
    assert_eq!(fresh["pinned"], true);
    assert_eq!(
        pinned_now(app).await,
        (fresh["id"].clone(), vec![fresh["id"].clone()])
    );

    let unpinned = app
        .as_editor(pin, json!({ "id": fresh["id"], "pinned": false }))
        .await;
    assert_eq!(data(&unpinned)["pinLiveEntry"]["pinned"], false);
    assert_eq!(pinned_now(app).await, (Value::Null, vec![]));

    let unknown = app.as_editor(pin, json!({ "id": UNKNOWN_ENTRY })).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let anonymous = app.query(pin, json!({ "id": ids[1] })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(pinned_now(app).await, (Value::Null, vec![]));
}

/// Editors pinning different entries of one blog at the same moment: each
/// pin is refused cleanly or applied, and one entry ends up pinned.
async fn concurrent_pins_leave_one_pinned_entry(app: &TestApp) {
    let blog = live_blog(app, "Busy desk").await;
    let entries = post_numbered(app, &blog, 8).await;
    let pin = "mutation($id: ID!) { pinLiveEntry(id: $id) { id pinned } }";
    let post =
        "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id pinned } }";
    for round in 0..3 {
        let pins = entries
            .iter()
            .map(|id| app.as_editor(pin, json!({ "id": id })));
        let posts = (0..4).map(|i| {
            app.as_editor(post, json!({ "input": { "liveBlog": blog, "body": format!("<p>Pinned post {round}.{i}</p>"), "pinned": true } }))
        });
        let (pins, posts) = tokio::join!(
            futures::future::join_all(pins),
            futures::future::join_all(posts)
        );
        for response in pins.iter().chain(&posts) {
            if response.get("errors").is_some_and(|e| !e.is_null()) {
                assert_eq!(
                    error_code(response),
                    "CONFLICT",
                    "round {round}: {response:#}"
                );
            }
        }
        let state = app
            .query(
                "query($id: ID) { liveBlog(id: $id) { pinnedEntry { id } entries(first: 100) { edges { node { id pinned } } } } }",
                json!({ "id": blog }),
            )
            .await;
        let state = &data(&state)["liveBlog"];
        let pinned: Vec<&Value> = state["entries"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter(|e| e["node"]["pinned"] == true)
            .map(|e| &e["node"]["id"])
            .collect();
        assert_eq!(
            pinned.len(),
            1,
            "round {round}: exactly one pinned entry: {pinned:?}"
        );
        assert_eq!(&state["pinnedEntry"]["id"], pinned[0], "round {round}");
    }
}

both_backends! {
    one_entry_pinned_at_a_time => one_entry_is_pinned_at_a_time;
    concurrent_pins => concurrent_pins_leave_one_pinned_entry;
}
