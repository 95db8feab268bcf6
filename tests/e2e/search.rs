//! Full-text search: ranking, snippets, filters, visibility, hostile query
//! text, and forward-only paging.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

use crate::article_support::{create, id_of, input, mutate, publish};

const SEARCH: &str = "query($q: String!, $first: Int, $after: String, $filter: ArticleFilter) {
    search(query: $q, first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor rank snippet node { id headline status } } } }";

async fn search_as(app: &TestApp, token: Option<&str>, vars: Value) -> Value {
    let response = app.graphql_with(token, SEARCH, vars).await;
    data(&response)["search"].clone()
}

fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| id_of(&e["node"]))
        .collect()
}

async fn published(app: &TestApp, headline: &str, extra: Value) -> String {
    let id = id_of(&create(app, input(headline, extra)).await);
    assert_eq!(publish(app, &id, None).await["status"], "PUBLISHED");
    id
}

async fn ranked_highlighted_filtered(app: &TestApp) {
    let in_headline = published(
        app,
        "Parliament approves the water levy",
        json!({ "section": "economic-developments", "body": "<p>The chamber met on Tuesday afternoon.</p>" }),
    )
    .await;
    let in_body = published(
        app,
        "Budget talks stall again",
        json!({ "section": "domestic-policies",
                "body": "<p>Farmers oppose the new water levy &amp; a <b>fuel</b> tax.</p><script>x()</script>" }),
    )
    .await;
    published(
        app,
        "Football results",
        json!({ "body": "<p>Nothing about taxes here.</p>" }),
    )
    .await;
    let draft = id_of(&create(app, input("Water levy draft leaks", json!({}))).await);
    let archived = published(app, "Water levy archive piece", json!({})).await;
    mutate(app, &app.editor_token, "archiveArticle", &archived).await;

    let hits = search_as(app, None, json!({ "q": "water levy" })).await;
    assert_eq!(
        ids(&hits),
        [in_headline.clone(), in_body.clone()],
        "a headline match ranks above a body match: {hits:#}"
    );
    assert_eq!(hits["totalCount"], 2);
    let (top, second) = (
        hits["edges"][0]["rank"].as_f64().expect("rank"),
        hits["edges"][1]["rank"].as_f64().expect("rank"),
    );
    assert!(top > second, "ranks {top} > {second}");
    let snippet = hits["edges"][1]["snippet"].as_str().expect("snippet");
    assert!(
        snippet.contains("<mark>water</mark>") && snippet.contains("<mark>levy</mark>"),
        "{snippet}"
    );
    assert!(
        !snippet.contains("<b>") && !snippet.contains("x()"),
        "snippets are escaped plain text: {snippet}"
    );
    assert_eq!(
        snippet
            .replace("<mark>", "")
            .replace("</mark>", "")
            .matches('<')
            .count(),
        0,
        "{snippet}"
    );
    assert!(
        hits["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .all(|e| e["node"]["status"] == "PUBLISHED")
    );

    // The last word is a prefix (search as you type); case does not matter.
    assert_eq!(
        ids(&search_as(app, None, json!({ "q": "WATER lev" })).await),
        [in_headline.clone(), in_body.clone()]
    );
    // Standfirsts are searched too.
    let standfirst = published(
        app,
        "Quiet day",
        json!({ "standfirst": "Nothing but a hailstorm." }),
    )
    .await;
    assert_eq!(
        ids(&search_as(app, None, json!({ "q": "hailstorm" })).await),
        [standfirst]
    );

    let section = |slug: &str| json!({ "q": "water levy", "filter": { "section": slug } });
    assert_eq!(
        ids(&search_as(app, None, section("economic-developments")).await),
        std::slice::from_ref(&in_headline)
    );
    assert_eq!(
        ids(&search_as(app, None, section("domestic-policies")).await),
        std::slice::from_ref(&in_body)
    );
    let kind = search_as(
        app,
        None,
        json!({ "q": "water levy", "filter": { "kind": "OPINION" } }),
    )
    .await;
    assert_eq!(kind["totalCount"], 0);

    // Drafts and archived pieces: not for readers; the desk finds drafts.
    let desk = search_as(app, Some(&app.editor_token), json!({ "q": "water levy" })).await;
    assert!(
        ids(&desk).contains(&draft),
        "the desk finds drafts: {desk:#}"
    );
    let reader = ids(&search_as(app, None, json!({ "q": "levy" })).await);
    assert!(
        !reader.contains(&draft) && !reader.contains(&archived),
        "{reader:?}"
    );
    let reader_drafts = search_as(
        app,
        None,
        json!({ "q": "levy", "filter": { "status": "DRAFT" } }),
    )
    .await;
    assert_eq!(reader_drafts["totalCount"], 0);

    // The index follows edits.
    let edit = app
        .as_editor(
            "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { version } }",
            json!({ "i": { "id": in_headline, "expectedVersion": 2, "headline": "Parliament approves the river tariff" } }),
        )
        .await;
    assert_eq!(data(&edit)["updateArticle"]["version"], 3);
    assert_eq!(
        ids(&search_as(app, None, json!({ "q": "river tariff" })).await),
        std::slice::from_ref(&in_headline)
    );
    assert_eq!(
        ids(&search_as(app, None, json!({ "q": "water levy" })).await),
        std::slice::from_ref(&in_body)
    );

    // Deleted articles leave the index.
    let deleted = app
        .as_admin(
            "mutation($id: ID!) { deleteArticle(id: $id) }",
            json!({ "id": in_body }),
        )
        .await;
    data(&deleted);
    assert_eq!(
        ids(&search_as(app, None, json!({ "q": "farmers" })).await),
        Vec::<String>::new()
    );
}

async fn hostile_query_text(app: &TestApp) {
    let a = published(app, "Water levy passes", json!({})).await;
    for q in [
        r#""water levy""#,
        "water*",
        "water OR levy",
        "NEAR(water levy)",
        "-water",
        "levy:water",
        "water AND (levy",
        r#""unbalanced"#,
        "wat'er",
        "water^2",
        "{water}",
        "levy & water | !x",
        "<mark>water</mark>",
        "water -- ; DROP TABLE articles",
        "levy*:*",
        "water\\",
        "%_water%",
        "ÚŘAD vody",
        "😀 water",
        "the",
        "to be or not to be",
        "a",
        &"w".repeat(200),
    ] {
        let response = app.query(SEARCH, json!({ "q": q })).await;
        let search = &data(&response)["search"];
        assert!(search["totalCount"].is_number(), "{q:?}: {response}");
    }
    for q in [
        r#""water levy""#,
        "water OR levy",
        "levy:water",
        "-water",
        "water*",
    ] {
        assert_eq!(
            ids(&search_as(app, None, json!({ "q": q })).await),
            std::slice::from_ref(&a),
            "{q:?} is read as its words"
        );
    }
    for q in ["", "   ", "\"*\"", "-- ()", &"word ".repeat(50)] {
        let response = app.query(SEARCH, json!({ "q": q })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{q:?}: {response}");
    }
}

async fn pages_forward_only(app: &TestApp) {
    let mut all = Vec::new();
    for i in 0..7 {
        all.push(published(app, &format!("Grain corridor update {i}"), json!({})).await);
    }
    published(app, "Something else entirely", json!({})).await;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut last_rank = f64::INFINITY;
    for (size, more) in [(3, true), (3, true), (1, false)] {
        let page = search_as(
            app,
            None,
            json!({ "q": "grain corridor", "first": 3, "after": after }),
        )
        .await;
        assert_eq!(page["totalCount"], 7);
        assert_eq!(
            page["edges"].as_array().expect("edges").len(),
            size,
            "{page:#}"
        );
        assert_eq!(page["pageInfo"]["hasNextPage"], more);
        for edge in page["edges"].as_array().expect("edges") {
            let rank = edge["rank"].as_f64().expect("rank");
            assert!(rank <= last_rank, "best matches first across pages");
            last_rank = rank;
        }
        seen.extend(ids(&page));
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "no duplicates: {seen:?}");
    all.sort();
    assert_eq!(sorted, all, "no gaps");

    let last = app
        .query(
            "{ search(query: \"grain\", last: 2) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&last),
        "BAD_USER_INPUT",
        "search pages forward only: {last}"
    );
    let before = app
        .query(
            "{ search(query: \"grain\", before: \"x\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&before), "BAD_USER_INPUT", "{before}");
    let too_many = app
        .query(SEARCH, json!({ "q": "grain", "first": 101 }))
        .await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT", "{too_many}");
    let list_cursor = data(
        &app.query("{ articles(first: 1) { edges { cursor } } }", json!({}))
            .await,
    )["articles"]["edges"][0]["cursor"]
        .clone();
    for cursor in [json!("garbage"), list_cursor] {
        let response = app
            .query(SEARCH, json!({ "q": "grain", "after": cursor }))
            .await;
        assert_eq!(
            error_code(&response),
            "CURSOR_INVALID",
            "{cursor}: {response}"
        );
    }
}

both_backends! {
    search_ranks_highlights_filters_and_hides_drafts => ranked_highlighted_filtered;
    search_reads_operators_and_punctuation_as_words => hostile_query_text;
    search_pages_forward_without_duplicates => pages_forward_only;
}
