//! What responses look like on the wire and how they are reused: fields
//! in the order they were asked for, the response cache and what
//! invalidates it (on this node and through the bus on others), HTTP
//! caching (`ETag`, `304`, `Cache-Control`), persisted queries.

use std::time::Duration;

use e2e::{Backend, Options, TestApp, both_backends, data, error_code, spawn_app, with_redis};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, ETAG, IF_NONE_MATCH, VARY};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::article_support::{create, create_author, id_of, input, publish};

/// The body as text, to see the order of its keys.
async fn raw(app: &TestApp, query: &str) -> String {
    app.http
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request sent")
        .text()
        .await
        .expect("a body")
}

/// Where each of `keys` first appears in `body`, which must be in order.
fn assert_in_order(body: &str, keys: &[&str]) {
    let places: Vec<usize> = keys
        .iter()
        .map(|key| {
            body.find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("no {key} in {body}"))
        })
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "expected {keys:?} in this order: {body}"
    );
}

async fn fields_come_back_in_the_order_asked(app: &TestApp) {
    let author = create_author(app, "Ada Order").await;
    let id = id_of(
        &create(
            app,
            input(
                "Ordered report",
                json!({ "authors": [author["id"]], "tags": ["NATO"] }),
            ),
        )
        .await,
    );
    publish(app, &id, None).await;
    // Fields that read the database first, fields answered from memory
    // last: finished first, the latter would otherwise come first.
    let body = raw(
        app,
        "{ tags(first: 1) { totalCount } articles(first: 1) { totalCount edges { node { \
         body tags { name } headline } } } site { name } sections { slug } }",
    )
    .await;
    assert_in_order(
        &body,
        &[
            "tags",
            "totalCount",
            "articles",
            "body",
            "headline",
            "site",
            "sections",
        ],
    );
    // Fragments expand in place; a key repeated later keeps its first place.
    let body = raw(
        app,
        "{ articles(first: 1) { edges { node { ...Card slug headline } } } site { name } } \
         fragment Card on Article { authors { name } headline wordCount }",
    )
    .await;
    assert_in_order(&body, &["authors", "headline", "wordCount", "slug", "site"]);
}

const FEED: &str = "{ articles(first: 5) { edges { node { headline } } } }";

fn headlines(response: &Value) -> Vec<String> {
    data(response)["articles"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            e["node"]["headline"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn rename(app: &TestApp, id: &str, headline: &str) {
    let article = app
        .as_editor(
            "query($id: ID!) { article(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    let version = data(&article)["article"]["version"].clone();
    let updated = app
        .as_editor(
            "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { headline } }",
            json!({ "i": { "id": id, "expectedVersion": version, "headline": headline } }),
        )
        .await;
    assert_eq!(data(&updated)["updateArticle"]["headline"], headline);
}

async fn anonymous_reads_are_cached_until_content_changes(app: &TestApp) {
    let id = id_of(&create(app, input("First take", json!({}))).await);
    publish(app, &id, None).await;
    let hits = || app.metric("politmaster_response_cache_hits_total");
    // The publication's events reach the cache a moment after the write
    // returns and may drop a page read in between: the page is read until
    // a read is a hit, which must happen at once after that.
    let mut hit = false;
    for _ in 0..20 {
        let before = hits().await;
        assert_eq!(headlines(&app.query(FEED, json!({})).await), ["First take"]);
        if hits().await > before {
            hit = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hit, "the page was never served from the cache");

    // The node that made a write never serves a page from before it.
    rename(app, &id, "Second take").await;
    assert_eq!(
        headlines(&app.query(FEED, json!({})).await),
        ["Second take"]
    );

    // A token holder's reads neither come from the cache nor go into it:
    // the desk sees drafts, readers must not.
    let draft = id_of(&create(app, input("Unpublished scoop", json!({}))).await);
    let desk_feed =
        "{ articles(first: 5, filter: { status: DRAFT }) { edges { node { headline } } } }";
    let before = hits().await;
    let desk = app.as_editor(desk_feed, json!({})).await;
    assert_eq!(headlines(&desk), ["Unpublished scoop"], "{desk}");
    let reader = app.query(desk_feed, json!({})).await;
    assert!(headlines(&reader).is_empty(), "{reader}");
    let desk = app.as_editor(desk_feed, json!({})).await;
    assert_eq!(headlines(&desk), ["Unpublished scoop"]);
    assert_eq!(hits().await, before, "nothing of the desk's is cached");
    assert!(!draft.is_empty());

    // Errors are not kept.
    let bad = "query($n: Int) { articles(first: $n) { totalCount } }";
    for _ in 0..2 {
        let response = app.query(bad, json!({ "n": -1 })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
    }
    assert_eq!(hits().await, before);
}

async fn get_responses_carry_http_caching(app: &TestApp) {
    let url = reqwest::Url::parse_with_params(
        &app.url("/graphql"),
        &[("query", "{ sections { slug } }")],
    )
    .expect("a URL");
    let first = app.http.get(url.clone()).send().await.expect("sent");
    assert_eq!(first.status(), StatusCode::OK);
    let headers = first.headers().clone();
    let etag = headers.get(ETAG).expect("an ETag").clone();
    assert!(
        etag.to_str().expect("text").starts_with('"'),
        "a strong tag: {etag:?}"
    );
    let cache_control = headers[CACHE_CONTROL].to_str().expect("text");
    assert!(
        cache_control.starts_with("public, max-age="),
        "{cache_control}"
    );
    let vary = headers[VARY].to_str().expect("text");
    assert!(
        vary.contains("Accept") && vary.contains("Authorization"),
        "{vary}"
    );
    let body = first.text().await.expect("a body");

    let again = app
        .http
        .get(url.clone())
        .header(IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers().get(ETAG), Some(&etag));
    assert!(again.text().await.expect("a body").is_empty());

    let stale = app
        .http
        .get(url.clone())
        .header(IF_NONE_MATCH, "\"something else\"")
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.text().await.expect("a body"), body, "the same bytes");

    // What a token holder gets is for them alone.
    let private = app
        .http
        .get(url)
        .header(AUTHORIZATION, format!("Bearer {}", app.editor_token))
        .send()
        .await
        .expect("sent");
    assert_eq!(private.status(), StatusCode::OK);
    assert_eq!(private.headers()[CACHE_CONTROL], "private, no-store");
    assert!(private.headers().get(ETAG).is_none());
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post_persisted(app: &TestApp, query: Option<&str>, hash: &str) -> Value {
    let mut body = json!({ "extensions": persisted(hash), "variables": { "n": 2 } });
    if let Some(query) = query {
        body["query"] = json!(query);
    }
    app.http
        .post(app.url("/graphql"))
        .json(&body)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

async fn get_persisted(app: &TestApp, hash: &str) -> (StatusCode, Value) {
    let url = reqwest::Url::parse_with_params(
        &app.url("/graphql"),
        &[
            ("extensions", persisted(hash).to_string()),
            ("variables", json!({ "n": 2 }).to_string()),
        ],
    )
    .expect("a URL");
    let response = app.http.get(url).send().await.expect("sent");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

const PERSISTED: &str = "query Top($n: Int) { sections { slug } tags(first: $n) { totalCount } }";

async fn persisted_queries_follow_apollos_protocol(app: &TestApp) {
    let hash = sha256_hex(PERSISTED);
    let unknown = post_persisted(app, None, &hash).await;
    assert_eq!(
        unknown["errors"][0]["message"], "PersistedQueryNotFound",
        "{unknown}"
    );
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let wrong = post_persisted(app, Some("{ sections { slug } }"), &hash).await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{wrong}");

    let registered = post_persisted(app, Some(PERSISTED), &hash).await;
    assert_eq!(
        data(&registered)["sections"].as_array().map(Vec::len),
        Some(5)
    );
    let by_hash = post_persisted(app, None, &hash).await;
    assert_eq!(data(&by_hash), data(&registered));
    let (status, by_get) = get_persisted(app, &hash).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&by_get), data(&registered));
}

async fn two_nodes_share_invalidations_and_persisted_queries(backend: Backend) {
    // Entries that never age out within the test: only an invalidation
    // can make node B answer anew.
    let options = Options {
        cache_max_age: Duration::from_secs(600),
        ..Options::default()
    };
    let Some(options) = with_redis(options).await else {
        return;
    };
    let Some(a) = spawn_app(backend, options).await else {
        return;
    };
    let b = a.another_node().await;
    let id = id_of(&create(&a, input("Night edition", json!({}))).await);
    publish(&a, &id, None).await;
    assert_eq!(
        headlines(&b.query(FEED, json!({})).await),
        ["Night edition"]
    );
    // B keeps its page; A's write reaches it through the bus.
    rename(&a, &id, "Morning edition").await;
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen = headlines(&b.query(FEED, json!({})).await);
        if seen == ["Morning edition"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        ["Morning edition"],
        "node B never heard of the change"
    );
    // An author renamed records no event; the change notice still goes.
    let author = create_author(&a, "Ada Before").await;
    let query = format!(
        "{{ author(slug: \"{}\") {{ name }} }}",
        author["slug"].as_str().expect("a slug")
    );
    assert_eq!(
        data(&b.query(&query, json!({})).await)["author"]["name"],
        "Ada Before"
    );
    a.as_editor(
        "mutation($id: ID!) { updateAuthor(input: { id: $id, name: \"Ada After\" }) { name } }",
        json!({ "id": author["id"] }),
    )
    .await;
    let mut name = Value::Null;
    for _ in 0..50 {
        name = data(&b.query(&query, json!({})).await)["author"]["name"].clone();
        if name == "Ada After" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(name, "Ada After");

    let hash = sha256_hex(PERSISTED);
    post_persisted(&a, Some(PERSISTED), &hash).await;
    let (status, on_b) = get_persisted(&b, &hash).await;
    assert_eq!(status, StatusCode::OK, "{on_b}");
    assert_eq!(data(&on_b)["sections"].as_array().map(Vec::len), Some(5));
}

mod two_nodes_share_invalidations_and_persisted_queries {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        two_nodes_share_invalidations_and_persisted_queries(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        two_nodes_share_invalidations_and_persisted_queries(Backend::Postgres).await;
    }
}

both_backends! {
    response_fields_follow_the_query_order => fields_come_back_in_the_order_asked;
    anonymous_reads_are_cached_until_content_changes => anonymous_reads_are_cached_until_content_changes;
    anonymous_get_responses_carry_etag_and_cache_control => get_responses_carry_http_caching;
    persisted_queries_work_over_post_and_get => persisted_queries_follow_apollos_protocol;
}
