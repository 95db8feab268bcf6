//! Schema behaviour through the router: batching, paging, ids, roles and
//! error codes.

use domain::Role;
use serde_json::{Value, json};

use crate::TestApp;

const PAGE_WITH_RELATIONS: &str = "query($n: Int) {
  articles(first: $n) {
    edges { node { headline url section { name } authors { name } tags { name } } }
  }
}";

#[tokio::test]
async fn a_page_of_articles_with_relations_costs_a_constant_number_of_store_calls() {
    let app = TestApp::with_articles(25);
    // The node reads its sections once; warm that up.
    app.query("{ sections { slug } }", json!({}), None).await;
    let before = app.statements();
    let reply = app
        .query(PAGE_WITH_RELATIONS, json!({ "n": 20 }), None)
        .await;
    let calls = app.statements() - before;

    let edges = reply.body["data"]["articles"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 20, "{}", reply.body);
    let first = &edges[0]["node"];
    assert_eq!(first["authors"].as_array().unwrap().len(), 3);
    assert_eq!(first["tags"][0]["name"], "NATO");
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .starts_with("/international-relations/")
    );
    // One list, which brings the authors and tags it names along;
    // sections are in memory.
    assert_eq!(calls, 1, "store calls for one page");

    let before = app.statements();
    app.query(PAGE_WITH_RELATIONS, json!({ "n": 5 }), None)
        .await;
    assert_eq!(
        app.statements() - before,
        calls,
        "cost must not grow with the page"
    );
}

#[tokio::test]
async fn bodies_come_back_however_the_query_reaches_them() {
    let app = TestApp::with_articles(3);
    // Lists of headlines are read without bodies; a body asked for in any
    // shape (plainly, behind fragments) is there all the same, read along
    // with the page or fetched afterwards for the page in one call.
    for query in [
        "{ articles(first: 3) { edges { node { body bodyText wordCount } } } }",
        "{ articles(first: 3) { edges { node { ... on Article { body bodyText wordCount } } } } }",
        "{ articles(first: 3) { edges { node { ...B } } } } fragment B on Article { body bodyText wordCount }",
    ] {
        let reply = app.query(query, json!({}), None).await;
        let edges = reply.body["data"]["articles"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 3, "{query}: {}", reply.body);
        for edge in edges {
            assert_eq!(
                edge["node"]["body"], "<p>Words and more words</p>",
                "{query}"
            );
            assert_eq!(edge["node"]["bodyText"], "Words and more words", "{query}");
            assert_eq!(edge["node"]["wordCount"], 4);
        }
    }
}

#[tokio::test]
async fn total_count_is_only_counted_when_selected() {
    let app = TestApp::with_articles(3);
    let before = app.statements();
    app.query("{ articles { edges { cursor } } }", json!({}), None)
        .await;
    assert_eq!(app.statements() - before, 1);

    let before = app.statements();
    let reply = app
        .query("{ articles { totalCount } }", json!({}), None)
        .await;
    assert_eq!(reply.body["data"]["articles"]["totalCount"], 3);
    assert_eq!(app.statements() - before, 2);
}

#[tokio::test]
async fn pages_follow_their_cursors_and_refuse_foreign_ones() {
    let app = TestApp::with_articles(5);
    let page = "query($after: String) {
      articles(first: 2, after: $after) {
        edges { node { headline } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }";
    let first = app.query(page, json!({}), None).await;
    let info = &first.body["data"]["articles"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true);
    let after = info["endCursor"].clone();

    let second = app.query(page, json!({ "after": after }), None).await;
    let headlines: Vec<&Value> = second.body["data"]["articles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["headline"])
        .collect();
    assert_eq!(headlines, [&json!("Story 2"), &json!("Story 3")]);
    assert_eq!(
        second.body["data"]["articles"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let authors = app.query(
        "{ authors(first: 1) { pageInfo { endCursor } } }",
        json!({}),
        None,
    );
    let foreign = authors.await.body["data"]["authors"]["pageInfo"]["endCursor"].clone();
    let reply = app.query(page, json!({ "after": foreign }), None).await;
    assert_eq!(reply.code(), "CURSOR_INVALID");
}

#[tokio::test]
async fn page_sizes_above_the_cap_are_bad_input() {
    let app = TestApp::with_articles(1);
    let reply = app
        .query("{ articles(first: 101) { totalCount } }", json!({}), None)
        .await;
    assert_eq!(reply.code(), "BAD_USER_INPUT");
    assert_eq!(reply.body["errors"][0]["extensions"]["field"], "first");
}

#[tokio::test]
async fn node_finds_objects_by_global_id() {
    let app = TestApp::with_articles(1);
    let reply = app
        .query(
            "{ articles { edges { node { id headline } } } }",
            json!({}),
            None,
        )
        .await;
    let node = &reply.body["data"]["articles"]["edges"][0]["node"];
    let query = "query($id: ID!) { node(id: $id) { id ... on Article { headline } } }";
    let found = app.query(query, json!({ "id": node["id"] }), None).await;
    assert_eq!(&found.body["data"]["node"], node);

    let by_id = app
        .query(
            "query($id: ID) { article(id: $id) { headline } }",
            json!({ "id": node["id"] }),
            None,
        )
        .await;
    assert_eq!(by_id.body["data"]["article"]["headline"], node["headline"]);

    let malformed = app.query(query, json!({ "id": "garbage" }), None).await;
    assert_eq!(malformed.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn article_wants_exactly_one_of_id_and_slug() {
    let app = TestApp::with_articles(1);
    let reply = app.query("{ article { id } }", json!({}), None).await;
    assert_eq!(reply.code(), "BAD_USER_INPUT");
    let reply = app
        .query(
            "{ article(slug: \"story-0\") { headline } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(reply.body["data"]["article"]["headline"], "Story 0");
}

#[tokio::test]
async fn readers_asking_for_drafts_get_an_empty_list() {
    let app = TestApp::with_articles(2);
    let before = app.statements();
    let reply = app
        .query(
            "{ articles(filter: { status: DRAFT }) { edges { cursor } totalCount } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        reply.body["data"]["articles"],
        json!({ "edges": [], "totalCount": 0 })
    );
    assert_eq!(app.statements(), before);
}

const CREATE: &str = "mutation($input: CreateArticleInput!) {
  createArticle(input: $input) { id status version headline tags { name } }
}";

#[tokio::test]
async fn writes_need_a_token_and_deleting_needs_an_admin() {
    let app = TestApp::with_articles(0);
    let input = json!({ "input": { "headline": "Vote passes", "section": "legislative-updates",
                                   "tags": ["NATO", "Budget 2026"] } });
    let anonymous = app.query(CREATE, input.clone(), None).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");

    let editor = app.token(Role::Editor).await;
    let created = app.query(CREATE, input, Some(&editor)).await;
    let article = &created.body["data"]["createArticle"];
    assert_eq!(article["status"], "DRAFT", "{}", created.body);
    assert_eq!(article["tags"][1]["name"], "Budget 2026");

    let delete = "mutation($id: ID!) { deleteArticle(id: $id) }";
    let vars = json!({ "id": article["id"] });
    let forbidden = app.query(delete, vars.clone(), Some(&editor)).await;
    assert_eq!(forbidden.code(), "FORBIDDEN");

    let admin = app.token(Role::Admin).await;
    let deleted = app.query(delete, vars.clone(), Some(&admin)).await;
    assert_eq!(deleted.body["data"]["deleteArticle"], article["id"]);
    let again = app.query(delete, vars, Some(&admin)).await;
    assert_eq!(again.code(), "NOT_FOUND");
}

#[tokio::test]
async fn invalid_input_names_the_input_field() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let input = json!({ "input": { "headline": "  ", "section": "legislative-updates" } });
    let reply = app.query(CREATE, input, Some(&editor)).await;
    assert_eq!(reply.code(), "BAD_USER_INPUT");
    assert_eq!(
        reply.body["errors"][0]["extensions"]["field"],
        "input.headline"
    );
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_a_wrong_typed_id_bad_input() {
    let app = TestApp::with_articles(1);
    let editor = app.token(Role::Editor).await;
    let list = app
        .query("{ articles { edges { node { id } } } }", json!({}), None)
        .await;
    let id = list.body["data"]["articles"]["edges"][0]["node"]["id"].clone();
    let update =
        "mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { version } }";

    let ok = app
        .query(
            update,
            json!({ "input": { "id": id, "expectedVersion": 1, "headline": "New" } }),
            Some(&editor),
        )
        .await;
    assert_eq!(
        ok.body["data"]["updateArticle"]["version"], 2,
        "{}",
        ok.body
    );

    let stale = app
        .query(
            update,
            json!({ "input": { "id": id, "expectedVersion": 1, "headline": "X" } }),
            Some(&editor),
        )
        .await;
    assert_eq!(stale.code(), "CONFLICT");

    let authors = app
        .query("{ authors { edges { node { id } } } }", json!({}), None)
        .await;
    let author_id = authors.body["data"]["authors"]["edges"][0]["node"]["id"].clone();
    let wrong = app
        .query(
            update,
            json!({ "input": { "id": author_id, "expectedVersion": 2 } }),
            Some(&editor),
        )
        .await;
    assert_eq!(wrong.code(), "BAD_USER_INPUT");
    assert_eq!(wrong.body["errors"][0]["extensions"]["field"], "input.id");
}

#[tokio::test]
async fn variables_of_the_wrong_type_are_bad_input() {
    let app = TestApp::with_articles(0);
    let reply = app
        .query(
            "query($n: Int) { authors(first: $n) { totalCount } }",
            json!({ "n": "many" }),
            None,
        )
        .await;
    assert_eq!(reply.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn absurdly_nested_queries_are_too_complex() {
    let app = TestApp::with_articles(0);
    let query = "{ authors(first: 100) { edges { node { articles(first: 100) { edges { node {
      authors { articles(first: 100) { edges { node { headline } } } } } } } } } } }";
    let reply = app.query(query, json!({}), None).await;
    assert_eq!(reply.code(), "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn the_graphiql_introspection_query_is_allowed() {
    let app = TestApp::with_articles(0);
    let reply = app.query(INTROSPECTION, json!({}), None).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.body);
    assert!(reply.body["data"]["__schema"]["types"].is_array());
}

#[tokio::test]
async fn live_blog_entries_load_their_blog_once_and_the_blog_has_a_cursor() {
    let app = TestApp::with_articles(0);
    let editor = app.token(Role::Editor).await;
    let created = app
        .query(
            "mutation { createLiveBlog(input: { title: \"Budget vote\", section: \"legislative-updates\" }) { id cursor } }",
            json!({}),
            Some(&editor),
        )
        .await;
    let blog = &created.body["data"]["createLiveBlog"];
    let post =
        "mutation($input: PostLiveEntryInput!) { postLiveEntry(input: $input) { id keyEvent } }";
    for i in 0..5 {
        let input = json!({ "input": { "liveBlog": blog["id"], "body": format!("<p>Update {i}</p>"), "keyEvent": i % 2 == 0 } });
        let reply = app.query(post, input, Some(&editor)).await;
        assert!(reply.body.get("errors").is_none(), "{}", reply.body);
    }
    let query = "query($id: ID) { liveBlog(id: $id) {
        cursor
        entries(first: 10) { totalCount edges { node { bodyText liveBlog { title } } } }
        keyEvents(first: 2) { bodyText }
    } }";
    let before = app.statements();
    let reply = app.query(query, json!({ "id": blog["id"] }), None).await;
    let data = &reply.body["data"]["liveBlog"];
    assert_eq!(data["entries"]["totalCount"], 5, "{}", reply.body);
    assert_eq!(data["entries"]["edges"][0]["node"]["bodyText"], "Update 4");
    assert_eq!(
        data["entries"]["edges"][4]["node"]["liveBlog"]["title"],
        "Budget vote"
    );
    assert_eq!(data["keyEvents"].as_array().unwrap().len(), 2);
    assert_ne!(
        data["cursor"], blog["cursor"],
        "a new entry moves the cursor"
    );
    // blog, cursor, entries, count, key events, one batched blog lookup.
    assert_eq!(app.statements() - before, 6);
}

/// GraphiQL's introspection query (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = "query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}";

#[tokio::test]
async fn search_results_carry_rank_and_snippet() {
    let app = TestApp::with_articles(3);
    let reply = app
        .query(
            "{ search(query: \"Story 1\") { edges { rank snippet node { headline } } } }",
            json!({}),
            None,
        )
        .await;
    let hit = &reply.body["data"]["search"]["edges"][0];
    assert_eq!(hit["node"]["headline"], "Story 1", "{}", reply.body);
    assert_eq!(hit["snippet"], "<mark>Story 1</mark>");
    assert!(hit["rank"].as_f64().unwrap() > 0.0);

    let bad_cursor = app
        .query(
            "{ search(query: \"Story\", first: 0, after: \"x\") { totalCount } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(bad_cursor.code(), "CURSOR_INVALID");
}

#[tokio::test]
async fn a_breaking_alert_links_to_its_article_path() {
    let app = TestApp::with_articles(1);
    let editor = app.token(Role::Editor).await;
    let list = app
        .query(
            "{ articles { edges { node { id url } } } }",
            json!({}),
            None,
        )
        .await;
    let article = list.body["data"]["articles"]["edges"][0]["node"].clone();
    let issue = "mutation($input: IssueBreakingNewsInput!) {
      issueBreakingNews(input: $input) { priority url article { id } active }
    }";
    let input = json!({ "input": { "headline": "Vote passes", "article": article["id"], "priority": "URGENT" } });
    let reply = app.query(issue, input, Some(&editor)).await;
    let alert = &reply.body["data"]["issueBreakingNews"];
    assert_eq!(alert["url"], article["url"], "{}", reply.body);
    assert_eq!(alert["article"]["id"], article["id"]);
    assert_eq!(
        (alert["priority"].as_str(), alert["active"].as_bool()),
        (Some("URGENT"), Some(true))
    );

    let both = json!({ "input": { "headline": "X", "article": article["id"], "url": "https://example.org" } });
    let reply = app.query(issue, both, Some(&editor)).await;
    assert_eq!(reply.body["errors"][0]["extensions"]["field"], "input.url");

    let banner = app
        .query("{ breakingNews { headline url } }", json!({}), None)
        .await;
    assert_eq!(
        banner.body["data"]["breakingNews"][0]["url"],
        article["url"]
    );
}
