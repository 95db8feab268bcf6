use e2e::{TestApp, both_backends, data};
use serde_json::json;

/// The milestone's promise: a token holder writes, publishes and then finds
/// an article through search, over HTTP.
async fn write_publish_and_find(app: &TestApp) {
    let created = app
        .as_editor(
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { id slug status version } }",
            json!({ "input": {
                "headline": "Senate ratifies the Baltic grid treaty",
                "standfirst": "A cross-border electricity pact clears its last hurdle.",
                "body": "<p>The upper chamber ratified the interconnector treaty on Tuesday.</p>",
                "kind": "NEWS",
                "section": "legislative-updates",
                "tags": ["Energy", "Baltic states"]
            }}),
        )
        .await;
    let article = &data(&created)["createArticle"];
    assert_eq!(article["status"], "DRAFT");
    let id = article["id"].as_str().expect("an id").to_owned();

    let hidden = app
        .query(
            "query($s: String!) { article(slug: $s) { id } }",
            json!({ "s": article["slug"] }),
        )
        .await;
    assert!(
        data(&hidden)["article"].is_null(),
        "readers must not see drafts"
    );

    let published = app
        .as_editor(
            "mutation($id: ID!) { publishArticle(id: $id) { status publishedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&published)["publishArticle"]["status"], "PUBLISHED");

    let found = app
        .query(
            "{ search(query: \"interconnector treaty\") { totalCount edges { snippet node { id headline } } } }",
            json!({}),
        )
        .await;
    let search = &data(&found)["search"];
    assert_eq!(search["totalCount"], 1);
    assert_eq!(search["edges"][0]["node"]["id"], id.as_str());
    assert!(
        search["edges"][0]["snippet"]
            .as_str()
            .expect("snippet")
            .contains("<mark>")
    );
}

both_backends! {
    a_token_holder_writes_publishes_and_finds_an_article => write_publish_and_find;
}
