//! Live entries: posting (cleaned, attributed, with media), editing and
//! deleting, and the blog's cursor.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

const POST: &str = "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) {
    id body bodyText keyEvent pinned postedAt editedAt author { slug }
    media { kind url caption credit alt width height durationSeconds posterUrl } liveBlog { slug } } }";
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

async fn post(app: &TestApp, input: Value) -> Value {
    let response = app.as_editor(POST, json!({ "input": input })).await;
    data(&response)["postLiveEntry"].clone()
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

async fn entries_are_posted_cleaned_and_attributed(app: &TestApp) {
    let blog = live_blog(app, "Coalition talks").await;
    let author = app
        .as_editor(
            "mutation { createAuthor(input: { name: \"Eva Horváthová\" }) { id } }",
            json!({}),
        )
        .await;
    let author = data(&author)["createAuthor"]["id"].clone();
    let entry = post(
        app,
        json!({
            "liveBlog": blog,
            "body": "<p onclick=\"steal()\">The <strong>vote</strong> is <a href=\"javascript:alert(1)\">tied</a>.</p><script>alert('x')</script>",
            "author": author,
            "keyEvent": true,
            "media": [
                { "kind": "PHOTO", "url": "https://img.example.com/vote.jpg", "alt": "Deputies vote", "caption": "The vote", "credit": "ČTK", "width": 1200, "height": 800 },
                { "kind": "VIDEO", "url": "https://img.example.com/vote.mp4", "durationSeconds": 95, "posterUrl": "https://img.example.com/vote-poster.jpg" }
            ]
        }),
    )
    .await;
    let body = entry["body"].as_str().expect("a body");
    assert!(
        body.contains("<strong>vote</strong>"),
        "allowed markup stays: {body}"
    );
    for banned in ["<script", "alert", "onclick", "javascript:"] {
        assert!(!body.contains(banned), "{banned} survived cleaning: {body}");
    }
    assert_eq!(
        entry["bodyText"].as_str().map(str::trim),
        Some("The vote is tied.")
    );
    assert_eq!(entry["author"]["slug"], "eva-horvathova");
    assert_eq!(entry["keyEvent"], true);
    assert_eq!(entry["pinned"], false);
    assert_eq!(entry["editedAt"], Value::Null);
    assert_eq!(entry["liveBlog"]["slug"], "coalition-talks");
    let media = entry["media"].as_array().expect("media");
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["kind"], "PHOTO");
    assert_eq!(media[0]["alt"], "Deputies vote");
    assert_eq!(media[0]["credit"], "ČTK");
    assert_eq!(media[0]["width"], 1200);
    assert_eq!(media[1]["kind"], "VIDEO");
    assert_eq!(media[1]["durationSeconds"], 95);
    assert_eq!(
        media[1]["posterUrl"],
        "https://img.example.com/vote-poster.jpg"
    );

    // node(id) finds the entry with what was stored.
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { __typename id ... on LiveEntry { body keyEvent media { url } liveBlog { id } } } }",
            json!({ "id": entry["id"] }),
        )
        .await;
    let node = &data(&node)["node"];
    assert_eq!(node["__typename"], "LiveEntry");
    assert_eq!(node["body"], entry["body"]);
    assert_eq!(node["liveBlog"]["id"], blog);
    assert_eq!(node["media"][1]["url"], "https://img.example.com/vote.mp4");
    let gone = app
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": UNKNOWN_ENTRY }),
        )
        .await;
    assert_eq!(data(&gone)["node"], Value::Null);

    // Bad entries are refused and nothing is added.
    for bad in [
        json!({ "liveBlog": blog, "body": "   " }),
        json!({ "liveBlog": blog, "body": "<p> </p><script>alert(1)</script>" }),
        json!({ "liveBlog": blog, "body": "<p>Photo</p>", "media": [{ "kind": "PHOTO", "url": "https://img.example.com/a.jpg" }] }),
        json!({ "liveBlog": blog, "body": "<p>Link</p>", "media": [{ "url": "javascript:alert(1)", "alt": "x" }] }),
        json!({ "liveBlog": blog, "body": "<p>Who?</p>", "author": blog }),
        json!({ "liveBlog": blog, "body": "<p>Nobody</p>", "author": "QXV0aG9yOjAxOTMwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA" }),
        json!({ "liveBlog": author, "body": "<p>Wrong kind of id</p>" }),
    ] {
        let response = app.as_editor(POST, json!({ "input": bad })).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{bad}: {response:#}"
        );
    }
    let unknown_blog = app
        .as_editor(
            POST,
            json!({ "input": { "liveBlog": "TGl2ZUJsb2c6MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw", "body": "<p>Lost</p>" } }),
        )
        .await;
    assert_eq!(error_code(&unknown_blog), "NOT_FOUND");
    let anonymous = app
        .query(
            POST,
            json!({ "input": { "liveBlog": blog, "body": "<p>Anonymous</p>" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(page(app, &blog, json!({})).await["totalCount"], 1);
}

async fn entries_are_edited_and_deleted(app: &TestApp) {
    let blog = live_blog(app, "Editing blog").await;
    let ids = post_numbered(app, &blog, 3).await;
    let edit = "mutation($input: EditLiveEntryInput!) { editLiveEntry(input: $input) { id body bodyText keyEvent postedAt editedAt } }";
    let cursor_query = "query($id: ID) { liveBlog(id: $id) { cursor } }";
    let cursor = async |app: &TestApp| {
        let response = app.query(cursor_query, json!({ "id": blog })).await;
        data(&response)["liveBlog"]["cursor"]
            .as_str()
            .expect("a cursor")
            .to_owned()
    };

    let edited = app
        .as_editor(edit, json!({ "input": { "id": ids[1], "body": "<p>Update 2, corrected<script>x()</script></p>", "keyEvent": true } }))
        .await;
    let edited = &data(&edited)["editLiveEntry"];
    assert_eq!(
        edited["bodyText"].as_str().map(str::trim),
        Some("Update 2, corrected")
    );
    assert!(!edited["body"].as_str().expect("body").contains("script"));
    assert_eq!(edited["keyEvent"], true);
    assert!(
        edited["editedAt"].is_string(),
        "editing stamps editedAt: {edited:#}"
    );
    let read = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on LiveEntry { bodyText editedAt postedAt } } }",
            json!({ "id": ids[1] }),
        )
        .await;
    let read = &data(&read)["node"];
    assert_eq!(read["bodyText"], edited["bodyText"]);
    assert_eq!(read["editedAt"], edited["editedAt"]);
    assert_eq!(
        read["postedAt"], edited["postedAt"],
        "editing keeps the posting time"
    );

    let edited_again = app
        .as_editor(
            edit,
            json!({ "input": { "id": ids[1], "keyEvent": false } }),
        )
        .await;
    let edited_again = &data(&edited_again)["editLiveEntry"];
    assert_eq!(edited_again["keyEvent"], false);
    assert_eq!(
        edited_again["bodyText"], edited["bodyText"],
        "left-out fields stay"
    );
    assert!(edited_again["editedAt"].as_str() >= edited["editedAt"].as_str());

    let blank = app
        .as_editor(
            edit,
            json!({ "input": { "id": ids[1], "body": "<p>  </p>" } }),
        )
        .await;
    assert_eq!(error_code(&blank), "BAD_USER_INPUT");
    let anonymous = app
        .query(
            edit,
            json!({ "input": { "id": ids[1], "body": "<p>Vandalised</p>" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let read = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on LiveEntry { bodyText } } }",
            json!({ "id": ids[1] }),
        )
        .await;
    assert_eq!(
        data(&read)["node"]["bodyText"].as_str().map(str::trim),
        Some("Update 2, corrected")
    );

    // The cursor is a non-empty token, even for a blog without entries,
    // that moves when an entry is posted.
    let empty = live_blog(app, "Empty blog").await;
    let empty_cursor = app.query(cursor_query, json!({ "id": empty })).await;
    assert!(
        !data(&empty_cursor)["liveBlog"]["cursor"]
            .as_str()
            .expect("a cursor")
            .is_empty()
    );
    let before = cursor(app).await;
    assert!(!before.is_empty());
    assert_eq!(cursor(app).await, before, "stable while nothing happens");
    post(app, json!({ "liveBlog": blog, "body": "<p>Update 4</p>" })).await;
    let after = cursor(app).await;
    assert!(!after.is_empty());
    assert_ne!(after, before, "a new entry moves the cursor");

    let delete = "mutation($id: ID!) { deleteLiveEntry(id: $id) }";
    // Deleting the pinned entry leaves the blog without one.
    let pinned = post(
        app,
        json!({ "liveBlog": blog, "body": "<p>Pinned, then deleted</p>", "pinned": true }),
    )
    .await;
    let pinned_query = "query($id: ID) { liveBlog(id: $id) { pinnedEntry { id } } }";
    assert_eq!(
        data(&app.query(pinned_query, json!({ "id": blog })).await)["liveBlog"]["pinnedEntry"]["id"],
        pinned["id"]
    );
    assert_eq!(
        data(&app.as_editor(delete, json!({ "id": pinned["id"] })).await)["deleteLiveEntry"],
        pinned["id"]
    );
    assert_eq!(
        data(&app.query(pinned_query, json!({ "id": blog })).await)["liveBlog"]["pinnedEntry"],
        Value::Null
    );

    let anonymous = app.query(delete, json!({ "id": ids[0] })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let deleted = app.as_editor(delete, json!({ "id": ids[0] })).await;
    assert_eq!(
        data(&deleted)["deleteLiveEntry"],
        ids[0],
        "returns the deleted id"
    );
    let remaining = page(app, &blog, json!({})).await;
    let texts: Vec<&str> = remaining["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["bodyText"].as_str().expect("text").trim())
        .collect();
    assert_eq!(
        texts,
        ["Update 4", "Update 3", "Update 2, corrected"],
        "the entry disappeared"
    );
    assert_eq!(remaining["totalCount"], 3);
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert_eq!(data(&node)["node"], Value::Null);

    let again = app.as_editor(delete, json!({ "id": ids[0] })).await;
    assert_eq!(error_code(&again), "NOT_FOUND");
    let edit_gone = app
        .as_editor(
            edit,
            json!({ "input": { "id": ids[0], "body": "<p>Back?</p>" } }),
        )
        .await;
    assert_eq!(error_code(&edit_gone), "NOT_FOUND");
    let malformed = app.as_editor(delete, json!({ "id": "garbage" })).await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
}

both_backends! {
    entries_posted_cleaned_attributed => entries_are_posted_cleaned_and_attributed;
    entries_edited_and_deleted => entries_are_edited_and_deleted;
}
