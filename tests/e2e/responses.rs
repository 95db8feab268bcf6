//! What responses look like on the wire: fields in the order they were
//! asked for.

use e2e::{TestApp, both_backends};
use serde_json::json;

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

both_backends! {
    response_fields_follow_the_query_order => fields_come_back_in_the_order_asked;
}
