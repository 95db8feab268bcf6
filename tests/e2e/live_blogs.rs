//! Live blogs themselves: creating, editing, their status life cycle, and
//! finding them by id, slug and status.

use e2e::{TestApp, assert_flat, both_backends, data, error_code};
use serde_json::{Value, json};

const BLOG_FIELDS: &str = "id slug title summary status startedAt endedAt url section { slug }";

async fn create_blog(app: &TestApp, input: Value) -> Value {
    let query = format!(
        "mutation($input: CreateLiveBlogInput!) {{ createLiveBlog(input: $input) {{ {BLOG_FIELDS} }} }}"
    );
    let response = app.as_editor(&query, json!({ "input": input })).await;
    data(&response)["createLiveBlog"].clone()
}

async fn set_status(app: &TestApp, id: &Value, status: &str) -> Value {
    let query = format!(
        "mutation($id: ID!, $status: LiveBlogStatus!) {{ setLiveBlogStatus(id: $id, status: $status) {{ {BLOG_FIELDS} }} }}"
    );
    app.as_editor(&query, json!({ "id": id, "status": status }))
        .await
}

async fn post_entry(app: &TestApp, blog: &Value, body: &str) -> Value {
    app.as_editor(
        "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id body } }",
        json!({ "input": { "liveBlog": blog, "body": body } }),
    )
    .await
}

async fn by_id(app: &TestApp, id: &Value) -> Value {
    let query = format!("query($id: ID) {{ liveBlog(id: $id) {{ {BLOG_FIELDS} }} }}");
    let response = app.query(&query, json!({ "id": id })).await;
    data(&response)["liveBlog"].clone()
}

async fn a_live_blog_goes_live_pauses_ends_and_reopens(app: &TestApp) {
    let blog = create_blog(
        app,
        json!({ "title": "Prezidentská volba: živě", "summary": "Every result as it comes in.", "section": "electoral-processes" }),
    )
    .await;
    assert_eq!(blog["status"], "SCHEDULED");
    assert_eq!(
        blog["slug"], "prezidentska-volba-zive",
        "the slug is derived from the title"
    );
    assert_eq!(blog["url"], "/live/prezidentska-volba-zive");
    assert_eq!(blog["section"]["slug"], "electoral-processes");
    assert_eq!(blog["summary"], "Every result as it comes in.");
    assert_eq!(blog["startedAt"], Value::Null);
    assert_eq!(blog["endedAt"], Value::Null);
    let id = blog["id"].clone();

    let live = set_status(app, &id, "LIVE").await;
    let live = &data(&live)["setLiveBlogStatus"];
    assert_eq!(live["status"], "LIVE");
    let started = live["startedAt"]
        .as_str()
        .expect("going live stamps startedAt")
        .to_owned();
    assert_eq!(live["endedAt"], Value::Null);

    let paused = set_status(app, &id, "PAUSED").await;
    let paused = &data(&paused)["setLiveBlogStatus"];
    assert_eq!(paused["status"], "PAUSED");
    assert_eq!(
        paused["startedAt"],
        started.as_str(),
        "pausing keeps the start"
    );
    // A paused blog still takes entries.
    data(&post_entry(app, &id, "<p>Counting resumes after the break.</p>").await);

    let ended = set_status(app, &id, "ENDED").await;
    let ended = &data(&ended)["setLiveBlogStatus"];
    assert_eq!(ended["status"], "ENDED");
    assert!(
        ended["endedAt"].is_string(),
        "ending stamps endedAt: {ended:#}"
    );
    assert_eq!(ended["startedAt"], started.as_str());

    let rescheduled = set_status(app, &id, "SCHEDULED").await;
    assert_eq!(error_code(&rescheduled), "CONFLICT");
    let too_late = post_entry(app, &id, "<p>One more thing.</p>").await;
    assert_eq!(error_code(&too_late), "CONFLICT");
    // The refused writes changed nothing.
    let stored = by_id(app, &id).await;
    assert_eq!(stored["status"], "ENDED");
    assert_eq!(stored["endedAt"], ended["endedAt"]);
    let count = app
        .query(
            "query($id: ID) { liveBlog(id: $id) { entries { totalCount } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&count)["liveBlog"]["entries"]["totalCount"], 1);

    // Reopening clears the end and takes entries again; the start stays.
    let reopened = set_status(app, &id, "LIVE").await;
    let reopened = &data(&reopened)["setLiveBlogStatus"];
    assert_eq!(reopened["status"], "LIVE");
    assert_eq!(reopened["endedAt"], Value::Null);
    assert_eq!(reopened["startedAt"], started.as_str());
    data(&post_entry(app, &id, "<p>Recount ordered in two districts.</p>").await);

    // A blog that never started cannot be ended and then rescheduled either,
    // but scheduling a scheduled blog is a no-op.
    let other = create_blog(
        app,
        json!({ "title": "Senate runoff", "section": "electoral-processes" }),
    )
    .await;
    let same = set_status(app, &other["id"], "SCHEDULED").await;
    assert_eq!(data(&same)["setLiveBlogStatus"]["status"], "SCHEDULED");
    let ended_early = set_status(app, &other["id"], "ENDED").await;
    assert!(data(&ended_early)["setLiveBlogStatus"]["startedAt"].is_string());
    assert_eq!(
        error_code(&set_status(app, &other["id"], "SCHEDULED").await),
        "CONFLICT"
    );

    let anonymous = app
        .query(
            "mutation($id: ID!) { setLiveBlogStatus(id: $id, status: ENDED) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let bad_status = set_status(app, &id, "FINISHED").await;
    assert_eq!(error_code(&bad_status), "BAD_USER_INPUT");
}

async fn a_live_blog_is_edited_and_found_by_id_or_slug(app: &TestApp) {
    let blog = create_blog(app, json!({ "title": "Budget vote", "slug": "budget-vote-2026", "section": "legislative-updates" })).await;
    let id = blog["id"].clone();
    assert_eq!(blog["slug"], "budget-vote-2026");

    let update = format!(
        "mutation($input: UpdateLiveBlogInput!) {{ updateLiveBlog(input: $input) {{ {BLOG_FIELDS} }} }}"
    );
    let updated = app
        .as_editor(
            &update,
            json!({ "input": { "id": id, "title": "Budget vote: final reading", "summary": "From the Chamber.", "section": "economic-developments" } }),
        )
        .await;
    let updated = &data(&updated)["updateLiveBlog"];
    assert_eq!(updated["title"], "Budget vote: final reading");
    assert_eq!(updated["summary"], "From the Chamber.");
    assert_eq!(updated["section"]["slug"], "economic-developments");
    assert_eq!(
        updated["slug"], "budget-vote-2026",
        "a new title keeps the slug"
    );
    assert_eq!(updated["status"], "SCHEDULED");

    let by_slug = format!("query($slug: String) {{ liveBlog(slug: $slug) {{ {BLOG_FIELDS} }} }}");
    let found = app
        .query(&by_slug, json!({ "slug": "budget-vote-2026" }))
        .await;
    assert_eq!(data(&found)["liveBlog"]["id"], id);
    assert_eq!(
        data(&found)["liveBlog"]["title"],
        "Budget vote: final reading"
    );
    assert_eq!(by_id(app, &id).await["slug"], "budget-vote-2026");

    let renamed = app
        .as_editor(
            &update,
            json!({ "input": { "id": id, "slug": "budget-vote-final" } }),
        )
        .await;
    assert_eq!(
        data(&renamed)["updateLiveBlog"]["slug"],
        "budget-vote-final"
    );
    let old = app
        .query(&by_slug, json!({ "slug": "budget-vote-2026" }))
        .await;
    assert_eq!(data(&old)["liveBlog"], Value::Null);
    for unknown in ["no-such-blog", "Not A Slug"] {
        let response = app.query(&by_slug, json!({ "slug": unknown })).await;
        assert_eq!(data(&response)["liveBlog"], Value::Null, "{unknown}");
    }

    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { __typename id ... on LiveBlog { slug } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&node)["node"]["__typename"], "LiveBlog");
    assert_eq!(data(&node)["node"]["slug"], "budget-vote-final");

    // Exactly one of id and slug.
    let both = app
        .query(
            "query($id: ID, $slug: String) { liveBlog(id: $id, slug: $slug) { id } }",
            json!({ "id": id, "slug": "budget-vote-final" }),
        )
        .await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT");
    let neither = app.query("{ liveBlog { id } }", json!({})).await;
    assert_eq!(error_code(&neither), "BAD_USER_INPUT");
    let malformed = app
        .query(
            "query($id: ID) { liveBlog(id: $id) { id } }",
            json!({ "id": "nope" }),
        )
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");

    // Bad writes are refused and leave the blog as it was.
    let other = create_blog(
        app,
        json!({ "title": "Other blog", "section": "domestic-policies" }),
    )
    .await;
    let create = "mutation($input: CreateLiveBlogInput!) { createLiveBlog(input: $input) { id } }";
    let taken = app.as_editor(create, json!({ "input": { "title": "Dup", "slug": "other-blog", "section": "domestic-policies" } })).await;
    assert_eq!(error_code(&taken), "CONFLICT");
    let clash = app
        .as_editor(
            &update,
            json!({ "input": { "id": other["id"], "slug": "budget-vote-final" } }),
        )
        .await;
    assert_eq!(error_code(&clash), "CONFLICT");
    for bad in [
        json!({ "title": "  ", "section": "domestic-policies" }),
        json!({ "title": "Sports", "section": "sport" }),
        json!({ "title": "Bad slug", "slug": "Bad Slug", "section": "domestic-policies" }),
    ] {
        let response = app.as_editor(create, json!({ "input": bad })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{bad}");
    }
    let own_slug = app
        .as_editor(
            &update,
            json!({ "input": { "id": id, "slug": "budget-vote-final" } }),
        )
        .await;
    assert_eq!(
        data(&own_slug)["updateLiveBlog"]["slug"],
        "budget-vote-final",
        "keeping its own slug is no clash"
    );
    let long_summary = app
        .as_editor(create, json!({ "input": { "title": "Long", "summary": "x".repeat(1001), "section": "domestic-policies" } }))
        .await;
    assert_eq!(error_code(&long_summary), "BAD_USER_INPUT");
    let unknown = app
        .as_editor(&update, json!({ "input": { "id": "TGl2ZUJsb2c6MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw", "title": "Ghost" } }))
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let bad_section = app
        .as_editor(
            &update,
            json!({ "input": { "id": id, "section": "sport", "title": "Changed" } }),
        )
        .await;
    assert_eq!(error_code(&bad_section), "BAD_USER_INPUT");
    let anonymous = app
        .query(
            create,
            json!({ "input": { "title": "Anon", "section": "domestic-policies" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let anonymous = app
        .query(&update, json!({ "input": { "id": id, "title": "Anon" } }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let stored = by_id(app, &id).await;
    assert_eq!(stored["title"], "Budget vote: final reading");
    assert_eq!(stored["section"]["slug"], "economic-developments");
    let total = app.query("{ liveBlogs { totalCount } }", json!({})).await;
    assert_eq!(data(&total)["liveBlogs"]["totalCount"], 2);
}

async fn live_blogs_are_listed_newest_first_by_status(app: &TestApp) {
    let mut ids = Vec::new();
    for title in ["First blog", "Second blog", "Third blog", "Fourth blog"] {
        ids.push(
            create_blog(
                app,
                json!({ "title": title, "section": "domestic-policies" }),
            )
            .await["id"]
                .clone(),
        );
    }
    data(&set_status(app, &ids[0], "LIVE").await);
    data(&set_status(app, &ids[2], "LIVE").await);
    data(&set_status(app, &ids[3], "ENDED").await);

    let query = "query($status: LiveBlogStatus, $first: Int, $after: String) {
        liveBlogs(status: $status, first: $first, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { slug status } } } }";
    let slugs = |page: &Value| -> Vec<String> {
        page["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["slug"].as_str().expect("slug").to_owned())
            .collect()
    };
    for (status, expected) in [
        (json!("LIVE"), vec!["third-blog", "first-blog"]),
        (json!("SCHEDULED"), vec!["second-blog"]),
        (json!("ENDED"), vec!["fourth-blog"]),
        (json!("PAUSED"), vec![]),
        (
            Value::Null,
            vec!["fourth-blog", "third-blog", "second-blog", "first-blog"],
        ),
    ] {
        let response = app.query(query, json!({ "status": status })).await;
        let page = &data(&response)["liveBlogs"];
        assert_eq!(slugs(page), expected, "status {status}");
        assert_eq!(page["totalCount"], json!(expected.len()), "status {status}");
    }

    let first = app.query(query, json!({ "first": 3 })).await;
    let first = &data(&first)["liveBlogs"];
    assert_eq!(slugs(first), ["fourth-blog", "third-blog", "second-blog"]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["totalCount"], 4);
    let rest = app
        .query(
            query,
            json!({ "first": 3, "after": first["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &data(&rest)["liveBlogs"];
    assert_eq!(slugs(rest), ["first-blog"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let live_page = app
        .query(query, json!({ "status": "LIVE", "first": 1 }))
        .await;
    let live_page = &data(&live_page)["liveBlogs"];
    assert_eq!(slugs(live_page), ["third-blog"]);
    let live_rest = app
        .query(
            query,
            json!({ "status": "LIVE", "first": 1, "after": live_page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(slugs(&data(&live_rest)["liveBlogs"]), ["first-blog"]);

    let bad_cursor = app
        .query(query, json!({ "after": "definitely-not-a-cursor" }))
        .await;
    assert_eq!(error_code(&bad_cursor), "CURSOR_INVALID");
    let too_many = app.query(query, json!({ "first": 1000 })).await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT");
    let unknown = set_status(
        app,
        &json!("TGl2ZUJsb2c6MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw"),
        "LIVE",
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown:#}");
}

/// A page of live blogs with their pinned entry, stream cursor and key
/// events costs the same number of statements whatever its size.
async fn a_page_of_blogs_costs_a_fixed_number_of_statements(app: &TestApp) {
    let post = async |blog: &Value, n: usize, key: bool, pinned: bool| {
        let response = app
            .as_editor(
                "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id } }",
                json!({ "input": { "liveBlog": blog, "body": format!("<p>Update {n}</p>"),
                    "keyEvent": key, "pinned": pinned } }),
            )
            .await;
        data(&response)["postLiveEntry"]["id"].clone()
    };
    for i in 0..12_usize {
        let blog = create_blog(
            app,
            json!({ "title": format!("Blog number {i}"), "section": "domestic-policies" }),
        )
        .await["id"]
            .clone();
        // Every other blog has a pinned entry; key events: 0, 2, 3, 4.
        for n in 0..5 {
            post(&blog, n, n != 1, n == 1 && i % 2 == 0).await;
        }
    }
    let query = |n: usize| {
        format!(
            "{{ liveBlogs(first: {n}) {{ edges {{ node {{ id pinnedEntry {{ id }} cursor keyEvents(first: 3) {{ id }} }} }} }} }}"
        )
    };
    let cost = |n: usize| async move {
        let before = app.metric("politmaster_db_statements_total").await;
        let response = app.query(&query(n), json!({})).await;
        let after = app.metric("politmaster_db_statements_total").await;
        let edges = data(&response)["liveBlogs"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        assert_eq!(edges.len(), n, "{response}");
        (after - before, edges)
    };
    cost(12).await; // warm-up
    let (twelve, edges) = cost(12).await;
    let (three, _) = cost(3).await;
    println!(
        "{:?}: statements for 12 live blogs: {twelve}, for 3: {three}",
        app.backend
    );

    // What the batched fields answer is what each blog answers alone.
    let alone = "query($id: ID) { liveBlog(id: $id) { pinnedEntry { id } cursor
        entries(keyEventsOnly: true, first: 3) { edges { node { id } } } } }";
    let mut pinned = 0;
    for edge in &edges {
        let node = &edge["node"];
        let response = app.query(alone, json!({ "id": node["id"] })).await;
        let blog = &data(&response)["liveBlog"];
        let key_events: Vec<_> = blog["entries"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect();
        let batched: Vec<_> = node["keyEvents"]
            .as_array()
            .expect("key events")
            .iter()
            .map(|e| e["id"].clone())
            .collect();
        assert_eq!(batched, key_events, "{node}");
        assert_eq!(key_events.len(), 3);
        assert_eq!(node["pinnedEntry"], blog["pinnedEntry"], "{node}");
        assert_eq!(node["cursor"], blog["cursor"], "{node}");
        pinned += usize::from(node["pinnedEntry"]["id"].is_string());
    }
    assert_eq!(pinned, 6, "every other blog has a pinned entry");
    let none = app
        .query(
            "{ liveBlogs(first: 2) { edges { node { keyEvents(first: 0) { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&none)["liveBlogs"]["edges"][0]["node"]["keyEvents"],
        json!([])
    );

    // The page, then one batch each of pinned entries, key events and
    // cursors.
    assert_flat(twelve, three, 4, "a page of live blogs");
}

both_backends! {
    live_blog_life_cycle => a_live_blog_goes_live_pauses_ends_and_reopens;
    live_blog_edited_and_found => a_live_blog_is_edited_and_found_by_id_or_slug;
    live_blogs_listed_by_status => live_blogs_are_listed_newest_first_by_status;
    live_blog_page_costs_a_fixed_number_of_statements => a_page_of_blogs_costs_a_fixed_number_of_statements, no_response_cache();
}

/// Counting statements needs every read to reach the database.
fn no_response_cache() -> e2e::Options {
    e2e::Options {
        response_cache_bytes: 0,
        ..e2e::Options::default()
    }
}
